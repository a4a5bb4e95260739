/**
 * batchPipeline on a Cluster of its own, where each master's part of a batch goes on that
 * master's own connection: a slot that moved since the client loaded its slot table is answered
 * MOVED there and its commands are sent again through the Cluster (which follows the redirection),
 * and a master that does not answer in time gives its part a TimeoutError while the other
 * masters' parts succeed.
 */
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { from, lastValueFrom, toArray } from 'rxjs';
import { batchPipeline, TimeoutError, type BatchCommand, type RedisClient } from '../../../src';
import { createRedis } from '../../../src/connection/createRedis';
import { spawnCluster, type HostPort, type RedisCluster } from '../../support/cluster';

/** A connection to one node, closed after `f`. */
const onNode = async <T>(node: HostPort, f: (r: Redis) => Promise<T>): Promise<T> => {
  const r = new Redis({ host: node.host, port: node.port });
  try {
    return await f(r);
  } finally {
    r.disconnect();
  }
};

/** `CLUSTER MYID` of each master. */
const idsOf = (masters: ReadonlyArray<HostPort>): Promise<string[]> =>
  Promise.all(masters.map((m) => onNode(m, (r) => r.call('CLUSTER', 'MYID') as Promise<string>)));

/** The master (of `masters`) whose `CLUSTER SLOTS` range holds `slot`. */
const ownerOfSlot = async (masters: ReadonlyArray<HostPort>, slot: number): Promise<HostPort> => {
  const shards = (await onNode(masters[0]!, (r) => r.call('CLUSTER', 'SLOTS'))) as Array<
    [number, number, [string, number]]
  >;
  const [, , [host, port]] = shards.find(([lo, hi]) => slot >= lo && slot <= hi)!;
  return { host, port: Number(port) };
};

/** A key name (no prefix) whose slot is served by `owner`. */
const keyServedBy = async (
  masters: ReadonlyArray<HostPort>,
  owner: HostPort,
  avoid: ReadonlySet<number> = new Set(),
): Promise<string> => {
  for (let i = 0; ; i++) {
    const key = `nodes:k${i}`;
    const slot = calculateSlot(key);
    if (avoid.has(slot)) continue;
    const o = await ownerOfSlot(masters, slot);
    if (o.port === owner.port) return key;
  }
};

describe('batchPipeline on a Cluster, each master part on its own connection', () => {
  let cluster: RedisCluster;
  let client: RedisClient;
  let masters: HostPort[];

  beforeAll(async () => {
    cluster = await spawnCluster({ masters: 3, replicasPerMaster: 0 });
    masters = await cluster.masters();
    client = createRedis({
      cluster: cluster.startupNodes.map((n) => `${n.host}:${n.port}`),
      commandTimeoutMs: 400,
    });
    await client.ready()();
  }, 90_000);
  afterAll(async () => {
    await client?.close({ timeoutMs: 1000 });
    await cluster?.stop();
  });

  it('sends a command again through the Cluster when its slot moved (MOVED), in order', async () => {
    const [a, b] = masters as [HostPort, HostPort];
    const moved = await keyServedBy(masters, a);
    const slot = calculateSlot(moved);
    const stays = await keyServedBy(masters, b, new Set([slot]));
    // the client has seen the slot on `a`: route one command there so its table is loaded
    await client.redis.set(moved, 'before');
    await client.redis.del(moved);

    // move the (now empty) slot from a to b, as a resharding does, without telling the client
    const [idA, idB] = await idsOf([a, b]);
    await onNode(b, (r) => r.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', idA!));
    await onNode(a, (r) => r.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', idB!));
    for (const m of masters)
      await onNode(m, (r) => r.call('CLUSTER', 'SETSLOT', slot, 'NODE', idB!));
    expect((client.redis as unknown as { slots: string[][] }).slots[slot]?.[0]).toBe(
      `${a.host}:${a.port}`,
    );

    const items = [stays, moved, `${stays}:2`];
    const outcomes = await lastValueFrom(
      from(items).pipe(
        batchPipeline(client, (k: string): BatchCommand => ['set', k, `v:${k}`]),
        toArray(),
      ),
    );
    expect(outcomes.map((o) => [o.item, o.ok, o.ok ? o.value : o.error.message])).toEqual(
      items.map((k) => [k, true, 'OK']),
    );
    // written on the slot's new owner
    expect(await onNode(b, (r) => r.get(moved))).toBe(`v:${moved}`);
  }, 30_000);

  it('times out the part of a master that does not answer; the other parts succeed', async () => {
    const [a, b] = masters as [HostPort, HostPort];
    const slow = await keyServedBy(masters, a);
    const fast = await keyServedBy(masters, b);
    await client.redis.set(slow, 'x'); // the client routes to both masters: connections ready
    await client.redis.set(fast, 'x');
    // a holds back every write for 1.5 s: longer than the client's 400 ms command timeout
    await onNode(a, (r) => r.call('CLIENT', 'PAUSE', 1500, 'WRITE'));
    const started = performance.now();
    const outcomes = await lastValueFrom(
      from([slow, fast]).pipe(
        batchPipeline(client, (k: string): BatchCommand => ['set', k, 'y']),
        toArray(),
      ),
    );
    const took = performance.now() - started;
    expect(outcomes[0]).toMatchObject({ item: slow, ok: false });
    expect(outcomes[0]!.ok ? undefined : outcomes[0]!.error).toBeInstanceOf(TimeoutError);
    expect(outcomes[1]).toMatchObject({ item: fast, ok: true, value: 'OK' });
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(1400);
    // once a answers again, its connection serves the next batch
    await onNode(a, (r) => r.call('CLIENT', 'UNPAUSE'));
    const again = await lastValueFrom(
      from([slow]).pipe(
        batchPipeline(client, (k: string): BatchCommand => ['get', k]),
        toArray(),
      ),
    );
    expect(again).toEqual([{ item: slow, ok: true, value: 'y' }]);
  }, 30_000);
});
