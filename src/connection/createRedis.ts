/**
 * `createRedis`: builds a {@link RedisClient} from any configuration input.
 *
 * @since 0.1.0
 */
import { Cluster, Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { inspect } from 'node:util';
import { performance } from 'node:perf_hooks';
import * as E from 'fp-ts/Either';
import * as TE from 'fp-ts/TaskEither';
import { pipe } from 'fp-ts/function';
import {
  BehaviorSubject,
  Subject,
  distinctUntilChanged,
  filter,
  firstValueFrom,
  merge,
  timeout,
} from 'rxjs';
import { parseRedisOptions } from '../config/loadRedisOptions';
import type { RedisOptions, RedisOptionsInput } from '../config/types';
import { ConnectionError, TimeoutError, toRedisError, type RedisError } from '../errors';
import { prefixKey, unprefixKey } from '../internal/keys';
import { repeatLimiter } from '../internal/logger';
import {
  clusterOptionsFor,
  reconnectStrategy,
  redisOptionsFor,
  type ConnectionRole,
} from './ioredisOptions';
import { installCommandTimeout } from './commandTimeout';
import { MetricsRecorder } from './metrics';
import type {
  CloseHook,
  CloseOptions,
  Commands,
  ConnectionStatus,
  DedicatedConnection,
  RedisClient,
} from './RedisClient';

/** A connection error repeating within this window is counted, not logged again. */
const ERROR_LOG_WINDOW_MS = 5_000;

const isValidated = (o: unknown): o is RedisOptions =>
  typeof o === 'object' &&
  o !== null &&
  'mode' in o &&
  'endpoints' in o &&
  'logger' in o &&
  'commandTimeoutMs' in o;

/** Where ioredis says a command went (its tracing uses the configured host, or 'localhost'). */
const addressOf = (r: Redis): string =>
  `${(r.options as { host?: string }).host || 'localhost'}:${(r.options as { port?: number }).port || 6379}`;

/** Settles within `ms`: `true` when `p` finished in time. Never keeps the process alive. */
const within = (p: Promise<unknown>, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    timer.unref();
    p.then(
      () => resolve(true),
      () => resolve(true),
    ).finally(() => clearTimeout(timer));
  });

/** Resolves when `c` is ready, or at once when it never will be (never used, or ended). */
const settled = (c: Commands): Promise<void> =>
  c.status === 'ready' || c.status === 'wait' || c.status === 'end'
    ? Promise.resolve()
    : new Promise((resolve) => {
        c.once('ready', resolve);
        c.once('end', resolve);
      });

/**
 * Ends a connection gracefully: waits (within the time left) for a connection that is still
 * connecting, so queued commands are sent, lets auto-pipelined commands of this tick go out,
 * then QUITs behind everything in flight. Cuts the connection when time runs out.
 */
const shutdown = async (c: Commands, timeLeftMs: () => number): Promise<void> => {
  await within(settled(c), timeLeftMs());
  if (c.status === 'ready') {
    await new Promise((resolve) => setImmediate(resolve));
    if (await within(c.quit(), timeLeftMs())) return;
  }
  c.disconnect();
};

/**
 * Keeps two ioredis Cluster internals from holding a process open after `close()` when every
 * node is dead (ioredis 6 offers no option for either; both are guarded and skipped when the
 * internals look different):
 * - the pub/sub connections the Cluster's `ClusterSubscriber` builds itself get ioredis' default
 *   `disconnectTimeout` (2 s), not ours. While the nodes are dead it keeps replacing them and
 *   disconnecting the dead ones, and each such disconnect of an already closed socket arms a
 *   2 s timer that nothing clears. They get our `disconnectTimeout` as they are created.
 * - the sharded subscriber group re-reads the slots after a back-off (up to 2.5 s) when a shard's
 *   subscriber cannot connect, on a timer `disconnect()` does not clear. The same back-off is
 *   kept here on timers of ours, which the returned function clears (none is armed once
 *   `closing()`).
 *
 * @returns a function clearing what is still pending; call it when the Cluster is closed
 */
