import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Secret } from './Secret';

/** A Redis server address. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * A pino-compatible logger. The library logs through it with a context object first and a
 * message second, and never passes values or secrets. Silent by default.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** TLS settings. `true` in the input means "TLS with the system's CAs". */
export interface TlsOptions {
  /** PEM certificate authorities to trust (in addition to none: replaces the system CAs). */
  readonly ca?: string | ReadonlyArray<string>;
  /** PEM client certificate, for mutual TLS. */
  readonly cert?: string;
  /** PEM client key, for mutual TLS. Treated as a secret. */
  readonly key?: Secret;
  /** Server name for SNI and certificate checks; defaults to the host. */
  readonly servername?: string;
  /** @defaultValue true */
  readonly rejectUnauthorized: boolean;
}

/** Sentinel discovery: the master's name and the sentinels to ask. */
export interface SentinelOptions {
  readonly masterName: string;
  readonly sentinels: ReadonlyArray<Endpoint>;
  readonly username?: string;
  readonly password?: Secret;
  /** Connect to a replica instead of the master. @defaultValue 'master' */
  readonly role: 'master' | 'replica';
}

/**
 * Validated, normalised options: what every input form (object, URL, StackExchange string,
 * environment, JSON section, builder) becomes. Produced by the `RedisOptions` codec,
 * `loadRedisOptions` and the builder; consumed by `createRedis`.
 *
 * Passwords are {@link Secret}s, so printing or serialising options never shows them.
 */
export interface RedisOptions {
  /** How the endpoints are used. */
  readonly mode: 'standalone' | 'cluster' | 'sentinel';
  /** standalone: one endpoint; cluster: the seed nodes; sentinel: unused (see `sentinel`). */
  readonly endpoints: ReadonlyArray<Endpoint>;
  readonly sentinel?: SentinelOptions;
  /** ACL user name (Redis 6+). */
  readonly username?: string;
  readonly password?: Secret;
  /** Logical database (standalone and Sentinel only; a Cluster has only 0). @defaultValue 0 */
  readonly database: number;
  /** TLS settings, or `undefined` for plain TCP. */
  readonly tls?: TlsOptions;
  /** Key prefix applied to every key the library touches (the .NET `Instance`). @defaultValue '' */
  readonly instance: string;
  /** Connection name shown by CLIENT LIST. */
  readonly clientName?: string;
  /** @defaultValue 10000 */
  readonly connectTimeoutMs: number;
  /** Client-side deadline for each command (the .NET `syncTimeout`). @defaultValue 5000 */
  readonly commandTimeoutMs: number;
  /** Fail at start when the first connection cannot be made (the .NET `abortConnect`). @defaultValue false */
  readonly abortConnect: boolean;
  /** TCP keep-alive initial delay. @defaultValue 30000 */
  readonly keepAliveMs: number;
  /** Use ioredis' automatic pipelining on the command connection. @defaultValue true */
  readonly autoPipelining: boolean;
  /** Commands retried by ioredis across a reconnect before failing. @defaultValue 3 */
  readonly maxRetriesPerRequest: number;
  /** Reconnect delay cap for ioredis' own reconnect strategy. @defaultValue 2000 */
  readonly reconnectMaxDelayMs: number;
  /** RESP protocol version. @defaultValue 2 (ioredis decodes it faster; nothing here needs RESP3) */
  readonly protocol: 2 | 3;
  /** Collect command metrics from ioredis' diagnostics_channel tracing. @defaultValue true */
  readonly metrics: boolean;
  /** Where the library logs. @defaultValue a silent logger */
  readonly logger: Logger;
}

/**
 * What a user may pass: any subset of {@link RedisOptions} in plain form (passwords as strings,
 * `tls: true`), plus shorthands: `url` or `connectionString` (a `redis://` URL or a StackExchange
 * string), `host`/`port`, `cluster` (seed nodes), `sentinels` + `masterName`.
 */
export interface RedisOptionsInput {
  readonly connectionString?: string;
  readonly url?: string;
  readonly host?: string;
  readonly port?: number;
  readonly endpoints?: ReadonlyArray<Endpoint | string>;
  readonly cluster?: boolean | ReadonlyArray<Endpoint | string>;
  readonly sentinel?: {
    readonly masterName: string;
    readonly sentinels: ReadonlyArray<Endpoint | string>;
    readonly username?: string;
    readonly password?: string | Secret;
    readonly role?: 'master' | 'replica';
  };
  readonly username?: string;
  readonly password?: string | Secret;
  readonly database?: number;
  readonly tls?:
    | boolean
    | {
        readonly ca?: string | ReadonlyArray<string>;
        readonly cert?: string;
        readonly key?: string | Secret;
        readonly servername?: string;
        readonly rejectUnauthorized?: boolean;
      };
  readonly instance?: string;
  readonly clientName?: string;
  readonly connectTimeoutMs?: number;
  readonly commandTimeoutMs?: number;
  readonly abortConnect?: boolean;
  readonly keepAliveMs?: number;
  readonly autoPipelining?: boolean;
  readonly maxRetriesPerRequest?: number;
  readonly reconnectMaxDelayMs?: number;
  readonly protocol?: 2 | 3;
  readonly metrics?: boolean;
  readonly logger?: Logger;
}

/** @internal node's TLS options as handed to ioredis. */
export type NodeTlsOptions = TlsConnectionOptions;
