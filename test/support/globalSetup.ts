/**
 * Jest globalSetup of the `integration` project: starts this run's Redis servers (one
 * standalone server and one 3-master/3-replica Cluster, in parallel) and tells the test workers
 * where they are through `MAMEY_TEST_REDIS_URL` and `MAMEY_TEST_CLUSTER_NODES`.
 *
 * `REDIS_URL` / `REDIS_CLUSTER_NODES` (comma-separated `host:port`) replace the spawned server
 * of their kind, for CI services or a developer's own servers. Runs in jest's parent process;
 * env set here reaches the workers, which are started afterwards.
 *
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process';

import { spawnCluster, type RedisCluster } from './cluster';
import { TEST_CLUSTER_NODES_ENV, TEST_REDIS_URL_ENV, parseHostPorts } from './env';
import { MISSING_REDIS_HELP, REDIS_SERVER_BIN, spawnRedis, type RedisServer } from './redisProcess';
import { beginRun, reapLeftovers } from './registry';

/** What globalTeardown must stop. */
export interface HarnessState {
  readonly standalone: RedisServer | undefined;
  readonly cluster: RedisCluster | undefined;
}

const STATE_KEY = Symbol.for('mamey.persistence-redis.test-harness');

/**
 * Takes the state globalSetup left for globalTeardown (both run in jest's parent process).
 *
 * @returns the state, once; `undefined` afterwards or when setup did not finish
 */
export function takeHarnessState(): HarnessState | undefined {
  const holder = globalThis as { [STATE_KEY]?: HarnessState };
  const state = holder[STATE_KEY];
  delete holder[STATE_KEY];
  return state;
}

/** Fails at once, with install instructions, instead of every test timing out. */
function assertRedisServerInstalled(): void {
  try {
    execFileSync(REDIS_SERVER_BIN, ['--version'], { stdio: 'ignore' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `Integration tests need Redis: ${REDIS_SERVER_BIN} was not found on PATH. To fix: ${MISSING_REDIS_HELP}`
        : `${REDIS_SERVER_BIN} --version failed: ${(err as Error).message}`,
    );
  }
}

/** Starts (or takes from the environment) the servers of this test run. */
export default async function globalSetup(): Promise<void> {
  const startedAt = Date.now();
  const externalUrl = process.env['REDIS_URL'] || undefined;
  const externalNodes = process.env['REDIS_CLUSTER_NODES'] || undefined;
  if (externalNodes !== undefined) parseHostPorts(externalNodes); // fail now on a typo
  if (externalUrl === undefined || externalNodes === undefined) assertRedisServerInstalled();

  // servers of earlier runs that crashed before their teardown
  reapLeftovers({ includeCurrentRun: false });
  beginRun();

  const [standalone, cluster] = await Promise.allSettled([
    externalUrl === undefined ? spawnRedis({ name: 'standalone' }) : Promise.resolve(undefined),
    externalNodes === undefined ? spawnCluster() : Promise.resolve(undefined),
  ]);
  const state: HarnessState = {
    standalone: standalone.status === 'fulfilled' ? standalone.value : undefined,
    cluster: cluster.status === 'fulfilled' ? cluster.value : undefined,
  };
  if (standalone.status === 'rejected' || cluster.status === 'rejected') {
    // jest skips globalTeardown when globalSetup throws: clean up here
    await Promise.allSettled([state.standalone?.stop(), state.cluster?.stop()]);
    reapLeftovers();
    throw standalone.status === 'rejected'
      ? standalone.reason
      : (cluster as PromiseRejectedResult).reason;
  }
  (globalThis as { [STATE_KEY]?: HarnessState })[STATE_KEY] = state;

  // (assigning undefined to process.env would store the string "undefined")
  process.env[TEST_REDIS_URL_ENV] = externalUrl ?? state.standalone?.url ?? '';
  process.env[TEST_CLUSTER_NODES_ENV] =
    externalNodes ?? state.cluster?.startupNodes.map((n) => `${n.host}:${n.port}`).join(',') ?? '';

  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  console.log(
    `\n[redis harness] ${process.env[TEST_REDIS_URL_ENV]}${externalUrl ? ' (REDIS_URL)' : ''}; ` +
      `cluster ${process.env[TEST_CLUSTER_NODES_ENV]}${externalNodes ? ' (REDIS_CLUSTER_NODES)' : ''}; ready in ${seconds}s`,
  );
}
