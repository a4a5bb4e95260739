/**
 * Jest globalTeardown of the `integration` project: stops the servers globalSetup started,
 * then kills whatever the pid registry still lists for this run (servers of tests that never
 * stopped them, of crashed workers) and for earlier runs whose jest process is gone, and
 * removes their folders.
 *
 * @packageDocumentation
 */
import { takeHarnessState } from './globalSetup';
import { reapLeftovers } from './registry';

/** Stops this run's servers and removes every trace of them. */
export default async function globalTeardown(): Promise<void> {
  const state = takeHarnessState();
  await Promise.allSettled([state?.standalone?.stop(), state?.cluster?.stop()]);
  const { killed } = reapLeftovers();
  if (killed.length > 0)
    console.warn(
      `[redis harness] killed ${killed.length} redis-server(s) left running: ${killed.join(', ')}`,
    );
}
