/**
 * fromKeyspace against the run's standalone server and Cluster: set, del and expired events of
 * keys spread over every master, the instance prefix stripped, exactly once each, and on the
 * Cluster one pattern subscription per master.
 */
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis } from 'ioredis';
import type { RedisClient } from '../../../src/connection/RedisClient';
import { fromKeyspace, type KeyspaceEvent } from '../../../src/sources/fromKeyspace';
import { deleteKeys, uniquePrefix, waitFor } from '../../support/env';
import { statusProbe, targets } from './support';

/** Keys under `prefix` until every master owns `perMaster` of them (one node: just `perMaster`). */
const keysOnEveryMaster = (
  client: RedisClient,
  prefix: string,
  name: string,
  perMaster: number,
) => {
  const redis = client.redis;
  if (!(redis instanceof Cluster))
    return Array.from({ length: perMaster }, (_, i) => `${name}${i}`);
  const byMaster = new Map<string, string[]>();
  for (const m of redis.nodes('master')) byMaster.set(`${m.options.host}:${m.options.port}`, []);
  for (let i = 0; [...byMaster.values()].some((ks) => ks.length < perMaster); i++) {
    const key = `${name}${i}`;
    const owner = redis.slots[calculateSlot(`${prefix}${key}`)]?.[0];
    const list = owner !== undefined ? byMaster.get(owner) : undefined;
    if (list !== undefined && list.length < perMaster) list.push(key);
  }
  return [...byMaster.values()].flat();
};

const clientList = async (node: Redis): Promise<string[]> =>
  String(await node.client('LIST')).split('\n');

describe.each(targets)('fromKeyspace (%s)', (kind, make) => {
  const prefix = uniquePrefix(`ks-${kind}`);
  const name = `ks-${Math.random().toString(36).slice(2, 8)}`;
  let client: RedisClient;

  beforeAll(async () => {
    client = make({ instance: prefix, clientName: name });
    await client.ready()();
  });
  afterAll(async () => {
    await deleteKeys(client.redis, prefix);
    await client.close();
  });

  it('emits set, del and expired of keys on every master, once each, prefix stripped', async () => {
    const events: KeyspaceEvent[] = [];
    const probe = statusProbe();
    const sub = fromKeyspace(client, {
      pattern: 'ks:*',
      events: ['set', 'del', 'expired'],
      configure: true,
      onStatus: probe.onStatus,
    }).subscribe((e) => events.push(e));
    await probe.reached('subscribed');

    const plain = keysOnEveryMaster(client, prefix, 'ks:plain:', 2);
    const expiring = keysOnEveryMaster(client, prefix, 'ks:ttl:', 1);
    if (kind === 'Cluster') {
      expect(plain).toHaveLength(6);
      expect(expiring).toHaveLength(3);
    }
    for (const k of plain) {
      await client.redis.set(client.key(k), 'v');
      await client.redis.hset(client.key(`${k}:h`), 'f', 'v'); // not asked for: hset
      await client.redis.del(client.key(k));
    }
    for (const k of expiring) await client.redis.set(client.key(k), 'v', 'PX', 20);
    await client.redis.set(`elsewhere:${prefix}ks:x`, 'v'); // not under the instance prefix
    // EXISTS expires a key whose time is up, so this does not depend on the background sweep
    await waitFor(
      async () =>
        (await Promise.all(expiring.map((k) => client.redis.exists(client.key(k))))).every(
          (n) => n === 0,
        ),
      { message: 'keys expired' },
    );
    const expected = plain.length * 2 + expiring.length * 2;
    await waitFor(() => events.length >= expected, { message: `${expected} events` });
    // a last event per key's node: everything that node sent before has arrived
    for (const k of [...plain, ...expiring]) await client.redis.set(client.key(`${k}:end`), 'v');
    await waitFor(
      () => events.filter((e) => e.key.endsWith(':end')).length === plain.length + expiring.length,
    );

    const byKey = (k: string) => events.filter((e) => e.key === k).map((e) => e.event);
    for (const k of plain) expect(byKey(k)).toEqual(['set', 'del']);
    for (const k of expiring) expect(byKey(k)).toEqual(['set', 'expired']);
    expect(events.every((e) => e.db === 0)).toBe(true);
    expect(events.some((e) => e.key.startsWith(prefix) || e.key.startsWith('elsewhere'))).toBe(
      false,
    );
    expect(events).toHaveLength(expected + plain.length + expiring.length);

    if (client.redis instanceof Cluster) {
      // one PSUBSCRIBE connection per master, each holding the one pattern
      for (const m of client.redis.nodes('master')) {
        const lines = await clientList(m);
        expect(
          lines.filter((l) => l.includes(`name=${name}:keyspace `) && / psub=1 /.test(l)),
        ).toHaveLength(1);
      }
    }
    sub.unsubscribe();
    if (client.redis instanceof Cluster) {
      for (const m of client.redis.nodes('master'))
        await waitFor(
          async () => !(await clientList(m)).some((l) => l.includes(`name=${name}:keyspace `)),
          {
            message: 'per-master keyspace connections closed after the last subscriber',
          },
        );
    }
  });

  it('shares one pattern subscription between sources and completes them when the client closes', async () => {
    const other = make({ instance: prefix, clientName: `${name}-b` });
    const [p1, p2] = [statusProbe(), statusProbe()];
    const done: string[] = [];
    fromKeyspace(other, {
      pattern: 'shared:*',
      events: ['set'],
      configure: true,
      onStatus: p1.onStatus,
    }).subscribe({
      complete: () => done.push('a'),
    });
    fromKeyspace(other, {
      pattern: 'shared:*',
      events: ['set'],
      configure: true,
      onStatus: p2.onStatus,
    }).subscribe({
      complete: () => done.push('b'),
    });
    await Promise.all([p1.reached('subscribed'), p2.reached('subscribed')]);
    const nodes =
      other.redis instanceof Cluster ? other.redis.nodes('master') : [client.redis as Redis];
    for (const node of nodes) {
      const mine = (await clientList(node)).filter(
        (l) => l.includes(`name=${name}-b:`) && / psub=1 /.test(l),
      );
      expect(mine).toHaveLength(1);
    }
    await other.close();
    expect(done.sort()).toEqual(['a', 'b']);
  });
});
