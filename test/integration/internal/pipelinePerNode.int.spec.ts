import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../../../src';
import { groupByNode, pipelinePerNode } from '../../../src/internal/pipelinePerNode';
import { topologies } from '../../support/clients';
import { uniquePrefix } from '../../support/env';

describe.each(topologies)('pipelinePerNode (%s)', (kind, make) => {
  const prefix = uniquePrefix(`ppn-${kind}`);
  let client: RedisClient;
  beforeAll(async () => {
    client = make();
    await client.ready()();
  });
  afterAll(async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `${prefix}${i}`);
    await Promise.all(keys.map((k) => client.redis.del(k)));
    await client.close();
  });

  it('returns one result per item in input order, each with its own error', async () => {
    const items = Array.from({ length: 200 }, (_, i) => ({ key: `${prefix}${i}`, i }));
    await client.redis.set(items[7]!.key, 'not a number');
    const results = await pipelinePerNode(
      client.redis,
      items,
      (x) => x.key,
      (p, x) => (x.i === 7 ? p.incr(x.key) : p.set(x.key, String(x.i))),
      'SET',
    );
    expect(results).toHaveLength(200);
    results.forEach((r, i) => {
      if (i === 7) expect(r.ok === false && r.error._tag).toBe('CommandError');
      else expect(r).toEqual({ ok: true, value: 'OK' });
    });
    const values = await Promise.all(items.map((x) => client.redis.get(x.key)));
    expect(values.filter((v, i) => i !== 7)).toEqual(
      items.filter((x) => x.i !== 7).map((x) => String(x.i)),
    );
  });

  it('groups by node: one group standalone, one per master on the Cluster', () => {
    const keys = Array.from({ length: 100 }, (_, i) => `${prefix}g${i}`);
    const groups = groupByNode(client.redis, keys, (k) => k);
    if (client.redis instanceof Cluster) {
      const cluster = client.redis;
      expect(groups).toHaveLength(3);
      for (const g of groups) {
        expect(new Set(g.map((i) => cluster.slots[calculateSlot(keys[i]!)]?.[0])).size).toBe(1);
      }
    } else {
      expect(groups).toEqual([keys.map((_, i) => i)]);
    }
    expect(groups.flat().sort((a, b) => a - b)).toEqual(keys.map((_, i) => i));
  });
});