const containClusterTimers = (cluster: Cluster, closing: () => boolean): (() => void) => {
  const internals = cluster as unknown as {
    readonly options?: { readonly redisOptions?: { readonly disconnectTimeout?: number } };
    readonly subscriber?: Record<string, unknown>;
    readonly subscriberGroupEmitter?: NodeJS.EventEmitter;
  };
  const disconnectTimeout = internals.options?.redisOptions?.disconnectTimeout;
  const inner = internals.subscriber;
  if (typeof disconnectTimeout === 'number' && typeof inner === 'object' && inner !== null) {
    const descriptor = Object.getOwnPropertyDescriptor(inner, 'subscriber');
    if (descriptor !== undefined && 'value' in descriptor && descriptor.configurable) {
      let current: unknown = descriptor.value;
      Object.defineProperty(inner, 'subscriber', {
        configurable: true,
        enumerable: descriptor.enumerable ?? true,
        get: () => current,
        set: (next: unknown) => {
          const connector = (next as { connector?: { disconnectTimeout?: unknown } } | null)
            ?.connector;
          if (connector !== undefined && typeof connector.disconnectTimeout === 'number')
            connector.disconnectTimeout = Math.min(connector.disconnectTimeout, disconnectTimeout);
          current = next;
        },
      });
    }
  }
  const pending = new Set<NodeJS.Timeout>();
  const group = internals.subscriberGroupEmitter;
  const FAILED = 'subscriberConnectFailed';
  // ioredis' own handler: emit the error, then after `delay` re-read the slots, which is what
  // its handler of 'moved' does at once.
  if (
    group !== undefined &&
    group.listenerCount(FAILED) === 1 &&
    group.listenerCount('moved') > 0
  ) {
    group.removeAllListeners(FAILED);
    group.on(FAILED, ({ delay, error }: { delay: number; error: unknown }) => {
      cluster.emit('error', error);
      if (closing()) return;
      const timer = setTimeout(() => {
        pending.delete(timer);
        group.emit('moved');
      }, delay);
      pending.add(timer);
    });
  }
  return () => {
    for (const timer of pending) clearTimeout(timer);
    pending.clear();
  };
};

/**
 * Creates a client. Nothing is awaited: the command connection starts connecting at once
 * (watch `status$` or call `ready()`); the subscriber and dedicated connections are opened on
 * first use.
 *
 * @param options a `redis://` URL, a StackExchange-style string, an options object, or options
 *   from `loadRedisOptions` / `redisOptions().build()`. Omitted: `localhost:6379`.
 * @returns the client; close it with `close()`.
 * @throws ConfigError when the options are invalid (the message names every bad field).
 * @example
 * ```ts
 * const client = createRedis('redis://localhost:6379/0?instance=MyApp:');
 * await client.close();
 * ```
 * @since 0.1.0
 */
export const createRedis = (options?: string | RedisOptionsInput | RedisOptions): RedisClient => {
  const resolved = isValidated(options) ? E.right(options) : parseRedisOptions(options ?? {});
  if (E.isLeft(resolved)) throw resolved.left;
  return new Client(resolved.right);
};

class Client implements RedisClient {
  readonly redis: Commands;
  readonly metrics: MetricsRecorder;
  readonly #status = new BehaviorSubject<ConnectionStatus>('connecting');
  readonly status$ = this.#status.pipe(distinctUntilChanged());
  readonly #hooks = new Set<CloseHook>();
  readonly #dedicated = new Set<Redis>();
  #subscriber: Commands | undefined;
  /** The command connection's latest failure, reported by `ready()` instead of a bare timeout. */
  #lastError: RedisError | undefined;
  readonly #authFailed = new Subject<RedisError>();
  #everReady = false;
  #closing: Promise<void> | undefined;
  /**
   * Set by `close()` once the close hooks are done: from then on no connection is reconnected
   * (every retry strategy consults it), so a dead server or Cluster cannot keep reconnect timers
   * and sockets alive after `close()`.
   */
  #cutting = false;
  readonly #isCutting = (): boolean => this.#cutting;
  /** Clear the pending internal timers of the client's Clusters (see `containClusterTimers`). */
  readonly #releaseTimers: Array<() => void> = [];

