import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis } from 'ioredis';
import { Observable, type Subscriber } from 'rxjs';
import { batchPipeline, createRedis, type BatchCommand, type RedisClient } from '../../src';
import { spawnCluster, type RedisCluster } from '../../test/support/cluster';
import type { BenchCase } from '../harness';
import type { BenchContext } from '../index';

const BATCH = 100;
const IN_FLIGHT = 1;
const KEYS = 10_000;
const VALUE = JSON.stringify({ id: 1, name: 'bench', tags: ['a', 'b'] });

/**
 * The contenders' connections to one target (standalone or Cluster). The raw clients are plain
 * ioredis, as a hand-written loop would open them: no command timeout (ioredis' own arms a timer
 * per command; ours times commands out without one, see src/connection/commandTimeout.ts).
 */
interface Target {
  readonly client: RedisClient; // ours: createRedis, default options (metrics on)
  readonly raw: Redis | Cluster; // hand-written explicit pipelines
  readonly auto: Redis | Cluster; // ioredis enableAutoPipelining
  readonly keys: ReadonlyArray<string>; // the key names
}

/** Throws when an item failed, so a broken contender cannot look fast. */
const check = (errors: number): void => {
  if (errors > 0) throw new Error(`${errors} SETs failed`);
};

const NAMES = Array.from({ length: KEYS }, (_, i) => `bench:bp:${i}`);
const build = (i: number): BatchCommand => ['set', NAMES[i % KEYS]!, VALUE];

/**
 * Ours, fed like a consumer group bounded by `maxInFlight`: BATCH × IN_FLIGHT items up front,
 * then one more item per outcome — the same number of commands outstanding as the raw
 * contenders, and no input piling up in memory. The items come from the source's own
 * subscriber, as from the library's sources: a `Subject` would add an iterator and a closure
 * per item (RxJS' CommonJS build) that the raw contenders' plain loops do not pay for.
 */
const ours = (t: Target, ops: number): Promise<void> =>
  new Promise((resolve, reject) => {
    let source!: Subscriber<number>;
    let sent = 0;
    let errors = 0;
    const push = (): void => {
      source.next(sent++);
      if (sent === ops) source.complete();
    };
    new Observable<number>((subscriber) => {
      source = subscriber;
      while (sent < Math.min(ops, BATCH * IN_FLIGHT)) push();
    })
      .pipe(batchPipeline(t.client, build, { maxSize: BATCH, maxInFlight: IN_FLIGHT }))
      .subscribe({
        next: (o) => {
          if (!o.ok) errors++;
          if (sent < ops) push();
        },
        error: reject,
        complete: () => (errors > 0 ? reject(new Error(`${errors} SETs failed`)) : resolve()),
      });
  });

/** Raw explicit pipelines of BATCH, one at a time; on a Cluster split per node by hand. */
const rawPipelines = async (t: Target, ops: number): Promise<void> => {
  let errors = 0;
  const count = (replies: Array<[Error | null, unknown]> | null): void => {
    for (const [err] of replies ?? []) if (err) errors++;
  };
  for (let done = 0; done < ops; done += BATCH) {
    const end = Math.min(ops, done + BATCH);
    if (t.raw instanceof Cluster) {
      const cluster = t.raw;
      const byNode = new Map<string, string[]>();
      for (let i = done; i < end; i++) {
        const key = t.keys[i % KEYS]!;
        const node = cluster.slots[calculateSlot(key)]![0]!;
        const list = byNode.get(node);
        if (list === undefined) byNode.set(node, [key]);
        else list.push(key);
      }
      await Promise.all(
        [...byNode.values()].map(async (keys) => {
          const p = cluster.pipeline();
          for (const key of keys) p.set(key, VALUE);
          count(await p.exec());
        }),
      );
    } else {
      const p = t.raw.pipeline();
      for (let i = done; i < end; i++) p.set(t.keys[i % KEYS]!, VALUE);
      count(await p.exec());
    }
  }
  check(errors);
};

