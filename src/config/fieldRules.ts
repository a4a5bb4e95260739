/**
 * One rule per {@link RedisOptionsInput} field. The codec judges a whole input with this table;
 * the environment and config-section readers judge single values with it, under their own names.
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import type { Endpoint, Logger, RedisOptionsInput, SentinelOptions, TlsOptions } from './types';
import type { Secret } from './Secret';
import { SENTINEL_PORT, endpointList, hostName } from './endpoint';
import {
  MAX_TIMER_MS,
  at,
  boolean,
  collect,
  fail,
  integer,
  isRecord,
  port,
  positiveMs,
  secretValue,
  token,
  unknownKeys,
} from './rules';
import type { Issues, Rule } from './rules';

/** What each input field becomes once judged. */
export interface Normalised {
  connectionString: string;
  url: string;
  host: string;
  port: number;
  endpoints: Endpoint[];
  cluster: boolean | Endpoint[];
  sentinel: SentinelOptions;
  username: string;
  password: Secret;
  database: number;
  tls: TlsOptions | undefined;
  instance: string;
  clientName: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  abortConnect: boolean;
  keepAliveMs: number;
  autoPipelining: boolean;
  maxRetriesPerRequest: number;
  reconnectMaxDelayMs: number;
  protocol: 2 | 3;
  metrics: boolean;
  logger: Logger;
}

/** `undefined` passes as `undefined`; anything else is judged by `rule`. */
const optional =
  <A>(rule: Rule<A>): Rule<A | undefined> =>
  (u, field) =>
    u === undefined ? E.right(undefined) : rule(u, field);

/** Runs `build` only when every part succeeded; otherwise reports every part's problems. */
const combine = <A>(
  issues: Issues,
  parts: ReadonlyArray<E.Either<Issues, unknown>>,
  build: () => A,
) => {
  const all = [...issues, ...parts.flatMap((p) => (E.isLeft(p) ? p.left : []))];
  return all.length > 0 ? E.left<Issues, A>(all) : E.right<Issues, A>(build());
};

const right = <A>(r: E.Either<Issues, A>): A => (r as E.Right<A>).right;

const pem: Rule<string> = (u, field) =>
  typeof u === 'string' && u.trim() !== ''
    ? E.right(u)
    : fail(field, 'must be a non-empty PEM string');

const caList: Rule<string | ReadonlyArray<string>> = (u, field) =>
  Array.isArray(u) ? collect(u.map((c: unknown, i) => pem(c, at(field, i)))) : pem(u, field);

const TLS_KEYS = ['ca', 'cert', 'key', 'servername', 'rejectUnauthorized'];

const tls: Rule<TlsOptions | undefined> = (u, field) => {
  if (typeof u === 'boolean') return E.right(u ? { rejectUnauthorized: true } : undefined);
  if (!isRecord(u)) {
    return fail(
      field,
      'must be a boolean or a TLS options object',
      `true, false, { ${TLS_KEYS.join(', ')} }`,
    );
  }
  // A client certificate without its key (or the reverse) fails only at handshake time, far from
  // the configuration that caused it.
  const pair =
    (u.cert === undefined) === (u.key === undefined)
      ? []
      : [
          {
            field: at(field, u.cert === undefined ? 'cert' : 'key'),
            problem: `is required when ${u.cert === undefined ? 'key' : 'cert'} is given (mutual TLS)`,
          },
        ];
  const ca = optional(caList)(u.ca, at(field, 'ca'));
  const cert = optional(pem)(u.cert, at(field, 'cert'));
  const key = optional(secretValue)(u.key, at(field, 'key'));
  const servername = optional(hostName)(u.servername, at(field, 'servername'));
  const reject = optional(boolean)(u.rejectUnauthorized, at(field, 'rejectUnauthorized'));
  return combine(
    [...unknownKeys(u, TLS_KEYS, field), ...pair],
    [ca, cert, key, servername, reject],
    () => ({
      ...(right(ca) !== undefined ? { ca: right(ca) } : {}),
      ...(right(cert) !== undefined ? { cert: right(cert) } : {}),
      ...(right(key) !== undefined ? { key: right(key) } : {}),
      ...(right(servername) !== undefined ? { servername: right(servername) } : {}),
      rejectUnauthorized: right(reject) ?? true,
    }),
  );
};

