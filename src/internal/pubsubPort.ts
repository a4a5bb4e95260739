/**
 * The subscriber connection as the subscription registry sees it: SUBSCRIBE/UNSUBSCRIBE per kind,
 * the messages, and when the connection was lost and the subscriptions must be renewed. All
 * knowledge of how ioredis reports these (events on a `Redis`, on a `Cluster`, on the Cluster's
 * internal subscriber connection and on its sharded subscriber group) lives here, so the registry
 * is tested against a fake port.
 *
 * @internal
 */
import calculateSlot from 'cluster-key-slot';
import { Cluster, type Redis } from 'ioredis';
import { defer, Observable } from 'rxjs';
import type { Commands } from '../connection/RedisClient';

/** SUBSCRIBE (`channel`), PSUBSCRIBE (`pattern`) or SSUBSCRIBE (`sharded`). */
export type SubscriptionKind = 'channel' | 'pattern' | 'sharded';

export const ALL_KINDS: ReadonlyArray<SubscriptionKind> = ['channel', 'pattern', 'sharded'];

/** The command that subscribes each kind, for error messages. */
export const SUBSCRIBE_COMMAND: Readonly<Record<SubscriptionKind, string>> = {
  channel: 'SUBSCRIBE',
  pattern: 'PSUBSCRIBE',
  sharded: 'SSUBSCRIBE',
};

/** What a port tells the registry. */
export interface PortEvents {
  /** A message; `name` is the subscribed channel or pattern, `channel` where it was published. */
  message(kind: SubscriptionKind, name: string, channel: string, message: string): void;
  /** The connection carrying `kinds` dropped: their subscriptions are gone on the server. */
  down(kinds: ReadonlyArray<SubscriptionKind>): void;
  /** Subscriptions of `kinds` can be renewed now (commands queue until the connection is back). */
  up(kinds: ReadonlyArray<SubscriptionKind>): void;
  /** The connection ended for good (no reconnect will follow). */
  end(): void;
}

/** A subscriber connection. Commands are cold: nothing is sent until subscribed to. */
export interface PubSubPort {
  /** Completes when the server confirmed every name. */
  subscribe(kind: SubscriptionKind, names: ReadonlyArray<string>): Observable<unknown>;
  unsubscribe(kind: SubscriptionKind, names: ReadonlyArray<string>): Observable<unknown>;
  /** Starts reporting to `events`; returns the function that stops it. */
  listen(events: PortEvents): () => void;
}

/** SSUBSCRIBE takes channels of one slot per call on a Cluster; group them. */
const bySlot = (names: ReadonlyArray<string>): string[][] => {
  const groups = new Map<number, string[]>();
  for (const n of names) {
    const slot = calculateSlot(n);
    const g = groups.get(slot);
    if (g === undefined) groups.set(slot, [n]);
    else g.push(n);
  }
  return [...groups.values()];
};

const send = (
  conn: Commands,
  kind: SubscriptionKind,
  names: ReadonlyArray<string>,
  on: boolean,
): Promise<unknown> => {
  switch (kind) {
    case 'channel':
      return on ? conn.subscribe(...names) : conn.unsubscribe(...names);
    case 'pattern':
      return on ? conn.psubscribe(...names) : conn.punsubscribe(...names);
    case 'sharded':
      return Promise.all(
        bySlot(names).map((g) => (on ? conn.ssubscribe(...g) : conn.sunsubscribe(...g))),
      );
  }
};

/** Message events, the same on a `Redis` and a `Cluster` (which forwards its subscribers'). */
const listenMessages = (conn: Commands, events: PortEvents): (() => void) => {
  const onMessage = (channel: string, message: string) =>
    events.message('channel', channel, channel, message);
  const onPMessage = (pattern: string, channel: string, message: string) =>
    events.message('pattern', pattern, channel, message);
  const onSMessage = (channel: string, message: string) =>
    events.message('sharded', channel, channel, message);
  conn.on('message', onMessage);
  conn.on('pmessage', onPMessage);
  conn.on('smessage', onSMessage);
  return () => {
    conn.off('message', onMessage);
    conn.off('pmessage', onPMessage);
    conn.off('smessage', onSMessage);
  };
};

const commandsOf = (conn: Commands) => ({
  subscribe: (kind: SubscriptionKind, names: ReadonlyArray<string>) =>
    defer(() => send(conn, kind, names, true)),
  unsubscribe: (kind: SubscriptionKind, names: ReadonlyArray<string>) =>
    defer(() => send(conn, kind, names, false)),
});

