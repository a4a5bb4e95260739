import { asyncScheduler, defer, type Observable, type SchedulerLike } from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { consumeGroup, type LostAck } from '../internal/streamGroupConsumer';
import { redisGroupPort } from '../internal/streamGroupPort';
import type { StreamFields } from '../internal/streamReplies';
import { entryDecoder, type StreamCodec } from '../internal/streamWire';
import type { StreamMessage } from './StreamEntry';

export type { LostAck } from '../internal/streamGroupConsumer';

/**
 * Options of {@link fromStreamGroup}.
 *
 * @since 0.1.0
 */
export interface FromStreamGroupConfig<A> {
  /** The stream (without the client's `instance` prefix). */
  readonly stream: string;
  /** The consumer group; created (with MKSTREAM) when missing. */
  readonly group: string;
  /** This consumer's name, unique within the group (a restarted process should reuse it). */
  readonly consumer: string;
  /**
   * Decodes each entry (`data` field as JSON, or the field map; see the README's wire format).
   * Entries that fail go to the dead-letter stream.
   * @defaultValue none: the value is the entry's field map
   */
  readonly codec?: StreamCodec<A>;
  /** @defaultValue 100 — entries per XREADGROUP / XAUTOCLAIM round trip */
  readonly count?: number;
  /** @defaultValue 2000 — how long a read of new entries blocks; also bounds the claim delay */
  readonly blockMs?: number;
  /** @defaultValue 1000 — unacknowledged messages held at most; reading stops at the limit */
  readonly maxInFlight?: number;
  /** @defaultValue 30000 — entries pending longer than this are claimed (XAUTOCLAIM) */
  readonly claimIdleMs?: number;
  /** @defaultValue claimIdleMs / 2 — how often to look for idle entries to claim */
  readonly claimIntervalMs?: number;
  /** @defaultValue 5 — an entry delivered more often than this goes to the dead-letter stream */
  readonly maxDeliveries?: number;
  /** @defaultValue `${stream}:dlq` — the dead-letter stream (unprefixed) */
  readonly deadLetter?: string;
  /** @defaultValue '0' — where a new group starts: `'0'` everything, `'$'` only new entries */
  readonly startId?: string;
  /** @defaultValue 5000 — how long a stop waits for in-flight messages to be acked */
  readonly drainTimeoutMs?: number;
  /** Called (besides the logger and the `stream.lostAcks` counter) when an ack came too late. */
  readonly onLostAck?: (lost: LostAck) => void;
  /** @defaultValue asyncScheduler */
  readonly scheduler?: SchedulerLike;
}

const positive = (name: string, v: number, allowInfinity = false): void => {
  if (!(v > 0) || (!allowInfinity && !Number.isFinite(v)))
    throw new TypeError(`fromStreamGroup: ${name} must be a positive number, got ${v}`);
};

