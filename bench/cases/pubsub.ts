import { Redis } from 'ioredis';
import type { Subscription } from 'rxjs';
import { createRedis, type RedisClient } from '../../src';
import { fromChannel } from '../../src/sources/fromChannel';
import type { SubscriptionStatus } from '../../src/sources/fromChannel';
import type { BenchCase } from '../harness';
import type { BenchContext } from '../index';

/**
 * The server publishes in a Lua loop, so the publishing side costs the client nothing and the
 * receiving side (RESP parsing, dispatch, the Observable) is what is measured.
 */
const PUBLISH_LOOP = `for i = 1, tonumber(ARGV[2]) do redis.call('PUBLISH', KEYS[1], ARGV[1]) end return 1`;
const CHUNK = 5_000;
const PAYLOAD = JSON.stringify({ id: 'order-1', total: 42.5, items: ['a', 'b', 'c'] });

/** Counts deliveries; `until(n)` resolves once `n` more arrived. */
class Counter {
  count = 0;
  #target = Infinity;
  #resolve: (() => void) | undefined;
  readonly hit = (): void => {
    this.count += 1;
    if (this.count >= this.#target) this.#resolve?.();
  };
  until(n: number): Promise<void> {
    this.count = 0;
    this.#target = n;
    return new Promise((resolve) => (this.#resolve = resolve));
  }
}

const publishLoop = async (publisher: Redis, channel: string, ops: number) => {
  for (let done = 0; done < ops; done += CHUNK)
    await publisher.eval(PUBLISH_LOOP, 1, channel, PAYLOAD, Math.min(CHUNK, ops - done));
};

const subscribed = (onStatus: (f: (s: SubscriptionStatus) => void) => void) =>
  new Promise<void>((resolve) => onStatus((s) => s === 'subscribed' && resolve()));

/**
 * fromChannel against a raw ioredis subscriber with a `'message'` listener (same protocol,
 * same publisher): what the registry, the prefix and the Observable cost per message. And fan-out
 * to 100 subscribers of one channel: one server subscription for all of them (checked with
 * PUBSUB NUMSUB after every round).
 */
export const pubsubCases = async (ctx: BenchContext): Promise<BenchCase[]> => {
  const client: RedisClient = createRedis({ url: ctx.url, instance: 'bench:' });
  const publisher = new Redis(ctx.url);
  const raw = new Redis(ctx.url, { protocol: client.options.protocol, lazyConnect: true });
  const rawFanConn = new Redis(ctx.url, { protocol: client.options.protocol, lazyConnect: true });
  const subs: Subscription[] = [];
  ctx.onTeardown(async () => {
    subs.forEach((s) => s.unsubscribe());
    await client.close();
    await publisher.quit();
    for (const r of [raw, rawFanConn])
      if (r.status === 'ready') await r.quit();
      else r.disconnect();
  });

  const ours = new Counter();
  const theirs = new Counter();
  const fan = new Counter();
  const rawFan = new Counter();
  let ready: Promise<void> | undefined;
  const setUp = () =>
    (ready ??= (async () => {
      await subscribed((onStatus) =>
        subs.push(fromChannel(client, 'ch:ours', { onStatus }).subscribe(ours.hit)),
      );
      const fans = Array.from({ length: 100 }, () =>
        subscribed((onStatus) =>
          subs.push(fromChannel(client, 'ch:fan', { onStatus }).subscribe(fan.hit)),
        ),
      );
      await Promise.all(fans);
      raw.on('message', (channel: string) => {
        if (channel === 'bench:ch:raw') theirs.hit();
      });
      rawFanConn.setMaxListeners(200);
      for (let i = 0; i < 100; i++)
        rawFanConn.on('message', (channel: string) => {
          if (channel === 'bench:ch:rawfan') rawFan.hit();
        });
      await Promise.all([raw.subscribe('bench:ch:raw'), rawFanConn.subscribe('bench:ch:rawfan')]);
      const [, n] = (await publisher.call('PUBSUB', 'NUMSUB', 'bench:ch:fan')) as [string, number];
      console.log(
        `\n  fan-out: 100 fromChannel subscribers of bench:ch:fan, PUBSUB NUMSUB = ${n} (server subscriptions)`,
      );
      if (Number(n) !== 1) throw new Error(`fan-out expected 1 server subscription, got ${n}`);
    })());
  const checkOneSubscription = async () => {
    const [, n] = (await publisher.call('PUBSUB', 'NUMSUB', 'bench:ch:fan')) as [string, number];
    if (Number(n) !== 1) throw new Error(`fan-out expected 1 server subscription, got ${n}`);
  };

  return [
    {
      name: 'fromChannel delivery (messages/s received)',
      ops: 50_000,
      rounds: 9,
      ours: {
        name: 'fromChannel subscriber',
        run: async (ops) => {
          await setUp();
          const done = ours.until(ops);
          await publishLoop(publisher, 'bench:ch:ours', ops);
          await done;
        },
      },
      others: [
        {
          name: "raw ioredis 'message' listener",
          target: 0.9,
          run: async (ops) => {
            await setUp();
            const done = theirs.until(ops);
            await publishLoop(publisher, 'bench:ch:raw', ops);
            await done;
          },
        },
      ],
    },
    {
      name: 'fan-out to 100 subscribers of one channel (messages/s published; NUMSUB = 1)',
      ops: 5_000,
      ours: {
        name: '100 × fromChannel, one SUBSCRIBE',
        run: async (ops) => {
          await setUp();
          const done = fan.until(ops * 100);
          await publishLoop(publisher, 'bench:ch:fan', ops);
          await done;
          await checkOneSubscription();
        },
      },
      others: [
        {
          name: "raw ioredis, 100 'message' listeners on one connection",
          run: async (ops) => {
            await setUp();
            const done = rawFan.until(ops * 100);
            await publishLoop(publisher, 'bench:ch:rawfan', ops);
            await done;
          },
        },
      ],
    },
  ];
};
