/**
 * `redis://` and `rediss://` URLs. Parsed by hand rather than with `new URL` so that a bad part
 * is reported by name (`port`, `database`, `password`) instead of as a bare "Invalid URL".
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import type { Endpoint, RedisOptionsInput } from './types';
import { Draft } from './draft';
import { parseHostPort, parseHostPortList } from './endpoint';
import { fail, type Issues } from './rules';
import { Secret } from './Secret';

/** Query parameters a URL may carry, by lower-cased name. */
const QUERY: Record<string, (d: Draft, value: string, name: string) => void> = {
  db: (d, v, n) => d.setInteger('database', v, n),
  instance: (d, v, n) => d.set('instance', v, n),
  clientname: (d, v, n) => d.set('clientName', v, n),
  name: (d, v, n) => d.set('clientName', v, n),
  connecttimeout: (d, v, n) => d.setInteger('connectTimeoutMs', v, n),
  connecttimeoutms: (d, v, n) => d.setInteger('connectTimeoutMs', v, n),
  commandtimeout: (d, v, n) => d.setInteger('commandTimeoutMs', v, n),
  commandtimeoutms: (d, v, n) => d.setInteger('commandTimeoutMs', v, n),
  tls: (d, v, n) => setTls(d, v, n),
  ssl: (d, v, n) => setTls(d, v, n),
  cluster: (d, v, n) => d.setBoolean('cluster', v, n),
  nodes: () => undefined, // read after the host, which it follows in the endpoint list
};

const QUERY_NAMES =
  'db, instance, clientName, name, connectTimeout, commandTimeout, tls, ssl, cluster, nodes';

const setTls = (d: Draft, text: string, name: string): void => {
  const on = d.boolean(text, name);
  if (on === false && d.get('tls') === true) {
    d.problem(name, 'cannot turn TLS off in a rediss:// URL', 'true, or use redis://');
  } else if (on !== undefined) {
    d.put('tls', on);
  }
};

const decode = (d: Draft, text: string, name: string): string | undefined => {
  try {
    return decodeURIComponent(text);
  } catch {
    d.problem(name, 'has a broken percent-encoding');
    return undefined;
  }
};

/**
 * Parses a `redis://` / `rediss://` URL.
 *
 * @param s the URL (its scheme already known to be present)
 * @param prefix path put before every field name (`url`, `REDIS_URL`, or empty)
 * @param root field naming the whole URL, for problems that belong to no part of it
 */
export const parseRedisUrl = (
  s: string,
  prefix: string,
  root: string,
): E.Either<Issues, RedisOptionsInput> => {
  const m = /^\s*([a-z][a-z0-9+.-]*):\/\/([^#]*)/i.exec(s);
  const scheme = m?.[1]?.toLowerCase();
  if (m === null || (scheme !== 'redis' && scheme !== 'rediss')) {
    return fail(root, 'must be a redis:// or rediss:// URL', 'redis://, rediss://');
  }
  const d = new Draft(prefix);
  if (scheme === 'rediss') d.put('tls', true);

  const body = (m[2] ?? '').trim();
  const authorityEnd = body.search(/[/?]/);
  const authority = authorityEnd < 0 ? body : body.slice(0, authorityEnd);
  const rest = authorityEnd < 0 ? '' : body.slice(authorityEnd);

  // The last '@' ends the user part, so an unescaped '@' in a password still works.
  const atSign = authority.lastIndexOf('@');
  if (atSign >= 0) {
    const userinfo = authority.slice(0, atSign);
    const colon = userinfo.indexOf(':');
    const user = decode(d, colon < 0 ? userinfo : userinfo.slice(0, colon), 'username');
    const password = colon < 0 ? undefined : decode(d, userinfo.slice(colon + 1), 'password');
    if (user) d.set('username', user, 'username');
    if (password) d.put('password', new Secret(password));
  }

  const main = parseHostPort(authority.slice(atSign + 1), prefix);
  if (E.isLeft(main)) d.addIssues(main.left);

  const queryAt = rest.indexOf('?');
  const path = queryAt < 0 ? rest : rest.slice(0, queryAt);
  const dbText = path.replace(/^\//, '');
  if (dbText !== '') {
    if (/^\d+$/.test(dbText)) d.set('database', Number(dbText), 'database');
    else
      d.problem('database', 'must be a non-negative integer (the URL path)', 'redis://host:6379/2');
  }

  let nodes: Endpoint[] = [];
  const query = queryAt < 0 ? '' : rest.slice(queryAt + 1);
  for (const pair of query.split('&').filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    const name = decode(d, eq < 0 ? pair : pair.slice(0, eq), 'query') ?? '';
    const value = decode(d, eq < 0 ? '' : pair.slice(eq + 1), name) ?? '';
    const key = name.toLowerCase();
    const apply = QUERY[key];
    if (apply === undefined) {
      d.problem(name, 'unknown query parameter', QUERY_NAMES);
      continue;
    }
    if (key === 'db' && d.has('database')) {
      d.problem(name, 'repeats the database given in the URL path');
      continue;
    }
    if (key === 'nodes') {
      const list = parseHostPortList(value, d.field(name));
      if (E.isLeft(list)) d.addIssues(list.left);
      else nodes = list.right;
    }
    apply(d, value, name);
  }

  if (E.isRight(main)) {
    if (nodes.length > 0) d.put('endpoints', [main.right, ...nodes]);
    else {
      d.put('host', main.right.host);
      d.put('port', main.right.port);
    }
  }
  return d.result();
};
