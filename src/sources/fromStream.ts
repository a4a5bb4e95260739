import {
  EMPTY,
  Observable,
  asyncScheduler,
  concat,
  defer,
  expand,
  ignoreElements,
  mergeMap,
  retry,
  timer,
  type SchedulerLike,
} from 'rxjs';
import type { DedicatedConnection, RedisClient } from '../connection/RedisClient';
import { ConnectionError, isTransient, toRedisError } from '../errors';
import { blockingCall } from '../internal/blockingRead';
import { parseEntries, parseReadOne, type StreamFields } from '../internal/streamReplies';
import { decodeEntries, type OnDecodeError, type StreamCodec } from '../internal/streamWire';
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
 * A connection loss is retried from the last entry seen, so nothing is skipped or repeated;
 * `client.close()` completes it. For a finite read, see {@link readStreamRange}.
 *
 * ```text
 * XADD:     --1---2-3------4--
 * entries:  --1---2-3------4--   (from '$': only entries added after subscribing)
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

  return new Observable<StreamEntry<A>>((subscriber) => {
    const key = client.key(stream);
    let conn: Promise<DedicatedConnection> | undefined;
    let stopped = false;
    let last = from;

    const start$ = defer(async () => {
      if (last !== '$') return;
      // '$' would skip what arrives between two reads: pin it to the current last id
      const newest = parseEntries(await client.redis.xrevrange(key, '+', '-', 'COUNT', 1));
      last = newest[0]?.id ?? '0-0';
    });
    const read$ = defer(async () => {
      if (stopped) throw new ConnectionError('closed', `stream ${stream}: reader stopped`);
      conn ??= client.dedicated(key);
      const c = await conn;
      const reply = await blockingCall(c.redis, 'XREAD', () =>
        c.redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', key, last),
      );
      const entries = parseReadOne(reply, key);
      if (entries.length > 0) last = entries[entries.length - 1]!.id;
      return entries;
    });
    const step$ = read$.pipe(
      retry({
        resetOnSuccess: true,
        delay: (e: unknown, attempt) => {
          if (stopped) return EMPTY;
          const error = toRedisError(e, 'XREAD');
          if (!isTransient(error)) throw error;
          client.logger.warn({ stream, error: error.message, attempt }, 'XREAD failed; retrying');
          return timer(Math.min(50 * 2 ** (attempt - 1), 2000), scheduler);
        },
      }),
    );
    const stop = (): void => {
      stopped = true;
      void conn?.then(
        (c) => c.close(),
        () => undefined,
      );
    };
    const unregister = client.onClose(async () => {
      stop();
      subscriber.complete();
    });
    const sub = concat(start$.pipe(ignoreElements()), step$)
      .pipe(
        expand(() => (stopped ? EMPTY : step$), 1),
        mergeMap((entries) =>
          decodeEntries(stream, entries, codec, onDecodeError, (id, e) => {
            client.metrics.increment('stream.skipped');
            client.logger.warn({ stream, id, error: e.message }, 'stream entry skipped');
          }),
        ),
      )
      .subscribe(subscriber);
    return () => {
      unregister();
      sub.unsubscribe();
      stop();
    };
  });
}
