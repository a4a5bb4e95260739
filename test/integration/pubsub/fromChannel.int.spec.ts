/**
 * fromChannel, fromPattern and publishTo against the run's standalone server and Cluster:
 * reference counting as the server sees it, delivery right after the confirmation, patterns,
 * overlapping channels and patterns, sharded channels, receiver counts, and bad input.
 */
import { Cluster, Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { firstValueFrom, from, Subject, take, toArray } from 'rxjs';
import type { RedisClient } from '../../../src/connection/RedisClient';
import { recordingLogger } from '../../../src/testing/recordingLogger';
import { fromChannel, type ChannelMessage } from '../../../src/sources/fromChannel';
import { fromPattern } from '../../../src/sources/fromPattern';
import { publishTo } from '../../../src/sinks/publishTo';
import type { DecodeError } from '../../../src/errors';
import { uniquePrefix, waitFor } from '../../support/env';
import {
  activeChannels,
  adminCommands,
  adminNodes,
  numsub,
  OrderJson,
  statusProbe,
  targets,
  type Order,
} from './support';

/** Collects what a source emits; `next(n)` resolves once `n` values were received in all. */
const collect = <T>() => {
  const got: T[] = [];
  const waiters: Array<[number, () => void]> = [];
  return {
    got,
    push: (v: T) => {
      got.push(v);
      for (const w of [...waiters])
        if (got.length >= w[0]) {
          waiters.splice(waiters.indexOf(w), 1);
          w[1]();
        }
    },
    count: (n: number) =>
      got.length >= n ? Promise.resolve() : new Promise<void>((r) => waiters.push([n, r])),
  };
};

describe.each(targets)('pub/sub sources (%s)', (kind, make) => {
  const prefix = uniquePrefix(`ps-${kind}`);
  const logger = recordingLogger();
  let client: RedisClient;
  let nodes: Redis[];
  let publisher: Redis | Cluster;
  /** The full channel name, as other applications see it. */
  const full = (c: string) => `${prefix}${c}`;

  beforeAll(async () => {
    client = make({ instance: prefix, logger });
    nodes = adminNodes(kind);
    publisher = adminCommands(kind);
    await client.ready()();
  });
  afterAll(async () => {
    await client.close();
    await Promise.all([...nodes.map((n) => n.quit()), publisher.quit()]);
  });

  it('counts references: one server subscription for two subscribers, none after the last leaves', async () => {
    const a = collect<ChannelMessage<string>>();
    const b = collect<ChannelMessage<string>>();
    const pa = statusProbe();
    const pb = statusProbe();
    const subA = fromChannel(client, 'rc', { onStatus: pa.onStatus }).subscribe(a.push);
    const subB = fromChannel(client, 'rc', { onStatus: pb.onStatus }).subscribe(b.push);
    await Promise.all([pa.reached('subscribed'), pb.reached('subscribed')]);
    expect(await numsub(nodes, [full('rc')])).toEqual({ [full('rc')]: 1 });

    await publisher.publish(full('rc'), 'one');
    await Promise.all([a.count(1), b.count(1)]);

    subA.unsubscribe();
    await publisher.publish(full('rc'), 'two');
    await b.count(2);
    expect(b.got).toEqual([
      { channel: 'rc', message: 'one' },
      { channel: 'rc', message: 'two' },
    ]);
    expect(a.got).toEqual([{ channel: 'rc', message: 'one' }]);
    expect(await numsub(nodes, [full('rc')])).toEqual({ [full('rc')]: 1 });

    subB.unsubscribe();
    await waitFor(async () => (await numsub(nodes, [full('rc')]))[full('rc')] === 0, {
      message: 'UNSUBSCRIBE after the last subscriber left',
    });
    expect(await activeChannels(nodes, `${prefix}*`)).toEqual([]);
  });

  it('receives a message published the moment the subscription is confirmed', async () => {
    const received = firstValueFrom(
      fromChannel(client, 'now', {
        onStatus: (s) => {
          if (s === 'subscribed') void client.redis.publish(full('now'), 'first');
        },
      }),
    );
    expect(await received).toEqual({ channel: 'now', message: 'first' });
  });

  it('emits only to subscribers that joined, and a second subscriber of a live channel is subscribed at once', async () => {
    const first = statusProbe();
    const sub1 = fromChannel(client, 'late', { onStatus: first.onStatus }).subscribe();
    await first.reached('subscribed');
    const second = statusProbe();
    const got = firstValueFrom(fromChannel(client, 'late', { onStatus: second.onStatus }));
    expect(second.seen).toEqual(['subscribed']); // no round trip: the server already has it
    await publisher.publish(full('late'), 'x');
    expect(await got).toEqual({ channel: 'late', message: 'x' });
    sub1.unsubscribe();
  });

  it('shares server subscriptions across overlapping channel lists and patterns', async () => {
    const ab = collect<ChannelMessage<string>>();
    const bc = collect<ChannelMessage<string>>();
    const pat = collect<{ channel: string; pattern: string; message: string }>();
    const [p1, p2, p3] = [statusProbe(), statusProbe(), statusProbe()];
    const s1 = fromChannel(client, ['ov:a', 'ov:b'], { onStatus: p1.onStatus }).subscribe(ab.push);
    const s2 = fromChannel(client, ['ov:b', 'ov:c'], { onStatus: p2.onStatus }).subscribe(bc.push);
    const s3 = fromPattern(client, 'ov:*', { onStatus: p3.onStatus }).subscribe(pat.push);
    await Promise.all([p1, p2, p3].map((p) => p.reached('subscribed')));
    const chans = ['ov:a', 'ov:b', 'ov:c'].map(full);
    expect(await numsub(nodes, chans)).toEqual(Object.fromEntries(chans.map((c) => [c, 1])));

    for (const c of ['ov:a', 'ov:b', 'ov:c']) await publisher.publish(full(c), c);
    await Promise.all([ab.count(2), bc.count(2), pat.count(3)]);
    // (on a Cluster each PUBLISH may enter through another node: no order across channels)
    const sorted = <T extends { channel: string }>(xs: T[]) =>
      [...xs].sort((x, y) => x.channel.localeCompare(y.channel));
    expect(sorted(ab.got).map((m) => m.channel)).toEqual(['ov:a', 'ov:b']);
    expect(sorted(bc.got).map((m) => m.channel)).toEqual(['ov:b', 'ov:c']);
    expect(sorted(pat.got)).toEqual(
      ['ov:a', 'ov:b', 'ov:c'].map((c) => ({ channel: c, pattern: 'ov:*', message: c })),
    );

    s1.unsubscribe(); // ov:a goes, ov:b stays for s2
    await waitFor(async () => (await numsub(nodes, [chans[0]!]))[chans[0]!] === 0);
    expect(await numsub(nodes, chans.slice(1))).toEqual({ [chans[1]!]: 1, [chans[2]!]: 1 });
    s2.unsubscribe();
    await waitFor(async () => (await activeChannels(nodes, `${prefix}ov:*`)).length === 0);
    // the pattern subscription is its own: it still delivers
    await publisher.publish(full('ov:a'), 'again');
    await pat.count(4);
    s3.unsubscribe();
  });

  it('fromPattern delivers the matching channels only, with the pattern, prefix stripped', async () => {
    const probe = statusProbe();
    const got = firstValueFrom(
      fromPattern(client, 'orders.*', { onStatus: probe.onStatus }).pipe(take(2), toArray()),
    );
    await probe.reached('subscribed');
    await publisher.publish(full('orders.eu'), 'a');
    await publisher.publish(full('users.eu'), 'nope');
    await publisher.publish('orders.us', 'other instance'); // not under the prefix
    await publisher.publish(full('orders.us'), 'b');
    const sorted = (await got).sort((x, y) => x.channel.localeCompare(y.channel));
    expect(sorted).toEqual([
      { channel: 'orders.eu', pattern: 'orders.*', message: 'a' },
      { channel: 'orders.us', pattern: 'orders.*', message: 'b' },
    ]);
  });

  it('sharded channels: SSUBSCRIBE per slot owner, SPUBLISH counts, reference counting', async () => {
    // channels on different slots (on a Cluster: on different masters)
    const names = ['sh:a', 'sh:b', 'sh:c', 'sh:d', 'sh:e', 'sh:f'];
    const fulls = names.map(full);
    if (client.redis instanceof Cluster) {
      const owners = new Set(
        fulls.map((c) => (client.redis as Cluster).slots[calculateSlot(c)]?.[0]),
      );
      expect(owners.size).toBeGreaterThan(1);
    }
    const got = collect<ChannelMessage<string>>();
    const p1 = statusProbe();
    const p2 = statusProbe();
    const s1 = fromChannel(client, names, { sharded: true, onStatus: p1.onStatus }).subscribe(
      got.push,
    );
    const s2 = fromChannel(client, 'sh:a', { sharded: true, onStatus: p2.onStatus }).subscribe();
    await Promise.all([p1.reached('subscribed'), p2.reached('subscribed')]);
    const shardNodes = kind === 'Cluster' ? await masters(client) : nodes;
    expect(await numsub(shardNodes, fulls, true)).toEqual(
      Object.fromEntries(fulls.map((c) => [c, 1])),
    );

    const counts = await firstValueFrom(
      from(names).pipe(publishTo(client, 'sh:a', { sharded: true }), toArray()),
    );
    expect(counts).toEqual([1, 1, 1, 1, 1, 1]); // one connection holds sh:a for both sources
    for (const c of names.slice(1)) expect(await client.redis.spublish(full(c), c)).toBe(1);
    await got.count(names.length * 2 - 1);
    expect(
      got.got
        .filter((m) => m.channel !== 'sh:a')
        .map((m) => m.channel)
        .sort(),
    ).toEqual(names.slice(1));

    s1.unsubscribe();
    await waitFor(async () => (await numsub(shardNodes, [fulls[1]!], true))[fulls[1]!] === 0);
    expect((await numsub(shardNodes, [fulls[0]!], true))[fulls[0]!]).toBe(1); // s2 holds it
    s2.unsubscribe();
    await waitFor(
      async () => (await activeChannels(shardNodes, `${prefix}sh:*`, true)).length === 0,
      { message: 'SUNSUBSCRIBE of every sharded channel' },
    );
  });

  it('publishTo emits receiver counts in input order and encodes with the codec', async () => {
    const p1 = statusProbe();
    const p2 = statusProbe();
    const got = collect<ChannelMessage<Order>>();
    const s1 = fromChannel(client, 'pub', { codec: OrderJson, onStatus: p1.onStatus }).subscribe(
      got.push,
    );
    const s2 = fromChannel(client, 'pub', { onStatus: p2.onStatus }).subscribe();
    await Promise.all([p1.reached('subscribed'), p2.reached('subscribed')]);
    const orders: Order[] = Array.from({ length: 50 }, (_, i) => ({ id: `o${i}`, total: i }));
    const counts = await firstValueFrom(
      from(orders).pipe(publishTo(client, 'pub', { codec: OrderJson }), toArray()),
    );
    // one server subscription for both sources; on a Cluster PUBLISH counts only the receivers
    // on the node that took it (the message still reaches every node's subscribers)
    if (kind === 'standalone') expect(counts).toEqual(orders.map(() => 1));
    else expect(counts.every((n) => n === 0 || n === 1)).toBe(true);
    await got.count(50);
    expect(got.got.map((m) => m.message)).toEqual(orders);
    s1.unsubscribe();
    s2.unsubscribe();
    const none = await firstValueFrom(from(['x']).pipe(publishTo(client, 'nobody'), toArray()));
    expect(none).toEqual([0]);
  });

  it('bad input: of 1,000 messages 100 fail the codec; 900 are delivered, 100 reported, the source lives on', async () => {
    const errors: DecodeError[] = [];
    const got = collect<ChannelMessage<Order>>();
    const strict = new Subject<void>();
    let strictError: unknown;
    const probe = statusProbe();
    const strictProbe = statusProbe();
    const before = client.metrics.snapshot().counters['pubsub.decodeErrors'] ?? 0;
    const sub = fromChannel(client, 'bad', {
      codec: OrderJson,
      onDecodeError: (e) => errors.push(e),
      onStatus: probe.onStatus,
    }).subscribe(got.push);
    // another subscriber of the same channel asks to fail on the first bad message
    fromChannel(client, 'bad', {
      codec: OrderJson,
      decodeErrors: 'fail',
      onStatus: strictProbe.onStatus,
    }).subscribe({ error: (e: unknown) => ((strictError = e), strict.next()) });
    await Promise.all([probe.reached('subscribed'), strictProbe.reached('subscribed')]);

    const payloads = Array.from({ length: 1000 }, (_, i) =>
      i % 10 === 3
        ? i % 20 === 3
          ? '{not json'
          : JSON.stringify({ id: i, total: 'x' })
        : JSON.stringify({ id: `o${i}`, total: i }),
    );
    const counts = await firstValueFrom(from(payloads).pipe(publishTo(client, 'bad'), toArray()));
    expect(counts).toHaveLength(1000);
    await got.count(900);
    await publisher.publish(full('bad'), JSON.stringify({ id: 'alive', total: 1 }));
    await got.count(901);

    expect(got.got).toHaveLength(901);
    expect(got.got.at(-1)?.message).toEqual({ id: 'alive', total: 1 });
    expect(errors).toHaveLength(100);
    expect(errors[0]?._tag).toBe('DecodeError');
    expect(errors[0]?.key).toBe('bad');
    expect((client.metrics.snapshot().counters['pubsub.decodeErrors'] ?? 0) - before).toBe(
      100 + 1, // the strict subscriber's one, then it was gone
    );
    expect(logger.lines.filter((l) => l.msg === 'pub/sub message failed to decode')).toHaveLength(
      101,
    );
    expect(logger.text()).not.toContain('{not json'); // values are never logged
    expect((strictError as DecodeError)._tag).toBe('DecodeError');
    expect(sub.closed).toBe(false);
    sub.unsubscribe();
  });
});

/** The Cluster's current masters, as plain connections (closed after all tests). */
const masterConns: Redis[] = [];
const masters = async (client: RedisClient): Promise<Redis[]> => {
  const conns = (client.redis as Cluster)
    .nodes('master')
    .map((n) => new Redis({ host: n.options.host, port: n.options.port }));
  masterConns.push(...conns);
  return conns;
};
afterAll(async () => {
  await Promise.all(masterConns.map((c) => c.quit()));
});
