import * as E from 'fp-ts/Either';
import { ConfigError } from '../../../src/errors';
import { loadRedisOptions, redisOptions } from '../../../src/config';

const env = (vars: Record<string, string>) => loadRedisOptions({ env: vars });
const section = (config: unknown, name?: string) =>
  loadRedisOptions(name === undefined ? { config } : { config, section: name });

const cases: ReadonlyArray<[string, () => E.Either<ConfigError, unknown>, string[]]> = [
  // environment
  ['REDIS_PORT abc', () => env({ REDIS_PORT: 'abc' }), ['REDIS_PORT']],
  ['REDIS_PORT 70000', () => env({ REDIS_PORT: '70000' }), ['REDIS_PORT']],
  ['REDIS_DB -1', () => env({ REDIS_DB: '-1' }), ['REDIS_DB']],
  ['REDIS_TLS yes', () => env({ REDIS_TLS: 'yes' }), ['REDIS_TLS']],
  [
    'REDIS_CLUSTER_NODES with a bad port',
    () => env({ REDIS_CLUSTER_NODES: 'a:1,b:x' }),
    ['REDIS_CLUSTER_NODES.1.port'],
  ],
  [
    'REDIS_SENTINELS without master',
    () => env({ REDIS_SENTINELS: 's1' }),
    ['REDIS_SENTINEL_MASTER'],
  ],
  ['REDIS_URL with a bad port', () => env({ REDIS_URL: 'redis://h:abc' }), ['REDIS_URL.port']],
  [
    'REDIS_COMMAND_TIMEOUT_MS 0',
    () => env({ REDIS_COMMAND_TIMEOUT_MS: '0' }),
    ['REDIS_COMMAND_TIMEOUT_MS'],
  ],
  [
    'REDIS_HOST and REDIS_CLUSTER_NODES',
    () => env({ REDIS_HOST: 'h', REDIS_CLUSTER_NODES: 'a:1' }),
    ['REDIS_CLUSTER_NODES'],
  ],
  // config sections
  ['missing section', () => section({ Other: {} }), ['Redis']],
  ['missing nested section', () => section({ Caching: {} }, 'Caching:Redis'), ['Caching.Redis']],
  ['config that is not an object', () => section('Redis=localhost'), ['config']],
  ['section that is not an object', () => section({ Redis: 'localhost' }), ['Redis']],
  ['section Database abc', () => section({ Redis: { Database: 'abc' } }), ['Redis.Database']],
  ['section unknown key', () => section({ Redis: { Bogus: 1 } }), ['Redis.Bogus']],
  [
    'section connection string with a bad port',
    () => section({ Redis: { ConnectionString: 'h:abc' } }),
    ['Redis.ConnectionString.port'],
  ],
  [
    'section Sentinel without MasterName',
    () => section({ Redis: { Sentinel: { Sentinels: ['s'] } } }),
    ['Redis.Sentinel.masterName'],
  ],
  [
    'section Cluster with Database 2',
    () => section({ Redis: { Cluster: true, Database: 2 } }),
    ['database'],
  ],
  // builder
  ['builder database -1', () => redisOptions().withDatabase(-1).build(), ['database']],
  [
    'builder cluster with database 2',
    () => redisOptions().withCluster().withDatabase(2).build(),
    ['database'],
  ],
  [
    'builder sentinel without name or sentinels',
    () => redisOptions().withSentinel('', []).build(),
    ['sentinel.masterName', 'sentinel.sentinels'],
  ],
  [
    'builder bad connection string',
    () => redisOptions().withConnectionString('h:abc').build(),
    ['connectionString.port'],
  ],
  [
    'builder fractional timeout',
    () => redisOptions().withCommandTimeout(1.5).build(),
    ['commandTimeoutMs'],
  ],
];

describe('bad environment, config sections and builder calls', () => {
  it.each(cases)('%s → ConfigError naming the field', (_, run, fields) => {
    const r = run();
    if (E.isRight(r)) throw new Error('expected a ConfigError');
    expect(r.left).toBeInstanceOf(ConfigError);
    expect(r.left.issues.map((i) => i.field)).toEqual(fields);
    for (const f of fields) expect(r.left.message).toContain(`${f}: `);
  });

  it('lists every bad field at once, across sources', () => {
    const r = loadRedisOptions({
      env: { REDIS_PORT: 'abc', REDIS_TLS: 'maybe' },
      config: { Redis: { Database: 'x', ConnectionString: 'h:6379,foo=1' } },
      overrides: { commandTimeoutMs: 0, instance: 'a b' },
    });
    if (E.isRight(r)) throw new Error('expected a ConfigError');
    expect(r.left.issues.map((i) => i.field)).toEqual([
      'REDIS_PORT',
      'REDIS_TLS',
      'Redis.ConnectionString.foo',
      'Redis.Database',
      'instance',
      'commandTimeoutMs',
    ]);
    expect(r.left.message).toMatch(
      /^Invalid Redis configuration: REDIS_PORT: must be an integer; REDIS_TLS: /,
    );
  });
});
