/**
 * Crash test: consumers in child processes are killed with SIGKILL mid-batch while 20,000
 * entries flow; a surviving consumer takes their pending entries over (XAUTOCLAIM). Every entry
 * is processed at least once, and the duplicates stay within the in-flight limit per kill.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import * as t from 'io-ts';
import { from, lastValueFrom, type Subscription } from 'rxjs';
import { ackAfter, createRedis, fromStreamGroup, toStream, type RedisClient } from '../../../src';
import { deleteKeys, testRedisUrl, uniquePrefix, waitFor } from '../../support/env';
import { pendingOf, sleep } from './helpers';

const Event = t.type({ n: t.number, kind: t.string }, 'Event');
const ROOT = join(__dirname, '..', '..', '..');
const TOTAL = 20_000;
const KILLS = 4;
const MAX_IN_FLIGHT = 50; // as in crashConsumer.ts

describe('crash: consumers killed with SIGKILL mid-batch', () => {
  const prefix = uniquePrefix('crash');
  let client: RedisClient;
  let survivor: Subscription | undefined;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    client = createRedis({ url: testRedisUrl(), instance: prefix });
  });
  afterAll(async () => {
    survivor?.unsubscribe();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await deleteKeys(client.redis, prefix);
    await client.close();
  });

  const startChild = (consumer: string): ChildProcess => {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'test/integration/streams/crashConsumer.ts'],
      {
        cwd: ROOT,
        env: { ...process.env, URL: testRedisUrl(), PREFIX: prefix, CONSUMER: consumer },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(child);
    return child;
  };
  const count = async (consumer: string) =>
    Number((await client.redis.get(client.key(`count:${consumer}`))) ?? 0);

  it(`processes all ${TOTAL} entries at least once across ${KILLS} kills; duplicates are bounded`, async () => {
    // the producer writes a part of the entries for each consumer that is started (so each
    // has work when it is killed) and the last part after the last kill
    let written = 0;
    const produce = async (count: number) => {
      for (const end = written + count; written < end;) {
        const batch = Array.from({ length: 500 }, (_, k) => ({ n: written + k, kind: 'c' }));
        written += 500;
        await lastValueFrom(from(batch).pipe(toStream(client, 'crash', { codec: Event })));
        await sleep(20);
      }
    };
    const part = TOTAL / (KILLS + 1);
    survivor = fromStreamGroup(client, {
      stream: 'crash',
      group: 'g',
      consumer: 'survivor',
      codec: Event,
      maxInFlight: MAX_IN_FLIGHT,
      count: 50,
      claimIdleMs: 1000,
      claimIntervalMs: 200,
      blockMs: 200,
    })
      .pipe(
        ackAfter(
          async (m) => {
            await client.redis.rpush(client.key('processed'), String(m.value.n));
            await sleep(2);
          },
          { concurrency: 5 },
        ),
      )
      .subscribe();

    const pendingAtKill: number[] = [];
    for (let k = 1; k <= KILLS; k++) {
      const consumer = `victim-${k}`;
      const child = startChild(consumer);
      await new Promise((resolve) => child.stdout!.once('data', resolve)); // started
      const producing = produce(part);
      await waitFor(async () => (await count(consumer)) >= 400, {
        timeoutMs: 30_000,
        message: `${consumer} processed 400 entries`,
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      pendingAtKill.push((await pendingOf(client, 'crash', 'g')).consumers[consumer] ?? 0);
      await producing;
    }
    await produce(part);
    expect(written).toBe(TOTAL);
    await waitFor(
      async () => {
        const p = await pendingOf(client, 'crash', 'g');
        const [lag] = (
          (await client.redis.xinfo('GROUPS', client.key('crash'))) as unknown[][]
        ).map((g) => g[g.indexOf('lag') + 1]);
        return p.count === 0 && lag === 0;
      },
      { timeoutMs: 60_000, message: 'every entry delivered and acked' },
    );

    const processed = (await client.redis.lrange(client.key('processed'), 0, -1)).map(Number);
    const unique = new Set(processed);
    const duplicates = processed.length - unique.size;
    console.log(
      `crash test: ${processed.length} handled, ${unique.size} distinct, ${duplicates} duplicates ` +
        `after ${KILLS} kills (pending at each kill: ${pendingAtKill.join(', ')}; ` +
        `survivor claimed ${client.metrics.snapshot().counters['stream.claimed'] ?? 0})`,
    );
    expect(unique.size).toBe(TOTAL); // none lost
    expect(pendingAtKill.every((p) => p > 0)).toBe(true); // each kill was mid-batch
    expect(duplicates).toBeLessThanOrEqual(KILLS * MAX_IN_FLIGHT);
    expect(client.metrics.snapshot().counters['stream.claimed'] ?? 0).toBeGreaterThan(0);
  }, 120_000);
});
