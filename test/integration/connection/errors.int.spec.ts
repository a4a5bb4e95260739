/**
 * toRedisError against real failures: what ioredis actually throws for a wrong type, a script
 * error, a missing script, a command past its deadline, a write to a replica, a refused
 * connection and a closed client.
 */
import * as TE from 'fp-ts/TaskEither';
import * as E from 'fp-ts/Either';
import { Redis } from 'ioredis';
import {
  ClusterError,
  CommandError,
  ConnectionError,
  TimeoutError,
  createRedis,
  isTransient,
  toRedisError,
  type RedisClient,
} from '../../../src';
import { topologies } from '../../support/clients';
import { findFreePort } from '../../support/ports';
import { testClusterNodes, testRedisUrl, uniquePrefix } from '../../support/env';

const attempt = <A>(f: () => Promise<A>, command: string) =>
  TE.tryCatch(f, (e) => toRedisError(e, command))();

describe('toRedisError on real failures', () => {
  const prefix = uniquePrefix('errors');
  let client: RedisClient;
  beforeAll(() => {
    client = createRedis({ url: testRedisUrl(), instance: prefix, commandTimeoutMs: 300 });
  });
  afterAll(async () => {
    await client.redis.del(client.key('list'));
    await client.close();
  });

  it('WRONGTYPE is a permanent CommandError naming the command', async () => {
    await client.redis.rpush(client.key('list'), 'x');
    const r = await attempt(() => client.redis.get(client.key('list')), 'GET');
    expect(E.isLeft(r) && r.left).toBeInstanceOf(CommandError);
    expect(E.isLeft(r) && (r.left as CommandError).code).toBe('WRONGTYPE');
    expect(E.isLeft(r) && r.left.message).toContain('GET');
    expect(E.isLeft(r) && isTransient(r.left)).toBe(false);
  });

  it('a failing script is CommandError(SCRIPT), a missing one CommandError(NOSCRIPT)', async () => {
    const failing = await attempt(
      () => client.redis.eval("return redis.error_reply('boom')", 0),
      'EVAL',
    );
    const runtime = await attempt(() => client.redis.eval('return nil + 1', 0), 'EVAL');
    const missing = await attempt(() => client.redis.evalsha('0'.repeat(40), 0), 'EVALSHA');
    expect(E.isLeft(runtime) && (runtime.left as CommandError).code).toBe('SCRIPT');
    expect(E.isLeft(missing) && (missing.left as CommandError).code).toBe('NOSCRIPT');
    expect(E.isLeft(failing) && failing.left._tag).toBe('CommandError');
  });

  it('a command past commandTimeoutMs is a TimeoutError', async () => {
    // A blocking pop that waits longer than the deadline, on a client of its own: the reply
    // still comes later and would hold up other commands on the same connection.
    const slow = createRedis({ url: testRedisUrl(), instance: prefix, commandTimeoutMs: 300 });
    const r = await attempt(() => slow.redis.blpop(slow.key('never'), 1), 'BLPOP');
    await slow.close({ timeoutMs: 1500 });
    expect(E.isLeft(r) && r.left).toBeInstanceOf(TimeoutError);
    expect(E.isLeft(r) && isTransient(r.left)).toBe(true);
  });

  it.each(topologies)(
    'on the %s, a command past commandTimeoutMs is a TimeoutError, also inside a pipeline',
    async (_name, make) => {
      const slow = make({ instance: prefix, commandTimeoutMs: 300 });
      try {
        expect(await attempt(() => slow.redis.set(slow.key('quick'), 'v'), 'SET')).toEqual(
          E.right('OK'),
        );
        const started = Date.now();
        const [blocked, piped] = await Promise.all([
          attempt(() => slow.redis.blpop(slow.key('never'), 1), 'BLPOP'),
          attempt(() => slow.redis.pipeline().blpop(slow.key('never'), 1).exec(), 'EXEC'),
        ]);
        expect(Date.now() - started).toBeLessThan(900);
        expect(E.isLeft(blocked) && blocked.left).toBeInstanceOf(TimeoutError);
        // a pipelined command times out as its own entry of the pipeline's results
        expect(E.isRight(piped) && toRedisError(piped.right?.[0]?.[0], 'BLPOP')).toBeInstanceOf(
          TimeoutError,
        );
        // the server answers the two BLPOPs, one after the other; then the connection is free
        await new Promise((r) => setTimeout(r, 2200));
        expect(await slow.redis.get(slow.key('quick'))).toBe('v');
        await slow.redis.del(slow.key('quick'));
      } finally {
        await slow.close({ timeoutMs: 1500 });
      }
    },
  );

  it('a write to a replica is a transient CommandError(READONLY)', async () => {
    let direct: Redis | undefined;
    for (const node of testClusterNodes()) {
      const r = new Redis({ host: node.host, port: node.port });
      if (((await r.role()) as unknown[])[0] === 'slave') {
        direct = r;
        break;
      }
      r.disconnect();
    }
    if (direct === undefined) throw new Error('the test Cluster has no replica');
    try {
      await direct.call('READONLY').catch(() => undefined);
      const r = await attempt(() => direct.set(`${prefix}{x}`, '1'), 'SET');
      expect(E.isLeft(r) && r.left._tag).toMatch(/CommandError|ClusterError/);
      if (E.isLeft(r) && r.left instanceof CommandError) expect(r.left.code).toBe('READONLY');
      if (E.isLeft(r) && r.left instanceof ClusterError) expect(r.left.message).toMatch(/MOVED/);
      expect(E.isLeft(r) && isTransient(r.left)).toBe(true);
    } finally {
      direct.disconnect();
    }
  });

  it('a refused connection is ConnectionError(refused) and a closed client ConnectionError(closed)', async () => {
    const port = await findFreePort();
    const nowhere = new Redis({
      port,
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      disconnectTimeout: 0,
    });
    nowhere.on('error', () => undefined);
    const refused = await attempt(() => nowhere.connect(), 'CONNECT');
    nowhere.disconnect();
    expect(E.isLeft(refused) && refused.left).toBeInstanceOf(ConnectionError);

    const closing = createRedis({ url: testRedisUrl() });
    await closing.close();
    const closed = await attempt(() => closing.redis.get('k'), 'GET');
    expect(E.isLeft(closed) && (closed.left as ConnectionError).reason).toBe('closed');
  });
});
