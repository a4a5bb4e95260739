/**
 * How the cache reads, counted on the wire (the client's own command metrics), standalone and
 * Cluster: concurrent gets of one key share one GET, a write in between is seen by every get that
 * starts after it, a failed GET fails all that shared it; getMany sends one MGET per hash slot.
 */
import slotOf from 'cluster-key-slot';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import type * as TE from 'fp-ts/TaskEither';
import { Cache, type RedisClient } from '../../../src';
import { topologies } from '../../support/clients';
import { deleteKeys, uniquePrefix } from '../../support/env';

const Item = t.type({ id: t.number, tags: t.array(t.string) }, 'Item');
type Item = t.TypeOf<typeof Item>;

const right = async <L, A>(te: TE.TaskEither<L, A>): Promise<A> => {
  const r = await te();
  if (E.isLeft(r)) throw new Error(`expected Right, got Left: ${String(r.left)}`);
  return r.right;
};

describe.each(topologies)('Cache reads (%s)', (kind, make) => {
  const prefix = uniquePrefix(`cache-reads-${kind}`);
  const tagged = uniquePrefix(`cache-reads-${kind}`, { hashTag: true });
  let client: RedisClient;
  let taggedClient: RedisClient;
  const caches: Array<Cache.Cache<Item>> = [];
  let n = 0;
  const cache = (options: Partial<Cache.CacheOptions<Item>> = {}, on = client) => {
    const c = Cache.make({ client: on, codec: Item, namespace: `ns${n++}`, ...options });
    caches.push(c);
    return c;
  };
  /** Commands of `name` this process sent while `f` ran. */
  const counting = async <T>(name: string, f: () => Promise<T>, on = client) => {
    const count = () => on.metrics.snapshot().commands[name]?.count ?? 0;
    const before = count();
    const value = await f();
    return { sent: count() - before, value };
  };

  beforeAll(async () => {
    client = make({ instance: prefix });
    taggedClient = make({ instance: tagged });
    await Promise.all([right(client.ready()), right(taggedClient.ready())]);
  });
  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()));
    await deleteKeys(client.redis, prefix);
    await deleteKeys(taggedClient.redis, tagged);
    await Promise.all([client.close(), taggedClient.close()]);
  });

  it('100 concurrent gets of one key send one GET, and each caller gets a value of its own', async () => {
    const items = cache();
    await right(items.set('k', { id: 1, tags: ['a'] }));
    const { sent, value } = await counting('get', () =>
      Promise.all(Array.from({ length: 100 }, () => right(items.get('k')))),
    );
    expect(sent).toBe(1);
    for (const v of value) expect(v).toEqual(O.some({ id: 1, tags: ['a'] }));
    expect(new Set(value.map((v) => (O.isSome(v) ? v.value : v))).size).toBe(100);

    // The same cache without coalescing: one GET per call, so the count above is the sharing.
    const plain = cache({ coalesce: false, namespace: items.namespace });
    await right(plain.get('warm-up'));
    const uncoalesced = await counting('get', () =>
      Promise.all(Array.from({ length: 100 }, () => right(plain.get('k')))),
    );
    expect(uncoalesced.sent).toBe(100);
  });

  it('a set during an in-flight read is seen by every get that starts after it', async () => {
    const items = cache();
    await right(items.set('k', { id: 1, tags: [] }));
    const { sent, value } = await counting('get', async () => {
      const before = Array.from({ length: 20 }, () => right(items.get('k')));
      await right(items.set('k', { id: 2, tags: [] }));
      const after = Array.from({ length: 20 }, () => right(items.get('k')));
      return { before: await Promise.all(before), after: await Promise.all(after) };
    });
    expect(sent).toBe(2);
    // The first GET went out before the SET on the same connection: it read the old value.
    for (const v of value.before) expect(v).toEqual(O.some({ id: 1, tags: [] }));
    for (const v of value.after) expect(v).toEqual(O.some({ id: 2, tags: [] }));
  });

  it('a delete during an in-flight read is seen by every get that starts after it', async () => {
    const items = cache();
    await right(items.set('k', { id: 1, tags: [] }));
    const before = Array.from({ length: 10 }, () => right(items.get('k')));
    expect(await right(items.delete('k'))).toBe(true);
    const after = await Promise.all(Array.from({ length: 10 }, () => right(items.get('k'))));
    for (const v of after) expect(v).toEqual(O.none);
    for (const v of await Promise.all(before)) expect(v).toEqual(O.some({ id: 1, tags: [] }));
  });

  it('a GET that fails fails every caller that shared it, and the next get reads afresh', async () => {
    const items = cache();
    await right(items.get('warm-up'));
    const full = client.key(`${items.namespace}:0:k`);
    await client.redis.hset(full, 'not', 'a string'); // GET answers WRONGTYPE
    const { sent, value } = await counting('get', () =>
      Promise.all(Array.from({ length: 10 }, () => items.get('k')())),
    );
    expect(sent).toBe(1);
    for (const r of value) {
      expect(E.isLeft(r) && r.left._tag).toBe('CommandError');
      expect(E.isLeft(r) && r.left.message).toContain('WRONGTYPE');
    }
    await client.redis.del(full);
    await right(items.set('k', { id: 3, tags: [] }));
    expect(await right(items.get('k'))).toEqual(O.some({ id: 3, tags: [] }));
  });

  it('getMany sends one MGET per hash slot: one in all when the keys share a hash tag', async () => {
    const items = cache({}, taggedClient);
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    await right(items.setMany(keys.map((k, i) => [k, { id: i, tags: [k] }] as const)));
    const { sent, value } = await counting(
      'mget',
      () => right(items.getMany([...keys, 'absent'])),
      taggedClient,
    );
    expect(sent).toBe(1);
    expect(value).toEqual([...keys.map((k, i) => O.some({ id: i, tags: [k] })), O.none]);

    // Without a shared tag each key has a slot of its own (one MGET per slot on a Cluster).
    const spread = cache();
    await right(spread.setMany(keys.map((k, i) => [k, { id: i, tags: [k] }] as const)));
    const many = await counting('mget', () => right(spread.getMany(keys)));
    expect(many.value).toEqual(keys.map((k, i) => O.some({ id: i, tags: [k] })));
    expect(many.sent).toBe(
      kind === 'Cluster'
        ? new Set(keys.map((k) => slotOf(client.key(`${spread.namespace}:0:${k}`)))).size
        : 1,
    );
  });
});
