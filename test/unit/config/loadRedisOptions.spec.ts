import * as E from 'fp-ts/Either';
import { loadRedisOptions } from '../../../src/config';
import type { RedisOptions } from '../../../src/config';

const ok = (r: E.Either<Error, RedisOptions>): RedisOptions => {
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

const load = (source: Parameters<typeof loadRedisOptions>[0]) => ok(loadRedisOptions(source));

describe('loadRedisOptions: environment', () => {
  it('reads every single variable', () => {
    const o = load({
      env: {
        REDIS_HOST: 'cache',
        REDIS_PORT: '6380',
        REDIS_USERNAME: 'app',
        REDIS_PASSWORD: ' pw with spaces ',
        REDIS_DB: '3',
        REDIS_TLS: 'true',
        REDIS_INSTANCE: 'shop:',
        REDIS_CONNECT_TIMEOUT_MS: '2000',
        REDIS_COMMAND_TIMEOUT_MS: '750',
        REDIS_CLIENT_NAME: 'orders',
      },
    });
    expect(o).toMatchObject({
      mode: 'standalone',
      endpoints: [{ host: 'cache', port: 6380 }],
      username: 'app',
      database: 3,
      tls: { rejectUnauthorized: true },
      instance: 'shop:',
      connectTimeoutMs: 2000,
      commandTimeoutMs: 750,
      clientName: 'orders',
    });
    expect(o.password?.reveal()).toBe(' pw with spaces ');
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads REDIS_TLS=%s', (value, on) => {
    expect(load({ env: { REDIS_TLS: value } }).tls !== undefined).toBe(on);
  });

  it('reads REDIS_URL as a URL or a StackExchange string', () => {
    expect(load({ env: { REDIS_URL: 'rediss://u:pw@cache:6380/2' } })).toMatchObject({
      endpoints: [{ host: 'cache', port: 6380 }],
      username: 'u',
      database: 2,
      tls: { rejectUnauthorized: true },
    });
    expect(load({ env: { REDIS_URL: 'cache:6381,defaultDatabase=4' } })).toMatchObject({
      endpoints: [{ host: 'cache', port: 6381 }],
      database: 4,
    });
  });

  it('lets single variables win over REDIS_URL', () => {
    const o = load({
      env: { REDIS_URL: 'redis://:urlpw@cache:6380/2', REDIS_DB: '5', REDIS_PASSWORD: 'envpw' },
    });
    expect(o).toMatchObject({ endpoints: [{ host: 'cache', port: 6380 }], database: 5 });
    expect(o.password?.reveal()).toBe('envpw');
  });

  it('reads REDIS_CLUSTER_NODES as Cluster seeds', () => {
    expect(load({ env: { REDIS_CLUSTER_NODES: 'a:7000, b:7001,[::1]:7002' } })).toMatchObject({
      mode: 'cluster',
      endpoints: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
        { host: '::1', port: 7002 },
      ],
    });
  });

  it('reads REDIS_SENTINELS and REDIS_SENTINEL_MASTER', () => {
    expect(
      load({ env: { REDIS_SENTINELS: 's1,s2:26380', REDIS_SENTINEL_MASTER: 'mymaster' } }),
    ).toMatchObject({
      mode: 'sentinel',
      sentinel: {
        masterName: 'mymaster',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
      },
    });
  });

  it('treats empty variables as unset and ignores unrelated ones', () => {
    expect(
      load({ env: { REDIS_HOST: '', REDIS_PORT: '  ', REDIS_PASSWORD: '', PATH: '/usr/bin' } }),
    ).toEqual(load({}));
  });
});

describe('loadRedisOptions: config section', () => {
  it('reads the Redis section of an appsettings-style object', () => {
    const o = load({
      config: {
        Redis: { ConnectionString: 'cache:6379,password=pw', Database: 2, Instance: 'MyApp:' },
      },
    });
    expect(o).toMatchObject({
      endpoints: [{ host: 'cache', port: 6379 }],
      database: 2,
      instance: 'MyApp:',
    });
    expect(o.password?.reveal()).toBe('pw');
  });

  it('matches section names and keys case-insensitively and converts string values like the binder', () => {
    const o = load({
      config: {
        redis: {
          connectionstring: 'cache:6379',
          DATABASE: '3',
          instance: 'x:',
          ConnectTimeoutMs: '1500',
          clientName: 'api',
          PASSWORD: 'pw',
          Username: 'app',
          Tls: 'true',
          AbortConnect: 'True',
          keepAliveMs: 0,
        },
      },
    });
    expect(o).toMatchObject({
      database: 3,
      instance: 'x:',
      connectTimeoutMs: 1500,
      clientName: 'api',
      username: 'app',
      tls: { rejectUnauthorized: true },
      abortConnect: true,
      keepAliveMs: 0,
    });
    expect(o.password?.reveal()).toBe('pw');
  });

  it('reads a nested section named with ":" and the StackExchange cache option names', () => {
    const config = {
      Caching: { Redis: { Configuration: 'a:7000,b:7001', Cluster: true, InstanceName: 'cache:' } },
    };
    expect(load({ config, section: 'Caching:Redis' })).toMatchObject({
      mode: 'cluster',
      endpoints: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
      instance: 'cache:',
    });
  });

  it('binds nested Sentinel and Tls objects case-insensitively', () => {
    const o = load({
      config: {
        Redis: {
          Sentinel: {
            MasterName: 'm',
            Sentinels: ['s1', { Host: 's2', Port: '26380' }],
            Role: 'Replica',
          },
          Tls: { ServerName: 'redis.example.com', RejectUnauthorized: 'false' },
        },
      },
    });
    expect(o.sentinel).toMatchObject({
      masterName: 'm',
      role: 'replica',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
    });
    expect(o.tls).toEqual({ servername: 'redis.example.com', rejectUnauthorized: false });
  });

  it('treats null values as unset', () => {
    expect(load({ config: { Redis: { Database: null, Instance: 'x:' } } }).database).toBe(0);
  });
});
