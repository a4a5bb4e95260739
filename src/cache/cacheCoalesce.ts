/**
 * Read coalescing for a {@link Cache}: concurrent reads of one key share the read in flight for
 * it, as DataLoader does, so N callers asking for a hot key cost one GET, not N.
 *
 * Read-your-writes is kept by detaching: a write (or an invalidation, or a namespace clear)
 * removes the key's read from the table, so whoever arrives afterwards starts a fresh read that
 * was sent after the write completed; callers that joined before the write keep the older read,
 * as they would have with a GET of their own sent at that moment. A read also leaves the table
 * when it settles, so a settled reply is never served again: this is not a cache.
 *
 * What is shared is the read's promise. The cache shares the raw reply (the stored text) and
 * decodes it once per caller, so each caller gets a value of its own, exactly what an
 * uncoalesced GET would have given it, and no caller can see another's mutations.
 *
 * A read may be one key of a batch (the cache sends the reads of one tick as one MGET): the table
 * holds that key's own promise, so detaching a key leaves the batch and its other keys alone.
 *
 * @internal
 */

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The table of reads in flight that callers may join, by key. The caller that starts a read
 * `add`s it and calls `settle` when it settles (in its own handler, so sharing costs no promise
 * of its own); joiners attach their own handlers to the read, so it may reject.
 */
export interface Coalescer<T> {
  /** The read in flight for `key` that a caller may join, if any. */
  readonly get: (key: string) => Promise<T> | undefined;
  /** Shares `read` under `key` until it settles or is detached. */
  readonly add: (key: string, read: Promise<T>) => void;
  /** `read` settled: it leaves the table, unless a detach already gave its key to a newer read. */
  readonly settle: (key: string, read: Promise<T>) => void;
  /** Later callers of `key` start a fresh read; callers already sharing one keep it. */
  readonly detach: (key: string) => void;
  /** {@link Coalescer.detach} for every key. */
  readonly detachAll: () => void;
  /** Reads in flight that a caller may still join. */
  readonly size: number;
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/** Makes an empty coalescer. */
export const make = <T>(): Coalescer<T> => {
  const inFlight = new Map<string, Promise<T>>();
  return {
    get: (key) => inFlight.get(key),
    add: (key, read) => void inFlight.set(key, read),
    settle: (key, read) => {
      if (inFlight.get(key) === read) inFlight.delete(key);
    },
    detach: (key) => void inFlight.delete(key),
    detachAll: () => inFlight.clear(),
    get size() {
      return inFlight.size;
    },
  };
};
