/**
 * `fromKeyspace`: keyspace notifications (a key was set, deleted, expired…) as a hot Observable.
 *
 * @since 0.1.0
 */
import { Cluster, type Redis } from 'ioredis';
import {
  asyncScheduler,
  concat,
  defer,
  ignoreElements,
  Observable,
  Subscription,
  timer,
  type SchedulerLike,
} from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import {
  ensureKeyspaceFlags,
  isKnownEvent,
  parseKeyspaceChannel,
  requiredFlags,
  type ConfigurableNode,
  type KnownKeyspaceEvent,
} from '../internal/keyspace';
import { keyspaceHubFor, nodeKeyOf } from '../internal/keyspaceCluster';
import { escapeGlob } from '../internal/pubsubSource';
import { registryFor, type SubscriptionListener } from '../internal/subscriptions';
import type { SubscriptionStatus } from './fromChannel';

/**
 * An event name Redis sends on keyspace channels (`set`, `del`, `expired`, `hset`, `xadd`, …;
 * see the Redis docs "Keyspace notifications").
 *
 * @since 0.1.0
 */
export type KeyspaceEventName = KnownKeyspaceEvent;

/**
 * One keyspace notification: `key` (without the `instance` prefix) had `event` in database `db`.
 *
 * @since 0.1.0
 */
export interface KeyspaceEvent {
  readonly key: string;
  /** The event; a name outside {@link KeyspaceEventName} when a module or a newer Redis sends one. */
  readonly event: KeyspaceEventName | (string & {});
  readonly db: number;
}

/**
 * Options of {@link fromKeyspace}.
 *
 * @since 0.1.0
 */
export interface FromKeyspaceConfig {
  /**
   * Glob pattern over keys without the `instance` prefix (the prefix is put in front, matched
   * literally).
   * @defaultValue '*'
   */
  readonly pattern?: string;
  /**
   * Only these events are emitted, and only their flags are needed on the server.
   * @defaultValue every event of the `A` class (not `new` or `key-miss`)
   */
  readonly events?: ReadonlyArray<KeyspaceEventName>;
  /**
   * Add the flags the events need to `notify-keyspace-events` (CONFIG SET, merged with what is
   * set, never dropping a flag) on every node. Without it, a server known to lack them fails the
   * stream with a `ConfigError` naming the flags; with it, a server that refuses CONFIG does.
   * @defaultValue false
   */
  readonly configure?: boolean;
  /** Called with the status of the subscription (on a Cluster: of every master's). */
  readonly onStatus?: (status: SubscriptionStatus) => void;
  /**
   * Cluster only: how often the topology is read again, so a new master is subscribed.
   * @defaultValue 5000
   */
  readonly topologyRefreshMs?: number;
  /** Drives the topology refresh. @defaultValue asyncScheduler */
  readonly scheduler?: SchedulerLike;
}

const configurable = (redis: Redis, name: string): ConfigurableNode => ({
  name,
  get: (parameter) => redis.config('GET', parameter),
  set: (parameter, value) => redis.config('SET', parameter, value),
});

const configurableNodes = async (client: RedisClient): Promise<ConfigurableNode[]> => {
  const redis = client.redis;
  if (!(redis instanceof Cluster)) return [configurable(redis, nodeKeyOf(redis))];
  if (redis.status !== 'ready') await redis.ping();
  // Replicas too: a replica promoted by a failover must already send the events.
  return redis.nodes('all').map((n) => configurable(n, nodeKeyOf(n)));
};

/**
 * Keyspace notifications for the keys matching `pattern`, as a hot Observable: one event per
 * change the server announces (`set`, `del`, `expired`, `hset`…), from the moment the
 * subscription is confirmed. Subscribes to `__keyspace@<db>__:<instance><pattern>` with
 * PSUBSCRIBE on the client's shared subscriber connection (shared and reference-counted with the
 * other sources); on a Cluster, where notifications are node-local, on every master, following
 * topology changes and dropping events of demoted masters. Notifications are at-most-once, like
 * all pub/sub: events during a reconnect (`onStatus` shows `reconnecting`) are lost, and
 * `expired` comes when Redis notices the expiry (on access or by its background sweep), not at
 * the exact TTL.
 *
 * ```text
 * server    --a-s--d--x-----X--    s SET a, d DEL a, x connection drop, X a expired
 * status    -s-S------R---S----    subscribing, subscribed, reconnecting, subscribed
 * emitted   ----S--D--------X--    S = { key: 'a', event: 'set', db: 0 }
 * ```
 *
 * The flags are checked (or set, with `configure`) before PSUBSCRIBE is sent (0–1 above);
 * `a` comes before the server confirmed the subscription and is not delivered. With
 * `configure`, after a drop the flags are set again before `subscribed` is reported (14), as
 * a restarted server has forgotten them.
 *
 * @param client the client to watch through
 * @param config see {@link FromKeyspaceConfig}
 * @returns a hot Observable of {@link KeyspaceEvent}s
 * @throws TypeError when an event name is unknown or `topologyRefreshMs` is not positive
 * @example
 * ```ts
 * fromKeyspace(client, { pattern: 'session:*', events: ['expired'], configure: true })
 *   .subscribe(({ key }) => console.log(`${key} expired`));
 * ```
 * @see fromChannel
 * @since 0.1.0
 */
