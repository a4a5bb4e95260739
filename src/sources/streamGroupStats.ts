import {
  asyncScheduler,
  defer,
  exhaustMap,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { toRedisError } from '../errors';
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
 * once and then every `periodMs`. A stream that does not exist yet has no groups (`[]`).
 *
 * ```text
 * timer:  x----x----x--
 * stats:  a----b----c--    (each an array, one item per group)
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
  const read = async (): Promise<StreamGroupStats[]> => {
    const key = client.key(stream);
    try {
      const [length, groupsReply] = await Promise.all([
        client.redis.xlen(key),
        client.redis.xinfo('GROUPS', key).catch((e: unknown) => {
          if (e instanceof Error && /no such key/i.test(e.message)) return [];
          throw e;
        }),
      ]);
      const groups = parseGroups(groupsReply).filter(
        (g) => group === undefined || g.name === group,
      );
      return await Promise.all(
        groups.map(async (g) => ({
          stream,
          group: g.name,
          length,
          lag: g.lag,
          pending: g.pending,
          pendingByConsumer: parsePendingSummary(await client.redis.xpending(key, g.name))
            .consumers,
          consumers: g.consumers,
          lastDeliveredId: g.lastDeliveredId,
        })),
      );
    } catch (e) {
      throw toRedisError(e, 'XINFO');
    }
  };
  return timer(0, periodMs, scheduler).pipe(exhaustMap(() => defer(read)));
};
