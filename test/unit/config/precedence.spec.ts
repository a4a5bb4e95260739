import * as E from 'fp-ts/Either';
import { loadRedisOptions, parseRedisOptions } from '../../../src/config';
import type { RedisOptions } from '../../../src/config';

const ok = (r: E.Either<Error, RedisOptions>): RedisOptions => {
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

const load = (source: Parameters<typeof loadRedisOptions>[0]) => ok(loadRedisOptions(source));

describe('loadRedisOptions: precedence', () => {
  const env = {
    REDIS_HOST: 'env-host',
    REDIS_PORT: '6390',
    REDIS_DB: '1',
    REDIS_INSTANCE: 'env:',
    REDIS_CLIENT_NAME: 'env',
  };
  const config = { Redis: { ConnectionString: 'cfg-host:6391', Database: 2, Instance: 'cfg:' } };

  it('uses defaults when given nothing', () => {
    expect(load({})).toMatchObject({
      mode: 'standalone',
      endpoints: [{ host: 'localhost', port: 6379 }],
      database: 0,
    });
  });

  it('ranks overrides over the config section over the environment, field by field', () => {
    expect(load({ env, config, overrides: { database: 3 } })).toMatchObject({
      endpoints: [{ host: 'cfg-host', port: 6391 }],
      database: 3,
      instance: 'cfg:',
      clientName: 'env',
    });
  });

  it("replaces a lower source's whole address when a higher one names a host", () => {
    expect(load({ env, config: { Redis: { ConnectionString: 'cfg-host' } } }).endpoints).toEqual([
      { host: 'cfg-host', port: 6379 },
    ]);
    expect(load({ env, overrides: { url: 'redis://over:7000' } }).endpoints).toEqual([
      { host: 'over', port: 7000 },
    ]);
    expect(
      load({ env: { REDIS_CLUSTER_NODES: 'a:1,b:2' }, overrides: { host: 'solo' } }),
    ).toMatchObject({
      mode: 'standalone',
      endpoints: [{ host: 'solo', port: 6379 }],
    });
  });

  it('keeps the lower address when a higher source only changes the port or the mode', () => {
    expect(load({ env, overrides: { port: 7001 } }).endpoints).toEqual([
      { host: 'env-host', port: 7001 },
    ]);
    expect(
      load({ env: { REDIS_URL: 'a:1,b:2' }, config: { Redis: { Cluster: true } } }),
    ).toMatchObject({
      mode: 'cluster',
      endpoints: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
    });
  });
});

describe('parseRedisOptions', () => {
  it('takes a connection string or an input object', () => {
    expect(ok(parseRedisOptions('redis://cache:6380/2'))).toMatchObject({
      endpoints: [{ host: 'cache', port: 6380 }],
      database: 2,
    });
    expect(ok(parseRedisOptions('cache,defaultDatabase=1'))).toMatchObject({ database: 1 });
    expect(ok(parseRedisOptions({ host: 'cache', instance: 'x:' }))).toMatchObject({
      instance: 'x:',
    });
    expect(ok(parseRedisOptions({}))).toEqual(ok(loadRedisOptions({})));
  });
});
