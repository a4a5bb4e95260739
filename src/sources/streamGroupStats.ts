import {
  asyncScheduler,
  catchError,
  defer,
  exhaustMap,
  forkJoin,
  map,
  mergeMap,
  of,
  throwError,
  timer,
  type Observable,
  type ObservableInput,
  type SchedulerLike,
} from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { toRedisError, type RedisError } from '../errors';
import { parseGroups, parsePendingSummary } from '../internal/streamReplies';

/**
 * Options of {@link streamGroupStats}.
 *
 * @since 0.1.0
 */
export interface StreamGroupStatsConfig {
  /** @defaultValue every group of the stream */
  readonly group?: string;
  /** @defaultValue 1000 */
  readonly periodMs?: number;
  /** @defaultValue asyncScheduler */
  readonly scheduler?: SchedulerLike;
}

/**
 * Figures of one consumer group at one moment.
 *
 * @since 0.1.0
 */
export interface StreamGroupStats {
  readonly stream: string;
  readonly group: string;
  /** Entries in the stream (XLEN). */
  readonly length: number;
  /** Entries not delivered to the group yet (`null` when Redis cannot tell, e.g. after XDEL). */
  readonly lag: number | null;
  /** Delivered, not acknowledged. */
  readonly pending: number;
  /** Pending per consumer. */
  readonly pendingByConsumer: Readonly<Record<string, number>>;
  readonly consumers: number;
  readonly lastDeliveredId: string;
}

/**
 * Polls a stream's consumer groups (XINFO GROUPS, XPENDING, XLEN): lag and pending counts, at
 * once and then every `periodMs`. A stream that does not exist yet has no groups (`[]`). A
 * command that fails fails the Observable with its `RedisError` (pipe `retryWithBackoff` to
 * keep polling through a reconnect).
 *
 * ```text
 * tick:   x----x----x----x-    at once, then every periodMs (5 here)
 * stats:  -a---------b----c    a snapshot per tick (an array, one item per group); a tick
 *                              while the snapshot before it is still being read is skipped
 * ```
 *
 * @example
 * ```ts
 * import { createRedis, streamGroupStats } from '@mamey/persistence-redis';
 *
 * const client = createRedis(process.env.REDIS_URL);
 * streamGroupStats(client, 'orders', { group: 'billing', periodMs: 5000 }).subscribe(([s]) =>
 *   console.log(`lag ${s?.lag}, pending ${s?.pending}`),
 * );
 * ```
 * @param client the client
 * @param stream the stream (without the client's `instance` prefix)
 * @param config see {@link StreamGroupStatsConfig}
 * @returns a snapshot per period
 * @throws TypeError at call time for an invalid period
 * @see fromStreamGroup
 * @since 0.1.0
 */
export const streamGroupStats = (
  client: RedisClient,
  stream: string,
  config: StreamGroupStatsConfig = {},
): Observable<ReadonlyArray<StreamGroupStats>> => {
  const { group, periodMs = 1000, scheduler = asyncScheduler } = config;
  if (!(periodMs > 0))
    throw new TypeError(`streamGroupStats: periodMs must be positive, got ${periodMs}`);
  const key = client.key(stream);
  /** One command: `send` gives ioredis' promise, `parse` its reply; errors are `RedisError`s. */
  const call = <T>(
    command: string,
    send: () => ObservableInput<unknown>,
    parse: (r: unknown) => T,
  ) =>
    defer(send).pipe(
      map(parse),
      catchError((e: unknown) => throwError(() => toRedisError(e, command))),
    );
  const snapshot = (): Observable<StreamGroupStats[]> =>
    forkJoin([
      call('XLEN', () => client.redis.xlen(key), Number),
      call('XINFO', () => client.redis.xinfo('GROUPS', key), parseGroups).pipe(
        // a stream that does not exist yet has no groups
        catchError((e: RedisError) =>
          /no such key/i.test(e.message) ? of([]) : throwError(() => e),
        ),
      ),
    ]).pipe(
      mergeMap(([length, groups]) => {
        const wanted = groups.filter((g) => group === undefined || g.name === group);
        if (wanted.length === 0) return of([]);
        return forkJoin(
          wanted.map((g) =>
            call('XPENDING', () => client.redis.xpending(key, g.name), parsePendingSummary).pipe(
              map((pending): StreamGroupStats => ({
                stream,
                group: g.name,
                length,
                lag: g.lag,
                pending: g.pending,
                pendingByConsumer: pending.consumers,
                consumers: g.consumers,
                lastDeliveredId: g.lastDeliveredId,
              })),
            ),
          ),
        );
      }),
    );
  return timer(0, periodMs, scheduler).pipe(exhaustMap(snapshot));
};
