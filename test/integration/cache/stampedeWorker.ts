/**
 * Child process of the multi-process stampede test (run with
 * `node -r ts-node/register/transpile-only test/integration/cache/stampedeWorker.ts`).
 * Prints `ready`, then for each stdin line `<target> <prefix>` (target `standalone` or
 * `cluster`) connects, runs CALLERS concurrent `getOrSet` calls on one cold key with the
 * cross-process lock, and prints one JSON line with what it saw; `exit` ends it. `load` counts
 * itself in Redis (INCR), so the parent sees every process's loads. One process serves both
 * targets: starting TypeScript processes is the slow part on a shared machine.
 *
 * Env: URL, NODES (comma-separated host:port), CALLERS.
 */
import { createInterface } from 'node:readline';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as TE from 'fp-ts/TaskEither';
import { Cache, createRedis } from '../../../src';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};

const Value = t.type({ answer: t.number, by: t.number }, 'Value');

const run = async (target: string, prefix: string): Promise<void> => {
  const client =
    target === 'cluster'
      ? createRedis({ cluster: env('NODES').split(','), instance: prefix })
      : createRedis({ url: env('URL'), instance: prefix });
  const cache = Cache.make({
    client,
    codec: Value,
    namespace: 'stampede',
    ttlMs: 60_000,
    lock: { ttlMs: 10_000, waitMs: 20_000, pollMs: 20 },
  });
  const ready = await client.ready()();
  if (E.isLeft(ready)) throw ready.left;
  let loads = 0;
  const load = TE.tryCatch(
    async () => {
      loads++;
      await client.redis.incr(client.key('loads'));
      await new Promise((r) => setTimeout(r, 300)); // a slow database
      return { answer: 42, by: process.pid };
    },
    (e) => String(e),
  );
  const callers = Number(env('CALLERS'));
  const results = await Promise.all(
    Array.from({ length: callers }, () => cache.getOrSet('cold', load)()),
  );
  const values = new Map<string, number>();
  const errors: string[] = [];
  for (const r of results) {
    if (E.isLeft(r)) errors.push(typeof r.left === 'string' ? r.left : r.left.message);
    else values.set(JSON.stringify(r.right), (values.get(JSON.stringify(r.right)) ?? 0) + 1);
  }
  process.stdout.write(`${JSON.stringify({ loads, values: [...values], errors })}\n`);
  await cache.close();
  await client.close();
};

const main = async (): Promise<void> => {
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'exit') break;
    const [target = '', prefix = ''] = line.split(' ');
    await run(target, prefix);
  }
};

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
