/**
 * Command timeouts of pipelined commands on a server of its own that holds back writes (CLIENT
 * PAUSE WRITE): the client's timeout watches a pipeline's commands as one entry, and each of
 * them that is not answered in time fails with a TimeoutError — through batchPipeline and
 * through a pipeline of the user's own — while a read in the same pipeline is answered.
 */
import { Redis } from 'ioredis';
import { from, lastValueFrom, toArray } from 'rxjs';
import { batchPipeline, TimeoutError, toRedisError, type BatchCommand } from '../../../src';
import { createRedis } from '../../../src/connection/createRedis';
import type { RedisClient } from '../../../src/connection/RedisClient';
import { spawnRedis, type RedisServer } from '../../support/redisProcess';

describe('command timeouts of pipelined commands', () => {
  let server: RedisServer;
  let client: RedisClient;
  let admin: Redis;

  beforeAll(async () => {
    server = await spawnRedis({ name: 'pipeline-timeout' });
    client = createRedis({ url: server.url, commandTimeoutMs: 300 });
    admin = new Redis(server.url);
    await client.ready()();
    await client.redis.set('read-me', 'r');
  }, 30_000);
  afterEach(async () => {
    await admin.call('CLIENT', 'UNPAUSE');
  });
  afterAll(async () => {
    admin?.disconnect();
    await client?.close({ timeoutMs: 1000 });
    await server?.stop();
  });

  it('batchPipeline: every write of a batch the server holds back fails with a TimeoutError', async () => {
    await admin.call('CLIENT', 'PAUSE', 1500, 'WRITE');
    const started = performance.now();
    const outcomes = await lastValueFrom(
      from(['a', 'b', 'c']).pipe(
        batchPipeline(client, (k: string): BatchCommand => ['set', k, 'v']),
        toArray(),
      ),
    );
    const took = performance.now() - started;
    expect(outcomes.map((o) => o.ok)).toEqual([false, false, false]);
    for (const o of outcomes) expect(o.ok ? undefined : o.error).toBeInstanceOf(TimeoutError);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1400);
  });

  it('a pipeline of the user: the read is answered, the held-back writes time out', async () => {
    await admin.call('CLIENT', 'PAUSE', 1500, 'WRITE');
    const replies = (await client.redis.pipeline().get('read-me').set('w1', 'x').exec()) ?? [];
    expect(replies[0]).toEqual([null, 'r']);
    expect(toRedisError(replies[1]![0])).toBeInstanceOf(TimeoutError);
  });

  it('once the server answers again, the next batch succeeds', async () => {
    const outcomes = await lastValueFrom(
      from(['a', 'b']).pipe(
        batchPipeline(client, (k: string): BatchCommand => ['set', k, 'after']),
        toArray(),
      ),
    );
    expect(outcomes.map((o) => (o.ok ? o.value : o.error.message))).toEqual(['OK', 'OK']);
    expect(await admin.mget('a', 'b')).toEqual(['after', 'after']);
  });
});
