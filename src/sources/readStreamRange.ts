import { EMPTY, Observable, defer, expand, mergeMap } from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { toRedisError } from '../errors';
import { parseEntries, type RawEntry, type StreamFields } from '../internal/streamReplies';
import { decodeEntries, type OnDecodeError, type StreamCodec } from '../internal/streamWire';
import type { StreamEntry } from './StreamEntry';

/**
 * Options of {@link readStreamRange}.
 *
 * @since 0.1.0
 */
export interface ReadStreamRangeConfig<A> {
  /** @defaultValue '-' — first id (inclusive; `'(' + id` for exclusive) */
  readonly start?: string;
  /** @defaultValue '+' — last id (inclusive) */
  readonly end?: string;
  /** @defaultValue false — newest first (XREVRANGE) */
  readonly reverse?: boolean;
  /** @defaultValue 500 — entries per round trip */
  readonly pageSize?: number;
  /** @defaultValue no limit — stop after this many entries */
  readonly limit?: number;
  /** @defaultValue none: the value is the entry's field map */
  readonly codec?: StreamCodec<A>;
  /** @defaultValue 'error' — see `fromStream` */
  readonly onDecodeError?: OnDecodeError;
}

/**
 * Reads a range of a stream once (XRANGE / XREVRANGE, page by page) and completes: for replay,
 * tooling and reading a dead-letter stream. Cold and lazy: a page is read when the previous
 * one was emitted; unsubscribing stops after the page in flight. With `onDecodeError: 'error'`
 * an entry that fails to decode fails it with a `DecodeError` naming the entry, after every
 * entry before it (in its page too) was emitted, in order.
 *
 * ```text
 * stream:   [1 2 3 4 5]
 * range:    (1 2 3)(4 5)|     (pageSize 3)
 * ```
 *
 * @example
 * ```ts
 * import { createRedis, readStreamRange } from '@mamey/persistence-redis';
 *
 * const client = createRedis(process.env.REDIS_URL);
 * readStreamRange(client, 'orders:dlq', { limit: 100 }).subscribe((e) =>
 *   console.log(e.id, e.value['reason']),
 * );
 * ```
 * @param client the client
 * @param stream the stream (without the client's `instance` prefix)
 * @param config see {@link ReadStreamRangeConfig}
 * @returns the entries in the range, then completes
 * @throws TypeError at call time for an invalid config
 * @see fromStream
 * @since 0.1.0
 */
export function readStreamRange(
  client: RedisClient,
  stream: string,
  config?: ReadStreamRangeConfig<StreamFields> & { readonly codec?: undefined },
): Observable<StreamEntry<StreamFields>>;
export function readStreamRange<A>(
  client: RedisClient,
  stream: string,
  config: ReadStreamRangeConfig<A> & { readonly codec: StreamCodec<A> },
): Observable<StreamEntry<A>>;
export function readStreamRange<A>(
  client: RedisClient,
  stream: string,
  config: ReadStreamRangeConfig<A> = {},
): Observable<StreamEntry<A>> {
  const {
    start = '-',
    end = '+',
    reverse = false,
    pageSize = 500,
    limit = Infinity,
    codec,
    onDecodeError = 'error',
  } = config;
  if (typeof stream !== 'string' || stream === '')
    throw new TypeError('readStreamRange: stream must be a non-empty string');
  if (!(Number.isInteger(pageSize) && pageSize > 0))
    throw new TypeError(`readStreamRange: pageSize must be a positive integer, got ${pageSize}`);
  if (!(limit > 0)) throw new TypeError(`readStreamRange: limit must be positive, got ${limit}`);

  return defer(() => {
    const key = client.key(stream);
    let seen = 0;
    const page = (from: string): Observable<{ entries: RawEntry[]; full: boolean }> =>
      defer(async () => {
        const n = Math.min(pageSize, limit - seen);
        try {
          const reply = reverse
            ? await client.redis.xrevrange(key, from, start, 'COUNT', n)
            : await client.redis.xrange(key, from, end, 'COUNT', n);
          const entries = parseEntries(reply);
          seen += entries.length;
          return { entries, full: entries.length === n && seen < limit };
        } catch (e) {
          throw toRedisError(e, reverse ? 'XREVRANGE' : 'XRANGE');
        }
      });
    return page(reverse ? end : start).pipe(
      expand((p) => {
        const lastId = p.entries[p.entries.length - 1]?.id;
        return p.full && lastId !== undefined ? page(`(${lastId}`) : EMPTY;
      }, 1),
      // entry by entry, so an entry that fails to decode fails the Observable after the
      // entries of its page before it were emitted, in order
      mergeMap((p) => p.entries),
      mergeMap((entry) =>
        decodeEntries(stream, [entry], codec, onDecodeError, (id, e) => {
          client.metrics.increment('stream.skipped');
          client.logger.warn({ stream, id, error: e.message }, 'stream entry skipped');
        }),
      ),
    );
  });
}
