import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { ConfigError } from '../errors';
import type { RedisOptionsInput } from './types';
import { parseRedisUrl } from './parseUrl';
import { parseStackExchange } from './parseStackExchange';
import { fail, type Issues } from './rules';

// Kept next to the parser it protects, for callers that import both from here.
export { redactUrl } from './redactUrl';

const HAS_SCHEME = /^\s*[a-z][a-z0-9+.-]*:\/\//i;
// `redis:host` or `redis:/host`: meant as a URL, and read as a StackExchange string it would only
// produce a puzzling "port must be an integer".
const ALMOST_URL = /^\s*rediss?:(?!\/\/)/i;

/**
 * Parses a connection string found at `prefix` (`url`, `REDIS_URL`, `Redis.ConnectionString`, or
 * empty for a string given on its own, whose problems are then named `connectionString`, `port`…).
 *
 * @internal
 */
export const parseConnectionStringAt = (
  s: unknown,
  prefix: string,
): E.Either<Issues, RedisOptionsInput> => {
  const root = prefix === '' ? 'connectionString' : prefix;
  if (typeof s !== 'string') return fail(root, 'must be a string');
  if (s.trim() === '') {
    return fail(root, 'must not be empty', 'redis://host:port/db, or host:port,password=…');
  }
  if (ALMOST_URL.test(s)) return fail(root, 'is not a valid URL', 'redis://host:port/db');
  return HAS_SCHEME.test(s) ? parseRedisUrl(s, prefix, root) : parseStackExchange(s, prefix);
};

/**
 * Parses a Redis URL or a StackExchange.Redis configuration string into options input, ready
 * for the {@link RedisOptionsCodec}.
 *
 * URL form: `redis[s]://[user[:password]@]host[:port][/db][?query]`. User and password are
 * percent-decoded; IPv6 hosts go in brackets; `rediss://` turns TLS on. Query parameters: `db`,
 * `instance`, `clientName` (or `name`), `connectTimeout`, `commandTimeout` (milliseconds),
 * `tls`/`ssl`, `cluster=true`, and `nodes=host:port,host:port` for more seed nodes.
 *
 * StackExchange form: `host:port[,host:port…][,key=value…]` with case-insensitive keys:
 * `password`, `user`, `ssl`, `sslHost` (TLS server name), `defaultDatabase`, `connectTimeout`,
 * `syncTimeout` (command timeout), `asyncTimeout` (command timeout when `syncTimeout` is absent),
 * `abortConnect`, `name` (client name), `keepAlive` (seconds), `serviceName` (the Sentinel master
 * name: the endpoints are then sentinels, default port 26379), `protocol` (`resp2`/`resp3`) and
 * `cluster=true`. The keys StackExchange.Redis has but that mean nothing here are accepted and
 * ignored: `allowAdmin`, `connectRetry`, `configCheckSeconds`, `tiebreaker`, `version`,
 * `resolveDns`, `checkCertificateRevocation`, `sslProtocols`, `responseTimeout`, `writeBuffer`,
 * `setlib`.
 *
 * Several endpoints without `serviceName` become `endpoints` and `cluster` stays unset (unless
 * `cluster=true` is given): the connection decides how to use them. The password comes back as
 * a {@link Secret}, and no problem message ever contains it.
 *
 * @param s the URL or StackExchange string
 * @returns the options it holds, or a `ConfigError` naming every bad part (`port`,
 *   `endpoints.1.port`, `database`, an unknown key…)
 * @example
 * ```ts
 * parseConnectionString('rediss://app:S3cr3t@cache.example.com:6380/2?instance=shop:');
 * // Right({ tls: true, username: 'app', password: Secret, host: 'cache.example.com', port: 6380,
 * //         database: 2, instance: 'shop:' })
 * parseConnectionString('cache1:6379,cache2:6379,password=S3cr3t,ssl=true,defaultDatabase=2');
 * ```
 * @since 0.1.0
 */
export const parseConnectionString = (s: string): E.Either<ConfigError, RedisOptionsInput> =>
  pipe(
    parseConnectionStringAt(s, ''),
    E.mapLeft((issues) => new ConfigError(issues)),
  );
