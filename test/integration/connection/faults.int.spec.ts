/**
 * The connection against servers spawned for the purpose: TLS, ACL users, wrong passwords,
 * Sentinel discovery, a server that dies and comes back, abortConnect, and a process that must
 * exit by itself after close(), also when every node of its Cluster is dead.
 */
import * as E from 'fp-ts/Either';
import { execFile, spawn } from 'node:child_process';
import { inspect } from 'node:util';
import { join } from 'node:path';
import { firstValueFrom, filter, toArray, takeWhile } from 'rxjs';
import { ConnectionError, createRedis, type RedisClient } from '../../../src';
import { recordingLogger } from '../../../src/testing';
import { spawnRedis, type RedisServer, type TlsRedisServer } from '../../support/redisProcess';
import { spawnSentinel, type RedisSentinel } from '../../support/sentinel';
import { spawnCluster, type RedisCluster } from '../../support/cluster';
import { findFreePort } from '../../support/ports';
import { testRedisUrl, uniquePrefix } from '../../support/env';

const PASSWORD = 'Acl-Pa55-w0rd!';

describe('connection faults and security', () => {
  const servers: Array<RedisServer | RedisSentinel | RedisCluster> = [];
  const clients: RedisClient[] = [];
  const track = (c: RedisClient) => (clients.push(c), c);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ timeoutMs: 1000 })));
    await Promise.all(servers.map((s) => s.stop()));
  });

  describe('TLS', () => {
    let server: TlsRedisServer;
    beforeAll(async () => {
      server = await spawnRedis({ tls: true, name: 'tls' });
      servers.push(server);
    });

    it('connects over rediss:// with the test CA', async () => {
      const client = track(createRedis({ url: server.url, tls: { ca: server.caPem } }));
      expect(E.isRight(await client.ready()())).toBe(true);
      expect(await client.redis.set('tls:k', 'v')).toBe('OK');
      await client.close();
    });

    it('refuses a server whose certificate it cannot verify, with a ConnectionError(tls)', async () => {
      const client = track(
        createRedis({ url: server.url, abortConnect: true, connectTimeoutMs: 3000 }),
      );
      const r = await client.ready()();
      expect(E.isLeft(r) && r.left).toBeInstanceOf(ConnectionError);
      expect(E.isLeft(r) && (r.left as ConnectionError).reason).toBe('tls');
    });
  });

  describe('ACL users and passwords', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await spawnRedis({
        name: 'acl',
        password: 'default-pw',
        aclUsers: [{ name: 'app', password: PASSWORD, rules: ['~app:*', '+@all'] }],
      });
      servers.push(server);
    });

    it('authenticates an ACL user from the URL', async () => {
      const url = `redis://app:${encodeURIComponent(PASSWORD)}@${server.host}:${server.port}`;
      const client = track(createRedis(url));
      expect(E.isRight(await client.ready()())).toBe(true);
      expect(await client.redis.set('app:k', '1')).toBe('OK');
      await client.close();
    });

    it('reports a wrong password as ConnectionError(auth) at once, never showing it', async () => {
      const logger = recordingLogger();
      const client = track(
        createRedis({
          host: server.host,
          port: server.port,
          username: 'app',
          password: 'Wr0ng-S3cret',
          logger,
          connectTimeoutMs: 8000,
        }),
      );
      const t0 = Date.now();
      const ready = await client.ready()();
      expect(Date.now() - t0).toBeLessThan(4000);
      if (E.isRight(ready)) throw new Error('expected an auth failure');
      expect(ready.left).toBeInstanceOf(ConnectionError);
      expect((ready.left as ConnectionError).reason).toBe('auth');
      const ping = await client.ping()();
      expect(E.isLeft(ping) && ping.left._tag).toBe('ConnectionError');
      await client.close({ timeoutMs: 500 });
      for (const text of [
        ready.left.message,
        inspect(ready.left, { depth: 10 }),
        JSON.stringify(ready.left),
        E.isLeft(ping) ? inspect(ping.left, { depth: 10 }) : '',
        logger.text(),
        inspect(client, { depth: 10 }),
      ]) {
        expect(text).not.toContain('Wr0ng-S3cret');
      }
    });
  });

  describe('Sentinel', () => {
    let sentinel: RedisSentinel;
    beforeAll(async () => {
      sentinel = await spawnSentinel({ masterName: 'mamey' });
      servers.push(sentinel);
    }, 60_000);

    it('discovers the master through the sentinels', async () => {
      const client = track(
        createRedis({
          sentinel: {
            masterName: 'mamey',
            sentinels: sentinel.sentinels.map((s) => `${s.host}:${s.port}`),
          },
        }),
      );
      expect(client.mode).toBe('sentinel');
      expect(E.isRight(await client.ready()())).toBe(true);
      await client.redis.set('sentinel:k', 'v');
      expect(await client.redis.get('sentinel:k')).toBe('v');
      const role = (await client.redis.role()) as unknown[];
      expect(role[0]).toBe('master');
      await client.close();
    });
  });

  describe('server loss', () => {
    it('shows reconnecting on status$ while the server is down, and recovers', async () => {
      const server = await spawnRedis({ name: 'flaky' });
      servers.push(server);
      const client = track(createRedis({ url: server.url, reconnectMaxDelayMs: 200 }));
      const seen = firstValueFrom(
        client.status$.pipe(
          takeWhile((s) => s !== 'closed', true),
          toArray(),
        ),
      );
      await client.ready()();
      await server.kill();
      await firstValueFrom(client.status$.pipe(filter((s) => s === 'reconnecting')));
      const ping = await client.ping()();
      expect(E.isLeft(ping) && ['ConnectionError', 'TimeoutError'].includes(ping.left._tag)).toBe(
        true,
      );
      await server.restart();
      await firstValueFrom(client.status$.pipe(filter((s) => s === 'ready')));
      expect(E.isRight(await client.ping()())).toBe(true);
      await client.close();
      expect(await seen).toEqual(['connecting', 'ready', 'reconnecting', 'ready', 'closed']);
    });

    it('with abortConnect gives up on a server that is not there', async () => {
      const port = await findFreePort();
      const client = track(createRedis({ host: '127.0.0.1', port, abortConnect: true }));
      const r = await client.ready()();
      expect(E.isLeft(r) && r.left).toBeInstanceOf(ConnectionError);
      expect(E.isLeft(r) && (r.left as ConnectionError).reason).toBe('refused');
      expect(client.status).toBe('closed');
    });
  });

  it('a process that used the library exits by itself after close()', async () => {
    const prefix = uniquePrefix('exit');
    const script = `
      const { createRedis } = require('./src');
      (async () => {
        const client = createRedis({ url: process.env.URL, instance: '${prefix}' });
        await client.redis.set(client.key('k'), 'v');
        client.subscriber().subscribe(client.key('ch'));
        const d = await client.dedicated();
        d.redis.xread('BLOCK', 0, 'STREAMS', client.key('s'), '$').catch(() => {});
        await new Promise((r) => setTimeout(r, 100));
        await client.redis.del(client.key('k'));
        await client.close();
        console.log('closed');
      })();`;
    const t0 = Date.now();
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', '-e', script],
        {
          cwd: join(__dirname, '..', '..', '..'),
          env: { ...process.env, URL: testRedisUrl() },
          timeout: 20_000,
        },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    expect(out.trim()).toBe('closed');
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  describe('Cluster loss', () => {
    let cluster: RedisCluster;
    beforeAll(async () => {
      cluster = await spawnCluster({ masters: 3, replicasPerMaster: 0 });
      servers.push(cluster);
    }, 120_000);

    it('a process whose Cluster nodes are all dead exits by itself after close()', async () => {
      const prefix = uniquePrefix('cluster-exit');
      // Uses the command connection, the subscriber (also sharded) and a dedicated connection,
      // then waits for a line on stdin: the nodes are all dead by then.
      const script = `
        const { createRedis } = require('./src');
        (async () => {
          const client = createRedis({
            cluster: process.env.NODES.split(','),
            instance: '${prefix}',
            reconnectMaxDelayMs: 200,
          });
          await client.redis.set(client.key('k'), 'v');
          const sub = client.subscriber();
          await sub.subscribe(client.key('ch'));
          await sub.ssubscribe(client.key('sch'));
          const d = await client.dedicated(client.key('s'));
          d.redis.xread('BLOCK', 0, 'STREAMS', client.key('s'), '$').catch(() => {});
          await new Promise((r) => setTimeout(r, 100));
          console.log('ready');
          await new Promise((r) => process.stdin.once('data', r));
          process.stdin.destroy();
          await client.ping()();
          await client.close({ timeoutMs: 1000 });
          console.log('closed');
        })();`;
      const child = spawn(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', '-e', script],
        {
          cwd: join(__dirname, '..', '..', '..'),
          env: {
            ...process.env,
            NODES: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(','),
          },
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      /** Resolves with the time `line` was printed; fails when the child exits first. */
      const printed = (line: string): Promise<number> => {
        const at = new Promise<number>((resolve, reject) => {
          child.stdout.on('data', () => stdout.split('\n').includes(line) && resolve(Date.now()));
          void exited.then(() => reject(new Error(`exited before '${line}':\n${stderr}`)));
        });
        at.catch(() => undefined);
        return at;
      };
      try {
        const ready = printed('ready');
        const closed = printed('closed');
        await ready;
        await Promise.all(cluster.nodes.map((n) => cluster.kill(n.port)));
        // let the client notice and start reconnecting to the dead nodes
        await new Promise((r) => setTimeout(r, 1000));
        child.stdin.end('close\n');
        const closedAt = await closed;
        expect(await exited).toBe(0);
        // ioredis' reconnect and destroy timers of the dead nodes must not hold it open
        expect(Date.now() - closedAt).toBeLessThan(1000);
      } finally {
        clearTimeout(killer);
        child.kill('SIGKILL');
      }
    }, 60_000);
  });
});
