/**
 * The cache when Redis fails, against servers spawned for the purpose (a standalone server and a
 * 3-master Cluster): a hung server (SIGSTOP) answers within the call's deadline, a dead one
 * (SIGKILL) answers `ConnectionError` at once, and `staleIfError` serves an expired memory-tier
 * value within its grace period, marked stale. Time of the memory tier is a fake clock, so
 * expiry needs no sleeping.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import * as TE from 'fp-ts/TaskEither';
import { filter, firstValueFrom } from 'rxjs';
import { Cache, createRedis, type RedisClient } from '../../../src';
import { spawnRedis } from '../../support/redisProcess';
import { spawnCluster } from '../../support/cluster';

const TIMEOUT_MS = 400;
/** "Within the timeout", with room for a loaded 2-core machine. */
const WITHIN_MS = TIMEOUT_MS + 1500;

interface Servers {
  readonly client: () => RedisClient;
  /** Every server process, to pause, resume and kill. */
  readonly each: (signal: NodeJS.Signals) => Promise<void>;
  /** Starts the killed servers again (their data is gone: no persistence). */
  readonly restart: () => Promise<void>;
  readonly stop: () => Promise<void>;
}

const options = { commandTimeoutMs: TIMEOUT_MS, connectTimeoutMs: 1000, instance: 'deg:' };
const targets: Array<[string, () => Promise<Servers>]> = [
  [
    'standalone',
    async () => {
      const server = await spawnRedis({ name: 'cache-down' });
      return {
        client: () => createRedis({ ...options, url: server.url }),
        each: (signal) => server.kill(signal),
        restart: () => server.restart(),
        stop: () => server.stop(),
      };
    },
  ],
  [
    'Cluster',
    async () => {
      const cluster = await spawnCluster({ masters: 3, replicasPerMaster: 0 });
      const servers = cluster.nodes.map((n) => cluster.server(n.port));
      return {
        client: () =>
          createRedis({ ...options, cluster: cluster.nodes.map((n) => `${n.host}:${n.port}`) }),
        each: async (signal) => void (await Promise.all(servers.map((s) => s.kill(signal)))),
        restart: async () => {
          await Promise.all(cluster.nodes.map((n) => cluster.restart(n.port)));
          await cluster.waitForHealthy();
        },
        stop: () => cluster.stop(),
      };
    },
  ],
];

const timed = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
};

describe.each(targets)('Cache when Redis fails (%s)', (_kind, spawn) => {
  let servers: Servers;
  let client: RedisClient;
  let now = 1_000_000; // not 0: lru-cache reads a start time of 0 as "no TTL"
  const clock = { now: () => now };
  let tiered: Cache.Cache<string>;
  let plain: Cache.Cache<string>;

  beforeAll(async () => {
    servers = await spawn();
    client = servers.client();
    await client.ready()();
    tiered = Cache.make({
      client,
      codec: t.string,
      namespace: 'tiered',
      memory: { maxEntries: 100, ttlMs: 1_000 },
      staleIfError: { graceMs: 60_000 },
      clock,
    });
    plain = Cache.make({ client, codec: t.string, namespace: 'plain' });
    expect(E.isRight(await tiered.set('k', 'v')())).toBe(true);
    expect(E.isRight(await plain.set('k', 'v')())).toBe(true);
    expect(await tiered.getWithMeta('k')()).toEqual(
      E.right(O.some({ value: 'v', source: 'memory', stale: false })),
    );
    now += 5_000; // the memory entry has expired; it is within its grace period
  }, 90_000);

  afterAll(async () => {
    await Promise.all([tiered?.close(), plain?.close()]);
    await client?.close({ timeoutMs: 500 });
    await servers?.stop();
  });

  it('a hung server: calls answer within the timeout, stale values are served and marked', async () => {
    await servers.each('SIGSTOP');
    try {
      const [r, ms] = await timed(() => plain.get('k')());
      expect(E.isLeft(r) && ['TimeoutError', 'ConnectionError'].includes(r.left._tag)).toBe(true);
      expect(ms).toBeLessThan(WITHIN_MS);

      const [stale, ms2] = await timed(() => tiered.getWithMeta('k')());
      expect(stale).toEqual(E.right(O.some({ value: 'v', source: 'memory', stale: true })));
      expect(ms2).toBeLessThan(WITHIN_MS);
      const [missing] = await timed(() => tiered.get('never-cached')());
      expect(E.isLeft(missing)).toBe(true);
    } finally {
      await servers.each('SIGCONT');
    }
  });

  it('a dead server: get answers ConnectionError at once; staleIfError serves within the grace period', async () => {
    const reconnecting = firstValueFrom(client.status$.pipe(filter((s) => s === 'reconnecting')));
    await servers.each('SIGKILL');
    await reconnecting;

    const [r, ms] = await timed(() => plain.get('k')());
    expect(E.isLeft(r) && r.left._tag).toBe('ConnectionError');
    expect(ms).toBeLessThan(WITHIN_MS);
    expect(E.isLeft(await tiered.get('never-cached')())).toBe(true);
    for (const op of [plain.set('k', 'x'), plain.delete('k'), plain.getMany(['k']), plain.clear()])
      expect(E.isLeft(await op())).toBe(true);

    expect(await tiered.getWithMeta('k')()).toEqual(
      E.right(O.some({ value: 'v', source: 'memory', stale: true })),
    );
    expect(await tiered.get('k')()).toEqual(E.right(O.some('v')));
    // getOrSet serves the stale value too, and falls back to load where there is none.
    expect(await tiered.getOrSet('k', TE.right('loaded'))()).toEqual(E.right('v'));
    expect(await plain.getOrSet('k', TE.right('loaded'))()).toEqual(E.right('loaded'));
    expect(await plain.getOrSet('k', TE.left('db down' as const))()).toEqual(E.left('db down'));

    now += 60_000; // past the grace period: nothing to serve any more
    const late = await tiered.get('k')();
    expect(E.isLeft(late) && late.left._tag).toBe('ConnectionError');
  });

  it('when Redis comes back, calls succeed again and the memory tier starts empty', async () => {
    const ready = firstValueFrom(client.status$.pipe(filter((s) => s === 'ready')));
    await servers.restart();
    await ready;
    // The restarted servers lost their data; a value kept from before would be a lie.
    expect(await tiered.getWithMeta('k')()).toEqual(E.right(O.none));
    expect(await tiered.set('k', 'again')()).toEqual(E.right(undefined));
    expect(await tiered.get('k')()).toEqual(E.right(O.some('again')));
  }, 60_000);
});
