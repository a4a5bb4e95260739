/**
 * fromStream against a server of its own that is down when the subscription starts: the
 * XREVRANGE that pins `'$'` is retried like a read, so the subscription waits for Redis instead
 * of failing, and then tails the stream.
 */
import type { Subscription } from 'rxjs';
import { createRedis, fromStream, type RedisClient } from '../../../src';
import { recordingLogger } from '../../../src/testing';
import { spawnRedis, type RedisServer } from '../../support/redisProcess';
import { uniquePrefix, waitFor } from '../../support/env';
import { blockingConnections } from './helpers';

describe('fromStream: subscribed while the server is down', () => {
  const prefix = uniquePrefix('from-stream-down');
  const clientName = `from-stream-down-${prefix.slice(-7, -1)}`;
  const logger = recordingLogger();
  let server: RedisServer;
  let client: RedisClient;
  let sub: Subscription | undefined;
  beforeAll(async () => {
    server = await spawnRedis({ name: 'from-stream-down' });
    client = createRedis({
      url: server.url,
      instance: prefix,
      clientName,
      logger,
      reconnectMaxDelayMs: 100,
    });
    await client.ready()();
  });
  afterAll(async () => {
    sub?.unsubscribe();
    await client.close({ timeoutMs: 2000 });
    await server.stop();
  });

  it("waits for Redis to pin '$', then emits the entries added after it", async () => {
    await server.kill();
    const errors: unknown[] = [];
    const first = new Promise<unknown>((resolve) => {
      sub = fromStream(client, 'events', { blockMs: 200 }).subscribe({
        next: resolve,
        error: (e: unknown) => errors.push(e),
      });
    });
    await waitFor(
      () => errors.length > 0 || logger.lines.some((l) => l.msg === 'XREVRANGE failed; retrying'),
      { message: 'the pin of $ failed while the server was down' },
    );
    expect(errors).toEqual([]);

    await server.restart();
    await waitFor(async () => (await blockingConnections(client, clientName)) === 1, {
      message: 'the pin succeeded and the blocking read is issued',
    });
    const id = await client.redis.xadd(client.key('events'), '*', 'n', '1');
    expect(await first).toEqual({ stream: 'events', id, value: { n: '1' } });
    expect(errors).toEqual([]);
  });
});
