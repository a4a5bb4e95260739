/**
 * A client for unit and marble tests of the pub/sub sources: the key prefix, metrics counters,
 * a recording logger and close hooks, with its subscription registry over a scripted port.
 */
import { EMPTY, type Observable } from 'rxjs';
import type { RedisClient } from '../../../src/connection/RedisClient';
import type { PortEvents, PubSubPort, SubscriptionKind } from '../../../src/internal/pubsubPort';
import { provideRegistry, SubscriptionRegistry } from '../../../src/internal/subscriptions';
import { recordingLogger } from '../../../src/testing/recordingLogger';

export interface FakeClientOptions {
  /** What each SUBSCRIBE returns (e.g. a cold observable in a marble test). */
  readonly confirm: (kind: SubscriptionKind, names: ReadonlyArray<string>) => Observable<unknown>;
  readonly instance?: string;
  /** The clock of `timeline` (e.g. `() => scheduler.now()` in a marble test). */
  readonly now?: () => number;
}

export const fakeClient = (options: FakeClientOptions) => {
  const instance = options.instance ?? 'app:';
  const counters = new Map<string, number>();
  const hooks: Array<() => Promise<void>> = [];
  const logger = recordingLogger();
  const calls: string[] = [];
  /** `calls` with the time of each, when `now` is given. */
  const timeline: Array<[number, string]> = [];
  const record = (call: string): void => {
    calls.push(call);
    if (options.now !== undefined) timeline.push([options.now(), call]);
  };
  let events: PortEvents | undefined;
  const port: PubSubPort = {
    subscribe: (kind, names) => {
      record(`+${kind} ${names.join(',')}`);
      return options.confirm(kind, names);
    },
    unsubscribe: (kind, names) => {
      record(`-${kind} ${names.join(',')}`);
      return EMPTY;
    },
    listen: (e) => {
      events = e;
      return () => (events = undefined);
    },
  };
  const client = {
    logger,
    key: (n: string) => instance + n,
    unkey: (k: string) => (k.startsWith(instance) ? k.slice(instance.length) : undefined),
    metrics: { increment: (c: string, by = 1) => counters.set(c, (counters.get(c) ?? 0) + by) },
    onClose: (h: () => Promise<void>) => {
      hooks.push(h);
      return () => undefined;
    },
  } as unknown as RedisClient;
  provideRegistry(client, new SubscriptionRegistry(port));
  return {
    client,
    logger,
    counters,
    calls,
    timeline,
    /** The server sends a message (full names). */
    publish: (kind: SubscriptionKind, name: string, channel: string, message: string) =>
      events?.message(kind, name, channel, message),
    drop: () => {
      events?.down(['channel', 'pattern', 'sharded']);
      events?.up(['channel', 'pattern', 'sharded']);
    },
    close: () => Promise.all(hooks.map((h) => h())),
  };
};
