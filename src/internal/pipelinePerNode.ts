/**
 * One round trip per node for a batch of keyed commands, results back in input order: used by
 * batchPipeline, deadLetter, toStream, the cache's getMany/setMany on a Cluster and the session
 * store.
 *
 * On a Cluster a round trip reaches one node, so the batch is split by the master that owns each
 * key's slot and the parts are sent in parallel, each on that master's own connection (a
 * redirection is followed through the Cluster). On a standalone or Sentinel connection the whole
 * batch is one write. Batches on a single connection go out without ioredis' `Pipeline` (see
 * sendBatch.ts). A command that fails gets its own error; a part whose round trip fails as a
 * whole (connection lost) gives that error to each of its items, and the other parts are
 * unaffected.
 *
 * @internal
 */
import { Cluster, Command, type ChainableCommander, type Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import type { Commands } from '../connection/RedisClient';
import { commandTimedOut } from '../connection/commandTimeout';
import { toRedisError, type RedisError } from '../errors';
import { sendBatch, type Reply } from './sendBatch';

/**
 * One command: its name, the key it works on (which routes it on a Cluster), then its other
 * arguments. The public form is `BatchCommand`.
 */
export type KeyedCommand = readonly [
  command: string,
  key: string,
  ...args: ReadonlyArray<string | number | Buffer>,
];

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
 * Sends one command per item, as one batch per node (see {@link sendPerNode}), and returns one
 * {@link ItemResult} per item, in input order. Never rejects.
 *
 * @param redis the client's command connection
 * @param items what to send
 * @param commandOf the item's command; its key (the first argument) routes it on a Cluster, and
 *   any other keys it names must share that key's slot
 * @param timeoutMs the client's command timeout
 * @param command the command's name, for error messages
 */
export const pipelinePerNode = <T>(
  redis: Commands,
  items: ReadonlyArray<T>,
  commandOf: (item: T) => KeyedCommand,
  timeoutMs: number,
  command?: string,
): Promise<ItemResult[]> =>
  new Promise((resolve) =>
    sendPerNode(redis, items.map(commandOf), undefined, timeoutMs, (replies) =>
      resolve(
        replies.map((reply): ItemResult => {
          const error = reply === undefined ? new Error('no reply') : reply[0];
          return error
            ? { ok: false, error: toRedisError(error, command) }
            : { ok: true, value: reply![1] };
        }),
      ),
    ),
  );

/** The ioredis command for `command` with its key replaced, as a pipeline's `call` would make it. */
const commandOf = (command: KeyedCommand, key: string): Command => {
  const args: Array<string | number | Buffer> = [key];
  for (let a = 2; a < command.length; a++) args.push(command[a]!);
  return new Command(command[0], args, { replyEncoding: 'utf8' });
};

/** Queues one command with its key replaced; the common short shapes without an array copy. */
const queue = (pipeline: ChainableCommander, command: KeyedCommand, key: string): void => {
  switch (command.length) {
    case 2:
      pipeline.call(command[0], key);
      return;
    case 3:
      pipeline.call(command[0], key, command[2]!);
      return;
    case 4:
      pipeline.call(command[0], key, command[2]!, command[3]!);
      return;
    default:
      pipeline.call(command[0], key, ...command.slice(2));
  }
};

/**
 * Sends the commands at `indices` (all of them when undefined) as one batch on `redis`: on a
 * single connection in one write (see {@link sendBatch}), through a Cluster as an ioredis
 * pipeline. Calls `done` with the replies, in the order of `indices` (ioredis' replies as they
 * are, errors not mapped yet). Never throws: a round trip that fails as a whole (connection
 * lost) gives each of its commands the error.
 */
const sendPart = (
  redis: Commands,
  commands: ReadonlyArray<KeyedCommand>,
  keys: ReadonlyArray<string> | undefined,
  indices: ReadonlyArray<number> | undefined,
  done: (replies: ReadonlyArray<Reply>) => void,
): void => {
  const count = indices === undefined ? commands.length : indices.length;
  const failAll = (e: unknown): void => {
    const reply: Reply = [e, undefined];
    done(Array.from({ length: count }, () => reply));
  };
  if (!(redis instanceof Cluster)) {
    const batch = new Array<Command>(count);
    try {
      for (let n = 0; n < count; n++) {
        const i = indices === undefined ? n : indices[n]!;
        const command = commands[i]!;
        batch[n] = commandOf(command, keys === undefined ? command[1] : keys[i]!);
      }
    } catch (e) {
      return failAll(e); // nothing was sent
    }
    return sendBatch(redis, batch, done);
  }
  let sent: Promise<ReadonlyArray<Reply> | null>;
  try {
    const pipeline = redis.pipeline();
    for (let n = 0; n < count; n++) {
      const i = indices === undefined ? n : indices[n]!;
      const command = commands[i]!;
      queue(pipeline, command, keys === undefined ? command[1] : keys[i]!);
    }
    sent = pipeline.exec();
  } catch (e) {
    return failAll(e);
  }
  sent.then((replies) => done(replies ?? []), failAll);
};

/**
 * {@link sendPart} on a master's own connection, doing what the Cluster pipeline would otherwise
 * do: a command answered with a redirection (MOVED, ASK, TRYAGAIN, CLUSTERDOWN) is sent again
 * through the Cluster, which follows it and refreshes its slot table; and the part times out
 * after the client's command timeout (the client times out what goes through the Cluster; this is
 * the node's own connection), its commands' late replies ignored.
 */
const sendDirect = (
  cluster: Cluster,
  master: Commands,
  timeoutMs: number,
  commands: ReadonlyArray<KeyedCommand>,
  keys: ReadonlyArray<string> | undefined,
  indices: ReadonlyArray<number>,
  done: (replies: ReadonlyArray<Reply>) => void,
): void => {
  let settled = false;
  const timer = setTimeout(() => {
    settled = true;
    const reply: Reply = [commandTimedOut(), undefined];
    done(indices.map(() => reply));
  }, timeoutMs);
  // a pending part keeps the process alive through its connection, not through this timer
  timer.unref();
  sendPart(master, commands, keys, indices, (replies) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    let again: number[] | undefined; // command indices to send through the Cluster
    let at: number[] | undefined; // and where their replies go in `replies`
    for (let n = 0; n < replies.length; n++)
      if (isRedirection(replies[n]?.[0])) {
        (again ??= []).push(indices[n]!);
        (at ??= []).push(n);
      }
    if (again === undefined) return done(replies);
    const merged = replies.slice();
    sendPart(cluster, commands, keys, again, (retried) => {
      for (let k = 0; k < at!.length; k++) merged[at![k]!] = retried[k];
      done(merged);
    });
  });
};

