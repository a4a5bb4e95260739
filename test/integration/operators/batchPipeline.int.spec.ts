import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { from, lastValueFrom, toArray } from 'rxjs';
import { batchPipeline, type BatchCommand, type RedisClient } from '../../../src';
import { topologies } from '../../support/clients';
import { deleteKeys, uniquePrefix } from '../../support/env';

/** One key name per Cluster slot (under the prefix), so a batch touches every slot. */
const keysCoveringEverySlot = (prefix: string): string[] => {
  const bySlot = new Map<number, string>();
  for (let i = 0; bySlot.size < 16384; i++) {
    const name = `k${i}`;
    const slot = calculateSlot(prefix + name);
    if (!bySlot.has(slot)) bySlot.set(slot, name);
  }
  return [...bySlot.values()];
};

describe.each(topologies)('batchPipeline (%s)', (kind, make) => {
  const prefix = uniquePrefix(`bp-${kind}`);
  let client: RedisClient;
  beforeAll(async () => {
    client = make({ instance: prefix });
    await client.ready()();
  });
  afterAll(async () => {
    await deleteKeys(client.redis, prefix);
    await client.close();
  });

  it('writes keys across all slots, one bad command gets its own error, order is kept', async () => {
    const names = keysCoveringEverySlot(prefix);
    const bad = names[7000]!;
    await client.redis.set(client.key(bad), 'not a number');
    const build = (name: string): BatchCommand =>
      name === bad ? ['incr', name] : ['set', name, `v:${name}`];

    const outcomes = await lastValueFrom(
      from(names).pipe(
        batchPipeline(client, build, { maxSize: 500, maxBuffered: names.length }),
        toArray(),
      ),
    );

    expect(outcomes.map((o) => o.item)).toEqual(names);
    outcomes.forEach((o) => {
      if (o.item === bad) {
        expect(o.ok).toBe(false);
        expect(!o.ok && o.error).toMatchObject({
          _tag: 'CommandError',
          code: 'ERR',
          command: 'INCR',
        });
      } else {
        expect(o).toEqual({ ok: true, value: 'OK', item: o.item });
      }
    });
    // every other key holds its value, under the instance prefix
    const stored = await Promise.all(names.map((n) => client.redis.get(client.key(n))));
    expect(stored.filter((v, i) => names[i] !== bad)).toEqual(
      names.filter((n) => n !== bad).map((n) => `v:${n}`),
    );
    expect(stored[names.indexOf(bad)]).toBe('not a number');
    if (client.redis instanceof Cluster) {
      const cluster = client.redis;
      const owners = new Set(names.map((n) => cluster.slots[calculateSlot(prefix + n)]?.[0]));
      expect(owners.size).toBe(cluster.nodes('master').length);
    }
  });

  it('gives each item its own reply for mixed commands, with several pipelines in flight', async () => {
    const counters = Array.from({ length: 300 }, (_, i) => `c${i}`);
    await Promise.all(counters.map((c, i) => client.redis.set(client.key(c), String(i))));
    const build = (i: number): BatchCommand =>
      i % 3 === 0
        ? ['incrby', counters[i]!, 1000]
        : i % 3 === 1
          ? ['get', counters[i]!]
          : ['strlen', counters[i]!];

    const outcomes = await lastValueFrom(
      from(counters.map((_, i) => i)).pipe(
        batchPipeline(client, build, { maxSize: 40, maxInFlight: 4, maxWaitMs: 1 }),
        toArray(),
      ),
    );

    expect(outcomes.map((o) => (o.ok ? [o.item, o.value] : [o.item, o.error.message]))).toEqual(
      counters.map((_, i) =>
        i % 3 === 0 ? [i, i + 1000] : i % 3 === 1 ? [i, String(i)] : [i, String(i).length],
      ),
    );
  });

  it('completes without sending anything for an empty source', async () => {
    await expect(
      lastValueFrom(
        from([] as string[]).pipe(
          batchPipeline(client, (n) => ['set', n, 'x']),
          toArray(),
        ),
      ),
    ).resolves.toEqual([]);
  });
});
