import * as t from 'io-ts';
import {
  firstValueFrom,
  interval,
  lastValueFrom,
  map,
  take,
  toArray,
  type Subscription,
} from 'rxjs';
import {
  ackAfter,
  fromStreamGroup,
  readStreamRange,
  streamGroupStats,
  toStream,
  type RedisClient,
} from '../../src';
import { say } from '../print';

const Order = t.type({ n: t.number, item: t.string, qty: t.number }, 'Order');
type Order = t.TypeOf<typeof Order>;

/**
 * A producer writes orders with toStream; two consumers of one group handle them with ackAfter;
 * the second one always fails on every 25th order, which goes to the dead-letter stream after
 * maxDeliveries attempts. A live line shows produced / acked / pending / dead-lettered.
 */
export const streamsDemo = async (client: RedisClient): Promise<void> => {
  const stream = `demo:orders:${Date.now()}`;
  const total = 300;
  const keys = [client.key(stream), client.key(`${stream}:dlq`)];
  let produced = 0;
  const handled = { 'worker-1': 0, 'worker-2': 0 };
  const consumers: Subscription[] = (['worker-1', 'worker-2'] as const).map((consumer) =>
    fromStreamGroup(client, {
      stream,
      group: 'shipping',
      consumer,
      codec: Order,
      claimIdleMs: 300,
      claimIntervalMs: 100,
      blockMs: 100,
      maxDeliveries: 2,
    })
      .pipe(
        ackAfter(
          async (m) => {
            await new Promise((r) => setTimeout(r, 5));
            if (consumer === 'worker-2' && m.value.n % 25 === 0)
              throw new Error(`cannot ship order ${m.value.n}`);
            handled[consumer] += 1;
          },
          { concurrency: 4 },
        ),
      )
      .subscribe(),
  );

  const line = (s: { pending: number; dead: number }) =>
    `produced ${String(produced).padStart(3)} | acked ${String(
      client.metrics.snapshot().counters['stream.acked'] ?? 0,
    ).padStart(3)} | pending ${String(s.pending).padStart(3)} | dead-lettered ${s.dead}`;
  const stats$ = streamGroupStats(client, stream, { group: 'shipping', periodMs: 200 }).pipe(
    map((groups) => ({
      pending: groups[0]?.pending ?? 0,
      dead: client.metrics.snapshot().counters['stream.deadLettered'] ?? 0,
    })),
  );
  const live = stats$.subscribe((s) => {
    if (process.stdout.isTTY) process.stdout.write(`\r  ${line(s)}   `);
  });

  const orders$ = interval(5).pipe(
    take(total),
    map((n): Order => ({ n, item: ['tea', 'rice', 'salt'][n % 3]!, qty: 1 + (n % 4) })),
  );
  await lastValueFrom(
    orders$.pipe(
      toStream(client, stream, { codec: Order, maxLen: 10_000 }),
      map(() => (produced += 1)),
    ),
  );
  // wait until every order is acked or dead-lettered
  for (;;) {
    const [g] = await firstValueFrom(streamGroupStats(client, stream, { group: 'shipping' }));
    if (g !== undefined && g.pending === 0 && g.lag === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  live.unsubscribe();
  consumers.forEach((c) => c.unsubscribe());
  const final = await firstValueFrom(stats$);
  if (process.stdout.isTTY) process.stdout.write('\n');
  say(line(final));
  say(`handled by worker-1: ${handled['worker-1']}, by worker-2: ${handled['worker-2']}`);
  const letters = await lastValueFrom(
    readStreamRange(client, `${stream}:dlq`, { limit: 3 }).pipe(
      map((e) => `${e.value['id']} (${e.value['reason']})`),
      toArray(),
    ),
  );
  say(`dead-letter stream ${stream}:dlq, first entries: ${letters.join(', ') || '(none)'}`);
  await client.redis.del(...keys);
};