/** ioredis auto-pipelining with the same concurrency: waves of BATCH × IN_FLIGHT SETs. */
const autoPipelined = async (t: Target, ops: number): Promise<void> => {
  const width = BATCH * IN_FLIGHT;
  for (let done = 0; done < ops; done += width) {
    await Promise.all(
      Array.from({ length: Math.min(width, ops - done) }, (_, i) =>
        t.auto.set(t.keys[(done + i) % KEYS]!, VALUE),
      ),
    );
  }
};

const cases = (where: string, target: () => Promise<Target>): BenchCase[] => [
  {
    name: `batchPipeline SET, batches of ${BATCH}, ${IN_FLIGHT} in flight (${where})`,
    // short rounds, many of them: on a shared machine load comes in bursts, and the median of
    // many alternating rounds is steadier than a few long ones
    ops: 5_000,
    rounds: 101,
    // Ours reaches its steady speed only after ~30,000 items (more code for the JIT to optimise:
    // its first rounds run up to twice as long, then level with the raw loops): measure both warm.
    warmupRounds: 8,
    ours: { name: 'batchPipeline', run: async (ops) => ours(await target(), ops) },
    others: [
      {
        name: `raw ioredis explicit pipelines of ${BATCH}`,
        run: async (ops) => rawPipelines(await target(), ops),
        target: 0.9,
      },
      {
        name: `raw ioredis autopipelining, ${BATCH * IN_FLIGHT} concurrent`,
        run: async (ops) => autoPipelined(await target(), ops),
        target: 1.0,
      },
    ],
  },
];

/**
 * batchPipeline against hand-written raw ioredis: explicit pipelines of the same size (split per
 * node by hand on a Cluster) and auto-pipelining with the same number of commands in flight, on
 * the standalone server and on a Cluster this case spawns.
 *
 * The Cluster is started on first use (during the untimed warm-up), so a filtered run that skips
 * these cases does not pay for it, and stopped in teardown.
 */
export const operatorCases = async (ctx: BenchContext): Promise<BenchCase[]> => {
  // default options (no instance prefix), so both sides send the same key strings
  const keysOf = (): string[] => [...NAMES];
  const opened: Array<() => Promise<unknown>> = [];
  let cluster: RedisCluster | undefined;
  ctx.onTeardown(async () => {
    for (const close of opened) await close();
    await cluster?.stop();
  });

  let standalone: Promise<Target> | undefined;
  const standaloneTarget = (): Promise<Target> =>
    (standalone ??= (async () => {
      const client = createRedis({ url: ctx.url });
      const t: Target = {
        client,
        raw: new Redis(ctx.url),
        auto: new Redis(ctx.url, { enableAutoPipelining: true }),
        keys: keysOf(),
      };
      opened.push(
        async () => {
          // the standalone server may be yours (REDIS_URL): leave nothing behind
          for (let i = 0; i < t.keys.length; i += 1000)
            await t.raw.del(...t.keys.slice(i, i + 1000));
        },
        () => t.client.close(),
        () => t.raw.quit(),
        () => t.auto.quit(),
      );
      await t.client.ready()();
      return t;
    })());

  let clustered: Promise<Target> | undefined;
  const clusterTarget = (): Promise<Target> =>
    (clustered ??= (async () => {
      cluster = await spawnCluster({ replicasPerMaster: 0 });
      const nodes = cluster.startupNodes.map((n) => ({ host: n.host, port: n.port }));
      const client = createRedis({ cluster: nodes.map((n) => `${n.host}:${n.port}`) });
      const t: Target = {
        client,
        raw: new Cluster(nodes),
        auto: new Cluster(nodes, { enableAutoPipelining: true }),
        keys: keysOf(),
      };
      opened.push(
        () => t.client.close(),
        () => t.raw.quit(),
        () => t.auto.quit(),
      );
      await t.client.ready()();
      await Promise.all([t.raw.ping(), t.auto.ping()]); // slot maps loaded before timing
      return t;
    })());

  return [...cases('standalone', standaloneTarget), ...cases('Cluster', clusterTarget)];
};
