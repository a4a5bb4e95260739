/**
 * The invalidation bus: caches of one namespace, in any process, evict each other's memory tiers
 * through a pub/sub channel on the client's shared subscriber connection.
 *
 * Why pub/sub and not server-assisted CLIENT TRACKING: the bus works the same on a standalone
 * server, Sentinel and a Cluster (PUBLISH reaches every node's subscribers), needs one shared
 * subscriber connection per client and no per-node tracking state. Tracking would also catch
 * writes made by other clients, but on a Cluster it must be switched on per node connection
 * (and again after every reconnect or topology change), and with RESP2 it must REDIRECT to a
 * subscriber on the same node. The command connection uses RESP3 by default, where tracking
 * pushes would arrive in-band, but ioredis' auto-pipelined Cluster connections are not ours to
 * configure per node. Writes that bypass the cache are bounded by the memory tier's TTL instead.
 *
 * One `message` listener per subscriber connection dispatches to every cache on it, and
 * SUBSCRIBE/UNSUBSCRIBE are reference-counted per channel, so caches sharing a namespace (or other
 * users of the connection) never unsubscribe each other.
 *
 * @internal
 */
import type { Commands } from '../connection/RedisClient';

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

export interface BusHandlers {
  /** A message on the channel. */
  readonly message: (payload: string) => void;
  /** The subscriber connection came back after a drop: messages may have been missed. */
  readonly reconnect: () => void;
}

export interface Subscription {
  /** Settles when the server confirmed the SUBSCRIBE (rejects when it failed). */
  readonly ready: Promise<void>;
  /** Removes the handlers; the last one on a channel UNSUBSCRIBEs. Idempotent. */
  readonly close: () => Promise<void>;
}

interface Hub {
  readonly channels: Map<string, { handlers: Set<BusHandlers>; subscribed: Promise<void> }>;
}

const hubs = new WeakMap<Commands, Hub>();

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

const hubOf = (sub: Commands): Hub => {
  const existing = hubs.get(sub);
  if (existing !== undefined) return existing;
  const hub: Hub = { channels: new Map() };
  let everReady = sub.status === 'ready';
  sub.on('message', (channel: string, payload: string) => {
    const c = hub.channels.get(channel);
    if (c !== undefined) for (const h of c.handlers) h.message(payload);
  });
  sub.on('ready', () => {
    if (!everReady) {
      everReady = true;
      return;
    }
    for (const c of hub.channels.values()) for (const h of c.handlers) h.reconnect();
  });
  hubs.set(sub, hub);
  return hub;
};

/**
 * Subscribes `handlers` to `channel` on the subscriber connection `sub`.
 *
 * @param sub the client's shared subscriber connection (`client.subscriber()`)
 * @param channel the full channel name (instance prefix applied)
 * @param handlers what to do on a message and after a reconnect
 */
export const subscribe = (sub: Commands, channel: string, handlers: BusHandlers): Subscription => {
  const hub = hubOf(sub);
  let entry = hub.channels.get(channel);
  if (entry === undefined) {
    const subscribed = sub.subscribe(channel).then(() => undefined);
    const created = { handlers: new Set<BusHandlers>(), subscribed };
    // A failed SUBSCRIBE is forgotten, so the next subscriber tries again.
    subscribed.catch(() => {
      if (hub.channels.get(channel) === created && created.handlers.size === 0)
        hub.channels.delete(channel);
    });
    hub.channels.set(channel, created);
    entry = created;
  }
  const current = entry;
  current.handlers.add(handlers);
  let closed = false;
  return {
    ready: current.subscribed,
    close: async () => {
      if (closed) return;
      closed = true;
      current.handlers.delete(handlers);
      if (current.handlers.size > 0 || hub.channels.get(channel) !== current) return;
      hub.channels.delete(channel);
      if (sub.status === 'ready') await sub.unsubscribe(channel).catch(() => undefined);
    },
  };
};
