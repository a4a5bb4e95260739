import { Cluster } from 'ioredis';
import type { RedisClient } from '../../../src';
import { pipelinePerNode } from '../../../src/internal/pipelinePerNode';
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
      (x) => (x.i === 7 ? ['incr', x.key] : ['set', x.key, String(x.i)]),
      client.options.commandTimeoutMs,
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

  it('sends one write per node: one on a standalone server, one per master on the Cluster', async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `${prefix}g${i}`);
    const nodes = client.redis instanceof Cluster ? client.redis.nodes('master') : [client.redis];
    type Socket = { write: (data: unknown) => boolean };
    const writes = nodes.map((n) =>
      jest.spyOn((n as unknown as { stream: Socket }).stream, 'write'),
    );
    try {
      const results = await pipelinePerNode(
        client.redis,
        keys,
        (k) => ['set', k, 'v'],
        client.options.commandTimeoutMs,
        'SET',
      );
      expect(results.every((r) => r.ok)).toBe(true);
      expect(writes.map((w) => w.mock.calls.length)).toEqual(nodes.map(() => 1));
    } finally {
      writes.forEach((w) => w.mockRestore());
    }
    await Promise.all(keys.map((k) => client.redis.del(k)));
  });
});
