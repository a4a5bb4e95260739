/**
 * Restart test: the server (AOF, `appendfsync always`) is restarted while two consumers work
 * through a stream and a producer keeps writing; the consumers resume by themselves and every
 * entry ends up processed and acknowledged — nothing acknowledged comes back, nothing is lost.
 */
import * as t from 'io-ts';
import { from, lastValueFrom, type Subscription } from 'rxjs';
import {
  ackAfter,
  createRedis,
  fromStream,
  fromStreamGroup,
  toStream,
  type RedisClient,
} from '../../../src';
import { spawnRedis, type RedisServer } from '../../support/redisProcess';
import { waitFor } from '../../support/env';
import { pendingOf, sleep } from './helpers';

const Event = t.type({ n: t.number, kind: t.string }, 'Event');
const batch = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ n: from + i, kind: 'r' }));

describe('restart: the Redis server restarts mid-stream', () => {
  let server: RedisServer;
  let client: RedisClient;
  const subs: Subscription[] = [];
  beforeAll(async () => {
    server = await spawnRedis({ appendonly: true, name: 'streams-restart' });
    client = createRedis({ url: server.url, reconnectMaxDelayMs: 200 });
  });
  afterAll(async () => {
    subs.forEach((s) => s.unsubscribe());
    await client.close({ timeoutMs: 2000 });
    await server.stop();
  });

  it('consumers and tail readers resume by themselves; every entry is processed and acked', async () => {
    await lastValueFrom(from(batch(0, 2000)).pipe(toStream(client, 'r', { codec: Event })));
    const processed: number[] = [];
    const errors: unknown[] = [];
    // a plain tail reader alongside: it resumes from the last entry it saw
    const tailed: number[] = [];
    subs.push(
      fromStream(client, 'r', { from: '0', codec: Event, blockMs: 200 }).subscribe({
        next: (e) => tailed.push(e.value.n),
        error: (e: unknown) => errors.push(e),
      }),
    );
    for (const consumer of ['r1', 'r2'])
      subs.push(
        fromStreamGroup(client, {
          stream: 'r',
          group: 'g',
          consumer,
          codec: Event,
          maxInFlight: 50,
          claimIdleMs: 1000,
          claimIntervalMs: 200,
          blockMs: 200,
        })
          .pipe(
            ackAfter(
              async (m) => {
                await sleep(1);
                processed.push(m.value.n);
              },
              { concurrency: 4 },
            ),
          )
          .subscribe({ error: (e: unknown) => errors.push(e) }),
      );
    await waitFor(() => processed.length >= 500, { message: '500 processed before the restart' });
    await server.restart();
    const ackedBefore = new Set(processed);
    await lastValueFrom(from(batch(2000, 1000)).pipe(toStream(client, 'r', { codec: Event })));
    await waitFor(
      async () =>
        new Set(processed).size === 3000 && (await pendingOf(client, 'r', 'g')).count === 0,
      { timeoutMs: 60_000, message: 'all 3,000 processed and acked after the restart' },
    );
    expect(errors).toEqual([]);
    await waitFor(() => tailed.length >= 3000);
    expect(tailed).toEqual(Array.from({ length: 3000 }, (_, i) => i)); // no gap, no repeat
    const counts = new Map<number, number>();
    for (const n of processed) counts.set(n, (counts.get(n) ?? 0) + 1);
    // redelivered after the restart: only what was in flight then (2 consumers × maxInFlight)
    const duplicates = processed.length - counts.size;
    expect(duplicates).toBeLessThanOrEqual(100);
    // the group's state survived: what was processed long before the restart was not redone
    const early = [...ackedBefore].filter((n) => n < 300);
    expect(early.filter((n) => counts.get(n)! > 1)).toEqual([]);
    expect(ackedBefore.size).toBeLessThan(2000); // the restart happened mid-stream
  }, 90_000);
});
