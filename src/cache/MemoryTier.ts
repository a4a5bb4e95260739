/**
 * The memory tier of a {@link Cache}: an LRU (lru-cache) of decoded values in front of Redis,
 * bounded by entries or bytes, with a freshness TTL and an optional grace period during which an
 * expired value may still be served as stale when Redis fails.
 *
 * @internal
 */
import { LRUCache } from 'lru-cache';

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * Options of the memory tier. Give `maxEntries`, `maxBytes` or both.
 *
 * @since 0.2.0
 */
export interface MemoryOptions {
  /** Most entries kept (least recently used go first). */
  readonly maxEntries?: number;
  /** Most bytes kept, counting each entry as the UTF-8 size of its wire form. */
  readonly maxBytes?: number;
  /** How long an entry is fresh; never longer than the TTL it was written to Redis with. */
  readonly ttlMs: number;
  /**
   * Deep-freeze cached objects and arrays, so a caller mutating a value it got cannot change what
   * the next caller gets. Maps and Dates cannot be frozen: do not mutate them.
   * @defaultValue true
   */
  readonly freeze?: boolean;
}

/** A clock, as lru-cache's `perf` option: milliseconds, monotonic. */
export interface Clock {
  now(): number;
}

/** What the tier holds for a key: the value and whether its freshness TTL has passed. */
export interface Hit<A> {
  readonly value: A;
  readonly stale: boolean;
  /**
   * A slot the tier's owner may fill with what it makes of this hit (the cache keeps its
   * `Right(Some(value))` here, so a fresh hit allocates nothing). Lives as long as the entry.
   */
  answer?: unknown;
}

/** A stored entry: handed out as the hit itself while fresh (no allocation per hit). */
interface Entry<A> extends Hit<A> {
  readonly stale: false;
  readonly freshUntil: number;
}

export interface MemoryTier<A> {
  /** The entry, fresh or (within the grace period) stale; `undefined` when absent. */
  get(key: string): Hit<A> | undefined;
  /** Stores `value`, fresh for `min(ttlMs, options.ttlMs)`; `bytes` is its wire size. */
  set(key: string, value: A, bytes: number, ttlMs?: number): void;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

const deepFreeze = <A>(value: A): A => {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (value instanceof Map || value instanceof Set || value instanceof Date) return value;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
};

const positive = (n: number | undefined, name: string): void => {
  if (n !== undefined && !(Number.isInteger(n) && n > 0))
    throw new TypeError(`memory.${name} must be a positive integer`);
};

/**
 * Makes a memory tier.
 *
 * @param options see {@link MemoryOptions}
 * @param graceMs how long past freshness an entry is kept for `staleIfError` (0: not kept)
 * @param clock the time source (tests inject one)
 * @throws TypeError when neither `maxEntries` nor `maxBytes` is given, or a number is invalid
 */
export const make = <A>(
  options: MemoryOptions,
  graceMs: number,
  clock: Clock = performance,
): MemoryTier<A> => {
  const { maxEntries, maxBytes, ttlMs, freeze = true } = options;
  positive(maxEntries, 'maxEntries');
  positive(maxBytes, 'maxBytes');
  positive(ttlMs, 'ttlMs');
  if (maxEntries === undefined && maxBytes === undefined)
    throw new TypeError(
      'memory needs maxEntries or maxBytes: an unbounded tier would grow forever',
    );
  const lru = new LRUCache<string, Entry<A>>({
    // 0: no count limit (maxBytes bounds it)
    max: maxEntries ?? 0,
    ...(maxBytes !== undefined ? { maxSize: maxBytes } : {}),
    ttl: ttlMs + graceMs,
    perf: clock,
    // lru-cache caches the time for 1 ms of real time; an injected clock is the caller's own time.
    ttlResolution: clock === performance ? 1 : 0,
    updateAgeOnGet: false,
  });
  return {
    get(key) {
      const e = lru.get(key);
      // Without a grace period lru-cache's own TTL is the freshness (to its 1 ms resolution):
      // what it returns is fresh, and no clock is read.
      if (e === undefined || graceMs === 0 || clock.now() < e.freshUntil) return e;
      return { value: e.value, stale: true };
    },
    set(key, value, bytes, ttl) {
      const fresh = ttl === undefined ? ttlMs : Math.min(ttl, ttlMs);
      const entry: Entry<A> = {
        value: freeze ? deepFreeze(value) : value,
        stale: false,
        freshUntil: clock.now() + fresh,
        answer: undefined,
      };
      // An entry larger than maxBytes is not stored (lru-cache refuses it), like any miss.
      lru.set(
        key,
        entry,
        maxBytes !== undefined
          ? { ttl: fresh + graceMs, size: Math.max(1, bytes) }
          : { ttl: fresh + graceMs },
      );
    },
    delete: (key) => void lru.delete(key),
    clear: () => lru.clear(),
    get size() {
      return lru.size;
    },
  };
};
