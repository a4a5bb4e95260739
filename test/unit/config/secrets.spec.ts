import { inspect } from 'node:util';
import * as E from 'fp-ts/Either';
import { PathReporter } from 'io-ts/PathReporter';
import { ConfigError } from '../../../src/errors';
import {
  RedisOptionsCodec,
  loadRedisOptions,
  parseConnectionString,
  parseRedisOptions,
  redactUrl,
  redisOptions,
} from '../../../src/config';
import type { RedisOptions } from '../../../src/config';

const PASSWORD = 'S3cr3t-P@ss';
const ENCODED = encodeURIComponent(PASSWORD); // S3cr3t-P%40ss
const KEY = '-----BEGIN PRIVATE KEY-----S3cr3tKey';

/** Every way a value could be printed or serialised. */
const renderings = (u: unknown): string[] => [
  JSON.stringify(u) ?? '',
  inspect(u, { depth: 10 }),
  inspect(u, { depth: 10, showHidden: true }),
  String(u),
];

const expectNoSecret = (texts: string[]) => {
  for (const text of texts) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(ENCODED);
    expect(text).not.toContain('S3cr3t');
  }
};

const ok = (r: E.Either<ConfigError, RedisOptions>): RedisOptions => {
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

describe('secrets never leak', () => {
  it.each<[string, () => RedisOptions]>([
    ['an object', () => ok(parseRedisOptions({ password: PASSWORD }))],
    ['a URL', () => ok(parseRedisOptions(`redis://app:${ENCODED}@cache:6379/1`))],
    ['a URL with an unescaped @', () => ok(parseRedisOptions(`redis://:${PASSWORD}@cache:6379`))],
    ['a StackExchange string', () => ok(parseRedisOptions(`cache:6379,password=${PASSWORD}`))],
    ['REDIS_PASSWORD', () => ok(loadRedisOptions({ env: { REDIS_PASSWORD: PASSWORD } }))],
    ['a config section', () => ok(loadRedisOptions({ config: { Redis: { Password: PASSWORD } } }))],
    ['the builder', () => redisOptions().withPassword(PASSWORD).buildOrThrow()],
  ])('from options built from %s', (_, make) => {
    const options = make();
    expect(options.password?.reveal()).toBe(PASSWORD);
    expectNoSecret([...renderings(options), String(options.password), `${options.password}`]);
    expectNoSecret(renderings(RedisOptionsCodec.encode(options)));
  });

  it('from Sentinel passwords and TLS keys', () => {
    const options = ok(
      parseRedisOptions({
        sentinel: { masterName: 'm', sentinels: ['s'], password: PASSWORD },
        tls: { cert: 'CERT', key: KEY },
      }),
    );
    expect(options.sentinel?.password?.reveal()).toBe(PASSWORD);
    expect(options.tls?.key?.reveal()).toBe(KEY);
    expectNoSecret(renderings(options));
  });

  it('from a parsed connection string', () => {
    const parsed = parseConnectionString(`redis://app:${ENCODED}@cache`);
    expect(E.isRight(parsed)).toBe(true);
    expectNoSecret(renderings(parsed));
  });

  it.each<[string, () => E.Either<ConfigError, unknown>]>([
    ['a URL with a bad port', () => parseRedisOptions(`redis://app:${ENCODED}@cache:abc`)],
    [
      'a URL with an unescaped @ and a bad port',
      () => parseRedisOptions(`redis://:${PASSWORD}@cache:0/x`),
    ],
    [
      'a URL with the password in the query',
      () => parseConnectionString(`redis://cache?password=${PASSWORD}`),
    ],
    [
      'a URL with an unescaped / in the password',
      () => parseConnectionString(`redis://:S3cr3t/P@ss@cache`),
    ],
    [
      'a StackExchange string with an unknown key',
      () => parseConnectionString(`cache:6379,password=${PASSWORD},foo=1`),
    ],
    [
      'a StackExchange string with a typo in the key',
      () => parseConnectionString(`cache:6379,pasword=${PASSWORD}`),
    ],
    [
      'a StackExchange string with a forgotten key',
      () => parseConnectionString(`cache:6379,${PASSWORD}`),
    ],
    [
      'a StackExchange string with a bad port',
      () => parseConnectionString(`cache:99999,password=${PASSWORD}`),
    ],
    ['an object with a bad port', () => parseRedisOptions({ password: PASSWORD, port: 0 })],
    [
      'an object with a url and a bad field',
      () => parseRedisOptions({ url: `redis://:${ENCODED}@h:0`, database: -1 }),
    ],
    [
      'a password of the wrong type',
      () => parseRedisOptions({ password: [PASSWORD] as unknown as string }),
    ],
    [
      'REDIS_URL with a bad port',
      () => loadRedisOptions({ env: { REDIS_URL: `redis://:${ENCODED}@h:abc` } }),
    ],
    [
      'a config section with a bad key',
      () =>
        loadRedisOptions({
          config: { Redis: { ConnectionString: `h,password=${PASSWORD}`, Pasword: PASSWORD } },
        }),
    ],
    [
      'the builder',
      () =>
        redisOptions().withConnectionString(`h:x,password=${PASSWORD}`).withDatabase(-1).build(),
    ],
  ])('from the ConfigError of %s', (_, run) => {
    const r = run();
    if (E.isRight(r)) throw new Error('expected a ConfigError');
    const e = r.left;
    expect(e).toBeInstanceOf(ConfigError);
    expectNoSecret([...renderings(e), e.message, e.stack ?? '', JSON.stringify(e.issues)]);
  });

  it('from io-ts errors of the codec, raw or reported', () => {
    const r = RedisOptionsCodec.decode({
      url: `redis://:${ENCODED}@h:0`,
      password: PASSWORD,
      port: 'x',
    });
    expect(E.isLeft(r)).toBe(true);
    expectNoSecret([...renderings(r), ...PathReporter.report(r)]);
  });

  it('from redacted URLs', () => {
    expectNoSecret([
      redactUrl(`redis://app:${ENCODED}@cache:6379`),
      redactUrl(`redis://:${PASSWORD}@cache:6379`),
      redactUrl(`redis://:S3cr3t/P@ss@cache`),
      redactUrl(`cache:6379,password=${PASSWORD},ssl=true`),
    ]);
  });
});
