import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { Redis } from 'ioredis';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import { memoryDriver } from 'bentocache/drivers/memory';
import { Cacheable, CacheableMemory } from 'cacheable';
import { Cache, createRedis } from '../../src';
import type { BenchCase } from '../harness';
import type { BenchContext } from '../index';

/** The payload every contender stores and reads: a small user record, ~200 bytes of JSON. */
const Payload = t.type(
  {
    id: t.number,
    name: t.string,
    email: t.string,
    active: t.boolean,
    roles: t.array(t.string),
    address: t.type({ street: t.string, city: t.string, zip: t.string }),
    createdAt: t.string,
  },
  'Payload',
);
type Payload = t.TypeOf<typeof Payload>;
const payload = (i: number): Payload => ({
  id: i,
  name: `User ${i}`,
  email: `user${i}@example.com`,
  active: i % 2 === 0,
  roles: ['reader', 'writer'],
  address: { street: `${i} Main Street`, city: 'Springfield', zip: '12345' },
  createdAt: '2024-01-02T03:04:05.678Z',
});

const concurrency = 100;
/** `ops` calls of `f`, `width` at a time. */
const batches = async (ops: number, f: (i: number) => Promise<unknown>, width = concurrency) => {
  for (let done = 0; done < ops; done += width) {
    await Promise.all(Array.from({ length: Math.min(width, ops - done) }, (_, i) => f(done + i)));
  }
};
/** Throws on a Left or a miss, so a broken contender cannot look fast. */
const must = (r: E.Either<unknown, unknown>): void => {
  if (E.isLeft(r) || (r.right as { _tag?: string })._tag === 'None')
    throw new Error('cache failed');
};

/**
 * The cache against raw ioredis (GET + JSON.parse, MGET + JSON.parse) and the peers bentocache
 * (Redis-only store, memory-only store) and cacheable (in-memory), with the same payloads and the
 * same concurrency.
 */
