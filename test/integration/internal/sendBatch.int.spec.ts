/**
 * sendBatch on a server of its own: one write per batch, replies in order with their own errors,
 * Buffer arguments, a batch handed over before the connection is up, and a batch whose
 * connection drops before any reply (ioredis resends it; the write then goes to the new socket).
 */
import { Command, Redis } from 'ioredis';
import { sendBatch, type Reply } from '../../../src/internal/sendBatch';
import { spawnRedis, type RedisServer } from '../../support/redisProcess';

const run = (redis: Redis, commands: Command[]): Promise<ReadonlyArray<Reply>> =>
  new Promise((resolve) => sendBatch(redis, commands, resolve));

const cmd = (name: string, ...args: Array<string | Buffer>): Command =>
  new Command(name, args, { replyEncoding: 'utf8' });

describe('sendBatch', () => {
  let server: RedisServer;
  let redis: Redis;
  let admin: Redis;

  beforeAll(async () => {
    server = await spawnRedis({ name: 'send-batch' });
    redis = new Redis(server.url);
    admin = new Redis(server.url);
    await Promise.all([redis.ping(), admin.ping()]);
  }, 30_000);
  afterEach(async () => {
    await admin.call('CLIENT', 'UNPAUSE');
    await admin.flushall();
  });
  afterAll(async () => {
    redis?.disconnect();
    admin?.disconnect();
    await server?.stop();
  });

  it('writes the batch to the socket once and gives each command its reply, in order', async () => {
    await admin.set('text', 'not a number');
    const socket = (redis as unknown as { stream: { write: (d: unknown) => boolean } }).stream;
    const write = jest.spyOn(socket, 'write');
    try {
      const replies = await run(redis, [
        cmd('set', 'a', '1'),
        cmd('incr', 'text'),
        cmd('incr', 'a'),
        cmd('get', 'a'),
        cmd('get', 'missing'),
      ]);
      expect(write).toHaveBeenCalledTimes(1);
      expect(replies.map((r) => r?.[1])).toEqual(['OK', undefined, 2, '2', null]);
      expect(replies.map((r) => r?.[0] !== null)).toEqual([false, true, false, false, false]);
      expect(String(replies[1]![0])).toMatch(/not an integer/);
    } finally {
      write.mockRestore();
    }
  });

  it('sends Buffer arguments byte for byte beside strings', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const replies = await run(redis, [
      cmd('set', 'text', 'plain'),
      cmd('set', 'bin', bytes),
      cmd('set', 'after', 'é ✓'),
    ]);
    expect(replies.map((r) => r?.[1])).toEqual(['OK', 'OK', 'OK']);
    expect(await admin.getBuffer('bin')).toEqual(bytes);
    expect(await admin.mget('text', 'after')).toEqual(['plain', 'é ✓']);
  });

  it('calls back at once for an empty batch', () => {
    const done = jest.fn();
    sendBatch(redis, [], done);
    expect(done).toHaveBeenCalledWith([]);
  });

  it('holds a batch handed over before the connection is up, and sends it once it is', async () => {
    const lazy = new Redis(server.url, { lazyConnect: true });
    try {
      const replies = await run(lazy, [cmd('set', 'lazy', 'x'), cmd('get', 'lazy')]);
      expect(replies).toEqual([
        [null, 'OK'],
        [null, 'x'],
      ]);
    } finally {
      lazy.disconnect();
    }
  });

  it('a batch whose connection drops before any reply is resent on the new connection', async () => {
    const id = Number(await redis.client('ID'));
    await admin.call('CLIENT', 'PAUSE', 600, 'WRITE'); // the SETs wait, unanswered
    const replies = run(redis, [cmd('set', 'r1', 'a'), cmd('set', 'r2', 'b'), cmd('get', 'r1')]);
    await new Promise((r) => setTimeout(r, 100));
    await admin.call('CLIENT', 'KILL', 'ID', String(id));
    expect(await replies).toEqual([
      [null, 'OK'],
      [null, 'OK'],
      [null, 'a'],
    ]);
    expect(Number(await redis.client('ID'))).not.toBe(id); // answered on a new connection
    expect(await run(redis, [cmd('get', 'r2')])).toEqual([[null, 'b']]);
  });
});
