/**
 * Pub/sub on a Cluster of its own whose nodes die: the node holding the plain subscriber
 * connection and the master serving a sharded channel's slot are killed (SIGKILL), their
 * replicas take over, and every source resubscribes by itself — the gap shows on each source's
 * status, and messages published after the failover arrive exactly once.
 */
import { Cluster, Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import type { Subscription } from 'rxjs';
import { createRedis } from '../../../src/connection/createRedis';
import type { RedisClient } from '../../../src/connection/RedisClient';
import { fromChannel } from '../../../src/sources/fromChannel';
import { fromPattern } from '../../../src/sources/fromPattern';
import { spawnCluster, type HostPort, type RedisCluster } from '../../support/cluster';
import { uniquePrefix, waitFor } from '../../support/env';
import { recordingLogger } from '../../../src/testing/recordingLogger';
import { statusProbe } from './support';

/** The node (of `nodes`) holding a connection subscribed to `channel` with SUBSCRIBE. */
const subscriberNode = async (nodes: ReadonlyArray<HostPort>, channel: string) => {
  for (const n of nodes) {
    const r = new Redis({ host: n.host, port: n.port, lazyConnect: true });
    try {
      await r.connect();
      const [, count] = (await r.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
      if (Number(count) > 0) return n;
    } finally {
      r.disconnect();
    }
  }
  throw new Error(`no node has a subscriber of ${channel}`);
};

/** The master (of `masters`) serving `key`'s slot. */
const ownerOf = async (cluster: RedisCluster, key: string): Promise<HostPort> => {
  const slot = calculateSlot(key);
  const [first] = await cluster.masters();
  const r = new Redis({ host: first!.host, port: first!.port });
  try {
    const shards = (await r.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    const [, , [host, port]] = shards.find(([from, to]) => slot >= from && slot <= to)!;
    return { host, port: Number(port) };
  } finally {
    r.disconnect();
  }
};

/** Publishes once, trying again while the Cluster is still failing over (CLUSTERDOWN, moved). */
const publishOnce = async (
  admin: Cluster,
  command: 'publish' | 'spublish',
  channel: string,
  message: string,
): Promise<void> => {
  await waitFor(
    async () => {
      try {
        await (command === 'publish'
          ? admin.publish(channel, message)
          : admin.call('SPUBLISH', channel, message));
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 20_000, message: `${command} ${channel} after the failover` },
  );
};

describe('pub/sub on a Cluster whose nodes die', () => {
  let cluster: RedisCluster;
  let client: RedisClient | undefined;
  let admin: Cluster | undefined;

  beforeAll(async () => {
    cluster = await spawnCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1000 });
  }, 90_000);
  afterAll(async () => {
    await client?.close({ timeoutMs: 1000 });
    admin?.disconnect();
    await cluster?.stop();
  });

  it('resubscribes plain, pattern and sharded sources after failovers, showing the gap', async () => {
    const prefix = uniquePrefix('psc');
    const logger = recordingLogger();
    client = createRedis({
      logger,
      cluster: cluster.startupNodes.map((n) => `${n.host}:${n.port}`),
      instance: prefix,
      reconnectMaxDelayMs: 100,
    });
    admin = new Cluster([...cluster.startupNodes], { clusterRetryStrategy: () => 100 });
    const probes = { channel: statusProbe(), pattern: statusProbe(), sharded: statusProbe() };
    const got = { channel: [] as string[], pattern: [] as string[], sharded: [] as string[] };
    const ended: string[] = [];
    const end = (what: string) => ({
      error: (e: unknown) => ended.push(`${what} failed: ${String(e)}`),
      complete: () => ended.push(`${what} completed`),
    });
    const subs: Subscription[] = [
      fromChannel(client, 'events', { onStatus: probes.channel.onStatus }).subscribe({
        next: (m) => got.channel.push(m.message),
        ...end('channel'),
      }),
      fromPattern(client, 'ev*', { onStatus: probes.pattern.onStatus }).subscribe({
        next: (m) => got.pattern.push(m.message),
        ...end('pattern'),
      }),
    ];
    await Promise.all([probes.channel, probes.pattern].map((p) => p.reached('subscribed')));

    // Only one master may die (a failover needs a majority of masters alive), and it must take
    // the plain subscriber connection and the sharded channel with it: the sharded channel is
    // picked on the plain subscriber's node when that is a master, and the node is killed too
    // when it is a replica.
    const plainNode = await subscriberNode(cluster.startupNodes, `${prefix}events`);
    const masters = (await cluster.masters()).map((m) => m.port);
    let shard = 'orders';
    if (masters.includes(plainNode.port))
      for (let i = 0; (await ownerOf(cluster, `${prefix}${shard}`)).port !== plainNode.port; i++)
        shard = `orders-${i}`;
    const victims = new Set([(await ownerOf(cluster, `${prefix}${shard}`)).port, plainNode.port]);
    subs.push(
      fromChannel(client, shard, { sharded: true, onStatus: probes.sharded.onStatus }).subscribe({
        next: (m) => got.sharded.push(m.message),
        ...end('sharded'),
      }),
    );
    const all = Object.values(probes);
    await probes.sharded.reached('subscribed');
    await publishOnce(admin, 'publish', `${prefix}events`, 'before');
    await publishOnce(admin, 'spublish', `${prefix}${shard}`, 'before');
    await waitFor(
      () => got.channel.length === 1 && got.pattern.length === 1 && got.sharded.length === 1,
      { message: 'messages before the failover' },
    );

    await Promise.all([...victims].map((port) => cluster.kill(port)));
    await Promise.all(all.map((p) => p.reached('reconnecting')));
    await Promise.all(all.map((p) => p.reached('subscribed', 2)));
    await waitFor(
      async () => {
        try {
          await cluster.waitForHealthy({ timeoutMs: 1000 });
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, message: 'the replicas took over' },
    );

    await publishOnce(admin, 'publish', `${prefix}events`, 'after');
    await publishOnce(admin, 'spublish', `${prefix}${shard}`, 'after');
    await waitFor(
      () => got.channel.length === 2 && got.pattern.length === 2 && got.sharded.length === 2,
      { timeoutMs: 10_000, message: 'messages after the failover' },
    );
    // nothing more trickles in (a duplicate subscription would deliver twice)
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual({
      channel: ['before', 'after'],
      pattern: ['before', 'after'],
      sharded: ['before', 'after'],
    });
    // every source showed the gap and came back; a subscriber that ioredis placed on a node while
    // the slots were still settling may be moved once more (a second gap, shown as such)
    for (const [name, p] of Object.entries(probes))
      expect(`${name}: ${p.seen.join(' ')}`).toMatch(
        new RegExp(`^${name}: subscribing subscribed( reconnecting subscribed)+$`),
      );
    expect(ended).toEqual([]);
    // ioredis retries a lost shard every few milliseconds until the failover: the same error is
    // logged once per window with a count, not hundreds of times
    const errorLines = logger.lines.filter((l) => l.msg === 'redis connection error');
    expect(errorLines.length).toBeLessThan(10);
    subs.forEach((s) => s.unsubscribe());
  }, 120_000);
});
