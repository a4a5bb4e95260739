/**
 * `Cache`: a typed two-tier cache (memory, then Redis) whose functions are lazy `TaskEither`s
 * that never reject. Values are checked by an io-ts codec on every Redis read; a miss is
 * `Option.none`, not an error.
 *
 * - Keys: `<instance><namespace>:<generation>:<key>`. `clear()` increments the namespace's
 *   generation (`<instance><namespace>:gen`) instead of scanning: old entries become unreachable
 *   and expire with their TTL.
 * - Memory tier (optional, lru-cache): hits never touch Redis and return what a Redis hit would
 *   (the value is decoded from its wire form even on `set`). Caches of one namespace evict each
 *   other's entries through a pub/sub channel (see `InvalidationBus.ts` for why not CLIENT
 *   TRACKING); after a reconnect the tier is flushed, since messages may have been missed.
 * - Stampedes: concurrent `getOrSet` calls for one key in a process share one flight (one
 *   `load`); with `lock`, processes agree through a `SET NX PX` lock that only its owner releases.
 * - Coalescing: concurrent reads of one key share the read in flight for it (`cacheCoalesce.ts`);
 *   each caller decodes its own value from the shared reply, and a write, delete, invalidation or
 *   clear detaches the read so that callers arriving after it read afresh (read-your-writes).
 * - Batching: the Redis reads of one tick (memory-tier misses not joining a read in flight) go
 *   out together, DataLoader-style: one MGET, one per hash slot on a Cluster, and a plain GET for
 *   a key alone. Each key of a batch is a read of its own in the coalescing table, so detaching
 *   works as for a GET. `getMany` is one MGET (one per hash slot on a Cluster, sent as a
 *   pipeline per node).
 * - Degradation: every Redis call has a deadline; while the client is reconnecting calls answer
 *   `ConnectionError` at once; with `staleIfError`, an expired memory entry within its grace
 *   period is served, marked `stale`.
 *
 * @since 0.2.0
 */
import type * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import * as TE from 'fp-ts/TaskEither';
import { Cluster, Command } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import type { Subscription as RxSubscription } from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import {
  ConnectionError,
  DecodeError,
  EncodeError,
  TimeoutError,
  isTransient,
  toRedisError,
  type RedisError,
} from '../errors';
import { pipelinePerNode, type KeyedCommand } from '../internal/pipelinePerNode';
import * as Coalesce from './cacheCoalesce';
import { InvalidationMessage } from './codecs/InvalidationMessage';
import { wire, wireCodec } from './codecs/wire';
import * as Bus from './InvalidationBus';
import * as Lock from './Lock';
import * as Memory from './MemoryTier';
import { JsonSerializer, type Serializer } from './Serializer';
import { batcher } from '../internal/batcher';

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * Every error a cache function can end in: a Redis failure, a stored value its codec refuses, or
 * a value that cannot be encoded. `getOrSet` widens it with the error of `load`.
 *
 * @since 0.2.0
 */
export type CacheError = RedisError | DecodeError | EncodeError;

/**
 * A value with where it came from. `stale` is true only for a memory-tier value past its TTL
 * served because Redis failed (`staleIfError`).
 *
 * @since 0.2.0
 */
export interface Lookup<A> {
  readonly value: A;
  readonly source: 'memory' | 'redis';
  readonly stale: boolean;
}

/**
 * Serve an expired memory-tier value when Redis fails (connection lost, timeout, Cluster down).
 *
 * @since 0.2.0
 */
export interface StaleIfErrorOptions {
  /** How long past its TTL a memory-tier value may still be served as stale. */
  readonly graceMs: number;
}

export type { MemoryOptions, Clock } from './MemoryTier';
export type { LockOptions } from './Lock';
export type { Serializer } from './Serializer';

/**
 * Options of {@link make}.
 *
 * @since 0.2.0
 */
export interface CacheOptions<A, O = unknown> {
  readonly client: RedisClient;
  /** The value codec; its output goes through `serializer` (JSON by default). */
  readonly codec: t.Type<A, O, unknown>;
  /** Groups the keys (`<instance><namespace>:…`); `clear()` clears one namespace. */
  readonly namespace: string;
  /**
   * TTL of Redis entries when `set`/`getOrSet`/`setMany` are given none.
   * @defaultValue no expiry
   */
  readonly ttlMs?: number;
  /**
   * A memory tier in front of Redis.
   * @defaultValue none
   */
  readonly memory?: Memory.MemoryOptions;
  /** @defaultValue `JsonSerializer` */
  readonly serializer?: Serializer;
  /**
   * Serve expired memory-tier values when Redis fails (needs `memory`).
   * @defaultValue off
   */
  readonly staleIfError?: StaleIfErrorOptions;
  /**
   * Cross-process stampede lock for `getOrSet`: `true` for the defaults.
   * @defaultValue off (single-flight within the process only)
   */
  readonly lock?: Lock.LockOptions | boolean;
  /**
   * Coalesce and batch reads: a `get` (or the read of `getOrSet`/`getWithMeta`) of a key whose
   * read is already in flight shares that read instead of sending its own, and the reads that
   * remain in one tick go out as one MGET (per hash slot on a Cluster; a GET for a lone key).
   * Each caller still decodes its own value from the shared reply, and a write through this
   * cache (or an invalidation, or `clear()`) detaches the read, so callers arriving after it read
   * afresh. Turn it off when every read must be sent after the previous caller's arrival, for
   * example to see writes made by other clients that bypass the cache without a round-trip's
   * delay: each read is then a GET of its own.
   * @defaultValue true
   */
  readonly coalesce?: boolean;
  /**
   * Deadline of each Redis call.
   * @defaultValue the client's `commandTimeoutMs`
   */
  readonly timeoutMs?: number;
  /**
   * Time source of the memory tier and the lock wait (tests inject one).
   * @defaultValue `performance`
   */
  readonly clock?: Memory.Clock;
}