/**
 * Sends `commands` as one batch per node — one write on a single connection; on a Cluster one
 * part per master, on that master's own connection when it is ready (see
 * {@link masterConnection}), else through the Cluster — and calls `done` once with ioredis'
 * replies (no object per command), one per command in input order. Never throws.
 *
 * @param redis the client's command connection
 * @param commands what to send; each one's key (its first argument) routes it
 * @param keys the keys to send instead of the commands' own (prefixed ones), by index
 * @param timeoutMs the command timeout, for a part sent on a master's own connection
 */
export const sendPerNode = (
  redis: Commands,
  commands: ReadonlyArray<KeyedCommand>,
  keys: ReadonlyArray<string> | undefined,
  timeoutMs: number,
  done: (replies: ReadonlyArray<Reply>) => void,
): void => {
  if (!(redis instanceof Cluster) || commands.length === 0)
    return sendPart(redis, commands, keys, undefined, done);
  const groups =
    keys === undefined
      ? splitByNode(redis, commands, (c) => c[1])
      : splitByNode(redis, keys, (k) => k);
  const replies = new Array<Reply>(commands.length);
  let left = groups.size;
  for (const [node, indices] of groups) {
    const fill = (part: ReadonlyArray<Reply>): void => {
      for (let n = 0; n < indices.length; n++) replies[indices[n]!] = part[n];
      if (--left === 0) done(replies);
    };
    const master = masterConnection(redis, node);
    if (master === undefined) sendPart(redis, commands, keys, indices, fill);
    else sendDirect(redis, master, timeoutMs, commands, keys, indices, fill);
  }
};