/**
 * A standalone or Sentinel subscriber connection. ioredis reconnects it and re-subscribes what
 * was confirmed before the drop; SUBSCRIBEs that were in flight are lost with the socket. So on a
 * drop every subscription is renewed at once: the commands wait in ioredis' offline queue, are
 * sent right after its own re-subscription, and their replies tell when the gap ended.
 */
export const redisPort = (redis: Redis): PubSubPort => ({
  ...commandsOf(redis),
  listen(events) {
    const stopMessages = listenMessages(redis, events);
    let wasReady = redis.status === 'ready';
    const onReady = () => {
      wasReady = true;
    };
    // 'close' comes once per failed attempt too; only a drop of a ready connection loses state.
    const onClose = () => {
      if (!wasReady) return;
      wasReady = false;
      events.down(ALL_KINDS);
      events.up(ALL_KINDS);
    };
    const onEnd = () => events.end();
    redis.on('ready', onReady);
    redis.on('close', onClose);
    redis.on('end', onEnd);
    return () => {
      stopMessages();
      redis.off('ready', onReady);
      redis.off('close', onClose);
      redis.off('end', onEnd);
    };
  },
});

/** ioredis' Cluster keeps its SUBSCRIBE connection in a `ClusterSubscriber`; not in its types. */
const plainSubscriberOf = (cluster: Cluster): Redis | null => {
  const inner = (cluster as unknown as { subscriber?: { getInstance?: () => Redis | null } })
    .subscriber;
  return typeof inner?.getInstance === 'function' ? inner.getInstance() : null;
};

const PLAIN: ReadonlyArray<SubscriptionKind> = ['channel', 'pattern'];
const SHARDED: ReadonlyArray<SubscriptionKind> = ['sharded'];

/**
 * A Cluster subscriber. Plain SUBSCRIBE/PSUBSCRIBE go to one connection that ioredis picks among
 * the nodes and replaces (on another node) when it ends; the Cluster itself says nothing about
 * that, so the port watches that connection. SSUBSCRIBE goes to ioredis' sharded subscriber group
 * (one connection per master, `shardedSubscribers: true`), which reports a lost shard with
 * `-node` (with the node key; the pool's own `-node` has none) and its replacement with
 * `subscribersReady`, after which it has re-subscribed the shard's channels itself.
 */
export const clusterPort = (cluster: Cluster): PubSubPort => {
  let watched: Redis | null = null;
  let watchedReady = false;
  let events: PortEvents | undefined;

  const onWatchedReady = () => {
    watchedReady = true;
  };
  const unwatch = () => {
    watched?.off('ready', onWatchedReady);
    watched?.off('end', onWatchedEnd);
    watched = null;
    watchedReady = false;
  };
  const watch = () => {
    const current = plainSubscriberOf(cluster);
    if (current === null || current === watched || events === undefined) return;
    unwatch();
    watched = current;
    watchedReady = current.status === 'ready';
    current.on('ready', onWatchedReady);
    current.on('end', onWatchedEnd);
  };
  // ioredis' own 'end' listener was registered first: it has already picked the next connection.
  function onWatchedEnd() {
    const lost = watchedReady;
    unwatch();
    if (lost && events !== undefined) {
      events.down(PLAIN);
      events.up(PLAIN);
    }
    watch();
  }

  const commands = commandsOf(cluster);
  return {
    subscribe: (kind, names) =>
      new Observable<unknown>((subscriber) =>
        commands.subscribe(kind, names).subscribe({
          next: (v) => subscriber.next(v),
          error: (e: unknown) => subscriber.error(e),
          complete: () => {
            watch();
            subscriber.complete();
          },
        }),
      ),
    unsubscribe: commands.unsubscribe,
    listen(e) {
      events = e;
      const stopMessages = listenMessages(cluster, e);
      const onShardLost = (_redis: unknown, nodeKey?: unknown) => {
        if (nodeKey !== undefined) e.down(SHARDED);
      };
      const onReconnecting = () => e.down(SHARDED);
      const onShardsReady = () => e.up(SHARDED);
      const onEnd = () => e.end();
      cluster.on('ready', watch);
      cluster.on('-node', onShardLost);
      cluster.on('reconnecting', onReconnecting);
      cluster.on('subscribersReady', onShardsReady);
      cluster.on('end', onEnd);
      watch();
      return () => {
        events = undefined;
        unwatch();
        stopMessages();
        cluster.off('ready', watch);
        cluster.off('-node', onShardLost);
        cluster.off('reconnecting', onReconnecting);
        cluster.off('subscribersReady', onShardsReady);
        cluster.off('end', onEnd);
      };
    },
  };
};

/** The port for a client's subscriber connection. */
export const portFor = (conn: Commands): PubSubPort =>
  conn instanceof Cluster ? clusterPort(conn) : redisPort(conn);
