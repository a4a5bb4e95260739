import * as E from 'fp-ts/Either';
import { ConfigError } from '../../../src/errors';
import { parseConnectionString, parseRedisOptions } from '../../../src/config';
import type { RedisOptionsInput } from '../../../src/config';

/** Inputs a type checker would refuse but JavaScript callers and JSON files still produce. */
const untyped = (u: unknown) => parseRedisOptions(u as RedisOptionsInput);
const fn = () => undefined;

const cases: ReadonlyArray<[string, () => E.Either<ConfigError, unknown>, string[]]> = [
  // objects
  ['port 0', () => parseRedisOptions({ port: 0 }), ['port']],
  ['port 70000', () => parseRedisOptions({ port: 70000 }), ['port']],
  ["port 'abc'", () => untyped({ port: 'abc' }), ['port']],
  ['fractional port', () => parseRedisOptions({ port: 6379.5 }), ['port']],
  ['negative database', () => parseRedisOptions({ database: -1 }), ['database']],
  ['database as text', () => untyped({ database: '2' }), ['database']],
  ['fractional database', () => parseRedisOptions({ database: 1.5 }), ['database']],
  ['connect timeout 0', () => parseRedisOptions({ connectTimeoutMs: 0 }), ['connectTimeoutMs']],
  [
    'fractional command timeout',
    () => parseRedisOptions({ commandTimeoutMs: 10.5 }),
    ['commandTimeoutMs'],
  ],
  [
    'negative command timeout',
    () => parseRedisOptions({ commandTimeoutMs: -5 }),
    ['commandTimeoutMs'],
  ],
  ['unknown option', () => untyped({ hots: 'cache' }), ['hots']],
  ['instance with a space', () => parseRedisOptions({ instance: 'my app' }), ['instance']],
  ['instance as a number', () => untyped({ instance: 42 }), ['instance']],
  [
    'client name with a control character',
    () => parseRedisOptions({ clientName: 'a\u0007' }),
    ['clientName'],
  ],
  ['empty host', () => parseRedisOptions({ host: '' }), ['host']],
  [
    'bad second endpoint',
    () => parseRedisOptions({ endpoints: ['a:1', 'b:99999'] }),
    ['endpoints.1.port'],
  ],
  ['empty endpoints', () => parseRedisOptions({ endpoints: [] }), ['endpoints']],
  [
    'endpoint with an unknown key',
    () => untyped({ endpoints: [{ host: 'a', prot: 1 }] }),
    ['endpoints.0.prot'],
  ],
  [
    'host and endpoints together',
    () => parseRedisOptions({ host: 'a', endpoints: ['b'] }),
    ['host'],
  ],
  [
    'cluster with database 2',
    () => parseRedisOptions({ cluster: true, database: 2 }),
    ['database'],
  ],
  [
    'cluster nodes and a host',
    () => parseRedisOptions({ cluster: ['a:1'], host: 'b' }),
    ['cluster'],
  ],
  [
    'sentinel without master name',
    () => untyped({ sentinel: { sentinels: ['s'] } }),
    ['sentinel.masterName'],
  ],
  [
    'sentinel without sentinels',
    () => parseRedisOptions({ sentinel: { masterName: 'm', sentinels: [] } }),
    ['sentinel.sentinels'],
  ],
  [
    'sentinel with a bad role',
    () => untyped({ sentinel: { masterName: 'm', sentinels: ['s'], role: 'boss' } }),
    ['sentinel.role'],
  ],
  [
    'sentinel and cluster',
    () => parseRedisOptions({ sentinel: { masterName: 'm', sentinels: ['s'] }, cluster: true }),
    ['cluster'],
  ],
  [
    'empty logger',
    () => untyped({ logger: {} }),
    ['logger.debug', 'logger.info', 'logger.warn', 'logger.error'],
  ],
  [
    'logger with a non-function',
    () => untyped({ logger: { debug: fn, info: fn, warn: 'x', error: fn } }),
    ['logger.warn'],
  ],
  ['logger as a string', () => untyped({ logger: 'console' }), ['logger']],
  ['tls ca as a number', () => untyped({ tls: { ca: 5 } }), ['tls.ca']],
  ['tls cert without key', () => parseRedisOptions({ tls: { cert: 'PEM' } }), ['tls.key']],
  ['tls with an unknown key', () => untyped({ tls: { verify: false } }), ['tls.verify']],
  ['tls as text', () => untyped({ tls: 'yes' }), ['tls']],
  ['protocol 4', () => untyped({ protocol: 4 }), ['protocol']],
  ['abortConnect as text', () => untyped({ abortConnect: 'yes' }), ['abortConnect']],
  ['empty password', () => parseRedisOptions({ password: '' }), ['password']],
  ['password as a number', () => untyped({ password: 123 }), ['password']],
  ['options that are not an object', () => untyped(null), ['options']],
  [
    'url and connectionString together',
    () => parseRedisOptions({ url: 'redis://a', connectionString: 'b' }),
    ['connectionString'],
  ],
  ['bad port inside url', () => parseRedisOptions({ url: 'redis://h:0' }), ['url.port']],
  // strings
  ['empty string', () => parseConnectionString(''), ['connectionString']],
  ['blank string', () => parseRedisOptions('   '), ['connectionString']],
  ['URL port abc', () => parseConnectionString('redis://localhost:abc'), ['port']],
  ['URL port 0', () => parseConnectionString('redis://localhost:0'), ['port']],
  [
    'URL path that is not a database',
    () => parseConnectionString('redis://localhost/db1'),
    ['database'],
  ],
  [
    'URL with a negative database',
    () => parseConnectionString('redis://localhost/-1'),
    ['database'],
  ],
  ['http URL', () => parseConnectionString('http://localhost'), ['connectionString']],
  ['URL without slashes', () => parseConnectionString('redis:localhost'), ['connectionString']],
  ['unclosed IPv6 bracket', () => parseConnectionString('redis://[::1:6379'), ['host']],
  ['URL without host', () => parseConnectionString('redis://'), ['host']],
  ['unknown query parameter', () => parseConnectionString('redis://h?bogus=1'), ['bogus']],
  ['query db that is not a number', () => parseConnectionString('redis://h?db=x'), ['db']],
  ['database in path and query', () => parseConnectionString('redis://h/1?db=2'), ['db']],
  ['rediss with tls=false', () => parseConnectionString('rediss://h?tls=false'), ['tls']],
  ['broken percent-encoding', () => parseConnectionString('redis://u:%zz@h'), ['password']],
  ['StackExchange port abc', () => parseConnectionString('localhost:abc'), ['port']],
  [
    'StackExchange second port out of range',
    () => parseConnectionString('h1:6379,h2:70000'),
    ['endpoints.1.port'],
  ],
  ['StackExchange unknown key', () => parseConnectionString('h:6379,foo=bar'), ['foo']],
  [
    'StackExchange database text',
    () => parseConnectionString('h:6379,defaultDatabase=x'),
    ['defaultDatabase'],
  ],
  ['StackExchange ssl=maybe', () => parseConnectionString('h:6379,ssl=maybe'), ['ssl']],
  [
    'StackExchange fractional timeout',
    () => parseConnectionString('h:6379,connectTimeout=1.5'),
    ['connectTimeout'],
  ],
  [
    'StackExchange syncTimeout 0',
    () => parseConnectionString('h:6379,syncTimeout=0'),
    ['syncTimeout'],
  ],
  ['StackExchange without host', () => parseConnectionString('password=x'), ['endpoints']],
  ['bare IPv6 address', () => parseConnectionString('::1:6379'), ['host']],
  ['sslHost without ssl', () => parseConnectionString('h:6379,sslHost=x'), ['sslHost']],
  ['empty serviceName', () => parseConnectionString('h:6379,serviceName='), ['serviceName']],
  ['protocol resp4', () => parseConnectionString('h:6379,protocol=resp4'), ['protocol']],
];

describe('bad options objects and connection strings', () => {
  it.each(cases)('%s → ConfigError naming the field', (_, run, fields) => {
    const r = run();
    if (E.isRight(r)) throw new Error('expected a ConfigError');
    expect(r.left).toBeInstanceOf(ConfigError);
    expect(r.left._tag).toBe('ConfigError');
    expect(r.left.issues.map((i) => i.field)).toEqual(fields);
    for (const f of fields) expect(r.left.message).toContain(`${f}: `);
    for (const issue of r.left.issues) expect(issue.problem).not.toBe('');
  });

  it('says what is allowed', () => {
    const r = parseRedisOptions({ port: 0 });
    expect(E.isLeft(r) && r.left.issues[0]).toEqual({
      field: 'port',
      problem: 'is out of range',
      allowed: 'an integer 1–65535',
    });
  });
});
