/**
 * Server addresses: `host:port` text (IPv6 in brackets, `[::1]:6379`) and `{ host, port }`
 * objects, judged the same way in every input form.
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import type { Endpoint } from './types';
import { at, collect, fail, isRecord, parseIntegerText, port, unknownKeys } from './rules';
import type { Issues, Rule } from './rules';

export const DEFAULT_PORT = 6379;
export const SENTINEL_PORT = 26379;

const IPV6 = /^[0-9a-f:.]+(%[\w.-]+)?$/i;
// Characters that belong to URL or StackExchange syntax, never to a host name: seeing one means
// the surrounding text was split in the wrong place, so say so instead of failing to resolve.
const NOT_IN_HOST = /[\s\p{Cc}/@?#,[\]=]/u;

/** A host name, IPv4 address or (bracketless) IPv6 address. */
export const hostName: Rule<string> = (u, field) => {
  if (typeof u !== 'string') return fail(field, 'must be a string');
  const host = u.startsWith('[') && u.endsWith(']') ? u.slice(1, -1) : u;
  if (host === '') return fail(field, 'must not be empty', 'a host name or IP address');
  if (host.includes(':')) {
    return IPV6.test(host)
      ? E.right(host)
      : fail(field, 'is not a valid IPv6 address', 'an IPv6 address such as ::1');
  }
  return NOT_IN_HOST.test(host)
    ? fail(field, 'is not a valid host name', 'a host name or IP address')
    : E.right(host);
};

/** Port text to a port number, with the issue named `<field>.port` (or just `port`). */
const portText = (text: string | undefined, field: string, fallback: number) => {
  if (text === undefined) return E.right(fallback);
  const n = parseIntegerText(text);
  return n === undefined
    ? fail<number>(at(field, 'port'), 'must be an integer', 'an integer 1–65535')
    : port(n, at(field, 'port'));
};

/**
 * Parses `host`, `host:port`, `[v6]` or `[v6]:port`. Problems are named `<field>.host` and
 * `<field>.port`, so a single endpoint (field `''`) reports `host` and `port`.
 */
export const parseHostPort = (
  text: string,
  field: string,
  fallbackPort: number = DEFAULT_PORT,
): E.Either<Issues, Endpoint> => {
  const s = text.trim();
  let host: string;
  let rest: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) {
      return fail(at(field, 'host'), 'IPv6 address lacks its closing bracket', '[::1]:6379');
    }
    host = s.slice(1, close);
    const after = s.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) {
      return fail(at(field, 'host'), 'unexpected text after the IPv6 address', '[::1]:6379');
    }
    rest = after === '' ? undefined : after.slice(1);
  } else {
    const parts = s.split(':');
    if (parts.length > 2) {
      return fail(at(field, 'host'), 'IPv6 addresses must be in brackets', '[::1]:6379');
    }
    host = parts[0] ?? '';
    rest = parts[1];
  }
  const h = hostName(host, at(field, 'host'));
  const p = portText(rest, field, fallbackPort);
  return E.isRight(h) && E.isRight(p)
    ? E.right({ host: h.right, port: p.right })
    : E.left([...(E.isLeft(h) ? h.left : []), ...(E.isLeft(p) ? p.left : [])]);
};

/** One endpoint given as text or as `{ host, port }` (port optional). */
export const endpoint =
  (fallbackPort: number = DEFAULT_PORT): Rule<Endpoint> =>
  (u, field) => {
    if (typeof u === 'string') return parseHostPort(u, field, fallbackPort);
    if (!isRecord(u)) return fail(field, 'must be "host:port" or { host, port }');
    const extra = unknownKeys(u, ['host', 'port'], field);
    const h = hostName(u.host, at(field, 'host'));
    const p = u.port === undefined ? E.right(fallbackPort) : port(u.port, at(field, 'port'));
    const issues = [...extra, ...(E.isLeft(h) ? h.left : []), ...(E.isLeft(p) ? p.left : [])];
    return E.isRight(h) && E.isRight(p) && issues.length === 0
      ? E.right({ host: h.right, port: p.right })
      : E.left(issues);
  };

/** A non-empty list of endpoints; every bad entry is reported with its index. */
export const endpointList =
  (fallbackPort: number = DEFAULT_PORT): Rule<Endpoint[]> =>
  (u, field) => {
    if (!Array.isArray(u)) return fail(field, 'must be an array of "host:port" or { host, port }');
    if (u.length === 0) return fail(field, 'must list at least one endpoint');
    const one = endpoint(fallbackPort);
    return collect(u.map((e: unknown, i) => one(e, at(field, i))));
  };

/** Comma-separated `host:port` text (env vars, `?nodes=`) as a list of endpoints. */
export const parseHostPortList = (
  text: string,
  field: string,
  fallbackPort: number = DEFAULT_PORT,
): E.Either<Issues, Endpoint[]> => {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.every((p) => p === '')) return fail(field, 'must list at least one host:port');
  return collect(parts.map((p, i) => parseHostPort(p, at(field, i), fallbackPort)));
};
