/**
 * StackExchange.Redis configuration strings, as .NET applications (and the Mamey .NET library)
 * write them: `host:port[,host:port…][,key=value…]`, keys case-insensitive.
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import type { RedisOptionsInput } from './types';
import { Draft } from './draft';
import { DEFAULT_PORT, SENTINEL_PORT, parseHostPort } from './endpoint';
import { collect, token, type Issues } from './rules';
import { Secret } from './Secret';

/** What the parse collects before the parts that depend on each other are settled. */
interface Pending {
  ssl?: boolean;
  sslHost?: { value: string; name: string };
  asyncTimeout?: { value: string; name: string };
  serviceName?: string;
}

type Handler = (d: Draft, value: string, name: string, p: Pending) => void;

/**
 * Keys StackExchange.Redis understands that have no meaning here, accepted so that an existing
 * .NET connection string works unchanged:
 * - `allowAdmin`: admin commands are never blocked by this library.
 * - `connectRetry`, `configCheckSeconds`: ioredis reconnects and refreshes Cluster topology itself.
 * - `tiebreaker`, `version`, `resolveDns`: server selection and DNS are ioredis' and Node's job.
 * - `checkCertificateRevocation`, `sslProtocols`: Node's TLS stack decides these.
 * - `responseTimeout`, `writeBuffer`: obsolete in StackExchange.Redis itself.
 * - `setlib`: the client library name is not reported.
 */
const IGNORED = [
  'allowadmin',
  'connectretry',
  'configcheckseconds',
  'tiebreaker',
  'version',
  'resolvedns',
  'checkcertificaterevocation',
  'sslprotocols',
  'responsetimeout',
  'writebuffer',
  'setlib',
];

const KEYS: Record<string, Handler> = {
  password: (d, v) => {
    if (v !== '') d.put('password', new Secret(v));
  },
  user: (d, v, n) => d.set('username', v, n),
  ssl: (d, v, n, p) => {
    const on = d.boolean(v, n);
    if (on !== undefined) p.ssl = on;
  },
  sslhost: (_d, v, n, p) => (p.sslHost = { value: v, name: n }),
  defaultdatabase: (d, v, n) => d.setInteger('database', v, n),
  connecttimeout: (d, v, n) => d.setInteger('connectTimeoutMs', v, n),
  synctimeout: (d, v, n) => d.setInteger('commandTimeoutMs', v, n),
  asynctimeout: (_d, v, n, p) => (p.asyncTimeout = { value: v, name: n }),
  abortconnect: (d, v, n) => d.setBoolean('abortConnect', v, n),
  name: (d, v, n) => d.set('clientName', v, n),
  // Seconds in StackExchange.Redis, where -1 means "the default".
  keepalive: (d, v, n) => (v.trim() === '-1' ? undefined : d.setInteger('keepAliveMs', v, n, 1000)),
  servicename: (d, v, n, p) => {
    const name = token(false)(v, d.field(n));
    if (E.isLeft(name)) d.addIssues(name.left);
    else p.serviceName = v;
  },
  cluster: (d, v, n) => d.setBoolean('cluster', v, n),
  protocol: (d, v, n) => {
    const p = /^(?:resp)?([23])$/i.exec(v.trim())?.[1];
    if (p === undefined) d.problem(n, 'must be resp2 or resp3', 'resp2, resp3, 2, 3');
    else d.put('protocol', p === '2' ? 2 : 3);
  },
};

const KNOWN =
  'password, user, ssl, sslHost, defaultDatabase, connectTimeout, syncTimeout, asyncTimeout, ' +
  'abortConnect, name, keepAlive, serviceName, cluster, protocol, and (ignored) allowAdmin, ' +
  'connectRetry, configCheckSeconds, tiebreaker, version, resolveDns, checkCertificateRevocation';

/**
 * Parses a StackExchange.Redis-style string.
 *
 * @param s the string (not empty)
 * @param prefix path put before every field name (`connectionString`, `REDIS_URL`, or empty)
 */
export const parseStackExchange = (
  s: string,
  prefix: string,
): E.Either<Issues, RedisOptionsInput> => {
  const d = new Draft(prefix);
  const p: Pending = {};
  const hosts: string[] = [];
  for (const part of s.split(',').map((x) => x.trim())) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      hosts.push(part);
      continue;
    }
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    const key = name.toLowerCase();
    if (IGNORED.includes(key)) continue;
    const handler = KEYS[key];
    if (handler === undefined) d.problem(name, 'unknown option', KNOWN);
    else handler(d, value, name, p);
  }

  if (p.asyncTimeout !== undefined && !d.has('commandTimeoutMs')) {
    d.setInteger('commandTimeoutMs', p.asyncTimeout.value, p.asyncTimeout.name);
  }
  if (p.sslHost !== undefined && p.ssl !== true) {
    d.problem(p.sslHost.name, 'needs ssl=true', 'ssl=true,sslHost=…');
  } else if (p.ssl !== undefined) {
    d.set(
      'tls',
      p.ssl && p.sslHost ? { servername: p.sslHost.value } : p.ssl,
      p.sslHost?.name ?? 'ssl',
    );
  }

  if (hosts.length === 0) {
    d.problem('endpoints', 'no host given', 'host:port, e.g. localhost:6379');
    return d.result();
  }
  const fallback = p.serviceName === undefined ? DEFAULT_PORT : SENTINEL_PORT;
  const parsed = collect(
    hosts.map((h, i) => parseHostPort(h, hosts.length === 1 ? '' : `endpoints.${i}`, fallback)),
  );
  // Host problems are named relative to the string, so re-root them under the prefix.
  if (E.isLeft(parsed)) d.addIssues(parsed.left.map((i) => ({ ...i, field: d.field(i.field) })));
  else if (p.serviceName !== undefined) {
    d.put('sentinel', { masterName: p.serviceName, sentinels: parsed.right });
  } else if (parsed.right.length === 1) {
    d.put('host', parsed.right[0]!.host);
    d.put('port', parsed.right[0]!.port);
  } else {
    d.put('endpoints', parsed.right);
  }
  return d.result();
};