export const cacheCases = async (ctx: BenchContext): Promise<BenchCase[]> => {
  const client = createRedis({ url: ctx.url, instance: 'bench:' });
  const raw = new Redis(ctx.url, { enableAutoPipelining: true });
  const bentoRedis = new Redis(ctx.url, { enableAutoPipelining: true });
  const bento = new BentoCache({
    default: 'redis',
    stores: {
      redis: bentostore().useL2Layer(redisDriver({ connection: bentoRedis })),
      memory: bentostore().useL1Layer(memoryDriver({ maxItems: 1000 })),
    },
  });
  const bentoL2 = bento.use('redis');
  const bentoL1 = bento.use('memory');
  const cacheable = new Cacheable();
  const cacheableMemory = new CacheableMemory();

  const redisTier = Cache.make({ client, codec: Payload, namespace: 'bench-redis' });
  // The same cache without read coalescing: shows what sharing in-flight GETs is worth.
  const uncoalesced = Cache.make({
    client,
    codec: Payload,
    namespace: 'bench-redis',
    coalesce: false,
  });
  const memoryTier = Cache.make({
    client,
    codec: Payload,
    namespace: 'bench-memory',
    memory: { maxEntries: 1000, ttlMs: 3_600_000 },
  });
  ctx.onTeardown(async () => {
    await redisTier.close();
    await uncoalesced.close();
    await memoryTier.close();
    await bento.disconnectAll();
    await client.close();
    await raw.quit();
  });

  const KEYS = 100;
  const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
  const value = payload(1);
  // Same payloads everywhere; ours through the cache, so it is in its wire form and generation.
  const ok = (r: E.Either<unknown, unknown>) => {
    if (E.isLeft(r)) throw r.left;
  };
  ok(await redisTier.setMany(keys.map((k, i) => [k, payload(i)] as const))());
  ok(await memoryTier.set('hot', value)());
  const redisKey = 'bench:raw:one';
  await raw.set(redisKey, JSON.stringify(value));
  const rawKeys = keys.map((k) => `bench:raw:${k}`);
  await raw.mset(...rawKeys.flatMap((k, i) => [k, JSON.stringify(payload(i))]));
  await bentoL2.set({ key: 'one', value });
  for (const [i, k] of keys.entries()) await bentoL2.set({ key: k, value: payload(i) });
  await bentoL1.set({ key: 'hot', value });
  await cacheable.set('hot', value);
  cacheableMemory.set('hot', value);
  ok(await memoryTier.get('hot')()); // into the memory tier

  const hit = (cache: Cache.Cache<Payload>, key: string) => cache.get(key)().then(must);
  const parsed = async (reply: Promise<string | null>): Promise<unknown> =>
    JSON.parse((await reply)!);
  const bentoHit = async (key: string) => {
    if ((await bentoL2.get({ key })) === undefined) throw new Error('miss');
  };
  const nth = (i: number) => keys[i % KEYS]!;
  const rawNth = (i: number) => rawKeys[i % KEYS]!;

  return [
    {
      // Every call reads the same key: concurrent gets share the GET in flight (coalescing), so
      // this measures a hot key, not a round trip. The distinct-keys case below is the round trip.
      name: `cache get, Redis tier, one hot key, ${concurrency} concurrent (io-ts decode on every hit)`,
      ops: 30_000,
      ours: {
        name: 'Cache.get',
        run: (ops) => batches(ops, () => hit(redisTier, 'k1')),
      },
      others: [
        {
          name: 'Cache.get with coalesce: false (one GET per call)',
          run: (ops) => batches(ops, () => hit(uncoalesced, 'k1')),
        },
        {
          name: 'raw ioredis GET + JSON.parse',
          run: (ops) => batches(ops, () => parsed(raw.get(redisKey))),
          target: 0.9,
        },
        {
          // The cache's own cost: the same connection (timeout, RESP3, metrics) without the cache.
          name: 'client.redis GET + JSON.parse (same connection, no cache)',
          run: (ops) => batches(ops, () => parsed(client.redis.get(redisKey))),
        },
        {
          name: 'bentocache get (Redis-only store)',
          run: (ops) => batches(ops, () => bentoHit('one')),
          target: 2,
        },
      ],
    },
    {
      // k0..k99 round-robin: the 100 gets in flight at a time all read different keys, so no GET
      // is shared and each call is one round trip, for us and for every other contender.
      name: `cache get, Redis tier, ${KEYS} distinct keys, ${concurrency} concurrent (io-ts decode on every hit)`,
      ops: 30_000,
      ours: {
        name: 'Cache.get',
        run: (ops) => batches(ops, (i) => hit(redisTier, nth(i))),
      },
      others: [
        {
          name: 'raw ioredis GET + JSON.parse',
          run: (ops) => batches(ops, (i) => parsed(raw.get(rawNth(i)))),
          target: 0.9,
        },
        {
          name: 'client.redis GET + JSON.parse (same connection, no cache)',
          run: (ops) => batches(ops, (i) => parsed(client.redis.get(rawNth(i)))),
        },
        {
          name: 'bentocache get (Redis-only store)',
          run: (ops) => batches(ops, (i) => bentoHit(nth(i))),
          target: 2,
        },
        {
          name: 'Cache.get with coalesce: false',
          run: (ops) => batches(ops, (i) => hit(uncoalesced, nth(i))),
        },
      ],
    },
    {
      name: `cache get, memory-tier hit, ${concurrency} concurrent`,
      ops: 300_000,
      ours: {
        name: 'Cache.get',
        run: (ops) => batches(ops, () => memoryTier.get('hot')().then(must)),
      },
      others: [
        {
          name: 'bentocache get (memory-only store)',
          run: (ops) =>
            batches(ops, async () => {
              if ((await bentoL1.get({ key: 'hot' })) === undefined) throw new Error('miss');
            }),
          target: 10,
        },
        {
          name: 'cacheable get (Cacheable, in-memory primary)',
          run: (ops) =>
            batches(ops, async () => {
              if ((await cacheable.get('hot')) === undefined) throw new Error('miss');
            }),
          target: 10,
        },
        {
          name: 'cacheable CacheableMemory.get (sync, awaited)',
          run: (ops) =>
            batches(ops, async () => {
              if (cacheableMemory.get('hot') === undefined) throw new Error('miss');
            }),
          target: 10,
        },
      ],
    },
    {
      name: `cache getMany of ${KEYS} keys, 10 concurrent`,
      ops: 2_000,
      ours: {
        name: 'Cache.getMany',
        run: (ops) => batches(ops, () => redisTier.getMany(keys)().then(ok), 10),
      },
      others: [
        {
          name: 'raw ioredis MGET + JSON.parse',
          run: (ops) =>
            batches(
              ops,
              async () => (await raw.mget(rawKeys)).map((s) => (s === null ? null : JSON.parse(s))),
              10,
            ),
          target: 0.9,
        },
        {
          name: 'client.redis MGET + JSON.parse (same connection, no cache)',
          run: (ops) =>
            batches(
              ops,
              async () =>
                (await client.redis.mget(rawKeys)).map((s) => (s === null ? null : JSON.parse(s))),
              10,
            ),
        },
        {
          name: 'raw ioredis MGET (no parse)',
          run: (ops) => batches(ops, () => raw.mget(rawKeys), 10),
        },
      ],
    },
  ];
};