/**
 * A typed cache for one codec and namespace. Every function returns a lazy `TaskEither` (nothing
 * happens until it is run) that never rejects.
 *
 * @since 0.2.0
 */
export interface Cache<A> {
  readonly namespace: string;
  /** The value, `none` on a miss. */
  readonly get: (key: string) => TE.TaskEither<CacheError, O.Option<A>>;
  /** As `get`, with where the value came from and whether it is stale. */
  readonly getWithMeta: (key: string) => TE.TaskEither<CacheError, O.Option<Lookup<A>>>;
  /** Writes the value (TTL `ttlMs`, else the cache's) and evicts it from every memory tier. */
  readonly set: (key: string, value: A, ttlMs?: number) => TE.TaskEither<CacheError, void>;
  /** Deletes the key everywhere; true when it existed in Redis. */
  readonly delete: (key: string) => TE.TaskEither<CacheError, boolean>;
  readonly has: (key: string) => TE.TaskEither<CacheError, boolean>;
  /** Remaining Redis TTL in ms: `none` when absent, `Infinity` when it never expires. */
  readonly ttl: (key: string) => TE.TaskEither<CacheError, O.Option<number>>;
  /**
   * Read-through: the cached value, or `load`'s, which is then cached. Concurrent calls for one
   * key share one `load` (the first caller's). When Redis fails, `load` still answers (and a
   * stale value is served first with `staleIfError`); a write-back failure is logged.
   */
  readonly getOrSet: <E>(
    key: string,
    load: TE.TaskEither<E, A>,
    ttlMs?: number,
  ) => TE.TaskEither<CacheError | E, A>;
  /** One `Option` per key, in input order (per-node pipelines on a Cluster, MGET otherwise). */
  readonly getMany: (
    keys: ReadonlyArray<string>,
  ) => TE.TaskEither<CacheError, ReadonlyArray<O.Option<A>>>;
  readonly setMany: (
    entries: ReadonlyArray<readonly [string, A]>,
    ttlMs?: number,
  ) => TE.TaskEither<CacheError, void>;
  /** Clears the namespace everywhere (a new generation; no SCAN). */
  readonly clear: () => TE.TaskEither<CacheError, void>;
  /** Stops listening for invalidations and empties the memory tier. Idempotent. */
  readonly close: () => Promise<void>;
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

const positiveInt = (n: number | undefined, name: string): void => {
  if (n !== undefined && !(Number.isInteger(n) && n > 0))
    throw new TypeError(`${name} must be a positive integer of milliseconds`);
};

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const sleep = (ms: number, wake: (resume: () => void) => () => void): Promise<void> =>
  new Promise((resolve) => {
    const stop = wake(() => done());
    const timer = setTimeout(() => done(), ms);
    const done = () => {
      clearTimeout(timer);
      stop();
      resolve();
    };
  });

const Message = wire(InvalidationMessage);

/** Most keys in one batched read. */
const BATCH_SIZE = 256;
/** Replies as strings, as ioredis' own `get`/`mget` return them. */
const utf8 = { replyEncoding: 'utf8' } as const;
const one = <T>(reply: T): ReadonlyArray<T> => [reply];

/**
 * Makes a typed cache.
 *
 * @param options see {@link CacheOptions}
 * @returns the cache; nothing is sent to Redis until one of its TaskEithers runs
 * @throws TypeError when an option is invalid (a non-positive TTL, `staleIfError` without `memory`…)
 * @example
 * ```ts
 * import * as t from 'io-ts';
 * import * as TE from 'fp-ts/TaskEither';
 * import { Cache, createRedis, DateFromISOString } from '@mamey/persistence-redis';
 *
 * const User = t.type({ id: t.string, name: t.string, since: DateFromISOString }, 'User');
 * const users = Cache.make({
 *   client: createRedis(),
 *   codec: User,
 *   namespace: 'user',
 *   ttlMs: 3_600_000,
 *   memory: { maxEntries: 10_000, ttlMs: 300_000 },
 * });
 * const user = await users.getOrSet('42', TE.right({ id: '42', name: 'Ada', since: new Date() }))();
 * ```
 * @see Cache
 * @since 0.2.0
 */
export const make = <A, O = unknown>(options: CacheOptions<A, O>): Cache<A> => {
  const {
    client,
    codec,
    namespace,
    ttlMs: defaultTtl,
    memory: memoryOptions,
    serializer = JsonSerializer,
    staleIfError,
    lock,
    timeoutMs = client.options.commandTimeoutMs,
    clock = performance,
    coalesce = true,
  } = options;
  if (typeof namespace !== 'string' || namespace === '')
    throw new TypeError('namespace must be a non-empty string');
  positiveInt(defaultTtl, 'ttlMs');
  positiveInt(timeoutMs, 'timeoutMs');
  if (staleIfError !== undefined) {
    if (memoryOptions === undefined)
      throw new TypeError('staleIfError serves memory-tier values: it needs memory');
    if (!(Number.isInteger(staleIfError.graceMs) && staleIfError.graceMs >= 0))
      throw new TypeError('staleIfError.graceMs must be an integer ≥ 0');
  }
  const lockOptions = lock === true ? {} : lock === false ? undefined : lock;
  const lockTtl = lockOptions?.ttlMs ?? 10_000;
  const lockWait = lockOptions?.waitMs ?? 10_000;
  const lockPoll = lockOptions?.pollMs ?? 25;
  positiveInt(lockTtl, 'lock.ttlMs');
  positiveInt(lockWait, 'lock.waitMs');
  positiveInt(lockPoll, 'lock.pollMs');

  const { type: Wire, decodeText } = wireCodec(codec, serializer);
  const graceMs = staleIfError?.graceMs ?? 0;
  const memory =
    memoryOptions === undefined ? undefined : Memory.make<A>(memoryOptions, graceMs, clock);
  const redis = client.redis;
  const isCluster = redis instanceof Cluster;
  const { metrics, logger } = client;
  const origin = Lock.token();
  const base = client.key(`${namespace}:`);
  const genKey = `${base}gen`;
  const channel = `${base}invalidate`;
  const counter = (name: string) => `cache.${namespace}.${name}`;
  const C = {
    memoryHit: counter('hit.memory'),
    redisHit: counter('hit.redis'),
    miss: counter('miss'),
    stale: counter('stale'),
    load: counter('load'),
    invalidated: counter('invalidated'),
    flush: counter('flush'),
  };

  // ---- Redis calls: one deadline each, fail fast while reconnecting -------------------------

  // ioredis already arms `commandTimeoutMs` on every command it sends; our own timer is added
  // only where that does not hold (a shorter deadline, the first connect, pipelines, SUBSCRIBE).
  const ownDeadline = timeoutMs < client.options.commandTimeoutMs;
  const withDeadline = <T>(p: Promise<T>, command: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TimeoutError(`Redis call timed out (${command})`, timeoutMs)),
        timeoutMs,
      );
      p.then(
        (v) => (clearTimeout(timer), resolve(v)),
        (e: unknown) => (clearTimeout(timer), reject(e)),
      );
    });
  const guarded = <T>(command: string, f: () => Promise<T>, deadline: boolean): Promise<T> => {
    const status = client.status;
    if (status === 'reconnecting' || status === 'closed')
      return Promise.reject(
        new ConnectionError(
          status === 'closed' ? 'closed' : 'unavailable',
          `Redis is ${status === 'closed' ? 'closed' : 'unavailable (reconnecting)'} (${command})`,
        ),
      );
    return status === 'ready' && !deadline && !ownDeadline ? f() : withDeadline(f(), command);
  };
  /** What a failure of `command` becomes: a typed error, raised once per command. */
  const redisError = (command: string, e: unknown): RedisError => {
    const error = toRedisError(e, command);
    // A command that timed out on a connection that is down: the server is the problem.
    return error._tag === 'TimeoutError' && client.status !== 'ready'
      ? new ConnectionError('unavailable', `Redis is unavailable (${command})`, { cause: error })
      : error;
  };
  const rejected =
    (command: string) =>
    (e: unknown): E.Either<RedisError, never> =>
      E.left(redisError(command, e));
  const failures = new Map<string, (e: unknown) => E.Either<RedisError, never>>();
  /** The rejection handler of `command`, made once per command name. */
  const failure = (command: string): ((e: unknown) => E.Either<RedisError, never>) => {
    let f = failures.get(command);
    if (f === undefined) failures.set(command, (f = rejected(command)));
    return f;
  };
  const right = <T>(value: T): E.Either<RedisError, T> => E.right(value);
  /**
   * The one place an ioredis promise becomes an Either. It is `TE.tryCatch(…, failure)` without
   * its async frame: fp-ts ships that frame compiled to a generator state machine, which costs
   * several promises and closures per command on the cache's hot path.
   */
  const call = <T>(
    command: string,
    f: () => Promise<T>,
    deadline = false,
  ): Promise<E.Either<RedisError, T>> => {
    let p: Promise<T>;
    try {
      p = guarded(command, f, deadline);
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.then(right, failure(command));
  };

  // ---- memory tier consistency ---------------------------------------------------------------

  // A Redis read that started before an eviction must not put its (older) value back afterwards:
  // evictions are numbered, and a read stores its value only when none hit its key since it began.
  let seq = 0;
  let flushedAt = 0;
  let reading = 0;
  const evictedAt = new Map<string, number>();
  const beginRead = (): number => (reading++, seq);
  const endRead = (): void => {
    if (--reading === 0) evictedAt.clear();
  };
  const mayStore = (full: string, since: number): boolean =>
    flushedAt <= since && (evictedAt.get(full) ?? 0) <= since;
  // Every eviction is a write or an invalidation of the key: a read in flight for it was sent
  // before, so later callers must not share it (read-your-writes; see cacheCoalesce.ts).
  const reads = Coalesce.make<string | null>();
  /** The getOrSet in flight per key: concurrent callers share its one `load`. */
  const flights = new Map<string, Promise<E.Either<unknown, A>>>();
  const evict = (full: string): void => {
    reads.detach(full);
    flights.delete(full); // a getOrSet arriving now must not get a load begun before the write
    memory?.delete(full);
    if (reading > 0) evictedAt.set(full, ++seq);
  };
  const flush = (why: string): void => {
    reads.detachAll();
    flights.clear();
    if (memory === undefined) return;
    memory.clear();
    flushedAt = ++seq;
    metrics.increment(C.flush);
    logger.debug({ namespace, why }, 'cache memory tier flushed');
  };
  /** Our own write: what a Redis hit would return, decoded from the wire form. */
  const remember = (full: string, text: string, ttl: number | undefined): void => {
    if (memory === undefined) return;
    const copy = decodeText(text);
    if (E.isRight(copy)) memory.set(full, copy.right, Buffer.byteLength(text), ttl);
  };

  // ---- generation and the invalidation bus ---------------------------------------------------

  let gen: number | undefined;
  let prefix = '';
  let lockPrefix = '';
  let starting: Promise<E.Either<CacheError, void>> | undefined;
  let bus: Bus.Subscription | undefined;
  let closed = false;
  const waiters = new Map<string, Set<() => void>>();

  const setGen = (g: number): void => {
    gen = g;
    prefix = `${base}${g}:`;
    lockPrefix = `${base}lock:${g}:`;
  };

  const onMessage = (payload: string): void => {
    const m = Message.decode(payload);
    if (E.isLeft(m)) {
      logger.warn(
        { namespace, channel, error: new DecodeError(channel, m.left).message },
        'cache ignored a message it cannot read on its invalidation channel',
      );
      return;
    }
    const msg = m.right;
    if (msg.o === origin) return;
    if ('k' in msg) {
      for (const full of msg.k) {
        evict(full);
        waiters.get(full)?.forEach((wake) => wake());
      }
      metrics.increment(C.invalidated, msg.k.length);
    } else if (gen !== undefined && msg.g > gen) {
      setGen(msg.g);
      flush('cleared by another instance');
    }
  };

  const forget = (why: string): void => {
    flush(why);
    gen = undefined; // read again: a clear() may have been missed too
  };

  const statusWatch: RxSubscription = (() => {
    let down = false;
    return client.status$.subscribe((s) => {
      if (s === 'reconnecting') down = true;
      else if (s === 'ready' && down) {
        down = false;
        forget('the command connection reconnected');
      }
    });
  })();

  const init = async (): Promise<E.Either<CacheError, void>> => {
    if (closed) return E.left(new ConnectionError('closed', `Cache ${namespace} is closed`));
    if (bus === undefined) {
      const sub = await call(
        'SUBSCRIBE',
        async () => {
          const s = Bus.subscribe(client, channel, {
            message: onMessage,
            reconnect: () => forget('the subscriber connection reconnected'),
            lost: (error) => {
              // no more invalidations: forget the memory tier and subscribe again on next use
              if (bus === s) bus = undefined;
              logger.warn(
                { namespace, channel, error: error.message },
                'cache lost its invalidation channel',
              );
              forget('the invalidation channel was lost');
            },
          });
          bus = s;
          await s.ready;
        },
        true,
      );
      if (E.isLeft(sub)) {
        const failed = bus as Bus.Subscription | undefined;
        bus = undefined;
        failed?.close();
        return sub;
      }
    }
    // Subscribed first, then read: a clear() after this read reaches us as a message.
    const g = await call('GET', () => redis.get(genKey));
    if (E.isLeft(g)) return g;
    if (gen === undefined || Number(g.right ?? 0) > gen) setGen(Number(g.right ?? 0));
    return E.right(undefined);
  };
  const start = (): Promise<E.Either<CacheError, void>> =>
    (starting ??= init().finally(() => {
      starting = undefined;
    }));

  const publish = (keys: ReadonlyArray<string>): Promise<E.Either<RedisError, number>> =>
    call('PUBLISH', () => redis.publish(channel, Message.encode({ o: origin, k: [...keys] })));

  // ---- reads ---------------------------------------------------------------------------------

  const decodeAt = (full: string, text: string): E.Either<DecodeError, A> => {
    const r = decodeText(text);
    return E.isRight(r) ? r : E.left(new DecodeError(full, r.left));
  };

  const none: E.Either<CacheError, O.Option<A>> = E.right(O.none);
  const miss = (): E.Either<CacheError, O.Option<A>> => (metrics.increment(C.miss), none);
  const hitFrom = (full: string, text: string): E.Either<CacheError, O.Option<A>> => {
    const d = decodeAt(full, text);
    return E.isRight(d) ? (metrics.increment(C.redisHit), E.right(O.some(d.right))) : d;
  };

  const failedGet = failure('GET');
  /** One GET of its own, through the client's auto-pipeline (`coalesce: false`). */
  const sendGet = (full: string): Promise<string | null> => {
    try {
      return guarded('GET', () => redis.get(full), false);
    } catch (e) {
      return Promise.reject(e);
    }
  };
  /**
   * Sends `command` with `sendCommand`, past ioredis' auto-pipeline: a batch is already one
   * command per tick, and the auto-pipeline would hold it for a `setImmediate` and wrap it in a
   * `Pipeline`.
   */
  const send = <T>(command: 'get' | 'mget', keys: ReadonlyArray<string>): Promise<T> =>
    redis.sendCommand(new Command(command, keys as string[], utf8)) as Promise<T>;
  /**
   * Sends one batch: a GET for a lone key, else an MGET (the keys of one hash slot on a
   * Cluster). MGET answers nil for a key holding another type where GET fails with WRONGTYPE: in
   * a batch such a key reads as a miss, as in `getMany`. The failure of the batch is typed once
   * here, for each of its callers.
   */
  const sendBatch = (fulls: ReadonlyArray<string>): Promise<ReadonlyArray<string | null>> => {
    const lone = fulls.length === 1;
    const command = lone ? 'GET' : 'MGET';
    let p: Promise<ReadonlyArray<string | null>>;
    try {
      p = guarded(
        command,
        () =>
          lone
            ? send<string | null>('get', fulls).then(one)
            : send<Array<string | null>>('mget', fulls),
        false,
      );
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.catch((e: unknown) => Promise.reject(redisError(command, e)));
  };
  const batched = batcher<string, string | null>(
    sendBatch,
    isCluster ? (full) => String(calculateSlot(full)) : undefined,
    BATCH_SIZE,
  );
  /** Queues `full` for this tick's batch. */
  const batchGet = (full: string): Promise<string | null> =>
    new Promise((resolve, reject) =>
      batched(full, (e, text) => (e === undefined ? resolve(text!) : reject(e))),
    );
  /**
   * Reads `full` and maps its reply with `onText`: with coalescing (the default), the read in
   * flight for `full` when `shared`, else a read of its own, queued with the other reads of this
   * tick (one GET or MGET per batch) and shared until it settles. Only the reply is shared; each
   * caller maps (decodes) it into a value of its own. Without coalescing, a GET per call.
   */
  const readText = <R>(
    full: string,
    shared: boolean,
    onText: (text: string | null) => R,
  ): Promise<R | E.Either<RedisError, never>> => {
    if (!coalesce) return sendGet(full).then(onText, failedGet);
    if (!shared) return batchGet(full).then(onText, failedGet);
    const inFlight = reads.get(full);
    if (inFlight !== undefined) return inFlight.then(onText, failedGet);
    const read = batchGet(full);
    reads.add(full, read);
    return read.then(
      (text) => (reads.settle(full, read), onText(text)),
      (e: unknown) => (reads.settle(full, read), failedGet(e)),
    );
  };

  /**
   * GET + decode; stores a hit in the memory tier. `shared: false` for reads that must be sent
   * now (the lock's re-reads, which look for another process' write).
   */
  const fetch = (full: string, shared = true): Promise<E.Either<CacheError, O.Option<A>>> =>
    memory === undefined
      ? readText(full, shared, (text) => (text === null ? miss() : hitFrom(full, text)))
      : fetchRemembering(memory, full, shared);

  const fetchRemembering = async (
    tier: Memory.MemoryTier<A>,
    full: string,
    shared: boolean,
  ): Promise<E.Either<CacheError, O.Option<A>>> => {
    // A shared read began before `since`, but no eviction of `full` happened in between:
    // an eviction detaches the read, so nobody joins it afterwards.
    const since = beginRead();
    try {
      const r = await readText(full, shared, right);
      if (E.isLeft(r)) return r;
      if (r.right === null) return miss();
      const d = decodeAt(full, r.right);
      if (E.isLeft(d)) return d;
      metrics.increment(C.redisHit);
      if (mayStore(full, since)) tier.set(full, d.right, Buffer.byteLength(r.right));
      // The stored (frozen) value is the one returned, as a later memory hit would return it.
      return E.right(O.some(d.right));
    } finally {
      endRead();
    }
  };

  /** An expired memory value that may stand in for Redis after `error`. */
  const staleFor = (full: string, error: CacheError): Memory.Hit<A> | undefined => {
    if (staleIfError === undefined || !isTransient(error)) return undefined;
    const hit = memory?.get(full);
    if (hit === undefined) return undefined;
    metrics.increment(C.stale);
    logger.warn(
      { namespace, key: full, error: error.message },
      'cache served a stale memory-tier value because Redis failed',
    );
    return hit;
  };

  const lookup = async (key: string): Promise<E.Either<CacheError, O.Option<Lookup<A>>>> => {
    if (gen === undefined) {
      const s = await start();
      if (E.isLeft(s)) return s;
    }
    const full = prefix + key;
    const hit = memory?.get(full);
    if (hit !== undefined && !hit.stale) {
      metrics.increment(C.memoryHit);
      return E.right(O.some({ value: hit.value, source: 'memory', stale: false }));
    }
    const r = await fetch(full);
    if (E.isRight(r))
      return E.right(
        O.isSome(r.right)
          ? O.some({ value: r.right.value, source: 'redis', stale: false })
          : O.none,
      );
    const stale = staleFor(full, r.left);
    return stale === undefined
      ? r
      : E.right(O.some({ value: stale.value, source: 'memory', stale: true }));
  };

  const getStarted = (key: string): Promise<E.Either<CacheError, O.Option<A>>> => {
    const full = prefix + key;
    if (memory === undefined) return fetch(full);
    const hit = memory.get(full);
    if (hit !== undefined && !hit.stale) {
      metrics.increment(C.memoryHit);
      // one frozen answer per entry serves every hit (the value itself is shared anyway)
      return Promise.resolve(
        (hit.answer ??= Object.freeze(E.right(Object.freeze(O.some(hit.value))))) as E.Either<
          CacheError,
          O.Option<A>
        >,
      );
    }
    return fetch(full).then((r) => {
      if (E.isRight(r)) return r;
      const stale = staleFor(full, r.left);
      return stale === undefined ? r : E.right(O.some(stale.value));
    });
  };
  // The hot path: no async layer of its own once the generation is known.
  const get = (key: string): Promise<E.Either<CacheError, O.Option<A>>> =>
    gen !== undefined ? getStarted(key) : start().then((s) => (E.isLeft(s) ? s : getStarted(key)));

  // ---- writes --------------------------------------------------------------------------------

  const encodeAt = (full: string, value: A): E.Either<EncodeError, string> => {
    try {
      return E.right(Wire.encode(value));
    } catch (e) {
      return E.left(new EncodeError(full, messageOf(e), { cause: e }));
    }
  };

  const setArgs = (ttl: number | undefined) => ttl ?? defaultTtl;

  /**
   * SET, then evict locally and everywhere (in that order: see InvalidationBus). With
   * `ifAbsent` (a loaded value written back) it is SET NX: a write made while `load` ran wins, and
   * nothing is evicted or remembered when the key was there.
   */
  const write = async (
    full: string,
    value: A,
    ttl: number | undefined,
    ifAbsent = false,
  ): Promise<E.Either<CacheError, void>> => {
    const text = encodeAt(full, value);
    if (E.isLeft(text)) return text;
    const px = setArgs(ttl);
    const r = await call('SET', () =>
      ifAbsent
        ? px === undefined
          ? redis.set(full, text.right, 'NX')
          : redis.set(full, text.right, 'PX', px, 'NX')
        : px === undefined
          ? redis.set(full, text.right)
          : redis.set(full, text.right, 'PX', px),
    );
    if (E.isLeft(r)) {
      // A SET that failed may still have landed (a timeout): later readers read afresh.
      reads.detach(full);
      return r;
    }
    if (r.right === null) return E.right(undefined); // NX: somebody wrote the key meanwhile
    evict(full);
    remember(full, text.right, px);
    const p = await publish([full]);
    return E.isLeft(p) ? p : E.right(undefined);
  };

  const started =
    <T>(f: () => Promise<E.Either<CacheError, T>>) =>
    (): Promise<E.Either<CacheError, T>> =>
      gen !== undefined ? f() : start().then((s) => (E.isLeft(s) ? s : f()));

  // ---- getOrSet ------------------------------------------------------------------------------

  /**
   * Runs `load` and writes its value back if the key is still absent (SET NX), so a `set` made
   * while `load` ran is not overwritten by the older loaded value; a failed write-back is logged,
   * the value returned.
   */
  const loadAndStore = async <Err>(
    full: string,
    load: TE.TaskEither<Err, A>,
    ttl: number | undefined,
  ): Promise<E.Either<CacheError | Err, A>> => {
    const loaded = await load();
    if (E.isLeft(loaded)) return loaded;
    metrics.increment(C.load);
    const w = await write(full, loaded.right, ttl, true);
    if (E.isLeft(w)) {
      if (w.left._tag === 'EncodeError') return w;
      logger.warn(
        { namespace, key: full, error: w.left.message },
        'cache could not write a loaded value back to Redis; returning it uncached',
      );
    }
    return E.right(loaded.right);
  };

  /** After Redis failed: a stale value, else `load` (the seed's fallback), else the error. */
  const degrade = async <Err>(
    full: string,
    error: CacheError,
    load: TE.TaskEither<Err, A>,
    ttl: number | undefined,
  ): Promise<E.Either<CacheError | Err, A>> => {
    const stale = staleFor(full, error);
    if (stale !== undefined) return E.right(stale.value);
    if (!isTransient(error)) return E.left(error);
    logger.warn(
      { namespace, key: full, error: error.message },
      'cache could not read Redis; loading the value instead',
    );
    return loadAndStore(full, load, ttl);
  };

  const waitForValue = (full: string, ms: number): Promise<void> =>
    sleep(ms, (wake) => {
      let set = waiters.get(full);
      if (set === undefined) waiters.set(full, (set = new Set()));
      const s = set;
      s.add(wake);
      return () => {
        s.delete(wake);
        if (s.size === 0) waiters.delete(full);
      };
    });

  const withLock = async <Err>(
    full: string,
    key: string,
    load: TE.TaskEither<Err, A>,
    ttl: number | undefined,
  ): Promise<E.Either<CacheError | Err, A>> => {
    const lockKey = lockPrefix + key;
    const me = Lock.token();
    const giveUpAt = clock.now() + lockWait;
    for (;;) {
      const got = await call('SET', () => Lock.acquire(redis, lockKey, me, lockTtl));
      if (E.isLeft(got)) return degrade(full, got.left, load, ttl);
      if (got.right) {
        try {
          // The previous owner may have written the value between our read and our lock.
          const again = await fetch(full, false);
          if (E.isRight(again) && O.isSome(again.right)) return E.right(again.right.value);
          return await loadAndStore(full, load, ttl);
        } finally {
          const released = await call('EVAL', () => Lock.releaseLock(redis, lockKey, me));
          if (E.isLeft(released))
            logger.warn(
              { namespace, key: lockKey, error: released.left.message },
              'cache could not release its lock; it expires by itself',
            );
        }
      }
      const left = giveUpAt - clock.now();
      if (left <= 0)
        return E.left(
          new TimeoutError(
            `Gave up waiting for the lock of ${full} after ${lockWait} ms`,
            lockWait,
          ),
        );
      await waitForValue(full, Math.min(lockPoll, left));
      const r = await fetch(full, false);
      if (E.isLeft(r)) return degrade(full, r.left, load, ttl);
      if (O.isSome(r.right)) return E.right(r.right.value);
    }
  };

  const fly = async <Err>(
    full: string,
    key: string,
    load: TE.TaskEither<Err, A>,
    ttl: number | undefined,
  ): Promise<E.Either<CacheError | Err, A>> => {
    const r = await fetch(full);
    if (E.isLeft(r)) return degrade(full, r.left, load, ttl);
    if (O.isSome(r.right)) return E.right(r.right.value);
    return lockOptions === undefined
      ? loadAndStore(full, load, ttl)
      : withLock(full, key, load, ttl);
  };

  const getOrSet = async <Err>(
    key: string,
    load: TE.TaskEither<Err, A>,
    ttl: number | undefined,
  ): Promise<E.Either<CacheError | Err, A>> => {
    if (gen === undefined) {
      const s = await start();
      if (E.isLeft(s)) {
        if (!isTransient(s.left)) return s;
        // The generation is unknown, so there is nowhere to write: answer from load, uncached.
        logger.warn(
          { namespace, error: s.left.message },
          'cache could not reach Redis; loading the value without caching it',
        );
        return load();
      }
    }
    const full = prefix + key;
    const hit = memory?.get(full);
    if (hit !== undefined && !hit.stale) {
      metrics.increment(C.memoryHit);
      return E.right(hit.value);
    }
    const flying = flights.get(full) as Promise<E.Either<CacheError | Err, A>> | undefined;
    if (flying !== undefined) return flying;
    const flight = fly(full, key, load, ttl).finally(() => {
      if (flights.get(full) === flight) flights.delete(full);
    });
    flights.set(full, flight);
    return flight;
  };

  // ---- batches -------------------------------------------------------------------------------

  /** MGET; on a Cluster one MGET per hash slot (CROSSSLOT otherwise), one pipeline per node. */
  const readMany = async (
    fulls: ReadonlyArray<string>,
  ): Promise<E.Either<RedisError, ReadonlyArray<string | null>>> => {
    if (!isCluster) return call('MGET', () => send<Array<string | null>>('mget', fulls));
    const bySlot = new Map<number, number[]>();
    fulls.forEach((full, i) => {
      const slot = calculateSlot(full);
      const group = bySlot.get(slot);
      if (group === undefined) bySlot.set(slot, [i]);
      else group.push(i);
    });
    const groups = [...bySlot.values()];
    const results = await call(
      'MGET',
      () =>
        pipelinePerNode(
          redis,
          groups,
          (g): KeyedCommand => ['mget', fulls[g[0]!]!, ...g.slice(1).map((i) => fulls[i]!)],
          client.options.commandTimeoutMs,
          'MGET',
        ),
      true,
    );
    if (E.isLeft(results)) return results;
    const values = new Array<string | null>(fulls.length);
    for (const [n, item] of results.right.entries()) {
      if (!item.ok) return E.left(item.error);
      const replies = item.value as ReadonlyArray<string | null>;
      groups[n]!.forEach((i, k) => (values[i] = replies[k] ?? null));
    }
    return E.right(values);
  };

  /** Decodes MGET replies into `out` at `at[n]` (or `n`); a hit goes to the memory tier. */
  const decodeMany = (
    out: Array<O.Option<A>>,
    fulls: ReadonlyArray<string>,
    texts: ReadonlyArray<string | null>,
    at: ReadonlyArray<number> | undefined,
    since: number,
  ): E.Either<CacheError, ReadonlyArray<O.Option<A>>> => {
    for (let n = 0; n < fulls.length; n++) {
      const text = texts[n] ?? null;
      const i = at === undefined ? n : at[n]!;
      if (text === null) {
        out[i] = O.none;
        continue;
      }
      const d = decodeAt(fulls[n]!, text);
      if (E.isLeft(d)) return d;
      if (memory !== undefined && mayStore(fulls[n]!, since))
        memory.set(fulls[n]!, d.right, Buffer.byteLength(text));
      out[i] = O.some(d.right);
    }
    return E.right(out);
  };

  const getMany = async (
    keys: ReadonlyArray<string>,
  ): Promise<E.Either<CacheError, ReadonlyArray<O.Option<A>>>> => {
    if (keys.length === 0) return E.right([]);
    const out = new Array<O.Option<A>>(keys.length);
    if (memory === undefined) {
      // Without a memory tier every key is read: no index bookkeeping.
      const fulls = keys.map((key) => prefix + key);
      const texts = await readMany(fulls);
      return E.isLeft(texts) ? texts : decodeMany(out, fulls, texts.right, undefined, 0);
    }
    const missing: number[] = [];
    keys.forEach((key, i) => {
      const hit = memory.get(prefix + key);
      if (hit !== undefined && !hit.stale) out[i] = O.some(hit.value);
      else missing.push(i);
    });
    if (keys.length > missing.length) metrics.increment(C.memoryHit, keys.length - missing.length);
    if (missing.length === 0) return E.right(out);
    const fulls = missing.map((i) => prefix + keys[i]!);
    const since = beginRead();
    try {
      const texts = await readMany(fulls);
      return E.isLeft(texts) ? texts : decodeMany(out, fulls, texts.right, missing, since);
    } finally {
      endRead();
    }
  };

  const setMany = async (
    entries: ReadonlyArray<readonly [string, A]>,
    ttl: number | undefined,
  ): Promise<E.Either<CacheError, void>> => {
    if (entries.length === 0) return E.right(undefined);
    const items: Array<{ full: string; text: string }> = [];
    for (const [key, value] of entries) {
      const full = prefix + key;
      const text = encodeAt(full, value);
      if (E.isLeft(text)) return text;
      items.push({ full, text: text.right });
    }
    const px = setArgs(ttl);
    const results = await call(
      'SET',
      () =>
        pipelinePerNode(
          redis,
          items,
          (x): KeyedCommand =>
            px === undefined ? ['set', x.full, x.text] : ['set', x.full, x.text, 'PX', px],
          client.options.commandTimeoutMs,
          'SET',
        ),
      true,
    );
    const failed = E.isLeft(results)
      ? results.left
      : results.right.find((x): x is Extract<typeof x, { ok: false }> => !x.ok)?.error;
    if (failed !== undefined) {
      // Some SETs may have landed: later readers of every key read afresh.
      for (const x of items) reads.detach(x.full);
      return E.left(failed);
    }
    for (const x of items) {
      evict(x.full);
      remember(x.full, x.text, px);
    }
    const p = await publish(items.map((x) => x.full));
    return E.isLeft(p) ? p : E.right(undefined);
  };

  // ---- the cache -----------------------------------------------------------------------------

  const ttlArg = (ttl: number | undefined): number | undefined => {
    positiveInt(ttl, 'ttlMs');
    return ttl;
  };

  return {
    namespace,
    get: (key) => () => get(key),
    getWithMeta: (key) => () => lookup(key),
    set: (key, value, ttl) => {
      const t = ttlArg(ttl);
      return started(() => write(prefix + key, value, t));
    },
    delete: (key) =>
      started(async () => {
        const full = prefix + key;
        const r = await call('DEL', () => redis.del(full));
        if (E.isLeft(r)) {
          reads.detach(full);
          return r;
        }
        evict(full);
        const p = await publish([full]);
        return E.isLeft(p) ? p : E.right(r.right > 0);
      }),
    has: (key) =>
      started(async () => {
        const full = prefix + key;
        const hit = memory?.get(full);
        if (hit !== undefined && !hit.stale) return E.right(true);
        const r = await call('EXISTS', () => redis.exists(full));
        return E.isLeft(r) ? r : E.right(r.right > 0);
      }),
    ttl: (key) =>
      started(async () => {
        const r = await call('PTTL', () => redis.pttl(prefix + key));
        if (E.isLeft(r)) return r;
        return E.right(r.right === -2 ? O.none : O.some(r.right === -1 ? Infinity : r.right));
      }),
    getOrSet: (key, load, ttl) => {
      const t = ttlArg(ttl);
      return () => getOrSet(key, load, t);
    },
    getMany: (keys) => started(() => getMany(keys)),
    setMany: (entries, ttl) => {
      const t = ttlArg(ttl);
      return started(() => setMany(entries, t));
    },
    clear: () => async () => {
      if (closed) return E.left(new ConnectionError('closed', `Cache ${namespace} is closed`));
      const g = await call('INCR', () => redis.incr(genKey));
      if (E.isLeft(g)) return g;
      if (gen === undefined || g.right > gen) setGen(g.right);
      flush('cleared');
      const p = await call('PUBLISH', () =>
        redis.publish(channel, Message.encode({ o: origin, g: g.right })),
      );
      return E.isLeft(p) ? p : E.right(undefined);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      gen = undefined;
      statusWatch.unsubscribe();
      memory?.clear();
      const b = bus;
      bus = undefined;
      b?.close();
    },
  };
};

// -------------------------------------------------------------------------------------
// combinators
// -------------------------------------------------------------------------------------

/**
 * A read-through lookup function: `readThrough(load)(cache)(key)` is
 * `cache.getOrSet(key, load(key), ttlMs)`.
 *
 * @param load loads the value of a key on a miss
 * @param ttlMs Redis TTL of loaded values (else the cache's)
 * @example
 * ```ts
 * const getUser = pipe(users, Cache.readThrough((id: string) => loadUserFromDatabase(id)));
 * await getUser('42')();
 * ```
 * @since 0.2.0
 */
export const readThrough =
  <E, A>(load: (key: string) => TE.TaskEither<E, A>, ttlMs?: number) =>
  (cache: Cache<A>) =>
  (key: string): TE.TaskEither<CacheError | E, A> =>
    cache.getOrSet(key, load(key), ttlMs);

// -------------------------------------------------------------------------------------
// destructors
// -------------------------------------------------------------------------------------

/**
 * The value of a lookup, dropping where it came from.
 *
 * @since 0.2.0
 */
export const value = <A>(lookup: O.Option<Lookup<A>>): O.Option<A> =>
  O.isSome(lookup) ? O.some(lookup.value.value) : O.none;

/**
 * Closes a cache (see {@link Cache.close}).
 *
 * @since 0.2.0
 */
export const close = <A>(cache: Cache<A>): Promise<void> => cache.close();
