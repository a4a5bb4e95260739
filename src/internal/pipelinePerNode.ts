/**
 * One round trip per node for a batch of keyed commands, results back in input order.
 *
 * On a Cluster, an ioredis pipeline may only hold keys served by one node, so the batch is split
 * by the master that owns each key's slot and the parts are sent in parallel. On a standalone
 * or Sentinel connection the whole batch is one pipeline. A command that fails gets its own
 * error; a part whose round trip fails as a whole (connection lost) gives that error to each of
 * its items, and the other parts are unaffected.
 *
 * @internal
 */
import { Cluster, type ChainableCommander } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import type { Commands } from '../connection/RedisClient';
import { toRedisError, type RedisError } from '../errors';

/** The outcome of one item: its reply, or its own error. */
export type ItemResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: RedisError };

/**
 * Splits item indices by the node that serves their key; one group when not a Cluster. Each key's
 * slot is calculated once; groups come in the order of their first item.
 */
export const groupByNode = <T>(
  redis: Commands,
  items: ReadonlyArray<T>,
  keyOf: (item: T) => string,
): number[][] => {
  if (!(redis instanceof Cluster) || items.length === 0) return [items.map((_, i) => i)];
  const slots = redis.slots;
  const groups = new Map<string, number[]>();
  for (let i = 0; i < items.length; i++) {
    const slot = calculateSlot(keyOf(items[i]!));
    // An unknown slot (topology not loaded yet) gets its own group; ioredis routes it.
    const node = slots[slot]?.[0] ?? `slot:${slot}`;
    const group = groups.get(node);
    if (group === undefined) groups.set(node, [i]);
    else group.push(i);
  }
  return [...groups.values()];
};

/**
 * Sends `items` as one pipeline per node and returns one {@link ItemResult} per item, in input
 * order. Never rejects.
 *
 * @param redis the client's command connection
 * @param items what to send
 * @param keyOf the key that decides the node of an item's command
 * @param add queues the item's command(s) on the pipeline; exactly one command per item
 * @param command the command's name, for error messages
 */
export const pipelinePerNode = async <T>(
  redis: Commands,
  items: ReadonlyArray<T>,
  keyOf: (item: T) => string,
  add: (pipeline: ChainableCommander, item: T) => void,
  command?: string,
): Promise<ItemResult[]> => {
  const results = new Array<ItemResult>(items.length);
  await Promise.all(
    groupByNode(redis, items, keyOf).map(async (indices) => {
      const pipeline = redis.pipeline();
      for (const i of indices) add(pipeline, items[i]!);
      try {
        const replies = (await pipeline.exec()) ?? [];
        for (let n = 0; n < indices.length; n++) {
          const reply = replies[n];
          const error = reply === undefined ? new Error('no reply') : reply[0];
          results[indices[n]!] = error
            ? { ok: false, error: toRedisError(error, command) }
            : { ok: true, value: reply![1] };
        }
      } catch (e) {
        // the round trip failed as a whole (connection lost): each of its items gets the error
        const error = toRedisError(e, command);
        for (const i of indices) results[i] = { ok: false, error };
      }
    }),
  );
  return results;
};
