import { Redis } from 'ioredis';
import { createRedis } from '../../src';
import type { BenchCase } from '../harness';
import type { BenchContext } from '../index';

/**
 * The shared command connection (auto-pipelining, command timeout, metrics from tracing) against
 * a raw ioredis client with auto-pipelining: what the client's bookkeeping costs per command.
 */
export const commandCases = async (ctx: BenchContext): Promise<BenchCase[]> => {
  const client = createRedis({ url: ctx.url, instance: 'bench:' });
  const raw = new Redis(ctx.url, { enableAutoPipelining: true });
  ctx.onTeardown(async () => {
    await client.close();
    await raw.quit();
  });
  const key = client.key('get');
  await raw.set(key, JSON.stringify({ id: 1, name: 'bench' }));
  const concurrency = 100;
  const batches = async (ops: number, get: () => Promise<unknown>) => {
    for (let done = 0; done < ops; done += concurrency) {
      await Promise.all(Array.from({ length: Math.min(concurrency, ops - done) }, get));
    }
  };
  return [
    {
      name: `GET, ${concurrency} concurrent (command connection with metrics)`,
      ops: 50_000,
      ours: { name: 'client.redis.get', run: (ops) => batches(ops, () => client.redis.get(key)) },
      others: [
        {
          name: 'raw ioredis (autopipelining)',
          run: (ops) => batches(ops, () => raw.get(key)),
          target: 0.9,
        },
      ],
    },
  ];
};
