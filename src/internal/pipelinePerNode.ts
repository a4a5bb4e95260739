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
import { Cluster, type ChainableCommander, type Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import type { Commands } from '../connection/RedisClient';
import { toRedisError, type RedisError } from '../errors';

/** The outcome of one item: its reply, or its own error. */
export type ItemResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: RedisError };

/**
 * Splits item indices by the node that serves their key: master `host:port` → indices, or
 * `slot:<n>` for a slot whose node is not known yet (ioredis routes those). One slot calculation
 * per key; groups come in the order of their first item. Only for a Cluster.
 */
export const splitByNode = <T>(
  redis: Cluster,
  items: ReadonlyArray<T>,
  keyOf: (item: T) => string,
): Map<string, number[]> => {
  const slots = redis.slots;
  const groups = new Map<string, number[]>();
  for (let i = 0; i < items.length; i++) {
    const slot = calculateSlot(keyOf(items[i]!));
    const node = slots[slot]?.[0] ?? `slot:${slot}`;
    const group = groups.get(node);
    if (group === undefined) groups.set(node, [i]);
    else group.push(i);
  }
  return groups;
};

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
  return [...splitByNode(redis, items, keyOf).values()];
};

/** Per Cluster, its masters' connections by `host:port` (the form of the slot table's entries). */
const mastersOf = new WeakMap<Cluster, Map<string, Redis>>();

/**
 * The ready connection of the master `node` (`host:port`) of `cluster`, to send a pipeline to it
 * directly; `undefined` when the Cluster or that connection is not ready (or the node is not
 * known), so the caller goes through the Cluster instead.
 *
 * A pipeline on the node's own connection skips what a Cluster pipeline does per command — find
 * each command's slot again, check they share a node, route it through the Cluster — about a
 * fifth of the cost of a batch of SETs. Redirections are then the caller's: see
 * {@link isRedirection}.
 */
export const masterConnection = (cluster: Cluster, node: string): Redis | undefined => {
  if (cluster.status !== 'ready') return undefined;
  let masters = mastersOf.get(cluster);
  let redis = masters?.get(node);
  if (redis === undefined || redis.status !== 'ready') {
    // a node that joined, or a connection replaced after a topology change
    masters = new Map(
      cluster.nodes('master').map((r) => [`${r.options.host}:${r.options.port}`, r]),
    );
    mastersOf.set(cluster, masters);
    redis = masters.get(node);
  }
  return redis?.status === 'ready' ? redis : undefined;
};

/**
 * Whether a command's error reply means "not here, not now" in a Cluster (MOVED, ASK, TRYAGAIN,
 * CLUSTERDOWN): a command sent straight to a node that answers this is sent again through the
 * Cluster, which follows the redirection and refreshes its slot table.
 */
export const isRedirection = (error: unknown): boolean =>
  error instanceof Error && /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /.test(error.message);

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
