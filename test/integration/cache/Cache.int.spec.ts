/**
 * Cache against real Redis, standalone and Cluster: the TaskEither API, codecs and serializers,
 * getOrSet and its in-process single-flight, batches across slots, clear by generation, the
 * memory tier, cross-instance invalidation on separate connections, and the flush after a
 * reconnect.
 */
import calculateSlot from 'cluster-key-slot';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import * as TE from 'fp-ts/TaskEither';
import { pipe } from 'fp-ts/function';
import { Cluster, Redis } from 'ioredis';
import { filter, firstValueFrom } from 'rxjs';
import {
  BigIntFromString,
  Cache,
  DateFromISOString,
  createRedis,
  fromChannel,
  mapFromEntries,
  type RedisClient,
  type Serializer,
} from '../../../src';
import {
  deleteKeys,
  testClusterNodes,
  testRedisUrl,
  uniquePrefix,
  waitFor,
} from '../../support/env';

const User = t.type({ id: t.string, name: t.string, since: DateFromISOString }, 'User');
type User = t.TypeOf<typeof User>;

const right = async <L, A>(te: TE.TaskEither<L, A>): Promise<A> => {
  const r = await te();
  if (E.isLeft(r)) throw new Error(`expected Right, got Left: ${String(r.left)}`);
  return r.right;
};
const leftOf = async <L, A>(te: TE.TaskEither<L, A>): Promise<L> => {
  const r = await te();
  if (E.isRight(r)) throw new Error('expected Left, got Right');
  return r.left;
};

const clusterSeeds = () => testClusterNodes().map((n) => `${n.host}:${n.port}`);
const targets: Array<[string, (instance: string) => RedisClient, () => Redis | Cluster]> = [
  [
    'standalone',
    (instance) => createRedis({ url: testRedisUrl(), instance }),
    () => new Redis(testRedisUrl()),
  ],
  [
    'Cluster',
    (instance) => createRedis({ cluster: clusterSeeds(), instance }),
    () => new Cluster(testClusterNodes().map((n) => ({ host: n.host, port: n.port }))),
  ],
];

