/**
 * Translation of validated {@link RedisOptions} into ioredis constructor options. Pure, so the
 * mapping (and what each connection role turns off) is unit-tested without a server.
 *
 * @internal
 */
import type { ClusterOptions, RedisOptions as IORedisOptions } from 'ioredis';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Endpoint, RedisOptions } from '../config/types';

/**
 * What a connection is for:
 * - `command`: the shared multiplexed connection (auto-pipelining, command timeout, offline queue)
 * - `subscriber`: the shared pub/sub connection (no command timeout: it only waits for messages)
 * - `blocking`: a dedicated connection for XREAD/XREADGROUP BLOCK (no timeout, no pipelining)
 */
export type ConnectionRole = 'command' | 'subscriber' | 'blocking';

/** ioredis' reply shapes differ by protocol and mapping; pin them so our parsers stay valid. */
export const REPLY_MAPPING = 'legacy' as const;

export const toTlsOptions = (options: RedisOptions): TlsConnectionOptions | undefined => {
  const tls = options.tls;
  if (tls === undefined) return undefined;
  return {
    ...(tls.ca !== undefined ? { ca: typeof tls.ca === 'string' ? tls.ca : [...tls.ca] } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key.reveal() } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
    rejectUnauthorized: tls.rejectUnauthorized,
  };
};

const never = (): boolean => false;

/**
 * ioredis' own reconnect, with a cap on the delay. With `abortConnect`, a client that never got
 * ready gives up instead of retrying forever (the .NET behaviour of `abortConnect=true`). Once
 * `closing()` says the client is closing its connections, nothing is retried: a reconnect timer
 * armed then would keep the process alive (and reopen what `close()` just closed).
 */
export const reconnectStrategy =
  (options: RedisOptions, everReady: () => boolean, closing: () => boolean = never) =>
  (times: number): number | null => {
    if (closing()) return null;
    if (options.abortConnect && !everReady()) return null;
    return Math.min(50 * 2 ** Math.min(times - 1, 10), options.reconnectMaxDelayMs);
  };

/** Options shared by every single-node connection of the client, whatever its role. */
export const nodeOptions = (options: RedisOptions, role: ConnectionRole): IORedisOptions => {
  const tls = toTlsOptions(options);
  return {
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password.reveal() } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(options.clientName !== undefined
      ? {
          connectionName: role === 'command' ? options.clientName : `${options.clientName}:${role}`,
        }
      : {}),
    protocol: options.protocol,
    ...(options.protocol === 3 ? { replyMapping: REPLY_MAPPING } : {}),
    connectTimeout: options.connectTimeoutMs,
    keepAlive: options.keepAliveMs,
    noDelay: true,
    enableAutoPipelining: role === 'command' && options.autoPipelining,
    // No ioredis `commandTimeout`: the client times commands out itself, without a timer per
    // command (see commandTimeout.ts).
    // Blocking and subscriber connections wait on purpose; a per-request retry limit would only
    // turn a reconnect into spurious errors there.
    maxRetriesPerRequest: role === 'command' ? options.maxRetriesPerRequest : null,
    // ioredis re-subscribes every channel and pattern after a reconnect; the client's status
    // stream shows the gap in which messages may have been missed.
    autoResubscribe: role === 'subscriber',
    // A blocking read that was cut by a reconnect is re-issued by the source, not by ioredis,
    // so the source decides what to read next.
    autoResendUnfulfilledCommands: role === 'command',
    enableReadyCheck: true,
    lazyConnect: role !== 'command',
    // ioredis arms a 2 s timer to destroy a socket that does not close after QUIT/disconnect;
    // a short one lets a process exit promptly after close().
    disconnectTimeout: 200,
  };
};

/** Options for a standalone or Sentinel connection of the given role. */
export const redisOptionsFor = (
  options: RedisOptions,
  role: ConnectionRole,
  everReady: () => boolean,
  closing: () => boolean = never,
): IORedisOptions => {
  const base: IORedisOptions = {
    ...nodeOptions(options, role),
    db: options.database,
    retryStrategy: reconnectStrategy(options, everReady, closing),
  };
  if (options.mode === 'sentinel' && options.sentinel !== undefined) {
    const s = options.sentinel;
    const sentinelTls = toTlsOptions(options);
    return {
      ...base,
      name: s.masterName,
      role: s.role === 'replica' ? 'slave' : 'master',
      sentinels: s.sentinels.map((e) => ({ host: e.host, port: e.port })),
      ...(s.username !== undefined ? { sentinelUsername: s.username } : {}),
      ...(s.password !== undefined ? { sentinelPassword: s.password.reveal() } : {}),
      ...(sentinelTls !== undefined
        ? { enableTLSForSentinelMode: true, sentinelTLS: sentinelTls }
        : {}),
      sentinelRetryStrategy: reconnectStrategy(options, everReady, closing),
    };
  }
  const first: Endpoint = options.endpoints[0] ?? { host: 'localhost', port: 6379 };
  return { ...base, host: first.host, port: first.port };
};

/**
 * Options for an ioredis Cluster of the given role. Its node connections never reconnect
 * (ioredis gives them `retryStrategy: null` and re-reads the slots instead); the Cluster as a
 * whole reconnects through `clusterRetryStrategy`, which stops once `closing()` says so.
 */
export const clusterOptionsFor = (
  options: RedisOptions,
  role: ConnectionRole,
  everReady: () => boolean,
  closing: () => boolean = never,
): ClusterOptions => {
  const { enableAutoPipelining, lazyConnect, ...perNode } = nodeOptions(options, role);
  return {
    redisOptions: perNode,
    enableAutoPipelining: enableAutoPipelining ?? false,
    lazyConnect: lazyConnect ?? false,
    enableReadyCheck: true,
    scaleReads: 'master',
    maxRedirections: 16,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: Math.max(1000, options.connectTimeoutMs),
    // The subscriber Cluster also serves SSUBSCRIBE: ioredis then keeps one connection per shard
    // (opened only for shards that have sharded channels) and routes each channel by its slot.
    ...(role === 'subscriber' ? { shardedSubscribers: true } : {}),
    clusterRetryStrategy: reconnectStrategy(options, everReady, closing),
    // TLS certificates name the host the user configured, not the IP the cluster announces.
    ...(options.tls !== undefined ? { dnsLookup: (address, cb) => cb(null, address) } : {}),
  };
};
