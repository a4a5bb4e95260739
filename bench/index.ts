/**
 * `npm run bench`: runs every case against `REDIS_URL`, or a throwaway redis-server started for
 * the run, and prints the table (ops/s and ratios) as pasted into the README.
 * `npm run bench -- <filter>` runs only the cases whose name contains <filter>.
 */
import { spawnRedis, type RedisServer } from '../test/support/redisProcess';
import { runCase, table, type BenchCase, type CaseResult } from './harness';
import { commandCases } from './cases/commands';
import { cacheCases } from './cases/cache';
import { sessionCases } from './cases/sessions';
import { operatorCases } from './cases/operators';
import { streamCases } from './cases/streams';
import { pubsubCases } from './cases/pubsub';

export interface BenchContext {
  readonly url: string;
  onTeardown(f: () => Promise<void>): void;
}

/** Each capability adds its cases here. */
const suites: ReadonlyArray<(ctx: BenchContext) => Promise<BenchCase[]>> = [
  commandCases,
  cacheCases,
  sessionCases,
  operatorCases,
  streamCases,
  pubsubCases,
];

const main = async (): Promise<void> => {
  const filter = process.argv[2];
  let server: RedisServer | undefined;
  if (!process.env['REDIS_URL']) server = await spawnRedis({ name: 'bench' });
  const url = process.env['REDIS_URL'] || server!.url;
  // Each suite's clients and data are released once its cases have run, so a case does not
  // run in a heap (and beside connections) that earlier suites left behind: what the runner holds
  // while a case runs is that case's suite only.
  let teardowns: Array<() => Promise<void>> = [];
  const tearDown = async (): Promise<void> => {
    const now = teardowns.reverse();
    teardowns = [];
    for (const t of now) await t();
  };
  const ctx: BenchContext = { url, onTeardown: (f) => void teardowns.push(f) };
  const results: CaseResult[] = [];
  try {
    for (const suite of suites) {
      for (const c of await suite(ctx)) {
        if (filter !== undefined && !c.name.includes(filter)) continue;
        process.stdout.write(`running: ${c.name} … `);
        const r = await runCase(c);
        results.push(r);
        console.log(r.others.map((o) => `${o.ratio.toFixed(2)}× ${o.name}`).join(', '));
      }
      await tearDown();
    }
  } finally {
    await tearDown();
    await server?.stop();
  }
  console.log(`\nnode ${process.version}, ${new Date().toISOString()}\n`);
  console.log(table(results));
};

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
