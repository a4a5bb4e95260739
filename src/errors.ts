/**
 * The library's error classes. Every failure the library reports is one of these: an `Error`
 * subclass with a literal `_tag`, so an exhaustive `switch (e._tag)` type-checks. Messages name
 * keys, streams, commands and fields — never values, passwords or other secrets.
 *
 * @since 0.1.0
 */
import type * as t from 'io-ts';
import { PathReporter } from 'io-ts/PathReporter';
import { left } from 'fp-ts/Either';

/** One problem found in a configuration input. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `port`, `endpoints.1.port`, `Redis.ConnectionString`. */
  readonly field: string;
  /** What was wrong, e.g. `must be an integer` or `unknown option`. */
  readonly problem: string;
  /** What is allowed, e.g. `1–65535`. */
  readonly allowed?: string;
}

/**
 * A configuration input could not be turned into {@link RedisOptions}. Lists every bad field.
 *
 * @since 0.1.0
 */
export class ConfigError extends Error {
  readonly _tag = 'ConfigError' as const;
  override readonly name = 'ConfigError';
  constructor(readonly issues: ReadonlyArray<ConfigIssue>) {
    super(
      `Invalid Redis configuration: ${issues
        .map((i) => `${i.field}: ${i.problem}${i.allowed ? ` (allowed: ${i.allowed})` : ''}`)
        .join('; ')}`,
    );
  }
}

/** Why a connection failed. */
export type ConnectionFailure =
  'refused' | 'closed' | 'auth' | 'unavailable' | 'tls' | 'dns' | 'loading';

/**
 * The server could not be reached, the connection dropped, or authentication failed.
 *
 * @since 0.1.0
 */
