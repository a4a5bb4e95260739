import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import * as t from 'io-ts';
import { from, lastValueFrom, of, take } from 'rxjs';
import { ackAfter, createRedis, fromStreamGroup, toStream, type RedisClient } from '../../src';
import type { BenchCase } from '../harness';
import type { BenchContext } from '../index';

const Event = t.type({ n: t.number, kind: t.string, at: t.string }, 'Event');
const event = (n: number) => ({ n, kind: 'bench', at: '2024-01-01T00:00:00.000Z' });
const BATCH = 100;
const run = promisify(execFile);

/** Waits until `client` has acked `total` entries (acks are batched behind the handlers). */
const ackedReaches = async (client: RedisClient, total: number): Promise<void> => {
  while ((client.metrics.snapshot().counters['stream.acked'] ?? 0) < total)
    await new Promise((r) => setImmediate(r));
};

/** Fills `key` with `count` entries, raw and pipelined (setup, not measured). */
const fill = async (raw: Redis, key: string, count: number): Promise<void> => {
  for (let i = 0; i < count; i += 2000) {
    const p = raw.pipeline();
    for (let k = i; k < Math.min(count, i + 2000); k++)
      p.xadd(key, '*', 'data', JSON.stringify(event(k)));
    await p.exec();
  }
};

/**
 * Consuming a backlog with a consumer group, and writing with toStream, each against the
 * hand-written raw ioredis loop doing the same Redis work; and a 1,000,000-entry backlog
 * consumed with bounded memory (peak RSS printed).
 */
