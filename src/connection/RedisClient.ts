/**
 * The client every source, sink, operator and cache takes: one shared multiplexed command
 * connection, one lazily created shared subscriber connection, dedicated connections for
 * blocking reads, status, metrics, logging and the key prefix.
 *
 * @since 0.1.0
 */
import type { Cluster, Redis } from 'ioredis';
import type { TaskEither } from 'fp-ts/TaskEither';
import type { Observable } from 'rxjs';
import type { Logger, RedisOptions } from '../config/types';
import type { RedisError } from '../errors';
import type { ClientMetrics } from './metrics';

/** The command surface shared by a standalone/Sentinel connection and a Cluster. */
export type Commands = Redis | Cluster;

/**
 * State of the client's command connection:
 * `connecting` (first connect), `ready`, `reconnecting` (the connection dropped; ioredis is
 * reconnecting, commands wait or fail), `closed` (after `close()` or when it gave up).
 */
export type ConnectionStatus = 'connecting' | 'ready' | 'reconnecting' | 'closed';

/** A connection owned by one user (a blocking reader); closing it interrupts a blocking read. */
export interface DedicatedConnection {
  readonly redis: Redis;
  /** Disconnects at once (a pending blocking read is interrupted) and forgets the connection. */
  close(): Promise<void>;
}

/** Work to finish before the connections are closed; receives the time left in ms. */
export type CloseHook = (timeLeftMs: number) => Promise<void>;

export interface CloseOptions {
  /**
   * How long close hooks (sources draining) and in-flight commands may take before connections
   * are cut.
   * @defaultValue 5000
   */
  readonly timeoutMs?: number;
}

/**
 * A connected Redis client. Create it with `createRedis`; close it with `close()` so the
 * process can exit.
 *
 * @since 0.1.0
 */
export interface RedisClient {
  /** The validated options it was created with (passwords redacted when printed). */
  readonly options: RedisOptions;
  readonly mode: RedisOptions['mode'];
  /** The shared multiplexed command connection. Use it for your own commands too. */
  readonly redis: Commands;
  /** The current status. */
  readonly status: ConnectionStatus;
  /** Status changes, starting with the current one; completes after `closed`. */
  readonly status$: Observable<ConnectionStatus>;
  readonly metrics: ClientMetrics;
  readonly logger: Logger;
  /** Applies the `instance` prefix: `key('user:1')` → `MyApp:user:1` when instance is `MyApp:`. */
  key(name: string): string;
  /** Strips the `instance` prefix; `undefined` when the key is not under it. */
  unkey(key: string): string | undefined;
  /** The shared subscriber connection, created on first use (SUBSCRIBE mode; no other commands). */
  subscriber(): Commands;
  /**
   * Opens a dedicated connection for blocking reads. On a Cluster it goes to the master that
   * owns `forKey`'s slot (any master when omitted).
   */
  dedicated(forKey?: string): Promise<DedicatedConnection>;
  /** PING round trip in milliseconds. */
  ping(): TaskEither<RedisError, number>;
  /** Resolves when the command connection is ready, or fails when it closes or times out first. */
  ready(): TaskEither<RedisError, void>;
  /** Registers work `close()` must let finish first (a source draining). Returns an unregister. */
  onClose(hook: CloseHook): () => void;
  /**
   * Graceful shutdown: runs close hooks, lets in-flight commands finish (QUIT is queued behind
   * them), closes every connection the client opened. Idempotent.
   */
  close(options?: CloseOptions): Promise<void>;
}
