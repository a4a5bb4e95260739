/**
 * The Cluster keyspace hub following topology changes, with real servers standing in for the
 * masters: the hub reads masters from the Cluster's `nodes('master')` and re-reads them on its
 * `refresh` events, which a stand-in Cluster drives here (a real failover needs a Cluster of its
 * own and takes seconds of gossip). A new master gets subscribed; a node that stops being a
 * master is dropped, so its events are never delivered twice.
 */
import { EventEmitter } from 'node:events';
import { Redis, type Cluster } from 'ioredis';
import { createRedis } from '../../../src/connection/createRedis';
import type { RedisClient } from '../../../src/connection/RedisClient';
import { KeyspaceHub } from '../../../src/internal/keyspaceCluster';
import { spawnRedis, type RedisServer } from '../../support/redisProcess';
import { testRedisUrl, waitFor } from '../../support/env';
import { statusProbe } from './support';

describe('keyspace hub on a changing topology', () => {
  let a: RedisServer;
  let b: RedisServer;
  let ra: Redis;
  let rb: Redis;
  let client: RedisClient;

  beforeAll(async () => {
    const args = ['--notify-keyspace-events', 'K$'];
    [a, b] = await Promise.all([
      spawnRedis({ name: 'ks-a', args }),
      spawnRedis({ name: 'ks-b', args }),
    ]);
    ra = new Redis({ host: a.host, port: a.port });
    rb = new Redis({ host: b.host, port: b.port });
    client = createRedis({ url: testRedisUrl(), clientName: 'hub' }); // options, logger, close
  });
  afterAll(async () => {
    await client.close();
    await Promise.all([ra.quit(), rb.quit()]);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('subscribes a new master, drops a demoted one', async () => {
    let masters: Redis[] = [ra];
    const cluster = Object.assign(new EventEmitter(), { nodes: () => masters });
    const hub = new KeyspaceHub(client, cluster as unknown as Cluster);
    const keys: string[] = [];
    const probe = statusProbe();
    const release = hub.watch('__keyspace@0__:t:*', {
      message: (channel) => keys.push(channel.slice('__keyspace@0__:'.length)),
      status: probe.onStatus,
      error: (e) => keys.push(`error ${e.message}`),
      closed: () => keys.push('closed'),
    });
    await probe.reached('subscribed');
    expect(hub.nodes).toEqual([`${a.host}:${a.port}`]);
    await ra.set('t:a1', 'v');
    await rb.set('t:b1', 'v'); // b is not a master yet
    await waitFor(() => keys.includes('t:a1'));

    masters = [ra, rb]; // b joins
    cluster.emit('refresh');
    await probe.reached('subscribed', 2);
    expect(probe.seen).toEqual(['subscribing', 'subscribed', 'reconnecting', 'subscribed']);
    await rb.set('t:b2', 'v');
    await waitFor(() => keys.includes('t:b2'));

    masters = [rb]; // a is demoted (a replica would repeat its new master's events)
    cluster.emit('refresh');
    expect(hub.nodes).toEqual([`${b.host}:${b.port}`]);
    await ra.set('t:a2', 'v');
    await rb.set('t:b3', 'v');
    await waitFor(() => keys.includes('t:b3'));
    expect(keys).toEqual(['t:a1', 't:b2', 't:b3']);
    await waitFor(
      async () =>
        !String(await ra.client('LIST'))
          .split('\n')
          .some((l) => l.includes('name=hub:keyspace')),
      { message: "a's keyspace connection closed" },
    );

    release();
    expect(hub.nodes).toEqual([]);
    hub.close();
  });
});