describe.each(targets)('Cache (%s)', (kind, connect, rawClient) => {
  const prefix = uniquePrefix(`cache-${kind}`);
  let a: RedisClient;
  let b: RedisClient;
  let admin: Redis | Cluster;
  const caches: Array<Cache.Cache<unknown>> = [];
  const track = <A>(c: Cache.Cache<A>): Cache.Cache<A> => (
    caches.push(c as Cache.Cache<unknown>),
    c
  );
  let n = 0;
  /** A fresh namespace per test, so tests never share keys or generations. */
  const ns = () => `ns${n++}`;
  const ada = (): User => ({ id: '1', name: 'Ada', since: new Date('2020-01-02T03:04:05.678Z') });

  beforeAll(async () => {
    a = connect(prefix);
    b = connect(prefix);
    admin = rawClient();
    await Promise.all([right(a.ready()), right(b.ready())]);
  });
  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()));
    await deleteKeys(admin, prefix);
    await Promise.all([a.close(), b.close(), admin.quit()]);
  });

  it('gets, sets, checks, reports TTLs and deletes; a miss is none', async () => {
    const users = track(Cache.make({ client: a, codec: User, namespace: ns(), ttlMs: 60_000 }));
    expect(await right(users.get('1'))).toEqual(O.none);
    expect(await right(users.has('1'))).toBe(false);
    expect(await right(users.ttl('1'))).toEqual(O.none);

    await right(users.set('1', ada()));
    const got = await right(users.get('1'));
    expect(got).toEqual(O.some(ada()));
    expect(O.isSome(got) && got.value.since).toBeInstanceOf(Date);
    expect(await right(users.has('1'))).toBe(true);
    const ttl = await right(users.ttl('1'));
    expect(O.isSome(ttl) && ttl.value > 50_000 && ttl.value <= 60_000).toBe(true);

    await right(users.set('2', { ...ada(), id: '2' }, 5_000));
    const ttl2 = await right(users.ttl('2'));
    expect(O.isSome(ttl2) && ttl2.value <= 5_000).toBe(true);

    expect(await right(users.delete('1'))).toBe(true);
    expect(await right(users.delete('1'))).toBe(false);
    expect(await right(users.get('1'))).toEqual(O.none);
  });

  it('stores the JSON wire form under <instance><namespace>:<generation>:<key>, no TTL by default', async () => {
    const name = ns();
    const users = track(Cache.make({ client: a, codec: User, namespace: name }));
    await right(users.set('1', ada()));
    const stored = await admin.get(`${prefix}${name}:0:1`);
    expect(JSON.parse(stored!)).toEqual({ ...ada(), since: '2020-01-02T03:04:05.678Z' });
    expect(await right(users.ttl('1'))).toEqual(O.some(Infinity));
  });

  it('answers DecodeError naming the key and the io-ts path, never the value', async () => {
    const name = ns();
    const users = track(Cache.make({ client: a, codec: User, namespace: name }));
    await right(users.get('warm-up')); // reads the generation
    await admin.set(`${prefix}${name}:0:bad`, JSON.stringify({ id: 7, name: 'secret-name' }));
    await admin.set(`${prefix}${name}:0:junk`, 'not json {');
    const e = await leftOf(users.get('bad'));
    expect(e._tag).toBe('DecodeError');
    expect(e._tag === 'DecodeError' && e.key).toBe(`${prefix}${name}:0:bad`);
    expect(e.message).toContain('User/id: string');
    expect(e.message).toContain('User/since: DateFromISOString');
    expect(e.message).not.toContain('secret-name');
    const junk = await leftOf(users.get('junk'));
    expect(junk._tag).toBe('DecodeError');
    expect(junk.message).toContain('not valid json');
  });

  it('answers EncodeError for a value its serializer cannot write, and writes nothing', async () => {
    const name = ns();
    const anything = track(Cache.make({ client: a, codec: t.unknown, namespace: name }));
    const e = await leftOf(anything.set('big', { n: 10n }));
    expect(e._tag).toBe('EncodeError');
    expect(e.message).toContain(`${prefix}${name}:0:big`);
    expect(await right(anything.has('big'))).toBe(false);
  });

  it('keeps Date, bigint and Map when the codec says so, and uses a plugged-in serializer', async () => {
    const Ledger = t.type(
      {
        at: DateFromISOString,
        balance: BigIntFromString,
        owners: mapFromEntries(t.string, t.number),
      },
      'Ledger',
    );
    const value = {
      at: new Date(0),
      balance: 2n ** 70n,
      owners: new Map([
        ['ann', 1],
        ['bob', 2],
      ]),
    };
    // A serializer of our own: base64 of JSON behind a version tag.
    const tagged: Serializer = {
      name: 'b64json',
      stringify: (o) => `v1:${Buffer.from(JSON.stringify(o)).toString('base64')}`,
      parse: (s) => {
        if (!s.startsWith('v1:')) throw new Error('unknown version');
        return JSON.parse(Buffer.from(s.slice(3), 'base64').toString()) as unknown;
      },
    };
    const name = ns();
    const ledgers = track(
      Cache.make({ client: a, codec: Ledger, namespace: name, serializer: tagged }),
    );
    await right(ledgers.set('l', value));
    expect(await admin.get(`${prefix}${name}:0:l`)).toMatch(/^v1:/);
    expect(await right(ledgers.get('l'))).toEqual(O.some(value));
  });

  it('getOrSet loads on a miss, caches, and widens the error with the load error', async () => {
    const users = track(Cache.make({ client: a, codec: User, namespace: ns(), ttlMs: 60_000 }));
    const failing: TE.TaskEither<'db down', User> = TE.left('db down');
    const r = await users.getOrSet('1', failing)();
    expect(r).toEqual(E.left('db down'));
    expect(await right(users.has('1'))).toBe(false);

    let loads = 0;
    const load = TE.fromTask(async () => (loads++, ada()));
    expect(await right(users.getOrSet('1', load))).toEqual(ada());
    expect(await right(users.getOrSet('1', load))).toEqual(ada());
    expect(loads).toBe(1);
    expect(await right(users.get('1'))).toEqual(O.some(ada()));
  });

  it('a set made while getOrSet loads is not overwritten by the older loaded value', async () => {
    const name = ns();
    const memory = { maxEntries: 100, ttlMs: 60_000 };
    const here = track(Cache.make({ client: a, codec: t.string, namespace: name, memory }));
    const there = track(Cache.make({ client: b, codec: t.string, namespace: name, memory }));
    let finish!: (v: string) => void;
    const slowLoad: TE.TaskEither<never, string> = () =>
      new Promise((resolve) => (finish = (v) => resolve(E.right(v))));
    const loading = here.getOrSet('k', slowLoad)();
    await waitFor(async () => finish !== undefined, { message: 'load started' });
    await right(there.set('k', 'new')); // written while the load (of an older value) runs
    finish('old');
    expect(await loading).toEqual(E.right('old')); // the caller gets what it loaded
    expect(await admin.get(`${prefix}${name}:0:k`)).toBe('"new"');
    expect(await right(here.get('k'))).toEqual(O.some('new'));
    expect(await right(there.get('k'))).toEqual(O.some('new'));
  });

  it("a getOrSet after the caller's own set does not join a load that began before it", async () => {
    const cache = track(Cache.make({ client: a, codec: t.string, namespace: ns() }));
    let finish!: (v: string) => void;
    const slowLoad: TE.TaskEither<never, string> = () =>
      new Promise((resolve) => (finish = (v) => resolve(E.right(v))));
    const first = cache.getOrSet('k', slowLoad)();
    await waitFor(async () => finish !== undefined, { message: 'load started' });
    await right(cache.set('k', 'mine'));
    let loadedAgain = false;
    const mine = cache.getOrSet(
      'k',
      TE.fromTask(async () => ((loadedAgain = true), 'other')),
    )();
    finish('old');
    expect(await first).toEqual(E.right('old'));
    expect(await mine).toEqual(E.right('mine'));
    expect(loadedAgain).toBe(false);
  });

  it('runs load once for 1,000 concurrent getOrSet calls on one cold key', async () => {
    const users = track(Cache.make({ client: a, codec: User, namespace: ns() }));
    let loads = 0;
    const load = TE.fromTask(async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 50));
      return ada();
    });
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => users.getOrSet('cold', load)()),
    );
    expect(loads).toBe(1);
    expect(results.every((r) => E.isRight(r) && r.right.name === 'Ada')).toBe(true);
  });

  it('getMany and setMany work across slots, in input order, with and without the memory tier', async () => {
    const name = ns();
    const plain = track(Cache.make({ client: a, codec: t.number, namespace: name }));
    const tiered = track(
      Cache.make({
        client: a,
        codec: t.number,
        namespace: name,
        memory: { maxEntries: 100, ttlMs: 60_000 },
      }),
    );
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
    await right(plain.setMany(keys.filter((_, i) => i % 3 !== 0).map((k, i) => [k, i] as const)));
    const expected = keys.map((_, i) => (i % 3 === 0 ? O.none : O.some(i - Math.floor(i / 3) - 1)));
    expect(await right(plain.getMany(keys))).toEqual(expected);
    // Half the keys in the memory tier first: the rest come from Redis, in input order still.
    await right(tiered.getMany(keys.slice(0, 50)));
    expect(await right(tiered.getMany([...keys].reverse()))).toEqual([...expected].reverse());
    expect(await right(plain.getMany([]))).toEqual([]);
    if (admin instanceof Cluster) {
      // The keys really are spread over every master.
      const nodes = new Set(
        keys.map((k) => (admin as Cluster).slots[calculateSlot(`${prefix}${name}:0:${k}`)]?.[0]),
      );
      expect(nodes.size).toBe(3);
    }
  });

  it('setMany applies its TTL to every entry', async () => {
    const c = track(Cache.make({ client: a, codec: t.string, namespace: ns() }));
    await right(
      c.setMany(
        [
          ['x', 'a'],
          ['y', 'b'],
        ],
        4_000,
      ),
    );
    for (const k of ['x', 'y']) {
      const ttl = await right(c.ttl(k));
      expect(O.isSome(ttl) && ttl.value <= 4_000).toBe(true);
    }
  });

  it('clear() empties the namespace without SCAN, for other instances too', async () => {
    const name = ns();
    const memory = { maxEntries: 100, ttlMs: 60_000 };
    const onA = track(Cache.make({ client: a, codec: t.string, namespace: name, memory }));
    const onB = track(Cache.make({ client: b, codec: t.string, namespace: name, memory }));
    const other = track(Cache.make({ client: a, codec: t.string, namespace: ns() }));
    await right(
      onA.setMany([
        ['1', 'one'],
        ['2', 'two'],
      ]),
    );
    await right(other.set('1', 'kept'));
    expect(await right(onB.getMany(['1', '2']))).toEqual([O.some('one'), O.some('two')]); // now in B's memory

    await right(onA.clear());
    expect(await admin.get(`${prefix}${name}:gen`)).toBe('1');
    expect(await right(onA.getMany(['1', '2']))).toEqual([O.none, O.none]);
    await waitFor(async () => O.isNone(await right(onB.get('1'))), { message: 'B sees the clear' });
    expect(await right(onB.get('2'))).toEqual(O.none);
    expect(await right(other.get('1'))).toEqual(O.some('kept'));
    // Writes after the clear land in the new generation, for every instance.
    await right(onB.set('1', 'again'));
    expect(await admin.get(`${prefix}${name}:1:1`)).toBe('"again"');
    expect(await right(onA.get('1'))).toEqual(O.some('again'));
  });

  it('serves memory-tier hits without Redis, the same value a Redis hit returns', async () => {
    const name = ns();
    const tiered = track(
      Cache.make({
        client: a,
        codec: User,
        namespace: name,
        memory: { maxEntries: 10, ttlMs: 60_000 },
      }),
    );
    const redisOnly = track(Cache.make({ client: a, codec: User, namespace: name }));
    await right(tiered.set('1', ada()));
    const fromRedis = await right(redisOnly.getWithMeta('1'));
    const fromMemory = await right(tiered.getWithMeta('1'));
    expect(
      pipe(
        fromRedis,
        O.map((l) => l.source),
      ),
    ).toEqual(O.some('redis'));
    expect(
      pipe(
        fromMemory,
        O.map((l) => l.source),
      ),
    ).toEqual(O.some('memory'));
    expect(Cache.value(fromMemory)).toEqual(Cache.value(fromRedis));
    expect(O.isSome(fromMemory) && fromMemory.value.value.since).toBeInstanceOf(Date);
    // Frozen: a caller cannot change what the next caller gets.
    expect(O.isSome(fromMemory) && Object.isFrozen(fromMemory.value.value)).toBe(true);

    // Deleted behind the cache's back: the memory tier still answers, so Redis was not asked.
    await admin.del(`${prefix}${name}:0:1`);
    expect(await right(tiered.get('1'))).toEqual(O.some(ada()));
    expect(await right(redisOnly.get('1'))).toEqual(O.none);
  });

  it('a write or delete through one instance evicts the key from the other (separate connections)', async () => {
    const name = ns();
    const memory = { maxEntries: 100, ttlMs: 60_000 };
    const onA = track(Cache.make({ client: a, codec: t.string, namespace: name, memory }));
    const onB = track(Cache.make({ client: b, codec: t.string, namespace: name, memory }));
    await right(onA.set('k', 'v1'));
    expect(await right(onB.getWithMeta('k'))).toEqual(
      O.some({ value: 'v1', source: 'redis', stale: false }),
    );
    // A's write published an invalidation that may reach B only after B's read above (on a
    // Cluster the message crosses the cluster bus): it then evicts the fresh copy, harmlessly,
    // and the next read takes it from Redis again. B keeps what it read once that has passed.
    await waitFor(
      async () =>
        O.getOrElse(() => '')(
          pipe(
            await right(onB.getWithMeta('k')),
            O.map((l) => l.source),
          ),
        ) === 'memory',
      { message: 'B answers k from its memory tier' },
    );

    await right(onA.set('k', 'v2'));
    await waitFor(async () => O.getOrElse(() => '')(await right(onB.get('k'))) === 'v2', {
      message: 'B evicts k after A writes it',
    });

    await right(onB.getMany(['k'])); // back in B's memory
    await right(onA.delete('k'));
    await waitFor(async () => O.isNone(await right(onB.get('k'))), {
      message: 'B evicts k after A deletes it',
    });

    await right(onA.setMany([['k', 'v3']]));
    await waitFor(async () => O.getOrElse(() => '')(await right(onB.get('k'))) === 'v3', {
      message: 'B evicts k after A setMany',
    });
  });

  it("shares its invalidation channel with the client's pub/sub sources: closing caches unsubscribes nobody else", async () => {
    const name = ns();
    const memory = { maxEntries: 100, ttlMs: 60_000 };
    const first = Cache.make({ client: b, codec: t.string, namespace: name, memory });
    const second = Cache.make({ client: b, codec: t.string, namespace: name, memory });
    const writer = track(Cache.make({ client: a, codec: t.string, namespace: name }));
    const heard: string[] = [];
    // a pub/sub source of the same client on the same channel (unprefixed name)
    const listening = fromChannel(b, `${name}:invalidate`).subscribe((m) => heard.push(m.message));
    try {
      await right(first.get('k'));
      await right(second.get('k'));
      await first.close();
      await right(second.get('k')); // into second's memory tier
      await right(writer.set('k', 'v1'));
      await waitFor(async () => O.getOrElse(() => '')(await right(second.get('k'))) === 'v1', {
        message: 'the second cache still gets invalidations after the first closed',
      });
      await second.close();
      const before = heard.length;
      await right(writer.set('k', 'v2'));
      await waitFor(async () => heard.length > before, {
        message: 'fromChannel still hears the channel after both caches closed',
      });
    } finally {
      listening.unsubscribe();
    }
  });

  it('flushes the memory tier after a reconnect, since invalidations may have been missed', async () => {
    const name = ns();
    const client = connect(prefix);
    const tiered = Cache.make({
      client,
      codec: t.string,
      namespace: name,
      memory: { maxEntries: 10, ttlMs: 60_000 },
    });
    try {
      await right(tiered.set('k', 'before'));
      // Written behind the cache's back (no invalidation message): memory still has the old value.
      await admin.set(`${prefix}${name}:0:k`, '"after"');
      expect(await right(tiered.get('k'))).toEqual(O.some('before'));

      const reconnecting = firstValueFrom(client.status$.pipe(filter((s) => s === 'reconnecting')));
      client.redis.disconnect(true);
      await reconnecting;
      await firstValueFrom(client.status$.pipe(filter((s) => s === 'ready')));
      expect(await right(tiered.getWithMeta('k'))).toEqual(
        O.some({ value: 'after', source: 'redis', stale: false }),
      );
    } finally {
      await tiered.close();
      await client.close();
    }
  });
});
