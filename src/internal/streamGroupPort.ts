/**
 * The Redis side of a consumer group, as the group consumer engine sees it: every method is a
 * cold Observable, so the engine's timing (poll loop, claim cycle, in-flight limit) can be
 * marble-tested with a fake port. Blocking reads go to a dedicated connection to the node
 * owning the stream key; everything else to the shared command connection.
 *
 * @internal
 */
import { Command } from 'ioredis';
import { map, type Observable } from 'rxjs';
import type { DedicatedConnection, RedisClient } from '../connection/RedisClient';
import { CommandError } from '../errors';
import { blockingCall, readerConnection, redisCall } from './blockingRead';
import {
  parseAutoClaim,
  parsePendingRows,
  parseReadOne,
  type AutoClaimReply,
  type RawEntry,
  type StreamFields,
} from './streamReplies';

/** One entry on its way to the dead-letter stream. */
export interface DeadLetter {
  readonly id: string;
  readonly fields: StreamFields | null;
  readonly deliveries: number;
  readonly reason: string;
}

export interface GroupPort {
  /** XGROUP CREATE … MKSTREAM; an existing group is fine. */
  ensureGroup(): Observable<void>;
  /** XREADGROUP from `id` (`>` = new entries, blocking up to `blockMs`; else own history). */
  read(id: string, count: number, blockMs: number | undefined): Observable<RawEntry[]>;
  /** XAUTOCLAIM entries idle at least `minIdleMs`, from `cursor`. */
  autoClaim(cursor: string, count: number, minIdleMs: number): Observable<AutoClaimReply>;
  /** Delivery counts of entries this consumer owns (XPENDING per id, one round trip). */
  deliveries(ids: ReadonlyArray<string>): Observable<ReadonlyMap<string, number>>;
  /** XACK many ids; emits how many were still pending. */
  ack(ids: ReadonlyArray<string>): Observable<number>;
  /**
   * XCLAIM … JUSTID to this consumer, each id only when idle at least its `minIdleMs` (so an
   * entry another consumer took in between is not taken back). Emits the ids still ours.
   */
  refresh(claims: ReadonlyArray<{ id: string; minIdleMs: number }>): Observable<string[]>;
  /** XADD to the dead-letter stream (the caller acks afterwards). */
  deadLetter(letter: DeadLetter): Observable<void>;
  /** Interrupts a blocking read at once and closes the dedicated connection. */
  close(): void;
}

type Call = (...args: Array<string | number>) => Promise<unknown>;

/** The Redis port of one subscription of `fromStreamGroup`. */
export const redisGroupPort = (
  client: RedisClient,
  names: {
    readonly stream: string;
    readonly group: string;
    readonly consumer: string;
    readonly deadLetter: string;
    readonly startId: string;
  },
): GroupPort => {
  const key = client.key(names.stream);
  const dlq = client.key(names.deadLetter);
  const { group, consumer } = names;
  const redis = client.redis;
  const reader = readerConnection(client, key, names.stream);

  const readOn = async (
    c: DedicatedConnection,
    id: string,
    count: number,
    blockMs: number | undefined,
  ): Promise<RawEntry[]> => {
    const args: Array<string | number> = ['GROUP', group, consumer, 'COUNT', count];
    if (blockMs !== undefined && id === '>') args.push('BLOCK', blockMs);
    args.push('STREAMS', key, id);
    const reply = await blockingCall(c.redis, 'XREADGROUP', () =>
      (c.redis.xreadgroup as unknown as Call).apply(c.redis, args),
    );
    return parseReadOne(reply, key, 'XREADGROUP');
  };

  return {
    ensureGroup: () =>
      redisCall('XGROUP', async () => {
        try {
          await redis.xgroup('CREATE', key, group, names.startId, 'MKSTREAM');
        } catch (e) {
          if (!/BUSYGROUP/.test(e instanceof Error ? e.message : '')) throw e;
        }
      }),
    // Once the connection is open the XREADGROUP is written during the subscription, not a
    // microtask later: the engine subscribes the next read before it emits the batch just read,
    // and an `await` here would hold the read back until that whole batch was handled.
    read: (id, count, blockMs) =>
      redisCall('XREADGROUP', async () => {
        const c = reader.get();
        return readOn(c instanceof Promise ? await c : c, id, count, blockMs);
      }),
    autoClaim: (cursor, count, minIdleMs) =>
      redisCall('XAUTOCLAIM', async () =>
        parseAutoClaim(
          await redis.xautoclaim(key, group, consumer, minIdleMs, cursor, 'COUNT', count),
        ),
      ),
    deliveries: (ids) =>
      redisCall('XPENDING', async () => {
        const p = redis.pipeline();
        for (const id of ids) p.xpending(key, group, id, id, 1, consumer);
        const replies = (await p.exec()) ?? [];
        const counts = new Map<string, number>();
        for (const [err, reply] of replies) {
          if (err) throw err;
          for (const row of parsePendingRows(reply)) counts.set(row.id, row.deliveries);
        }
        return counts;
      }),
    // Sent at once rather than through auto-pipelining: the engine already sends one XACK for
    // all the acks of a batch, and auto-pipelining would only add a pipeline and a macrotask.
    ack: (ids) =>
      redisCall('XACK', () => {
        const xack = new Command('xack', [key, group, ...ids], { replyEncoding: 'utf8' });
        void redis.sendCommand(xack);
        return xack.promise as Promise<number>;
      }),
    refresh: (claims) =>
      redisCall('XCLAIM', async () => {
        const p = redis.pipeline();
        for (const c of claims)
          (p.xclaim as unknown as (...a: Array<string | number>) => unknown)(
            key,
            group,
            consumer,
            Math.max(0, Math.floor(c.minIdleMs)),
            c.id,
            'JUSTID',
          );
        const replies = (await p.exec()) ?? [];
        const ours: string[] = [];
        for (const [err, reply] of replies) {
          if (err) throw err;
          if (Array.isArray(reply)) for (const id of reply) ours.push(String(id));
        }
        return ours;
      }),
    deadLetter: (letter) =>
      redisCall('XADD', async () => {
        await redis.xadd(
          dlq,
          '*',
          'stream',
          names.stream,
          'id',
          letter.id,
          'group',
          group,
          'consumer',
          consumer,
          'deliveries',
          String(letter.deliveries),
          'reason',
          letter.reason,
          'fields',
          JSON.stringify(letter.fields),
        );
      }).pipe(map(() => undefined)),
    close: reader.close,
  };
};

/** NOGROUP: the group (or the stream) was deleted, or the server lost it in a restart. */
export const isNoGroup = (e: unknown): boolean =>
  e instanceof CommandError && (e.code === 'NOGROUP' || /NOGROUP/.test(e.message));
