import * as E from 'fp-ts/Either';
import { ConfigError } from '../../../src/errors';
import { redisOptions, Secret } from '../../../src/config';
import type { Logger } from '../../../src/config';

describe('redisOptions builder', () => {
  it('builds the defaults when nothing is set', () => {
    expect(redisOptions().buildOrThrow()).toMatchObject({
      mode: 'standalone',
      endpoints: [{ host: 'localhost', port: 6379 }],
      database: 0,
      instance: '',
    });
  });

  it('never changes the builder a call was made on', () => {
    const base = redisOptions().withConnectionString('cache:6379');
    const withDb = base.withDatabase(2);
    expect(base.buildOrThrow().database).toBe(0);
    expect(withDb.buildOrThrow().database).toBe(2);
    expect(base.withInstance('a:').buildOrThrow().instance).toBe('a:');
    expect(base.buildOrThrow().instance).toBe('');
    expect(Object.isFrozen(base)).toBe(true);
  });

  it('sets every option', () => {
    const logger: Logger = { debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const o = redisOptions()
      .withConnectionString('redis://cache:6380')
      .withInstance('MyApp:')
      .withDatabase(4)
      .withUsername('app')
      .withPassword('pw')
      .withTls({ servername: 'cache.example.com' })
      .withClientName('orders')
      .withCommandTimeout(800)
      .withConnectTimeout(3000)
      .withLogger(logger)
      .withMetrics(false)
      .withOptions({ keepAliveMs: 1000, protocol: 2 })
      .buildOrThrow();
    expect(o).toMatchObject({
      mode: 'standalone',
      endpoints: [{ host: 'cache', port: 6380 }],
      instance: 'MyApp:',
      database: 4,
      username: 'app',
      tls: { servername: 'cache.example.com', rejectUnauthorized: true },
      clientName: 'orders',
      commandTimeoutMs: 800,
      connectTimeoutMs: 3000,
      metrics: false,
      keepAliveMs: 1000,
      protocol: 2,
    });
    expect(o.logger).toBe(logger);
    expect(o.password).toBeInstanceOf(Secret);
    expect(o.password?.reveal()).toBe('pw');
  });

  it('lets later calls win over earlier ones, connection strings included', () => {
    expect(
      redisOptions().withConnectionString('redis://h/2').withDatabase(3).buildOrThrow().database,
    ).toBe(3);
    expect(
      redisOptions().withDatabase(3).withConnectionString('redis://h/2').buildOrThrow().database,
    ).toBe(2);
    expect(
      redisOptions()
        .withConnectionString('a:1,password=pw')
        .withConnectionString('b:2')
        .buildOrThrow().endpoints,
    ).toEqual([{ host: 'b', port: 2 }]);
  });

  it('makes the endpoints Cluster seeds with withCluster(), in either order', () => {
    const seeds = [
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
    ];
    expect(
      redisOptions().withConnectionString('a:7000,b:7001').withCluster().buildOrThrow(),
    ).toMatchObject({
      mode: 'cluster',
      endpoints: seeds,
    });
    expect(
      redisOptions().withCluster().withConnectionString('a:7000,b:7001').buildOrThrow(),
    ).toMatchObject({
      mode: 'cluster',
      endpoints: seeds,
    });
    expect(
      redisOptions()
        .withCluster(['a:7000', { host: 'b', port: 7001 }])
        .buildOrThrow(),
    ).toMatchObject({
      mode: 'cluster',
      endpoints: seeds,
    });
  });

  it('configures Sentinel discovery', () => {
    expect(
      redisOptions().withSentinel('mymaster', ['s1', 's2:26380']).buildOrThrow(),
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

  it('turns TLS on with the system CAs by default', () => {
    expect(redisOptions().withTls().buildOrThrow().tls).toEqual({ rejectUnauthorized: true });
    expect(redisOptions().withTls().withTls(false).buildOrThrow().tls).toBeUndefined();
  });

  it('reports every problem on build, and throws the same ConfigError from buildOrThrow', () => {
    const bad = redisOptions().withDatabase(-1).withCommandTimeout(0).withConnectionString('h:abc');
    const built = bad.build();
    expect(E.isLeft(built) && built.left.issues.map((i) => i.field)).toEqual([
      'connectionString.port',
      'database',
      'commandTimeoutMs',
    ]);
    expect(() => bad.buildOrThrow()).toThrow(ConfigError);
    expect(() => bad.buildOrThrow()).toThrow(/database: is out of range/);
  });
});