/**
 * Consumes a stream as one consumer of a consumer group, at least once: each entry is emitted
 * as a {@link StreamMessage} and stays pending until `ack()`.
 *
 * Cold: each subscription is one consumer with its own blocking connection (to the node owning
 * the stream on a Cluster). It creates the group when missing, re-reads its own pending entries
 * first, then reads new ones (`>`); every `claimIntervalMs` it claims entries other consumers
 * left idle for `claimIdleMs` (XAUTOCLAIM). Entries that fail to decode or were delivered more
 * than `maxDeliveries` times are written to the dead-letter stream and then acknowledged; deleted
 * entries still pending are acknowledged and skipped. At most `maxInFlight` messages are held
 * unacknowledged: reading pauses at the limit. While slots are free it reads ahead: the next read
 * of new entries goes out as soon as one returns, while that batch is decoded and emitted, and
 * never asks for more entries than the slots not yet taken or promised to a read. The acks
 * requested while a batch is emitted go in one XACK. Messages held longer than `claimIdleMs / 2`
 * are re-claimed to this consumer (XCLAIM JUSTID) so nobody else takes them.
 *
 * Unsubscribing (or `client.close()`) stops reading at once, waits up to `drainTimeoutMs` for
 * held messages to be acked or released, flushes the acks and releases the connection. Entries
 * read but not emitted yet (read ahead) stay pending and are delivered again on restart.
 * Transient errors (connection loss, a restarting server) are retried; the group is created
 * again if the server lost it. Counters: `stream.consumed`, `stream.acked`, `stream.failed`,
 * `stream.deadLettered`, `stream.claimed`, `stream.lostAcks`, `stream.deletedCleaned`,
 * `stream.errors`.
 *
 * ```text
 * stream:    --1--2--3--------4--
 * messages:  --a--b--c--------d--     (each held until ack(); at maxInFlight reading pauses)
 * ```
 *
 * @example
 * ```ts
 * import * as t from 'io-ts';
 * import { ackAfter, createRedis, fromStreamGroup } from '@mamey/persistence-redis';
 *
 * const Order = t.type({ id: t.string, total: t.number }, 'Order');
 * const client = createRedis(process.env.REDIS_URL);
 * fromStreamGroup(client, { stream: 'orders', group: 'billing', consumer: 'billing-1', codec: Order })
 *   .pipe(ackAfter((m) => Promise.resolve(m.value.total), { concurrency: 10 }))
 *   .subscribe();
 * ```
 * @param client the client
 * @param config see {@link FromStreamGroupConfig}
 * @returns the messages, in stream order per read
 * @throws TypeError at call time for an invalid config
 * @see ackAfter
 * @since 0.1.0
 */
export function fromStreamGroup(
  client: RedisClient,
  config: FromStreamGroupConfig<StreamFields> & { readonly codec?: undefined },
): Observable<StreamMessage<StreamFields>>;
export function fromStreamGroup<A>(
  client: RedisClient,
  config: FromStreamGroupConfig<A> & { readonly codec: StreamCodec<A> },
): Observable<StreamMessage<A>>;
export function fromStreamGroup<A>(
  client: RedisClient,
  config: FromStreamGroupConfig<A>,
): Observable<StreamMessage<A>> {
  const {
    stream,
    group,
    consumer,
    codec,
    count = 100,
    blockMs = 2000,
    maxInFlight = 1000,
    claimIdleMs = 30_000,
    claimIntervalMs = claimIdleMs / 2,
    maxDeliveries = 5,
    deadLetter = `${stream}:dlq`,
    startId = '0',
    drainTimeoutMs = 5000,
    onLostAck,
    scheduler = asyncScheduler,
  } = config;
  for (const [name, v] of [
    ['stream', stream],
    ['group', group],
    ['consumer', consumer],
    ['deadLetter', deadLetter],
  ] as const)
    if (typeof v !== 'string' || v === '')
      throw new TypeError(`fromStreamGroup: ${name} must be a non-empty string`);
  if (deadLetter === stream)
    throw new TypeError('fromStreamGroup: deadLetter must differ from stream');
  positive('count', count);
  positive('blockMs', blockMs);
  positive('maxInFlight', maxInFlight);
  positive('claimIdleMs', claimIdleMs);
  positive('claimIntervalMs', claimIntervalMs);
  positive('maxDeliveries', maxDeliveries, true);
  if (!(drainTimeoutMs >= 0)) throw new TypeError('fromStreamGroup: drainTimeoutMs must be ≥ 0');

  return defer(() =>
    consumeGroup<A>(redisGroupPort(client, { stream, group, consumer, deadLetter, startId }), {
      stream,
      group,
      consumer,
      count: Math.floor(count),
      blockMs: Math.floor(blockMs),
      maxInFlight: Math.floor(maxInFlight),
      claimIdleMs,
      claimIntervalMs,
      maxDeliveries,
      drainTimeoutMs,
      decode: entryDecoder(stream, codec),
      scheduler,
      logger: client.logger,
      increment: (name, by) => client.metrics.increment(name, by),
      onLostAck,
      onClose: (hook) => client.onClose(hook),
    }),
  );
}
