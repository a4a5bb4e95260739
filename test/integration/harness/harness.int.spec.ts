/**
 * Proves the real-Redis test harness (test/support): the run's standalone server and Cluster,
 * and the servers fault tests spawn for themselves (TLS, ACL, Sentinel, AOF restart).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cluster, Redis } from 'ioredis';

import { findFreePort, tryBind } from '../../support/ports';
import { spawnRedis, type RedisServer, type TlsRedisServer } from '../../support/redisProcess';
import { runDir } from '../../support/registry';
import { spawnSentinel, type RedisSentinel } from '../../support/sentinel';
import {
  deleteKeys,
  testClusterNodes,
  testRedisUrl,
  uniquePrefix,
  waitFor,
} from '../../support/env';

/** Collects a client's `error` events, so expected failures are asserted, not logged. */
function errorsOf(client: Redis): Error[] {
  const errors: Error[] = [];
  client.on('error', (err: Error) => errors.push(err));
  return errors;
}

/** Counts the keys matching `pattern` on one server (a full SCAN, however big the db). */
async function countKeys(node: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

/**
 * Options of a client that is expected to fail: it gives up instead of reconnecting forever,
 * and its disconnect() does not arm ioredis' 2 s "destroy the stream" timer on a socket that
 * is already closed (that timer would keep jest alive after the run).
 */
const oneShot = {
  lazyConnect: true,
  retryStrategy: () => null,
  maxRetriesPerRequest: 0,
  disconnectTimeout: 0,
} as const;

describe('free ports', () => {
  it('finds distinct ports whose cluster bus port (+10000) is free too', async () => {
    const a = await findFreePort({ clusterBus: true });
    const b = await findFreePort({ clusterBus: true });

    expect(a).not.toBe(b);
    for (const port of [a, a + 10000, b, b + 10000]) expect(await tryBind(port)).toBe(port);
  });
});

describe('standalone server of the run', () => {
  const redis = new Redis(testRedisUrl(), { lazyConnect: true });
  const prefix = uniquePrefix('harness');

  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('answers PING through ioredis', async () => {
    expect(await redis.ping()).toBe('PONG');
  });

  it('deleteKeys removes the keys under its prefix and no other', async () => {
    const other = uniquePrefix('harness-other');
    await redis.mset(`${prefix}a`, '1', `${prefix}b*?`, '2', `${other}a`, '3');

    expect(await deleteKeys(redis, prefix)).toBe(2);
    expect(await redis.exists(`${prefix}a`, `${prefix}b*?`, `${other}a`)).toBe(1);
    await deleteKeys(redis, other);
  });
});

describe('Cluster of the run', () => {
  const cluster = new Cluster(testClusterNodes(), { lazyConnect: true });
  const prefix = uniquePrefix('harness');

  afterAll(async () => {
    await deleteKeys(cluster, prefix);
    await cluster.quit();
  });

  it('has 3 masters, each with one replica, and cluster_state:ok', async () => {
    await cluster.connect();
    const info = String(await cluster.cluster('INFO'));
    const nodes = String(await cluster.cluster('NODES'))
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    const masters = nodes.filter(([, , flags]) => flags?.split(',').includes('master'));
    const replicaOf = nodes
      .filter(([, , flags]) => flags?.split(',').includes('slave'))
      .map(([, , , masterId]) => masterId);

    expect(info).toMatch(/^cluster_state:ok\r?$/m);
    expect(info).toMatch(/^cluster_slots_ok:16384\r?$/m);
    expect(masters).toHaveLength(3);
    expect(replicaOf.sort()).toEqual(masters.map(([id]) => id).sort());
  });

  it('round-trips keys spread over all 3 masters', async () => {
    // the hash tag fixes each key's slot whatever the random prefix, so the spread is stable
    const keys = Array.from({ length: 24 }, (_, i) => `${prefix}{k${i}}`);
    await Promise.all(keys.map((key, i) => cluster.set(key, `v${i}`)));

    expect(await Promise.all(keys.map((key) => cluster.get(key)))).toEqual(
      keys.map((_, i) => `v${i}`),
    );
    const perMaster = await Promise.all(
      cluster.nodes('master').map((node) => countKeys(node, `${prefix}*`)),
    );
    expect(perMaster).toHaveLength(3);
    for (const count of perMaster) expect(count).toBeGreaterThan(0);
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(keys.length);
    expect(await deleteKeys(cluster, prefix)).toBe(keys.length);
  });
});

describe('spawnRedis({ tls: true })', () => {
  let server: TlsRedisServer;
  beforeAll(async () => {
    server = await spawnRedis({ tls: true });
  });
  afterAll(() => server.stop());

  it('accepts a client that trusts the generated CA', async () => {
    const redis = new Redis({
      host: server.host,
      port: server.port,
      tls: { ca: server.caPem },
      lazyConnect: true,
    });
    try {
      await redis.connect();
      expect(server.url).toBe(`rediss://127.0.0.1:${server.port}`);
      expect(await redis.ping()).toBe('PONG');
    } finally {
      await redis.quit();
    }
  });

  it('rejects a client without the CA', async () => {
    const redis = new Redis({ host: server.host, port: server.port, tls: {}, ...oneShot });
    const errors = errorsOf(redis);
    try {
      await expect(redis.connect()).rejects.toThrow();
      // ioredis rejects connect() with "Connection is closed."; the cause is the error event
      expect(errors.map((e) => e.message).join('\n')).toMatch(
        /self[- ]signed|unable to (get|verify)/i,
      );
    } finally {
      redis.disconnect();
    }
  });
});

describe('spawnRedis({ password, aclUsers })', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await spawnRedis({
      password: 'default-secret',
      aclUsers: [{ name: 'app', password: 'app-secret', rules: ['~app:*', '+@all'] }],
    });
  });
  afterAll(() => server.stop());

  it('accepts the ACL user with its password, limited by its rules', async () => {
    const redis = new Redis({
      port: server.port,
      username: 'app',
      password: 'app-secret',
      lazyConnect: true,
    });
    try {
      await redis.connect();
      expect(await redis.acl('WHOAMI')).toBe('app');
      expect(await redis.set('app:k', 'v')).toBe('OK');
      await expect(redis.set('other:k', 'v')).rejects.toThrow(/NOPERM/);
    } finally {
      await redis.quit();
    }
  });

  it('accepts the default user with requirepass', async () => {
    const redis = new Redis({ port: server.port, password: 'default-secret', lazyConnect: true });
    try {
      await redis.connect();
      expect(await redis.acl('WHOAMI')).toBe('default');
    } finally {
      await redis.quit();
    }
  });

  it('rejects a wrong password', async () => {
    const redis = new Redis({ port: server.port, username: 'app', password: 'wrong', ...oneShot });
    const errors = errorsOf(redis);
    try {
      await expect(redis.connect()).rejects.toThrow();
      expect(errors.map((e) => e.message).join('\n')).toMatch(/WRONGPASS/);
    } finally {
      redis.disconnect();
    }
  });
});