  constructor(readonly options: RedisOptions) {
    this.metrics = new MetricsRecorder(options.metrics);
    this.redis = this.#open('command');
    this.#watch(this.redis, 'command');
    this.#releaseTimers.push(installCommandTimeout(this.redis, options.commandTimeoutMs));
  }

  get mode(): RedisOptions['mode'] {
    return this.options.mode;
  }
  get logger() {
    return this.options.logger;
  }
  get status(): ConnectionStatus {
    return this.#status.value;
  }

  key(name: string): string {
    return prefixKey(this.options.instance, name);
  }
  unkey(key: string): string | undefined {
    return unprefixKey(this.options.instance, key);
  }

  #open(role: ConnectionRole): Commands {
    const everReady = () => this.#everReady;
    if (this.options.mode === 'cluster') {
      const nodes = this.options.endpoints.map((e) => ({ host: e.host, port: e.port }));
      const cluster = new Cluster(
        nodes,
        clusterOptionsFor(this.options, role, everReady, this.#isCutting),
      );
      this.#releaseTimers.push(containClusterTimers(cluster, this.#isCutting));
      const track = () => cluster.nodes().forEach((n) => this.metrics.watchAddress(addressOf(n)));
      cluster.on('+node', track);
      cluster.on('refresh', track);
      cluster.on('ready', track);
      return cluster;
    }
    const redis = new Redis(redisOptionsFor(this.options, role, everReady, this.#isCutting));
    this.metrics.watchAddress(addressOf(redis));
    return redis;
  }

  /** Logs a connection's life and, for the command connection, drives `status$`. */
  #watch(c: Commands, role: ConnectionRole): void {
    const log = this.options.logger;
    const ctx = { role, mode: this.options.mode };
    const isCommand = role === 'command';
    c.on('ready', () => {
      log.info(ctx, 'redis connection ready');
      if (isCommand && this.#closing === undefined) {
        this.#everReady = true;
        this.#status.next('ready');
      }
    });
    c.on('reconnecting', (delayMs: unknown) => {
      log.warn({ ...ctx, delayMs }, 'redis connection lost; reconnecting');
      if (isCommand && this.#closing === undefined) this.#status.next('reconnecting');
    });
    const errorLog = repeatLimiter(ERROR_LOG_WINDOW_MS);
    c.on('error', (e: unknown) => {
      const error = toRedisError(e);
      // Messages are ours or ioredis' connection errors: hosts and ports, never credentials.
      const leftOut = errorLog(error.message, Date.now());
      if (leftOut !== undefined)
        log.warn(
          { ...ctx, error: error.message, ...(leftOut > 0 ? { repeatsLeftOut: leftOut } : {}) },
          'redis connection error',
        );
      if (isCommand) {
        this.#lastError = error;
        if (error._tag === 'ConnectionError' && error.reason === 'auth')
          this.#authFailed.next(error);
      }
    });
    c.on('end', () => {
      log.info(ctx, 'redis connection ended');
      if (isCommand) this.#finish();
    });
  }

  #finish(): void {
    if (this.#status.closed) return;
    this.#status.next('closed');
    this.#status.complete();
    this.#authFailed.complete();
    this.metrics.dispose();
  }

  subscriber(): Commands {
    if (this.#closing !== undefined) throw new ConnectionError('closed', 'Redis client is closed');
    if (this.#subscriber === undefined) {
      this.#subscriber = this.#open('subscriber');
      this.#watch(this.#subscriber, 'subscriber');
    }
    return this.#subscriber;
  }

  async dedicated(forKey?: string): Promise<DedicatedConnection> {
    if (this.#closing !== undefined) throw new ConnectionError('closed', 'Redis client is closed');
    const everReady = () => this.#everReady;
    let redis: Redis;
    if (this.redis instanceof Cluster) {
      const target = await this.#masterFor(this.redis, forKey);
      // close() may have begun while the master was looked up: open nothing it would miss.
      if (this.#closing !== undefined)
        throw new ConnectionError('closed', 'Redis client is closed');
      const { redisOptions } = clusterOptionsFor(
        this.options,
        'blocking',
        everReady,
        this.#isCutting,
      );
      redis = new Redis({
        ...redisOptions,
        host: target.host,
        port: target.port,
        lazyConnect: true,
        // Like every connection of the client: capped, and never once close() cuts connections.
        retryStrategy: reconnectStrategy(this.options, everReady, this.#isCutting),
      });
    } else {
      redis = new Redis(redisOptionsFor(this.options, 'blocking', everReady, this.#isCutting));
    }
    this.metrics.watchAddress(addressOf(redis));
    this.#watch(redis, 'blocking');
    this.#dedicated.add(redis);
    const conns = this.#dedicated;
    return {
      redis,
      close: async () => {
        conns.delete(redis);
        redis.disconnect();
      },
    };
  }

  async #masterFor(
    cluster: Cluster,
    key: string | undefined,
  ): Promise<{ host: string; port: number }> {
    if (cluster.status !== 'ready') {
      const ready = await pipe(
        this.ready(),
        TE.match(
          (e) => e,
          () => undefined,
        ),
      )();
      if (ready !== undefined) throw ready;
    }
    const nodeKey = key !== undefined ? cluster.slots[calculateSlot(key)]?.[0] : undefined;
    const master =
      nodeKey !== undefined
        ? cluster.nodes('master').find((n) => addressOf(n) === nodeKey)
        : cluster.nodes('master')[0];
    const chosen = master ?? cluster.nodes('master')[0];
    if (chosen === undefined)
      throw new ConnectionError('unavailable', 'No Redis Cluster master is known');
    const o = chosen.options as { host?: string; port?: number };
    return { host: o.host ?? 'localhost', port: o.port ?? 6379 };
  }

  ping(): TE.TaskEither<RedisError, number> {
    return TE.tryCatch(
      async () => {
        const t0 = performance.now();
        await this.redis.ping();
        return performance.now() - t0;
      },
      (e) => toRedisError(e, 'PING'),
    );
  }

  ready(): TE.TaskEither<RedisError, void> {
    const ms = this.options.connectTimeoutMs;
    const closed = () => this.#lastError ?? new ConnectionError('closed', 'Redis client is closed');
    return TE.tryCatch(
      async () => {
        const outcome = await firstValueFrom(
          merge(
            this.status$.pipe(filter((x) => x === 'ready' || x === 'closed')),
            // A wrong password never gets better by waiting: say so at once.
            this.#authFailed,
          ).pipe(timeout({ first: ms })),
          { defaultValue: 'closed' as const },
        );
        if (outcome === 'closed') throw closed();
        if (outcome !== 'ready') throw outcome;
      },
      (e) =>
        e instanceof Error && '_tag' in e
          ? (e as RedisError)
          : (this.#lastError ??
            new TimeoutError(`Redis did not become ready within ${ms} ms`, ms, { cause: e })),
    );
  }

  onClose(hook: CloseHook): () => void {
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.timeoutMs ?? 5000);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    const hooks = [...this.#hooks];
    this.#hooks.clear();
    await within(Promise.allSettled(hooks.map((h) => h(left()))), left());
    this.#cutting = true;
    for (const d of this.#dedicated) d.disconnect();
    this.#dedicated.clear();
    await Promise.all([
      this.#subscriber !== undefined ? shutdown(this.#subscriber, left) : undefined,
      shutdown(this.redis, left),
    ]);
    for (const release of this.#releaseTimers) release();
    this.#finish();
  }

  [inspect.custom](): string {
    return `RedisClient { mode: '${this.mode}', endpoints: ${this.options.endpoints
      .map((e) => `${e.host}:${e.port}`)
      .join(',')}, instance: '${this.options.instance}', status: '${this.status}' }`;
  }

  toJSON(): object {
    return {
      mode: this.mode,
      endpoints: this.options.endpoints,
      instance: this.options.instance,
      status: this.status,
    };
  }
}
