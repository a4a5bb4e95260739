/**
 * Pins the reply shapes our parsers rely on, on both protocols: the client fixes ioredis'
 * reply mapping, so these must not change with RESP2/RESP3 or an ioredis upgrade unnoticed.
 */
import { createRedis, type RedisClient } from '../../../src';
import { testRedisUrl, uniquePrefix } from '../../support/env';

describe.each([2, 3] as const)('reply shapes on RESP%i', (protocol) => {
  const prefix = uniquePrefix(`shapes${protocol}`);
  let client: RedisClient;
  beforeAll(() => {
    client = createRedis({ url: testRedisUrl(), protocol, instance: prefix });
  });
  afterAll(async () => {
    const keys = await client.redis.keys(`${prefix}*`);
    if (keys.length > 0) await client.redis.del(...keys);
    await client.close();
  });

  it('HGETALL is an object, CONFIG GET a flat array, ZSCORE a string', async () => {
    await client.redis.hset(client.key('h'), { a: '1', b: '2' });
    expect(await client.redis.hgetall(client.key('h'))).toEqual({ a: '1', b: '2' });
    expect(await client.redis.config('GET', 'maxmemory-policy')).toEqual([
      'maxmemory-policy',
      expect.any(String),
    ]);
    await client.redis.zadd(client.key('z'), 1.5, 'm');
    expect(await client.redis.zscore(client.key('z'), 'm')).toBe('1.5');
  });

  it('stream replies are nested arrays of [id, [field, value, …]]', async () => {
    const s = client.key('s');
    const id = await client.redis.xadd(s, '*', 'data', '{"n":1}', 'kind', 'x');
    expect(await client.redis.xrange(s, '-', '+')).toEqual([
      [id, ['data', '{"n":1}', 'kind', 'x']],
    ]);
    expect(await client.redis.xread('STREAMS', s, '0')).toEqual([
      [s, [[id, ['data', '{"n":1}', 'kind', 'x']]]],
    ]);
    await client.redis.xgroup('CREATE', s, 'g', '0');
    expect(
      await client.redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 10, 'STREAMS', s, '>'),
    ).toEqual([[s, [[id, ['data', '{"n":1}', 'kind', 'x']]]]]);
    const [next, claimed] = (await client.redis.xautoclaim(s, 'g', 'c2', 0, '0')) as [
      string,
      unknown[],
    ];
    expect(next).toBe('0-0');
    expect(claimed).toEqual([[id, ['data', '{"n":1}', 'kind', 'x']]]);
  });
});