describe('spawnSentinel', () => {
  let setup: RedisSentinel;
  beforeAll(async () => {
    setup = await spawnSentinel({ masterName: 'harness-master' });
  });
  afterAll(() => setup.stop());

  it('lets ioredis find the master through the sentinel and write to it', async () => {
    const redis = new Redis({
      sentinels: [...setup.sentinels],
      name: setup.masterName,
      lazyConnect: true,
    });
    const key = `${uniquePrefix('sentinel')}k`;
    try {
      await redis.connect();
      expect(await redis.set(key, 'via-sentinel')).toBe('OK');
      expect(await redis.get(key)).toBe('via-sentinel');
      expect(await redis.config('GET', 'port')).toEqual(['port', String(setup.master.port)]);
    } finally {
      await redis.quit();
    }
  });
});

describe('spawnRedis({ appendonly: true }) kill and restart', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await spawnRedis({ appendonly: true });
  });
  afterAll(() => server.stop());

  it('records the pid in the registry while the server runs', () => {
    expect(fs.existsSync(path.join(runDir(), 'pids', `${server.pid}.json`))).toBe(true);
  });

  it('keeps an acknowledged write across SIGKILL and restart on the same port', async () => {
    const key = `${uniquePrefix('aof')}k`;
    const writer = new Redis(server.url, { lazyConnect: true });
    await writer.set(key, 'survives');
    await writer.quit();
    const firstPid = server.pid;

    await server.kill();
    expect(server.running).toBe(false);
    await waitFor(() => !fs.existsSync(path.join(runDir(), 'pids', `${firstPid}.json`)), {
      message: 'registry entry of the killed server removed',
    });
    await server.restart();

    const reader = new Redis(server.url, { lazyConnect: true });
    try {
      expect(server.pid).not.toBe(firstPid);
      expect(await reader.get(key)).toBe('survives');
    } finally {
      await reader.quit();
    }
  });
});
