import * as E from 'fp-ts/Either';
import { parseConnectionString, redactUrl, Secret } from '../../../src/config';
import type { RedisOptionsInput } from '../../../src/config';

const parsed = (s: string): RedisOptionsInput => {
  const r = parseConnectionString(s);
  if (E.isLeft(r)) throw new Error(`expected ${s} to parse: ${r.left.message}`);
  return r.right;
};

/** The parse with the password replaced by what it reveals, for whole-object comparisons. */
const revealed = (s: string) => {
  const { password, ...rest } = parsed(s);
  return password instanceof Secret ? { ...rest, password: password.reveal() } : { ...rest };
};

describe('parseConnectionString: redis:// URLs', () => {
  it.each<[string, object]>([
    ['redis://localhost', { host: 'localhost', port: 6379 }],
    ['REDIS://Cache.Example.com:6380', { host: 'Cache.Example.com', port: 6380 }],
    ['redis://cache:6380/', { host: 'cache', port: 6380 }],
    ['redis://cache/0', { host: 'cache', port: 6379, database: 0 }],
    [
      'redis://app:p%40ss%3Aw0rd@cache.example.com:6380/3',
      {
        username: 'app',
        password: 'p@ss:w0rd',
        host: 'cache.example.com',
        port: 6380,
        database: 3,
      },
    ],
    ['redis://:only-password@cache', { password: 'only-password', host: 'cache', port: 6379 }],
    ['redis://app@cache', { username: 'app', host: 'cache', port: 6379 }],
    // The last '@' ends the user part, so an unescaped '@' in a password still works.
    ['redis://:S3cr3t-P@ss@cache:6379', { password: 'S3cr3t-P@ss', host: 'cache', port: 6379 }],
    ['rediss://cache:6380', { tls: true, host: 'cache', port: 6380 }],
    ['redis://[::1]:6379/1', { host: '::1', port: 6379, database: 1 }],
    [
      'rediss://u:p@[2001:db8::7]',
      { tls: true, username: 'u', password: 'p', host: '2001:db8::7', port: 6379 },
    ],
    ['redis://10.0.0.5:7000', { host: '10.0.0.5', port: 7000 }],
  ])('%s', (url, expected) => {
    expect(revealed(url)).toEqual(expected);
  });

  it('reads every query parameter', () => {
    expect(
      parsed(
        'redis://cache?db=4&instance=shop:&clientName=api&connectTimeout=2000&commandTimeout=1000&tls=true',
      ),
    ).toEqual({
      host: 'cache',
      port: 6379,
      database: 4,
      instance: 'shop:',
      clientName: 'api',
      connectTimeoutMs: 2000,
      commandTimeoutMs: 1000,
      tls: true,
    });
    expect(parsed('redis://cache?name=worker&ssl=1')).toMatchObject({
      clientName: 'worker',
      tls: true,
    });
    expect(parsed('redis://cache?tls=false')).toMatchObject({ tls: false });
  });

  it('lists extra Cluster seed nodes from ?nodes= after the host, and marks cluster only when asked', () => {
    expect(parsed('redis://a:7000?cluster=true&nodes=b:7001,[::1]:7002')).toEqual({
      cluster: true,
      endpoints: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
        { host: '::1', port: 7002 },
      ],
    });
    expect(parsed('redis://a:7000?nodes=b:7001')).not.toHaveProperty('cluster');
  });

  it('returns the password as a Secret', () => {
    expect(parsed('redis://:pw@h').password).toBeInstanceOf(Secret);
  });
});

describe('parseConnectionString: StackExchange.Redis strings', () => {
  it.each<[string, object]>([
    ['localhost:6379', { host: 'localhost', port: 6379 }],
    ['localhost', { host: 'localhost', port: 6379 }],
    ['[::1]:6380', { host: '::1', port: 6380 }],
    [' cache:6379 , password = pw ,', { host: 'cache', port: 6379, password: 'pw' }],
    ['cache:6379,ssl=false', { host: 'cache', port: 6379, tls: false }],
    ['cache:6379,keepAlive=-1', { host: 'cache', port: 6379 }],
    ['cache:6379,asyncTimeout=3000', { host: 'cache', port: 6379, commandTimeoutMs: 3000 }],
    [
      'cache:6379,syncTimeout=4000,asyncTimeout=3000',
      { host: 'cache', port: 6379, commandTimeoutMs: 4000 },
    ],
    ['cache:6379,protocol=resp2', { host: 'cache', port: 6379, protocol: 2 }],
    ['cache:6379,password=', { host: 'cache', port: 6379 }],
  ])('%s', (s, expected) => {
    expect(revealed(s)).toEqual(expected);
  });

  it('reads every supported key, in any case, with several endpoints', () => {
    expect(
      revealed(
        'h1:6379,h2:6380,[::1]:6381,Password=secret,USER=app,ssl=True,sslHost=redis.example.com,' +
          'defaultDatabase=2,connectTimeout=5000,syncTimeout=4000,abortConnect=false,name=app,' +
          'keepAlive=60,protocol=resp3',
      ),
    ).toEqual({
      endpoints: [
        { host: 'h1', port: 6379 },
        { host: 'h2', port: 6380 },
        { host: '::1', port: 6381 },
      ],
      password: 'secret',
      username: 'app',
      tls: { servername: 'redis.example.com' },
      database: 2,
      connectTimeoutMs: 5000,
      commandTimeoutMs: 4000,
      abortConnect: false,
      clientName: 'app',
      keepAliveMs: 60_000,
      protocol: 3,
    });
  });

  it('accepts and ignores the StackExchange keys that mean nothing here', () => {
    const s =
      'cache:6379,allowAdmin=true,connectRetry=3,configCheckSeconds=60,tiebreaker=,version=7.2,' +
      'resolveDns=true,checkCertificateRevocation=false,sslProtocols=tls12,responseTimeout=5000,' +
      'writeBuffer=4096,setlib=false';
    expect(parsed(s)).toEqual({ host: 'cache', port: 6379 });
  });

  it('turns serviceName into Sentinel discovery, the endpoints being sentinels (default port 26379)', () => {
    expect(revealed('s1:26380,s2,serviceName=mymaster,password=pw')).toEqual({
      sentinel: {
        masterName: 'mymaster',
        sentinels: [
          { host: 's1', port: 26380 },
          { host: 's2', port: 26379 },
        ],
      },
      password: 'pw',
    });
  });

  it('leaves cluster unset for several endpoints unless cluster=true is given', () => {
    expect(parsed('a:7000,b:7001')).not.toHaveProperty('cluster');
    expect(parsed('a:7000,b:7001,cluster=true')).toMatchObject({ cluster: true });
  });
});

describe('redactUrl', () => {
  it.each([
    ['redis://app:S3cr3t@cache:6379/0', 'redis://app:***@cache:6379/0'],
    ['rediss://:S3cr3t-P@ss@cache:6379', 'rediss://:***@cache:6379'],
    ['redis://:p%40ss@[::1]:6379', 'redis://:***@[::1]:6379'],
    ['redis://app@cache:6379', 'redis://app@cache:6379'],
    ['redis://cache:6379/2?password=S3cr3t&db=1', 'redis://cache:6379/2?password=***&db=1'],
    ['cache:6379,password=S3cr3t,ssl=true', 'cache:6379,password=***,ssl=true'],
    ['cache:6379, Password = S3cr3t', 'cache:6379, Password =***'],
    ['cache:6379,ssl=true', 'cache:6379,ssl=true'],
    ['not a url at all', 'not a url at all'],
  ])('%s → %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});
