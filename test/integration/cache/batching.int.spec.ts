/**
 * Batched reads, counted on the wire (the client's own command metrics), standalone and Cluster:
 * the gets of one tick go out as one MGET (one per hash slot on a Cluster, a plain GET for a slot
 * with one key), each caller gets its own key's value or its own error, a write between two
 * batches is seen by the second, and a batch stuck behind a slow command answers every caller
 * with a TimeoutError at its deadline.
 */
import slotOf from 'cluster-key-slot';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import { Command } from 'ioredis';
import { Cache } from '../../../src';
import { topologies } from '../../support/clients';
import { cacheReadsFixture, type Item, right } from './support';

describe.each(topologies)('Cache batched reads (%s)', (kind, make) => {
  const {
    client,
    taggedClient,
    cache,
    counting: count,
  } = cacheReadsFixture(`cache-batch-${kind}`, make);
  /** GETs and MGETs sent while `f` ran. */
  const counting = async <T>(f: () => Promise<T>, on = client()) => {
    const { sent, value } = await count(['get', 'mget'], f, on);
    return { ...sent, value };
  };
  const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
  const item = (i: number): Item => ({ id: i, tags: [`t${i}`] });
  /** What one batch of `keys` of `c` costs: one MGET per slot, a GET for a slot of one key. */
  const expected = (c: Cache.Cache<Item>, of: ReadonlyArray<string>, on = client()) => {
    if (kind !== 'Cluster') return { get: 0, mget: 1 };
    const perSlot = new Map<number, number>();
    for (const k of of) {
      const slot = slotOf(on.key(`${c.namespace}:0:${k}`));
      perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
    }
    const sizes = [...perSlot.values()];
    return { get: sizes.filter((s) => s === 1).length, mget: sizes.filter((s) => s > 1).length };
  };

  it('100 concurrent gets of distinct keys are one MGET (one per slot on a Cluster); each caller gets its own value, in order', async () => {
    const items = cache();
    await right(items.setMany(keys.map((k, i) => [k, item(i)] as const)));
    const asked = [...keys].reverse().concat('absent');
    const { get, mget, value } = await counting(() =>
      Promise.all(asked.map((k) => right(items.get(k)))),
    );
    expect(value).toEqual([...keys.map((_, i) => O.some(item(i))).reverse(), O.none]);
    expect({ get, mget }).toEqual(expected(items, asked));
    if (kind === 'Cluster') expect(mget + get).toBeGreaterThan(10); // spans many slots

    // The same gets with their keys in one hash slot: one MGET on either topology.
    const one = cache({}, taggedClient());
    await right(one.setMany(keys.map((k, i) => [k, item(i)] as const)));
    const together = await counting(
      () => Promise.all(keys.map((k) => right(one.get(k)))),
      taggedClient(),
    );
    expect({ get: together.get, mget: together.mget }).toEqual({ get: 0, mget: 1 });
    expect(together.value).toEqual(keys.map((_, i) => O.some(item(i))));
  });

  it('a lone get is one GET', async () => {
    const items = cache();
    await right(items.set('k', item(7)));
    const { get, mget, value } = await counting(() => right(items.get('k')));
    expect({ get, mget, value }).toEqual({ get: 1, mget: 0, value: O.some(item(7)) });
  });

  it('one undecodable value: its caller gets a DecodeError naming the key and path, the others their values', async () => {
    const items = cache({}, taggedClient());
    await right(items.setMany(keys.slice(0, 10).map((k, i) => [k, item(i)] as const)));
    const full = taggedClient().key(`${items.namespace}:0:k3`);
    await taggedClient().redis.set(full, '{"id":"three","tags":[]}');
    const { mget, value } = await counting(
      () => Promise.all(keys.slice(0, 10).map((k) => items.get(k)())),
      taggedClient(),
    );
    expect(mget).toBe(1);
    value.forEach((r, i) => {
      if (i !== 3) expect(r).toEqual(E.right(O.some(item(i))));
    });
    const bad = value[3]!;
    expect(E.isLeft(bad) && bad.left._tag).toBe('DecodeError');
    expect(E.isLeft(bad) && bad.left._tag === 'DecodeError' && bad.left.key).toBe(full);
    expect(E.isLeft(bad) && bad.left.message).toContain('Item/id: number');
  });

  it('a set between two batches is seen by the second; the first read what was there before', async () => {
    const items = cache();
    await right(items.setMany(keys.slice(0, 20).map((k, i) => [k, item(i)] as const)));
    const some = keys.slice(0, 20);
    const { get, mget, value } = await counting(async () => {
      const before = some.map((k) => right(items.get(k)));
      await right(items.set('k5', item(500)));
      const after = some.map((k) => right(items.get(k)));
      return { before: await Promise.all(before), after: await Promise.all(after) };
    });
    const once = expected(items, some);
    expect({ get, mget }).toEqual({ get: 2 * once.get, mget: 2 * once.mget });
    expect(value.before).toEqual(some.map((_, i) => O.some(item(i))));
    expect(value.after).toEqual(some.map((_, i) => O.some(i === 5 ? item(500) : item(i))));
  });

  it('with a memory tier, a batch fills it, and a later set replaces what the batch stored', async () => {
    const items = cache({ memory: { maxEntries: 100, ttlMs: 60_000 } });
    await right(items.setMany(keys.slice(0, 10).map((k, i) => [k, item(i)] as const)));
    // setMany put its own values in the tier: read them through a second cache of the namespace.
    const reader = cache({
      memory: { maxEntries: 100, ttlMs: 60_000 },
      namespace: items.namespace,
    });
    await right(reader.get('warm-up'));
    const first = await counting(() =>
      Promise.all(keys.slice(0, 10).map((k) => right(reader.getWithMeta(k)))),
    );
    expect(first.get + first.mget).toBeGreaterThan(0);
    for (const v of first.value) expect(O.isSome(v) && v.value.source).toBe('redis');
    const again = await counting(() =>
      Promise.all(keys.slice(0, 10).map((k) => right(reader.getWithMeta(k)))),
    );
    expect({ get: again.get, mget: again.mget }).toEqual({ get: 0, mget: 0 });
    expect(again.value).toEqual(
      keys.slice(0, 10).map((_, i) => O.some({ value: item(i), source: 'memory', stale: false })),
    );
    await right(reader.set('k2', item(200)));
    expect(await right(reader.getWithMeta('k2'))).toEqual(
      O.some({ value: item(200), source: 'memory', stale: false }),
    );
  });

  it('a batch stuck behind a slow command: every caller gets a TimeoutError at its deadline', async () => {
    // A client of its own: its connection is blocked for a second by BLPOP on a key of the
    // same slot as the cache's keys (the tagged prefix), so the batch waits behind it.
    const own = make({ instance: taggedClient().options.instance });
    const items = cache({ timeoutMs: 200 }, own);
    try {
      await right(items.get('warm-up'));
      // Sent at once, past the auto-pipeline, so it is on the wire before the batch.
      const blocked = own.redis.sendCommand(new Command('blpop', [own.key('nothing-comes'), 1]));
      const t0 = performance.now();
      const results = await Promise.all(keys.slice(0, 10).map((k) => items.get(k)()));
      const ms = performance.now() - t0;
      for (const r of results) expect(E.isLeft(r) && r.left._tag).toBe('TimeoutError');
      expect(ms).toBeLessThan(900);
      await blocked;
    } finally {
      await items.close();
      await own.close();
    }
  });
});