export class ConnectionError extends Error {
  readonly _tag = 'ConnectionError' as const;
  override readonly name = 'ConnectionError';
  constructor(
    readonly reason: ConnectionFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A command or operation did not finish within its deadline.
 *
 * @since 0.1.0
 */
export class TimeoutError extends Error {
  readonly _tag = 'TimeoutError' as const;
  override readonly name = 'TimeoutError';
  constructor(
    message: string,
    readonly timeoutMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The server answered a command with an error reply (`WRONGTYPE`, `READONLY`, a script error…).
 * `code` is the reply's first word (`ERR`, `WRONGTYPE`, `READONLY`, `NOSCRIPT`, `BUSYGROUP`, …).
 *
 * @since 0.1.0
 */
export class CommandError extends Error {
  readonly _tag = 'CommandError' as const;
  override readonly name = 'CommandError';
  constructor(
    readonly command: string | undefined,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The Cluster could not route a command: too many MOVED/ASK redirections, CLUSTERDOWN, TRYAGAIN,
 * or no node reachable. Usually transient (a failover or resharding in progress).
 *
 * @since 0.1.0
 */
export class ClusterError extends Error {
  readonly _tag = 'ClusterError' as const;
  override readonly name = 'ClusterError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A value read from Redis did not match its codec. `key` names where it was read from;
 * the message lists the io-ts paths that failed (rendered by `PathReporter`), never the value.
 *
 * @since 0.1.0
 */
export class DecodeError extends Error {
  readonly _tag = 'DecodeError' as const;
  override readonly name = 'DecodeError';
  constructor(
    readonly key: string,
    readonly errors: t.Errors,
    options?: { cause?: unknown; message?: string },
  ) {
    super(options?.message ?? `Cannot decode value at ${key}: ${renderErrors(errors)}`, options);
  }
}

/**
 * A value could not be encoded for Redis (for example JSON.stringify threw on a cycle).
 *
 * @since 0.1.0
 */
export class EncodeError extends Error {
  readonly _tag = 'EncodeError' as const;
  override readonly name = 'EncodeError';
  constructor(
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot encode value for ${key}: ${message}`, options);
  }
}

/**
 * The source of a `batchPipeline` (or `publishTo`, `toStream`) pushed more items than
 * `maxBuffered` while every send slot was busy: it is faster than Redis. Slow it down (a consumer group's
 * `maxInFlight`), raise `maxInFlight`/`maxSize` (`concurrency` for `publishTo`), or raise
 * `maxBuffered` if the memory is acceptable.
 *
 * @since 0.1.0
 */
export class BatchOverflowError extends Error {
  readonly _tag = 'BatchOverflowError' as const;
  override readonly name = 'BatchOverflowError';
  constructor(
    readonly maxBuffered: number,
    /** The operator whose buffer overflowed. */
    readonly operator: 'batchPipeline' | 'publishTo' | 'toStream' = 'batchPipeline',
  ) {
    super(`${operator}: more than ${maxBuffered} items waiting for Redis (maxBuffered)`);
  }
}

/** Any error a Redis round trip can end in. */
export type RedisError = ConnectionError | TimeoutError | CommandError | ClusterError;

/** Every error class of the library. */
export type MameyRedisError =
  RedisError | ConfigError | DecodeError | EncodeError | BatchOverflowError;

/**
 * True for failures that may succeed when tried again later: connection loss, timeouts,
 * Cluster reconfiguration and `READONLY` (a replica that was a master before a failover).
 *
 * @since 0.1.0
 */
export const isTransient = (e: unknown): boolean => {
  if (!(e instanceof Error) || !('_tag' in e)) return false;
  switch ((e as MameyRedisError)._tag) {
    case 'ConnectionError':
    case 'TimeoutError':
    case 'ClusterError':
      return true;
    case 'CommandError':
      return ['READONLY', 'LOADING', 'MASTERDOWN', 'TRYAGAIN', 'BUSY'].includes(
        (e as CommandError).code,
      );
    default:
      return false;
  }
};

const renderErrors = (errors: t.Errors): string =>
  // PathReporter prints the offending value; that can be user data, so keep only the path part.
  PathReporter.report(left(errors))
    .map((line) => line.replace(/^Invalid value .*? supplied to /, 'invalid value at '))
    .join('; ');

const CONNECTION_CODES: Record<string, ConnectionFailure> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'closed',
  EPIPE: 'closed',
  ETIMEDOUT: 'unavailable',
  EHOSTUNREACH: 'unavailable',
  ENETUNREACH: 'unavailable',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
};

/**
 * Errors thrown by Node itself (sockets, TLS) may come from another realm (a VM context, a test
 * runner's sandbox), where `instanceof Error` is false: judge them by shape.
 */
const isErrorLike = (e: unknown): e is Error =>
  typeof e === 'object' && e !== null && typeof (e as Error).message === 'string';

/**
 * ioredis attaches the failed command, with its arguments, to reply errors. Arguments hold values
 * and, for AUTH/HELLO, passwords: keep only the command name on the cause we keep.
 */
const scrub = (e: unknown): unknown => {
  const command = (e as { command?: { name?: unknown; args?: unknown } } | null)?.command;
  if (!isErrorLike(e) || command === undefined || command === null) return e;
  const copy = new Error(e.message);
  copy.name = e.name;
  copy.stack = e.stack;
  Object.assign(copy, { command: { name: command.name } });
  return copy;
};

const messageOf = (e: unknown): string =>
  isErrorLike(e) ? e.message : typeof e === 'string' ? e : 'unknown error';

/**
 * Maps anything an ioredis call can throw to one of the library's error classes. Errors that
 * already are library errors pass through unchanged, so wrapping happens once.
 *
 * @param e the thrown value
 * @param command the command that was running, used in the message
 * @since 0.1.0
 */
export const toRedisError = (e: unknown, command?: string): RedisError => {
  if (
    e instanceof ConnectionError ||
    e instanceof TimeoutError ||
    e instanceof CommandError ||
    e instanceof ClusterError
  ) {
    return e;
  }
  const msg = messageOf(e);
  e = scrub(e);
  const code = (e as { code?: unknown } | null)?.code;
  const on = command ? ` (${command})` : '';
  const name = isErrorLike(e) ? e.name : '';

  if (typeof code === 'string' && code in CONNECTION_CODES) {
    return new ConnectionError(CONNECTION_CODES[code]!, `Redis connection failed${on}: ${code}`, {
      cause: e,
    });
  }
  if (
    (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code)) ||
    /certificate|SSL routines|TLS/i.test(msg)
  ) {
    return new ConnectionError('tls', `TLS handshake failed${on}: ${msg}`, { cause: e });
  }
  if (msg === 'Command timed out' || (/timed? ?out/i.test(msg) && !/^ERR /.test(msg))) {
    return new TimeoutError(`Redis command timed out${on}`, undefined, { cause: e });
  }
  if (name === 'MaxRetriesPerRequestError') {
    return new ConnectionError('unavailable', `Redis unavailable${on}: ${msg}`, { cause: e });
  }
  if (
    name === 'ClusterAllFailedError' ||
    /Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes|Cluster isn't ready/i.test(
      msg,
    )
  ) {
    return new ClusterError(`Redis Cluster error${on}: ${msg}`, { cause: e });
  }
  if (
    /Connection is closed|Stream isn't writeable|connection .*closed|enableOfflineQueue/i.test(msg)
  ) {
    return new ConnectionError('closed', `Redis connection is closed${on}`, { cause: e });
  }
  if (/^(WRONGPASS|NOAUTH)\b|invalid username-password/.test(msg)) {
    // Our own wording: the server's text never holds the password, but it is not ours to vouch for.
    return new ConnectionError(
      'auth',
      `Redis authentication failed${on}: ${msg.startsWith('NOAUTH') ? 'a password is required' : 'invalid username or password'}`,
      { cause: e },
    );
  }
  const replyCode = /^([A-Z][A-Z_-]+)\b/.exec(msg)?.[1];
  if (
    replyCode === 'CLUSTERDOWN' ||
    replyCode === 'TRYAGAIN' ||
    replyCode === 'MOVED' ||
    replyCode === 'ASK'
  ) {
    return new ClusterError(`Redis Cluster error${on}: ${msg}`, { cause: e });
  }
  if (replyCode === 'LOADING') {
    return new ConnectionError('loading', `Redis is loading its dataset${on}`, { cause: e });
  }
  if (replyCode !== undefined && (name === 'ReplyError' || name === 'RedisError')) {
    const scriptCode = /Error (running|compiling) script|user_script|@user_function/.test(msg)
      ? 'SCRIPT'
      : replyCode;
    return new CommandError(command, scriptCode, `Redis replied with an error${on}: ${msg}`, {
      cause: e,
    });
  }
  if (name === 'ReplyError' || name === 'RedisError') {
    return new CommandError(command, 'ERR', `Redis replied with an error${on}: ${msg}`, {
      cause: e,
    });
  }
  // Anything else (a client-side argument error, a bug) is not worth retrying.
  return new CommandError(command, 'CLIENT', `Redis call failed${on}: ${msg}`, { cause: e });
};
