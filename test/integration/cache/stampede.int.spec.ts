/**
 * Stampede protection across processes: 4 child processes × 250 concurrent `getOrSet` calls on
 * one cold key, with the cross-process lock. One process loads; the others wait for its value.
 * Standalone and Cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Cluster, Redis } from 'ioredis';
import { deleteKeys, testClusterNodes, testRedisUrl, uniquePrefix } from '../../support/env';

const ROOT = join(__dirname, '..', '..', '..');
const PROCESSES = 4;
const CALLERS = 250;

interface Report {
  readonly loads: number;
  readonly values: Array<[string, number]>;
  readonly errors: string[];
}

/** One worker process; `next()` resolves with its next JSON report line. */
interface Worker {
  readonly child: ChildProcess;
  next(): Promise<Report>;
}

/** Starts a worker and resolves once it printed `ready`. */
const startWorker = (env: NodeJS.ProcessEnv) =>
  new Promise<Worker>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', join(__dirname, 'stampedeWorker.ts')],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const waiting: Array<{ ok: (r: Report) => void; fail: (e: Error) => void }> = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready')
        resolve({ child, next: () => new Promise((ok, fail) => waiting.push({ ok, fail })) });
      else if (line.startsWith('{')) waiting.shift()?.ok(JSON.parse(line) as Report);
    });
    child.on('exit', (code) => {
      const e = new Error(`worker exited with ${code}: ${stderr}`);
      reject(e);
      for (const w of waiting.splice(0)) w.fail(e);
    });
  });

const targets: Array<[string, string, () => Redis | Cluster]> = [
  ['standalone', 'standalone', () => new Redis(testRedisUrl())],
  [
    'Cluster',
    'cluster',
    () => new Cluster(testClusterNodes().map((n) => ({ host: n.host, port: n.port }))),
  ],
];

describe('getOrSet stampede across processes', () => {
  let workers: Worker[] = [];
  // Both targets share the processes: starting them is the slow part on a shared machine.
  beforeAll(async () => {
    const env = {
      URL: testRedisUrl(),
      NODES: testClusterNodes()
        .map((n) => `${n.host}:${n.port}`)
        .join(','),
      CALLERS: String(CALLERS),
    };
    workers = await Promise.all(Array.from({ length: PROCESSES }, () => startWorker(env)));
  }, 60_000);
  afterAll(() => {
    for (const w of workers) w.child.stdin!.end('exit\n');
  });

  describe.each(targets)('%s', (kind, target, raw) => {
    const prefix = uniquePrefix(`stampede-${kind}`);
    let admin: Redis | Cluster;
    beforeAll(() => {
      admin = raw();
    });
    afterAll(async () => {
      await deleteKeys(admin, prefix);
      await admin.quit();
    });

    it(`${PROCESSES} processes × ${CALLERS} callers on one cold key: load runs once, everyone gets its value`, async () => {
      const reports = await Promise.all(
        workers.map((w) => {
          const report = w.next();
          w.child.stdin!.write(`${target} ${prefix}\n`);
          return report;
        }),
      );

      expect(reports.flatMap((r) => r.errors)).toEqual([]);
      // Every caller of every process got the one value, loaded by one process.
      const values = reports.flatMap((r) => r.values);
      const distinct = new Set(values.map(([v]) => v));
      expect(distinct.size).toBe(1);
      const [value] = [...distinct];
      expect(JSON.parse(value!)).toEqual({ answer: 42, by: expect.any(Number) });
      expect(values.reduce((n, [, count]) => n + count, 0)).toBe(PROCESSES * CALLERS);
      expect(reports.reduce((n, r) => n + r.loads, 0)).toBe(1);
      expect(await admin.get(`${prefix}loads`)).toBe('1');
      // The lock is gone: released by its owner.
      expect(await admin.exists(`${prefix}stampede:lock:0:cold`)).toBe(0);
    }, 30_000);
  });
});
