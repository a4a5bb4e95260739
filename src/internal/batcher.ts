/**
 * Batches the calls of one tick into one command per group (DataLoader-style): the cache sends
 * the Redis-tier reads of one tick, and the session store the reads and touches an app makes
 * concurrently, as one `MGET` or one script call per Cluster slot (one in all on a standalone
 * server) instead of one command each. ioredis' cost
 * per command (a `Command`, a promise, a trace) is paid once per batch, and the server parses
 * one command. Flushed on `process.nextTick`, as ioredis flushes its auto-pipeline, so no call
 * waits longer than it would have anyway.
 *
 * Callback-based on purpose: a batch resolves a hundred items, and a promise per item (plus one
 * per layer above it) was a measurable share of a session read; the store wraps the callback in
 * a `TaskEither` once, at its public boundary.
 *
 * @internal
 */

/** Sends one group of items; resolves one result per item, in order. */
export type RunBatch<I, R> = (items: ReadonlyArray<I>) => Promise<ReadonlyArray<R>>;

/** Receives one item's outcome: an error, or its result. */
export type Done<R> = (error: unknown, result?: R) => void;

/** Rethrows on its own tick, where an error thrown by a callback would have gone anyway. */
const rethrowLater = (thrown: unknown): void =>
  process.nextTick(() => {
    throw thrown;
  });

/**
 * A function that queues `item` and calls `done` once its group was sent and answered.
 *
 * @param run sends one group (at most `maxSize` items, all with the same `groupOf`)
 * @param groupOf items of one group may be sent together (their Cluster slot); `undefined` when
 *   every item may go with every other (a standalone server)
 * @param maxSize most items per call
 * @param onThrow receives what a `done` throws, so it neither keeps the other items of the batch
 *   from their answers nor disappears
 * @defaultValue onThrow rethrows on the next tick (an uncaught exception, as in any callback)
 */
export const batcher = <I, R>(
  run: RunBatch<I, R>,
  groupOf: ((item: I) => string) | undefined,
  maxSize: number,
  onThrow: (thrown: unknown) => void = rethrowLater,
): ((item: I, done: Done<R>) => void) => {
  const settle = (done: Done<R>, error: unknown, result?: R): void => {
    try {
      done(error, result);
    } catch (thrown) {
      onThrow(thrown);
    }
  };
  let items: I[] = [];
  let dones: Array<Done<R>> = [];

  const send = (part: ReadonlyArray<I>, partDone: ReadonlyArray<Done<R>>): void => {
    run(part).then(
      (results) => {
        for (let i = 0; i < partDone.length; i++) {
          if (i < results.length) settle(partDone[i]!, undefined, results[i]);
          else settle(partDone[i]!, new Error('no reply for item'));
        }
      },
      (e: unknown) => {
        for (const d of partDone) settle(d, e);
      },
    );
  };

  const sendInChunks = (part: ReadonlyArray<I>, partDone: ReadonlyArray<Done<R>>): void => {
    if (part.length <= maxSize) return send(part, partDone);
    for (let i = 0; i < part.length; i += maxSize) {
      send(part.slice(i, i + maxSize), partDone.slice(i, i + maxSize));
    }
  };

  const flush = (): void => {
    const taken = items;
    const takenDone = dones;
    items = [];
    dones = [];
    if (groupOf === undefined) return sendInChunks(taken, takenDone);
    const groups = new Map<string, { items: I[]; dones: Array<Done<R>> }>();
    for (let i = 0; i < taken.length; i++) {
      const key = groupOf(taken[i]!);
      const group = groups.get(key);
      if (group === undefined) groups.set(key, { items: [taken[i]!], dones: [takenDone[i]!] });
      else {
        group.items.push(taken[i]!);
        group.dones.push(takenDone[i]!);
      }
    }
    for (const group of groups.values()) sendInChunks(group.items, group.dones);
  };

  return (item, done) => {
    if (items.length === 0) process.nextTick(flush);
    items.push(item);
    dones.push(done);
  };
};
