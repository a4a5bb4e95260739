import { asyncScheduler, defer, type Observable, type SchedulerLike } from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { tailStream } from '../internal/streamReadLoop';
import { redisStreamReadPort } from '../internal/streamReadPort';
import type { StreamFields } from '../internal/streamReplies';
import type { OnDecodeError, StreamCodec } from '../internal/streamWire';
import type { StreamEntry } from './StreamEntry';

/**
 * Options of {@link fromStream}.
 *
 * @since 0.1.0
 */
export interface FromStreamConfig<A> {
  /**
   * Where to start: `'$'` only entries added after subscribing, `'0'` from the start, or an
   * entry id (exclusive: entries after it).
   * @defaultValue '$'
   */
  readonly from?: string;
  /** @defaultValue 100 — entries per XREAD */
  readonly count?: number;
  /** @defaultValue 5000 — how long one XREAD blocks before it is issued again */
  readonly blockMs?: number;
  /** @defaultValue none: the value is the entry's field map */
  readonly codec?: StreamCodec<A>;
  /**
   * `'error'`: an entry that fails to decode errors the Observable with a `DecodeError`;
   * `'skip'`: it is logged, counted in `stream.skipped` and left out.
   * @defaultValue 'error'
   */
  readonly onDecodeError?: OnDecodeError;
  /** @defaultValue asyncScheduler (retry delays after a connection loss) */
  readonly scheduler?: SchedulerLike;
}

/**
 * Tails a stream (XREAD BLOCK): emits every entry added after `from`, until unsubscribed.
 *
 * Cold: each subscription reads on its own dedicated connection (to the node owning the stream
 * on a Cluster), which unsubscribing closes at once, interrupting the blocking read.
 * A connection loss is retried from the last entry seen, so nothing is skipped or repeated; so
 * is the XREVRANGE that first pins `'$'` to the newest id, so a subscription made while Redis is
 * briefly unreachable waits for it rather than failing. Another error (or, with
 * `onDecodeError: 'error'`, an entry that fails to decode, after the entries before it) fails
 * it; `client.close()` completes it. For a finite read, see {@link readStreamRange}.
 *
 * ```text
 * XADD:     --1---2-3---------------4--
 * XREAD:    R-R---R-R--x~~~~~~R-----R--   one at a time, each from the last id seen;
 *                                         x connection lost, ~ backoff (50 ms, doubling to 2 s)
 * entries:  --1---2-3---------------4--   (from '$': only entries added after subscribing)
 * ```
 *
 * @example
 * ```ts
 * import { createRedis, fromStream } from '@mamey/persistence-redis';
 *
 * const client = createRedis(process.env.REDIS_URL);
 * const sub = fromStream(client, 'audit', { from: '0' }).subscribe((e) =>
 *   console.log(e.id, e.value),
 * );
 * sub.unsubscribe();
 * ```
 * @param client the client
 * @param stream the stream (without the client's `instance` prefix)
 * @param config see {@link FromStreamConfig}
 * @returns the entries, in stream order
 * @throws TypeError at call time for an invalid config
 * @see fromStreamGroup
 * @since 0.1.0
 */
export function fromStream(
  client: RedisClient,
  stream: string,
  config?: FromStreamConfig<StreamFields> & { readonly codec?: undefined },
): Observable<StreamEntry<StreamFields>>;
export function fromStream<A>(
  client: RedisClient,
  stream: string,
  config: FromStreamConfig<A> & { readonly codec: StreamCodec<A> },
): Observable<StreamEntry<A>>;
export function fromStream<A>(
  client: RedisClient,
  stream: string,
  config: FromStreamConfig<A> = {},
): Observable<StreamEntry<A>> {
  const {
    from = '$',
    count = 100,
    blockMs = 5000,
    codec,
    onDecodeError = 'error',
    scheduler = asyncScheduler,
  } = config;
  if (typeof stream !== 'string' || stream === '')
    throw new TypeError('fromStream: stream must be a non-empty string');
  if (!(Number.isInteger(count) && count > 0))
    throw new TypeError(`fromStream: count must be a positive integer, got ${count}`);
  if (!(Number.isInteger(blockMs) && blockMs > 0))
    throw new TypeError(`fromStream: blockMs must be a positive integer, got ${blockMs}`);

  return defer(() =>
    tailStream<A>(redisStreamReadPort(client, stream), {
      stream,
      from,
      count,
      blockMs,
      codec,
      onDecodeError,
      scheduler,
      logger: client.logger,
      increment: (name) => client.metrics.increment(name),
      onClose: (hook) => client.onClose(hook),
    }),
  );
}
