/**
 * Helpers of the pub/sub integration tests: the two targets (the run's standalone server and
 * Cluster), what the server says about subscriptions (summed over every node of a Cluster, where
 * plain subscriptions are node-local), a JSON wire codec, and waiting for a source's status.
 */
import * as t from 'io-ts';
import { Cluster, Redis } from 'ioredis';
import { createRedis } from '../../../src/connection/createRedis';
import type { RedisClient } from '../../../src/connection/RedisClient';
import type { RedisOptionsInput } from '../../../src/config/types';
import type { SubscriptionStatus } from '../../../src/sources/fromChannel';
import { testClusterNodes, testRedisUrl } from '../../support/env';

export type Kind = 'standalone' | 'Cluster';

export const targets: Array<[Kind, (extra?: RedisOptionsInput) => RedisClient]> = [
  ['standalone', (extra = {}) => createRedis({ url: testRedisUrl(), ...extra })],
  [
    'Cluster',
    (extra = {}) =>
      createRedis({ cluster: testClusterNodes().map((n) => `${n.host}:${n.port}`), ...extra }),
  ],
];

/** Plain connections to every node of the target (one for standalone), for server-side checks. */
export const adminNodes = (kind: Kind): Redis[] =>
  kind === 'standalone'
    ? [new Redis(testRedisUrl())]
    : testClusterNodes().map((n) => new Redis({ host: n.host, port: n.port }));

/** A plain Cluster client, to publish as another application would. */
export const adminCommands = (kind: Kind): Redis | Cluster =>
  kind === 'standalone'
    ? new Redis(testRedisUrl())
    : new Cluster(testClusterNodes().map((n) => ({ host: n.host, port: n.port })));

const pairs = (reply: unknown): Map<string, number> => {
  const out = new Map<string, number>();
  const a = reply as unknown[];
  for (let i = 0; i + 1 < a.length; i += 2) out.set(String(a[i]), Number(a[i + 1]));
  return out;
};

/** PUBSUB NUMSUB (or SHARDNUMSUB) of `channels`, summed over `nodes`. */
export const numsub = async (
  nodes: ReadonlyArray<Redis>,
  channels: ReadonlyArray<string>,
  sharded = false,
): Promise<Record<string, number>> => {
  const sums: Record<string, number> = Object.fromEntries(channels.map((c) => [c, 0]));
  for (const node of nodes) {
    // a replica does not serve SHARDNUMSUB for its master's slots: count masters only there
    const reply = await node.call('PUBSUB', sharded ? 'SHARDNUMSUB' : 'NUMSUB', ...channels);
    for (const [c, n] of pairs(reply)) sums[c] = (sums[c] ?? 0) + n;
  }
  return sums;
};

/** PUBSUB CHANNELS `pattern` (or SHARDCHANNELS), merged over `nodes`. */
export const activeChannels = async (
  nodes: ReadonlyArray<Redis>,
  pattern: string,
  sharded = false,
): Promise<string[]> => {
  const all = new Set<string>();
  for (const node of nodes) {
    const reply = (await node.call('PUBSUB', sharded ? 'SHARDCHANNELS' : 'CHANNELS', pattern)) as
      string[] | null;
    for (const c of reply ?? []) all.add(String(c));
  }
  return [...all].sort();
};

/** A status callback plus a promise per status, to await `subscribed` etc. */
export const statusProbe = () => {
  const seen: SubscriptionStatus[] = [];
  const waiters: Array<{ s: SubscriptionStatus; n: number; resolve: () => void }> = [];
  const count = (s: SubscriptionStatus) => seen.filter((x) => x === s).length;
  return {
    seen,
    onStatus: (s: SubscriptionStatus) => {
      seen.push(s);
      for (const w of [...waiters])
        if (count(w.s) >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
    },
    /** Resolves once `s` was reported `n` times (default once). */
    reached: (s: SubscriptionStatus, n = 1) =>
      count(s) >= n
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ s, n, resolve })),
  };
};

export interface Order {
  readonly id: string;
  readonly total: number;
}

const isOrder = (u: unknown): u is Order =>
  typeof u === 'object' &&
  u !== null &&
  typeof (u as Order).id === 'string' &&
  typeof (u as Order).total === 'number';

/** An order as JSON: the wire form a codec for pub/sub has (`t.Type<A, string, unknown>`). */
export const OrderJson: t.Type<Order, string, unknown> = new t.Type<Order, string, unknown>(
  'OrderJson',
  isOrder,
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c, 'not a string');
    let v: unknown;
    try {
      v = JSON.parse(u);
    } catch {
      return t.failure(u, c, 'not JSON');
    }
    return isOrder(v) ? t.success(v) : t.failure(u, c, 'not an order');
  },
  (a) => JSON.stringify(a),
);
