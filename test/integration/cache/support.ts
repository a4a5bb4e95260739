/**
 * Shared fixture of the cache read suites: a client per topology (and one whose keys share a
 * hash tag, so multi-key commands stay in one Cluster slot), caches of fresh namespaces closed
 * and cleaned up after the suite, and command counts taken from the client's own metrics.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import type * as TE from 'fp-ts/TaskEither';
import { Cache, type RedisClient, type RedisOptionsInput } from '../../../src';
import { deleteKeys, uniquePrefix } from '../../support/env';

export const Item = t.type({ id: t.number, tags: t.array(t.string) }, 'Item');
export type Item = t.TypeOf<typeof Item>;

/** Runs a TaskEither; a Left fails the test with its message. */
export const right = async <L, A>(te: TE.TaskEither<L, A>): Promise<A> => {
  const r = await te();
  if (E.isLeft(r)) throw new Error(`expected Right, got Left: ${String(r.left)}`);
  return r.right;
};

/**
 * Registers `beforeAll`/`afterAll` for a suite on one topology; call it in the suite's body.
 *
 * @param name names the suite's key prefixes
 * @param make opens a client on the topology (see `topologies`)
 */
export const cacheReadsFixture = (
  name: string,
  make: (extra?: RedisOptionsInput) => RedisClient,
) => {
  const prefix = uniquePrefix(name);
  const tagged = uniquePrefix(name, { hashTag: true });
  const clients: { plain?: RedisClient; tagged?: RedisClient } = {};
  const caches: Array<Cache.Cache<Item>> = [];
  let n = 0;
  beforeAll(async () => {
    clients.plain = make({ instance: prefix });
    clients.tagged = make({ instance: tagged });
    await Promise.all([right(clients.plain.ready()), right(clients.tagged.ready())]);
  });
  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()));
    await deleteKeys(clients.plain!.redis, prefix);
    await deleteKeys(clients.tagged!.redis, tagged);
    await Promise.all([clients.plain!.close(), clients.tagged!.close()]);
  });
  /** The client whose keys spread over the slots. */
  const client = (): RedisClient => clients.plain!;
  return {
    client,
    /** The client whose keys all hash to one slot. */
    taggedClient: (): RedisClient => clients.tagged!,
    /** A fresh namespace, unless `options` names one; closed after the suite. */
    cache: (options: Partial<Cache.CacheOptions<Item>> = {}, on = client()): Cache.Cache<Item> => {
      const c = Cache.make({ client: on, codec: Item, namespace: `ns${n++}`, ...options });
      caches.push(c);
      return c;
    },
    /** Commands of each of `names` that `on` sent while `f` ran. */
    counting: async <T, N extends string>(
      names: ReadonlyArray<N>,
      f: () => Promise<T>,
      on = client(),
    ): Promise<{ sent: Record<N, number>; value: T }> => {
      const counts = () => names.map((c) => on.metrics.snapshot().commands[c]?.count ?? 0);
      const before = counts();
      const value = await f();
      const after = counts();
      const sent = Object.fromEntries(names.map((c, i) => [c, after[i]! - before[i]!]));
      return { sent: sent as Record<N, number>, value };
    },
  };
};
