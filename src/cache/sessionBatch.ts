/**
 * Batches the calls of one tick into one call per group (DataLoader-style): the session store
 * sends the `get`s and `touch`es an app makes concurrently as one script call per Cluster slot
 * (one call in all on a standalone server) instead of one command each. Flushed on
 * `process.nextTick`, as ioredis flushes its auto-pipeline, so no call waits longer than it
 * would have anyway.
 *
 * @internal
 */

/** Sends one group of items; resolves one result per item, in order. */
export type RunBatch<I, R> = (items: ReadonlyArray<I>) => Promise<ReadonlyArray<R>>;

interface Pending<I, R> {
  readonly item: I;
  readonly resolve: (r: R) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * A function that queues `item` and resolves with its result once its group was sent.
 *
 * @param run sends one group (at most `maxSize` items, all with the same `groupOf`)
 * @param groupOf items of one group may be sent together (their Cluster slot)
 * @param maxSize most items per call
 */
export const batcher = <I, R>(
  run: RunBatch<I, R>,
  groupOf: (item: I) => string,
  maxSize: number,
): ((item: I) => Promise<R>) => {
  let queue: Array<Pending<I, R>> = [];

  const send = (part: ReadonlyArray<Pending<I, R>>): void => {
    run(part.map((p) => p.item)).then(
      (results) =>
        part.forEach((p, i) =>
          i < results.length ? p.resolve(results[i]!) : p.reject(new Error('no reply for item')),
        ),
      (e: unknown) => part.forEach((p) => p.reject(e)),
    );
  };

  const flush = (): void => {
    const taken = queue;
    queue = [];
    const groups = new Map<string, Array<Pending<I, R>>>();
    for (const p of taken) {
      const key = groupOf(p.item);
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [p]);
      else group.push(p);
    }
    for (const group of groups.values()) {
      for (let i = 0; i < group.length; i += maxSize) send(group.slice(i, i + maxSize));
    }
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      if (queue.length === 0) process.nextTick(flush);
      queue.push({ item, resolve, reject });
    });
};
