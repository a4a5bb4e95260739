/**
 * createRedis against the run's standalone server and Cluster: the shared command connection,
 * the lazy subscriber, dedicated blocking connections, status, ping, metrics, logging, the key
 * prefix and a graceful close.
 */
import * as E from 'fp-ts/Either';
import { inspect } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { firstValueFrom, toArray } from 'rxjs';
import { createRedis, type RedisClient } from '../../../src';
import { recordingLogger } from '../../../src/testing';
import {
  deleteKeys,
  testClusterNodes,
  testRedisUrl,
  uniquePrefix,
  waitFor,
} from '../../support/env';

const clientNames = async (admin: Redis, name: string): Promise<string[]> =>
  String(await admin.client('LIST'))
    .split('\n')
    .map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? '')
    .filter((n) => n.startsWith(name));

describe('createRedis (standalone)', () => {
  const admin = new Redis(testRedisUrl());
  const prefix = uniquePrefix('conn');
  const opened: RedisClient[] = [];
  const open = (extra: object = {}) => {
    const c = createRedis({ url: testRedisUrl(), instance: prefix, ...extra });
    opened.push(c);
    return c;
  };

  afterAll(async () => {
    await Promise.all(opened.map((c) => c.close()));
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  it('becomes ready, pings with a round-trip time, and reports its status', async () => {
    const client = open();
    const statuses = firstValueFrom(client.status$.pipe(toArray()));
    expect(E.isRight(await client.ready()())).toBe(true);
    expect(client.status).toBe('ready');
    const rtt = await client.ping()();
    expect(E.isRight(rtt) && rtt.right >= 0 && rtt.right < 1000).toBe(true);
    await client.close();
    expect(client.status).toBe('closed');
    expect(await statuses).toEqual(['connecting', 'ready', 'closed']);
  });

  it('applies the instance prefix through key() and strips it with unkey()', async () => {
    const client = open();
    await client.redis.set(client.key('user:1'), 'x');
    expect(await admin.get(`${prefix}user:1`)).toBe('x');
    expect(client.unkey(`${prefix}user:1`)).toBe('user:1');
    expect(client.unkey('elsewhere:user:1')).toBeUndefined();
  });

  it('opens the subscriber connection only on first use, and shares it', async () => {
    const name = `sub-${prefix}`;
    const client = open({ clientName: name });
    await client.ping()();
    expect(await clientNames(admin, name)).toEqual([name]);
    const sub = client.subscriber();
    expect(client.subscriber()).toBe(sub);
    await sub.subscribe(`${prefix}ch`);
    expect((await clientNames(admin, name)).sort()).toEqual([name, `${name}:subscriber`]);
    await client.close();
    await waitFor(async () => (await clientNames(admin, name)).length === 0);
  });

  it('close() interrupts blocking reads on dedicated connections and closes them all', async () => {
    const name = `blk-${prefix}`;
    const client = open({ clientName: name });
    const a = await client.dedicated();
    const b = await client.dedicated();
    const reads = [a, b].map((d) =>
      d.redis.xread('BLOCK', 0, 'STREAMS', client.key('never'), '$').catch((e: Error) => e),
    );
    await waitFor(async () => (await clientNames(admin, `${name}:blocking`)).length === 2);
    await client.close();
    for (const r of await Promise.all(reads)) expect(r).toBeInstanceOf(Error);
    await waitFor(async () => (await clientNames(admin, name)).length === 0);
  });

  it('a dedicated connection closes on its own without touching the others', async () => {
    const name = `own-${prefix}`;
    const client = open({ clientName: name });
    const d = await client.dedicated();
    await d.redis.ping();
    await d.close();
    await waitFor(async () => (await clientNames(admin, `${name}:blocking`)).length === 0);
    expect(await client.redis.ping()).toBe('PONG');
  });

  it('close() lets in-flight commands finish before quitting', async () => {
    const client = open();
    const writes = Array.from({ length: 2000 }, (_, i) =>
      client.redis.set(client.key(`w:${i}`), String(i)),
    );
    await client.close();
    expect(new Set(await Promise.all(writes))).toEqual(new Set(['OK']));
    expect(await admin.get(`${prefix}w:1999`)).toBe('1999');
  });

  it('close() waits for close hooks and is idempotent', async () => {
    const client = open();
    const order: string[] = [];
    client.onClose(async () => {
      await new Promise((r) => setTimeout(r, 50));
      order.push('hook');
    });
    const unregister = client.onClose(async () => {
      order.push('removed');
    });
    unregister();
    await Promise.all([client.close(), client.close()]);
    order.push('closed');
    expect(order).toEqual(['hook', 'closed']);
  });

  it('counts commands in its metrics', async () => {
    const client = open();
    await client.redis.set(client.key('m'), '1');
    await Promise.all([client.redis.get(client.key('m')), client.redis.get(client.key('m'))]);
    await client.redis.hset(client.key('m'), 'f', 'v').catch(() => undefined); // WRONGTYPE
    const s = client.metrics.snapshot();
    expect(s.commands.get?.count).toBe(2);
    expect(s.commands.set?.count).toBe(1);
    expect(s.commands.hset?.errors).toBe(1);
    expect(s.totalErrors).toBeGreaterThanOrEqual(1);
  });

  it('logs connection events through the logger, with no values', async () => {
    const logger = recordingLogger();
    const client = open({ logger });
    await client.redis.set(client.key('secret-holder'), 'a-value-never-logged');
    await client.close();
    expect(logger.lines.map((l) => l.msg)).toContain('redis connection ready');
    expect(logger.text()).not.toContain('a-value-never-logged');
  });

  it('prints no password through inspect or JSON', async () => {
    const client = open({ password: undefined, url: testRedisUrl() });
    const withSecret = createRedis({
      url: testRedisUrl().replace('redis://', 'redis://:Sup3r-S3cret@'),
      abortConnect: true,
      metrics: false,
    });
    opened.push(withSecret);
    for (const text of [
      inspect(withSecret, { depth: 10 }),
      JSON.stringify(withSecret),
      inspect(withSecret.options, { depth: 10 }),
      JSON.stringify(withSecret.options),
    ]) {
      expect(text).not.toContain('Sup3r-S3cret');
    }
    expect(inspect(client)).toMatch(/RedisClient \{ mode: 'standalone'/);
  });
});

describe('createRedis (Cluster)', () => {
  const nodes = testClusterNodes();
  const admin = new Cluster(nodes);
  const prefix = uniquePrefix('conn-cluster');
  let client: RedisClient;

  beforeAll(async () => {
    client = createRedis({ cluster: nodes.map((n) => `${n.host}:${n.port}`), instance: prefix });
    const ready = await client.ready()();
    if (E.isLeft(ready)) throw ready.left;
  });

  afterAll(async () => {
    await client.close();
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  it('is in cluster mode and pings', async () => {
    expect(client.mode).toBe('cluster');
    expect(E.isRight(await client.ping()())).toBe(true);
  });

  it('writes and reads keys spread over every master', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => client.key(`k${i}`));
    await Promise.all(keys.map((k, i) => client.redis.set(k, String(i))));
    const values = await Promise.all(keys.map((k) => client.redis.get(k)));
    expect(values).toEqual(keys.map((_, i) => String(i)));
    const owners = new Set(keys.map((k) => admin.slots[calculateSlot(k)]?.[0]));
    expect(owners.size).toBe(3);
    expect(client.metrics.snapshot().commands.set?.count).toBeGreaterThanOrEqual(60);
  });

  it('opens dedicated connections to the master that owns the key', async () => {
    for (const i of [1, 2, 3, 4, 5, 6]) {
      const key = client.key(`stream:${i}`);
      const d = await client.dedicated(key);
      const owner = admin.slots[calculateSlot(key)]?.[0];
      expect(`${d.redis.options.host}:${d.redis.options.port}`).toBe(owner);
      // A key-routed read works on it without MOVED.
      expect(await d.redis.xlen(key)).toBe(0);
      await d.close();
    }
  });

  it('shares a lazily created subscriber Cluster connection', async () => {
    const sub = client.subscriber();
    expect(sub).toBeInstanceOf(Cluster);
    expect(client.subscriber()).toBe(sub);
    await sub.subscribe(client.key('news'));
    const got = new Promise((resolve) => sub.once('message', (_ch, msg) => resolve(msg)));
    await client.redis.publish(client.key('news'), 'hello');
    expect(await got).toBe('hello');
  });
});