export const streamCases = async (ctx: BenchContext): Promise<BenchCase[]> => {
  const client = createRedis({ url: ctx.url, instance: 'bench:' });
  const raw = new Redis(ctx.url);
  const rawWriter = new Redis(ctx.url);
  const backlog = client.key('streams:backlog');
  const big = client.key('streams:big');
  let groups = 0;
  ctx.onTeardown(async () => {
    await raw.del(backlog, big, client.key('streams:ours'), client.key('streams:raw'));
    await client.close();
    raw.disconnect();
    rawWriter.disconnect();
  });
  await raw.del(backlog, big);
  const CONSUME_OPS = 50_000;
  await fill(raw, backlog, CONSUME_OPS);

  /** A fresh group at 0 on `key`: every run reads the same backlog from the start. */
  const newGroup = async (key: string): Promise<string> => {
    const g = `g${++groups}`;
    await raw.xgroup('CREATE', key, g, '0');
    return g;
  };

  const ours = async (stream: 'streams:backlog' | 'streams:big', ops: number): Promise<void> => {
    const group = await newGroup(client.key(stream));
    const before = client.metrics.snapshot().counters['stream.acked'] ?? 0;
    await lastValueFrom(
      fromStreamGroup(client, { stream, group, consumer: 'c', codec: Event, count: BATCH }).pipe(
        ackAfter((m) => of(m.value.n)),
        take(ops),
      ),
    );
    await ackedReaches(client, before + ops);
  };

  const rawConsume = async (key: string, ops: number): Promise<void> => {
    const group = await newGroup(key);
    let done = 0;
    let lastAck: Promise<unknown> = Promise.resolve();
    while (done < ops) {
      const reply = (await raw.xreadgroup(
        'GROUP',
        group,
        'c',
        'COUNT',
        Math.min(BATCH, ops - done),
        'STREAMS',
        key,
        '>',
      )) as Array<[string, Array<[string, string[]]>]> | null;
      const entries = reply?.[0]?.[1] ?? [];
      const ids: string[] = [];
      for (const [id, fields] of entries) {
        JSON.parse(fields[1]!);
        ids.push(id);
      }
      done += entries.length;
      // pipelined: the ack goes out with the next read, not waited for
      if (ids.length > 0) lastAck = raw.xack(key, group, ...ids);
    }
    await lastAck;
  };

  // The values to write exist before the clock starts, for both sides alike: building them is
  // the caller's work, not the writer's (ours used to build its input array inside its timing).
  const WRITE_OPS = 50_000;
  const events = Array.from({ length: WRITE_OPS }, (_, n) => event(n));
  const writeOurs = (ops: number) =>
    lastValueFrom(
      from(ops === events.length ? events : events.slice(0, ops)).pipe(
        // a 50,000-value synchronous source: every value waits at once (the array holds them anyway)
        toStream(client, 'streams:ours', { codec: Event, batch: 500, maxBuffered: Infinity }),
      ),
    ).then(() => undefined);
  const writeRaw = async (ops: number) => {
    const key = client.key('streams:raw');
    for (let i = 0; i < ops; i += 500) {
      const p = rawWriter.pipeline();
      for (let k = i; k < Math.min(ops, i + 500); k++)
        p.xadd(key, '*', 'data', JSON.stringify(events[k]));
      await p.exec();
    }
  };

  const MEMORY_OPS = 1_000_000;
  let filledBig = false;
  /**
   * The consumer runs in a child process of its own, so its RSS is not the bench runner's (which
   * holds every earlier case's heap); the child includes ts-node's compiler in its baseline.
   */
  const memory = async (ops: number): Promise<void> => {
    if (!filledBig) {
      process.stdout.write(`(filling ${MEMORY_OPS.toLocaleString('en-US')} entries) `);
      await fill(raw, big, MEMORY_OPS);
      filledBig = true;
    }
    const group = await newGroup(big);
    const { stdout } = await run(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        join(__dirname, '..', 'streamsMemory.ts'),
        ctx.url,
        'streams:big',
        group,
        String(ops),
      ],
      { cwd: join(__dirname, '..', '..'), maxBuffer: 1 << 20 },
    );
    const { beforeMb, peakMb } = JSON.parse(stdout.trim().split('\n').pop()!) as {
      beforeMb: number;
      peakMb: number;
    };
    if (ops === MEMORY_OPS)
      process.stdout.write(
        `consumer process RSS ${beforeMb} MB before, peak ${peakMb} MB while consuming ` +
          `${ops.toLocaleString('en-US')} entries (limit 300 MB: ${peakMb < 300 ? 'met' : 'NOT MET'}) … `,
      );
  };

  return [
    {
      name: `streams: fromStreamGroup + ackAfter, consume a backlog (COUNT ${BATCH}, io-ts codec)`,
      ops: CONSUME_OPS,
      // Both sides run their first full rounds measurably slower (ours, with more code for the JIT
      // to optimise, for longer): measure them warm, not the median of partly cold rounds.
      warmupRounds: 2,
      // ours overlaps reading with handling and so competes with redis-server for the two cores;
      // its rounds spread wider than the raw loop's: a median of more of them
      rounds: 11,
      ours: { name: 'fromStreamGroup + ackAfter', run: (ops) => ours('streams:backlog', ops) },
      others: [
        {
          name: 'raw ioredis (XREADGROUP + JSON.parse + pipelined XACK)',
          run: (ops) => rawConsume(backlog, ops),
          target: 0.9,
        },
      ],
    },
    {
      name: 'streams: toStream, 500 XADDs per pipeline',
      ops: WRITE_OPS,
      warmupRounds: 2, // as for the consume case: both sides measured warm
      rounds: 11,
      ours: { name: 'toStream', run: writeOurs },
      others: [{ name: 'raw ioredis (pipelined XADD batches)', run: writeRaw, target: 0.9 }],
    },
    {
      name: 'streams memory: consume a 1,000,000-entry backlog (maxInFlight 1000)',
      ops: MEMORY_OPS,
      rounds: 1,
      ours: { name: 'fromStreamGroup + ackAfter (own process, incl. its start-up)', run: memory },
      others: [
        {
          name: 'raw ioredis (XREADGROUP + JSON.parse + pipelined XACK)',
          run: (ops) => rawConsume(big, ops),
        },
      ],
    },
  ];
};
