/**
 * The invalidation bus: caches of one namespace, in any process, evict each other's memory tiers
 * through a pub/sub channel on the client's shared subscriber connection.
 *
 * Why pub/sub and not server-assisted CLIENT TRACKING: the bus works the same on a standalone
 * server, Sentinel and a Cluster (PUBLISH reaches every node's subscribers), needs one shared
 * subscriber connection per client and no per-node tracking state. Tracking would also catch
 * writes made by other clients, but on a Cluster it must be switched on per node connection
 * (and again after every reconnect or topology change), and with RESP2 it must REDIRECT to a
 * subscriber on the same node (with RESP3, the `protocol: 3` option, tracking pushes would arrive
 * in-band, but ioredis' auto-pipelined Cluster connections are not ours to configure per node). Writes that bypass the cache are bounded by the memory tier's TTL instead.
 *
 * The channel is held through the client's subscription registry (`registryFor`), the same
 * reference-counted one the pub/sub sources use: caches sharing a namespace, and a `fromChannel`
 * on the same channel, never unsubscribe each other, and the registry renews the subscription
 * after a drop.
 *
 * @internal
 */
import type { RedisClient } from '../connection/RedisClient';
import { ConnectionError, type RedisError } from '../errors';
import { registryFor } from '../internal/subscriptions';

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

export interface BusHandlers {
  /** A message on the channel. */
  readonly message: (payload: string) => void;
  /**
   * The subscription is confirmed again after a drop of the subscriber connection: messages
   * published in the gap were missed.
   */
  readonly reconnect: () => void;
  /**
   * The subscription failed for good after it had been confirmed (e.g. an ACL change seen when
   * it was renewed after a drop): no more messages will come.
   */
  readonly lost: (error: RedisError) => void;
}

export interface Subscription {
  /** Settles when the server confirmed the SUBSCRIBE (rejects when it failed for good). */
  readonly ready: Promise<void>;
  /** Removes the handlers; the last holder of the channel UNSUBSCRIBEs. Idempotent. */
  readonly close: () => void;
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * Subscribes `handlers` to `channel` on `client`'s shared subscriber connection.
 *
 * @param channel the full channel name (instance prefix applied)
 */
export const subscribe = (
  client: RedisClient,
  channel: string,
  handlers: BusHandlers,
): Subscription => {
  let resolve!: () => void;
  let reject!: (e: RedisError) => void;
  const ready = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // the caller awaits `ready`; a rejection after it stopped waiting must not go unhandled
  ready.catch(() => undefined);
  let confirmed = false;
  let gap = false;
  let done = false;
  const fail = (error: RedisError): void => {
    if (done) return;
    done = true;
    if (confirmed) handlers.lost(error);
    else reject(error);
  };
  let release: () => void;
  try {
    release = registryFor(client).acquire('channel', [channel], {
      message: (_channel, payload) => handlers.message(payload),
      status: (s) => {
        if (s === 'reconnecting') gap = confirmed;
        else if (s === 'subscribed' && !confirmed) {
          confirmed = true;
          resolve();
        } else if (s === 'subscribed' && gap) {
          gap = false;
          handlers.reconnect();
        }
      },
      error: fail,
      // the client closed: a wait for `ready` fails; a confirmed subscription just ends
      closed: () => {
        if (confirmed) done = true;
        else fail(new ConnectionError('closed', 'Redis client is closed'));
      },
    });
  } catch (e) {
    fail(
      e instanceof ConnectionError ? e : new ConnectionError('closed', 'Redis client is closed'),
    );
    release = () => undefined;
  }
  return {
    ready,
    close: () => {
      if (done) return;
      done = true;
      release();
    },
  };
};