const SENTINEL_KEYS = ['masterName', 'sentinels', 'username', 'password', 'role'];

const sentinel: Rule<SentinelOptions> = (u, field) => {
  if (!isRecord(u))
    return fail(
      field,
      'must be an object',
      '{ masterName, sentinels, username?, password?, role? }',
    );
  const masterName =
    u.masterName === undefined
      ? fail<string>(
          at(field, 'masterName'),
          'is required',
          'the name the sentinels know the master by',
        )
      : token(false)(u.masterName, at(field, 'masterName'));
  const sentinels =
    u.sentinels === undefined
      ? fail<Endpoint[]>(at(field, 'sentinels'), 'is required', 'a list of "host:port"')
      : endpointList(SENTINEL_PORT)(u.sentinels, at(field, 'sentinels'));
  const username = optional(token(false))(u.username, at(field, 'username'));
  const password = optional(secretValue)(u.password, at(field, 'password'));
  const role =
    u.role === undefined || u.role === 'master' || u.role === 'replica'
      ? E.right((u.role ?? 'master') as 'master' | 'replica')
      : fail<'master'>(at(field, 'role'), 'must be master or replica', 'master, replica');
  return combine(
    unknownKeys(u, SENTINEL_KEYS, field),
    [masterName, sentinels, username, password, role],
    () => ({
      masterName: right(masterName),
      sentinels: right(sentinels),
      ...(right(username) !== undefined ? { username: right(username) } : {}),
      ...(right(password) !== undefined ? { password: right(password) } : {}),
      role: right(role),
    }),
  );
};

const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'] as const;

const logger: Rule<Logger> = (u, field) => {
  if (!isRecord(u))
    return fail(field, 'must be an object with debug, info, warn and error functions');
  const missing = LOGGER_METHODS.filter((m) => typeof u[m] !== 'function');
  return missing.length > 0
    ? E.left(missing.map((m) => ({ field: at(field, m), problem: 'must be a function' })))
    : E.right(u as unknown as Logger);
};

const protocol: Rule<2 | 3> = (u, field) =>
  u === 2 || u === 3 ? E.right(u) : fail(field, 'must be 2 or 3', '2, 3');

const cluster: Rule<boolean | Endpoint[]> = (u, field) =>
  typeof u === 'boolean' ? E.right(u) : endpointList()(u, field);

const text: Rule<string> = (u, field) =>
  typeof u !== 'string'
    ? fail(field, 'must be a string')
    : u.trim() === ''
      ? fail(field, 'must not be empty')
      : E.right(u);

/** The rule of every input field; its keys are also the list of allowed option names. */
export const INPUT_RULES: { readonly [K in keyof RedisOptionsInput]-?: Rule<Normalised[K]> } = {
  connectionString: text,
  url: text,
  host: hostName,
  port,
  endpoints: endpointList(),
  cluster,
  sentinel,
  username: token(false),
  password: secretValue,
  database: integer(
    0,
    2 ** 31 - 1,
    'an integer ≥ 0 (the server has 0–15 unless `databases` is raised)',
  ),
  tls,
  instance: token(true),
  clientName: token(false),
  connectTimeoutMs: positiveMs,
  commandTimeoutMs: positiveMs,
  abortConnect: boolean,
  keepAliveMs: integer(0, MAX_TIMER_MS, 'an integer of milliseconds ≥ 0 (0 turns keep-alive off)'),
  autoPipelining: boolean,
  maxRetriesPerRequest: integer(0, 2 ** 31 - 1, 'an integer ≥ 0'),
  reconnectMaxDelayMs: positiveMs,
  protocol,
  metrics: boolean,
  logger,
};

export type InputField = keyof RedisOptionsInput;
export const INPUT_FIELDS = Object.keys(INPUT_RULES) as InputField[];

/** Judges one input field's value under the name `field`. */
export const checkField = <K extends InputField>(
  key: K,
  u: unknown,
  field: string,
): E.Either<Issues, Normalised[K]> => (INPUT_RULES[key] as Rule<Normalised[K]>)(u, field);