export const fromKeyspace = (
  client: RedisClient,
  config: FromKeyspaceConfig = {},
): Observable<KeyspaceEvent> => {
  const {
    pattern = '*',
    events,
    configure = false,
    onStatus,
    topologyRefreshMs = 5000,
    scheduler = asyncScheduler,
  } = config;
  if (typeof pattern !== 'string' || pattern === '')
    throw new TypeError('fromKeyspace: pattern must be a non-empty string');
  const unknown = (events ?? []).filter((e) => !isKnownEvent(e));
  if (unknown.length > 0)
    throw new TypeError(`fromKeyspace: unknown keyspace events: ${unknown.join(', ')}`);
  if (!(topologyRefreshMs > 0))
    throw new TypeError('fromKeyspace: topologyRefreshMs must be a positive number');
  const flags = requiredFlags(events);
  const wanted = events !== undefined ? new Set<string>(events) : undefined;
  const db = client.mode === 'cluster' ? 0 : client.options.database;
  const channels = `__keyspace@${db}__:${escapeGlob(client.key(''))}${pattern}`;

  return watchKeyspace(
    client,
    { channels, wanted, configure, onStatus, topologyRefreshMs, scheduler },
    () =>
      defer(async () =>
        ensureKeyspaceFlags(await configurableNodes(client), flags, configure, client.logger),
      ),
  );
};

/**
 * {@link fromKeyspace} once its arguments are checked, with the flags check given as a cold
 * Observable (it completes once every node sends the events), so its timing can be
 * marble-tested with a scripted check and subscriber connection.
 *
 * @internal
 */
export const watchKeyspace = (
  client: RedisClient,
  options: {
    /** The full `__keyspace@<db>__:…` pattern. */
    readonly channels: string;
    readonly wanted: ReadonlySet<string> | undefined;
    readonly configure: boolean;
    readonly onStatus: ((status: SubscriptionStatus) => void) | undefined;
    readonly topologyRefreshMs: number;
    readonly scheduler: SchedulerLike;
  },
  ensure: () => Observable<unknown>,
): Observable<KeyspaceEvent> => {
  const { channels, wanted, configure, onStatus, topologyRefreshMs, scheduler } = options;
  const watch = new Observable<KeyspaceEvent>((subscriber) => {
    let last: SubscriptionStatus | undefined;
    const renewal = new Subscription();
    const report = (s: SubscriptionStatus) => {
      try {
        onStatus?.(s);
      } catch (e) {
        subscriber.error(e);
      }
    };
    const listener: SubscriptionListener = {
      message: (channel, event) => {
        const parsed = parseKeyspaceChannel(channel);
        const key = parsed === undefined ? undefined : client.unkey(parsed.key);
        if (parsed === undefined || key === undefined) return;
        if (wanted !== undefined && !wanted.has(event)) return;
        subscriber.next({ key, event, db: parsed.db });
      },
      status: (s) => {
        // A restarted server (or a new master) forgot a CONFIG SET: set the flags again before
        // saying the gap is over.
        const renew = configure && s === 'subscribed' && last === 'reconnecting';
        last = s;
        if (!renew) return report(s);
        renewal.add(
          ensure().subscribe({
            error: (e: unknown) => subscriber.error(e),
            complete: () => {
              if (last === 'subscribed') report('subscribed');
            },
          }),
        );
      },
      error: (e) => subscriber.error(e),
      closed: () => subscriber.complete(),
    };
    const redis = client.redis;
    if (!(redis instanceof Cluster)) {
      const release = registryFor(client).acquire('pattern', [channels], listener);
      return () => {
        renewal.unsubscribe();
        release();
      };
    }
    const release = keyspaceHubFor(client, redis).watch(channels, listener);
    const poll: Subscription = timer(topologyRefreshMs, topologyRefreshMs, scheduler).subscribe(
      () => redis.refreshSlotsCache(),
    );
    return () => {
      renewal.unsubscribe();
      poll.unsubscribe();
      release();
    };
  });

  return concat(defer(ensure).pipe(ignoreElements()), watch);
};
