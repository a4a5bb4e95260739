import * as E from 'fp-ts/Either';
import { PathReporter } from 'io-ts/PathReporter';
import { RedisOptionsCodec, Secret } from '../../../src/config';
import { toConfigError } from '../../../src/config/RedisOptions';
import type { Logger, RedisOptions, RedisOptionsInput } from '../../../src/config';

const decoded = (input: unknown): RedisOptions => {
  const r = RedisOptionsCodec.decode(input);
  if (E.isLeft(r)) throw new Error(PathReporter.report(r).join('\n'));
  return r.right;
};

const fieldsOf = (input: unknown): string[] => {
  const r = RedisOptionsCodec.decode(input);
  return E.isLeft(r) ? toConfigError(r.left).issues.map((i) => i.field) : [];
};

const logger: Logger = { debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() };

describe('RedisOptionsCodec', () => {
  it('is named RedisOptions', () => {
    expect(RedisOptionsCodec.name).toBe('RedisOptions');
  });

  it('fills in every default for an empty input', () => {
    const { logger: silent, ...rest } = decoded({});
    expect(rest).toEqual({
      mode: 'standalone',
      endpoints: [{ host: 'localhost', port: 6379 }],
      database: 0,
      instance: '',
      connectTimeoutMs: 10_000,
      commandTimeoutMs: 5_000,
      abortConnect: false,
      keepAliveMs: 30_000,
      autoPipelining: true,
      maxRetriesPerRequest: 3,
      reconnectMaxDelayMs: 2_000,
      protocol: 2,
      metrics: true,
    });
    for (const m of ['debug', 'info', 'warn', 'error'] as const) {
      expect(silent[m]({}, 'ignored')).toBeUndefined();
    }
  });

  it('treats undefined fields as absent', () => {
    expect(decoded({ host: undefined, port: undefined, password: undefined })).toEqual(decoded({}));
  });

  it('keeps every field given', () => {
    const input: RedisOptionsInput = {
      host: 'cache',
      port: 6380,
      username: 'app',
      password: 'pw',
      database: 3,
      tls: {
        ca: ['CA1', 'CA2'],
        cert: 'CERT',
        key: 'KEY',
        servername: 'cache.example.com',
        rejectUnauthorized: false,
      },
      instance: 'shop:',
      clientName: 'orders',
      connectTimeoutMs: 1_000,
      commandTimeoutMs: 500,
      abortConnect: true,
      keepAliveMs: 0,
      autoPipelining: false,
      maxRetriesPerRequest: 0,
      reconnectMaxDelayMs: 10_000,
      protocol: 2,
      metrics: false,
      logger,
    };
    const o = decoded(input);
    expect(o).toMatchObject({
      mode: 'standalone',
      endpoints: [{ host: 'cache', port: 6380 }],
      username: 'app',
      database: 3,
      tls: {
        ca: ['CA1', 'CA2'],
        cert: 'CERT',
        servername: 'cache.example.com',
        rejectUnauthorized: false,
      },
      instance: 'shop:',
      clientName: 'orders',
      connectTimeoutMs: 1_000,
      commandTimeoutMs: 500,
      abortConnect: true,
      keepAliveMs: 0,
      autoPipelining: false,
      maxRetriesPerRequest: 0,
      reconnectMaxDelayMs: 10_000,
      protocol: 2,
      metrics: false,
    });
    expect(o.logger).toBe(logger);
    expect(o.password).toBeInstanceOf(Secret);
    expect(o.password?.reveal()).toBe('pw');
    expect(o.tls?.key?.reveal()).toBe('KEY');
  });

  it('accepts a Secret as password and tls: true / false', () => {
    const pw = new Secret('pw');
    expect(decoded({ password: pw }).password).toBe(pw);
    expect(decoded({ tls: true }).tls).toEqual({ rejectUnauthorized: true });
    expect(decoded({ tls: false })).not.toHaveProperty('tls');
  });

  it('parses endpoints given as text, objects, or IPv6 in brackets', () => {
    expect(
      decoded({
        endpoints: ['a:7000', { host: 'b', port: 7001 }, '[::1]:7002', 'c', { host: 'd' }],
      }).endpoints,
    ).toEqual([
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
      { host: '::1', port: 7002 },
      { host: 'c', port: 6379 },
      { host: 'd', port: 6379 },
    ]);
  });

  it('uses the endpoints as Cluster seeds with cluster: true, or the nodes cluster lists', () => {
    expect(decoded({ endpoints: ['a:7000', 'b:7001'], cluster: true })).toMatchObject({
      mode: 'cluster',
      endpoints: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
    });
    expect(decoded({ cluster: ['a:7000'] })).toMatchObject({
      mode: 'cluster',
      endpoints: [{ host: 'a', port: 7000 }],
    });
    expect(decoded({ cluster: true, database: 0 }).mode).toBe('cluster');
  });

  it('treats several endpoints without a Sentinel as Cluster seed nodes', () => {
    const o = decoded({ endpoints: ['a:1', 'b:2'] });
    expect(o.mode).toBe('cluster');
    expect(o.endpoints).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
  });

  it('switches to Sentinel mode with sentinel, with defaults for port and role', () => {
    const o = decoded({
      sentinel: { masterName: 'mymaster', sentinels: ['s1', 's2:26380'], password: 'spw' },
    });
    expect(o.mode).toBe('sentinel');
    expect(o.endpoints).toEqual([]);
    expect(o.sentinel).toMatchObject({
      masterName: 'mymaster',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      role: 'master',
    });
    expect(o.sentinel?.password?.reveal()).toBe('spw');
  });

  it('expands url and connectionString, explicit fields winning', () => {
    expect(decoded({ url: 'redis://u:pw@h:1/2', database: 5, port: 7 })).toMatchObject({
      endpoints: [{ host: 'h', port: 7 }],
      username: 'u',
      database: 5,
    });
    expect(
      decoded({
        connectionString: 'h:6379,defaultDatabase=2,ssl=true',
        instance: 'App:',
        tls: false,
      }),
    ).toMatchObject({
      endpoints: [{ host: 'h', port: 6379 }],
      database: 2,
      instance: 'App:',
    });
    expect(decoded({ connectionString: 'a:1,b:2', endpoints: ['c:3'] }).endpoints).toEqual([
      { host: 'c', port: 3 },
    ]);
  });

  it('recognises decoded options with is(), not inputs', () => {
    expect(RedisOptionsCodec.is(decoded({ url: 'redis://:pw@h' }))).toBe(true);
    expect(RedisOptionsCodec.is({ host: 'h' })).toBe(false);
    expect(RedisOptionsCodec.is(null)).toBe(false);
  });

  it.each<[string, RedisOptionsInput]>([
    ['standalone', { host: 'h', password: 'pw', tls: { ca: 'CA' }, logger }],
    ['cluster', { cluster: ['a:1', 'b:2'], username: 'u', instance: 'x:' }],
    ['sentinel', { sentinel: { masterName: 'm', sentinels: ['s'], role: 'replica' }, database: 4 }],
  ])('encodes %s options to an input that decodes to the same options', (_, input) => {
    const o = decoded(input);
    const encoded = RedisOptionsCodec.encode(o);
    expect(decoded(encoded)).toEqual(o);
    if (o.password !== undefined) expect(encoded.password).toBeInstanceOf(Secret);
  });

  it('reports every problem, each as an io-ts error whose message names the field', () => {
    const r = RedisOptionsCodec.decode({
      port: 0,
      database: -1,
      instance: 'a b',
      hots: 'x',
      logger: {},
    });
    expect(E.isLeft(r)).toBe(true);
    const messages = PathReporter.report(r);
    expect(messages).toEqual(
      expect.arrayContaining([
        'port: is out of range (allowed: an integer 1–65535)',
        expect.stringMatching(/^database: is out of range/),
        'instance: must not contain whitespace or control characters',
        expect.stringMatching(/^hots: unknown option \(allowed: connectionString, url, host/),
        'logger.debug: must be a function',
      ]),
    );
    expect(fieldsOf({ port: 0, database: -1, instance: 'a b', hots: 'x', logger: {} })).toEqual([
      'hots',
      'port',
      'database',
      'instance',
      'logger.debug',
      'logger.info',
      'logger.warn',
      'logger.error',
    ]);
  });

  it('gives io-ts errors the path of the bad field', () => {
    const r = RedisOptionsCodec.decode({ endpoints: ['a:1', 'b:0'] });
    if (E.isRight(r)) throw new Error('expected a failure');
    expect(r.left[0]?.context.map((c) => c.key)).toEqual(['', 'endpoints', '1', 'port']);
  });
});
