import * as E from 'fp-ts/Either';
import {
  clusterOptionsFor,
  reconnectStrategy,
  redisOptionsFor,
  REPLY_MAPPING,
} from '../../../src/connection/ioredisOptions';
import { parseRedisOptions } from '../../../src/config/loadRedisOptions';
import type { RedisOptions, RedisOptionsInput } from '../../../src/config/types';

const opts = (input: string | RedisOptionsInput): RedisOptions => {
  const r = parseRedisOptions(input);
  if (E.isLeft(r)) throw r.left;
  return r.right;
};
const never = () => false;

describe('redisOptionsFor', () => {
  const o = opts('redis://alice:pw@db.example:6380/2?clientName=app&commandTimeout=750');

  it('maps address, credentials, database and the client name', () => {
    const r = redisOptionsFor(o, 'command', never);
    expect(r).toMatchObject({
      host: 'db.example',
      port: 6380,
      username: 'alice',
      password: 'pw',
      db: 2,
      connectionName: 'app',
    });
    // commands are timed out by the client (commandTimeout.ts), not by a timer per command
    expect(r.commandTimeout).toBeUndefined();
  });

  it('pins the reply mapping so reply shapes do not change with the protocol', () => {
    expect(redisOptionsFor(opts({ protocol: 3 }), 'command', never)).toMatchObject({
      protocol: 3,
      replyMapping: REPLY_MAPPING,
    });
    const resp2 = redisOptionsFor(o, 'command', never);
    expect(resp2.protocol).toBe(2); // the default
    expect(resp2.replyMapping).toBeUndefined();
  });

  it('gives only the command connection auto-pipelining and a retry limit', () => {
    const command = redisOptionsFor(o, 'command', never);
    const blocking = redisOptionsFor(o, 'blocking', never);
    const subscriber = redisOptionsFor(o, 'subscriber', never);
    expect(command).toMatchObject({
      enableAutoPipelining: true,
      maxRetriesPerRequest: 3,
      lazyConnect: false,
    });
    for (const other of [blocking, subscriber]) {
      expect(other.enableAutoPipelining).toBe(false);
      expect(other.commandTimeout).toBeUndefined();
      expect(other.maxRetriesPerRequest).toBeNull();
      expect(other.lazyConnect).toBe(true);
    }
    expect(subscriber.autoResubscribe).toBe(true);
    expect(blocking.autoResendUnfulfilledCommands).toBe(false);
    expect(blocking.connectionName).toBe('app:blocking');
  });

  it('maps TLS, revealing the key only to the connection', () => {
    const r = redisOptionsFor(
      opts({ tls: { ca: 'CA-PEM', key: 'KEY-PEM', cert: 'CERT', servername: 'redis.local' } }),
      'command',
      never,
    );
    expect(r.tls).toEqual({
      ca: 'CA-PEM',
      key: 'KEY-PEM',
      cert: 'CERT',
      servername: 'redis.local',
      rejectUnauthorized: true,
    });
    expect(redisOptionsFor(opts('rediss://h:1'), 'command', never).tls).toEqual({
      rejectUnauthorized: true,
    });
  });

  it('maps Sentinel discovery', () => {
    const r = redisOptionsFor(
      opts({
        sentinel: {
          masterName: 'mymaster',
          sentinels: ['127.0.0.1:26379', '127.0.0.1:26380'],
          password: 'sentinel-pw',
        },
        password: 'pw',
      }),
      'command',
      never,
    );
    expect(r).toMatchObject({
      name: 'mymaster',
      role: 'master',
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: '127.0.0.1', port: 26380 },
      ],
      sentinelPassword: 'sentinel-pw',
      password: 'pw',
    });
  });
});

describe('clusterOptionsFor', () => {
  it('passes per-node settings through redisOptions and keeps reads on masters', () => {
    const c = clusterOptionsFor(
      opts({ cluster: ['127.0.0.1:7000'], password: 'pw', commandTimeoutMs: 900 }),
      'command',
      never,
    );
    expect(c).toMatchObject({
      enableAutoPipelining: true,
      scaleReads: 'master',
      lazyConnect: false,
    });
    expect(c.redisOptions).toMatchObject({ password: 'pw' });
    expect(c.redisOptions).not.toHaveProperty('commandTimeout');
    expect(c.redisOptions).not.toHaveProperty('enableAutoPipelining');
    expect(c.redisOptions).not.toHaveProperty('db');
  });
});

describe('reconnectStrategy', () => {
  it('backs off exponentially up to reconnectMaxDelayMs', () => {
    const next = reconnectStrategy(opts({ reconnectMaxDelayMs: 1000 }), () => true);
    expect([1, 2, 3, 4, 5, 6, 10].map(next)).toEqual([50, 100, 200, 400, 800, 1000, 1000]);
  });

  it('with abortConnect gives up while the client has never been ready', () => {
    let ready = false;
    const next = reconnectStrategy(opts({ abortConnect: true }), () => ready);
    expect(next(1)).toBeNull();
    ready = true;
    expect(next(1)).toBe(50);
  });

  it('stops retrying once the client is closing', () => {
    let closing = false;
    const next = reconnectStrategy(
      opts({}),
      () => true,
      () => closing,
    );
    expect(next(3)).toBe(200);
    closing = true;
    expect(next(3)).toBeNull();
  });

  it('is what every connection of every mode consults, the Cluster itself included', () => {
    let closing = false;
    const isClosing = () => closing;
    const strategies = [
      redisOptionsFor(opts({}), 'command', never, isClosing).retryStrategy,
      redisOptionsFor(opts({}), 'blocking', never, isClosing).retryStrategy,
      clusterOptionsFor(opts({ cluster: ['127.0.0.1:7000'] }), 'subscriber', never, isClosing)
        .clusterRetryStrategy,
    ];
    const sentinel = redisOptionsFor(
      opts({ sentinel: { masterName: 'm', sentinels: ['127.0.0.1:26379'] } }),
      'command',
      never,
      isClosing,
    );
    strategies.push(sentinel.retryStrategy, sentinel.sentinelRetryStrategy);
    for (const s of strategies) expect(s?.(1, new Error('gone'))).toBe(50);
    closing = true;
    for (const s of strategies) expect(s?.(1, new Error('gone'))).toBeNull();
  });
});
