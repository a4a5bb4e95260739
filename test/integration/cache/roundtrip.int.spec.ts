/**
 * Property tests: for generated values, encode → store in Redis → read → decode gives the value
 * back, through the Redis tier, the memory tier and the batch functions, on the standalone
 * server and the Cluster. Dates, bigints and Maps survive because the codec says so.
 */
import fc from 'fast-check';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import { Cluster, Redis } from 'ioredis';
import {
  BigIntFromString,
  Cache,
  DateFromISOString,
  createRedis,
  mapFromEntries,
  type RedisClient,
} from '../../../src';
import { deleteKeys, testClusterNodes, testRedisUrl, uniquePrefix } from '../../support/env';

const Doc = t.type(
  {
    text: t.string,
    count: t.number,
    flag: t.boolean,
    nothing: t.null,
    tags: t.array(t.string),
    at: DateFromISOString,
    big: BigIntFromString,
    scores: mapFromEntries(t.string, t.Int),
    choice: t.union([t.literal('a'), t.literal('b'), t.type({ nested: t.array(t.number) })]),
    extra: t.unknown,
  },
  'Doc',
);
type Doc = t.TypeOf<typeof Doc>;

// JSON has one zero: -0 comes back as 0 (a JSON property, not the cache's).
const num = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0));
const doc: fc.Arbitrary<Doc> = fc.record({
  text: fc.string({ unit: 'binary' }), // lone surrogates and astral characters included
  count: num,
  flag: fc.boolean(),
  nothing: fc.constant(null),
  tags: fc.array(fc.string(), { maxLength: 5 }),
  at: fc.date({ noInvalidDate: true }),
  big: fc.bigInt(),
  scores: fc
    .array(fc.tuple(fc.string(), fc.integer()), { maxLength: 5 })
    .map((entries) => new Map(entries) as Map<string, t.Int>),
  choice: fc.oneof(
    fc.constant('a' as const),
    fc.constant('b' as const),
    fc.record({ nested: fc.array(num, { maxLength: 4 }) }),
  ),
  // Normalised through JSON once: -0 becomes 0, as it does in any JSON store.
  extra: fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown),
});

const RUNS = 100;
const targets: Array<[string, (instance: string) => RedisClient, () => Redis | Cluster]> = [
  [
    'standalone',
    (instance) => createRedis({ url: testRedisUrl(), instance }),
    () => new Redis(testRedisUrl()),
  ],
  [
    'Cluster',
    (instance) =>
      createRedis({ cluster: testClusterNodes().map((n) => `${n.host}:${n.port}`), instance }),
    () => new Cluster(testClusterNodes().map((n) => ({ host: n.host, port: n.port }))),
  ],
];

describe.each(targets)('Cache round trips (%s)', (kind, connect, raw) => {
  const prefix = uniquePrefix(`cache-rt-${kind}`);
  let client: RedisClient;
  let admin: Redis | Cluster;
  let redisTier: Cache.Cache<Doc>;
  let memoryTier: Cache.Cache<Doc>;
  beforeAll(async () => {
    client = connect(prefix);
    admin = raw();
    await client.ready()();
    redisTier = Cache.make({ client, codec: Doc, namespace: 'docs', ttlMs: 60_000 });
    memoryTier = Cache.make({
      client,
      codec: Doc,
      namespace: 'docs',
      ttlMs: 60_000,
      memory: { maxBytes: 1_000_000, ttlMs: 60_000 },
    });
  });
  afterAll(async () => {
    await Promise.all([redisTier.close(), memoryTier.close()]);
    await deleteKeys(admin, prefix);
    await Promise.all([client.close(), admin.quit()]);
  });

  let n = 0;
  it('set then get gives the value back, from Redis and from the memory tier', async () => {
    await fc.assert(
      fc.asyncProperty(doc, async (value) => {
        const key = `p${n++}`;
        expect(await memoryTier.set(key, value)()).toEqual(E.right(undefined));
        expect(await redisTier.get(key)()).toEqual(E.right(O.some(value)));
        expect(await memoryTier.get(key)()).toEqual(E.right(O.some(value)));
      }),
      { numRuns: RUNS },
    );
  });

  it('setMany then getMany gives the values back in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(doc, { minLength: 1, maxLength: 8 }), async (values) => {
        const keys = values.map(() => `m${n++}`);
        expect(await redisTier.setMany(values.map((v, i) => [keys[i]!, v] as const))()).toEqual(
          E.right(undefined),
        );
        expect(await redisTier.getMany(keys)()).toEqual(E.right(values.map(O.some)));
      }),
      { numRuns: RUNS / 4 },
    );
  });
});
