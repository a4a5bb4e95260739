/**
 * Streams against real Redis, on the standalone server and on the Cluster: toStream, fromStream,
 * readStreamRange, fromStreamGroup (pending first, claims, deleted entries, dead letters,
 * graceful stop), the stats Observable and interop with redis-cli.
 */
import * as t from 'io-ts';
import { firstValueFrom, from, lastValueFrom, filter, take, toArray, Subject } from 'rxjs';
import {
  ackAfter,
  fromStream,
  fromStreamGroup,
  readStreamRange,
  streamGroupStats,
  toStream,
  type RedisClient,
  type StreamMessage,
} from '../../../src';
import { deleteKeys, uniquePrefix, waitFor } from '../../support/env';
import { blockingConnections, pendingOf, redisCli, targets } from './helpers';

const Event = t.type({ n: t.number, kind: t.string }, 'Event');
type Event = t.TypeOf<typeof Event>;
const events = (count: number, from = 0): Event[] =>
  Array.from({ length: count }, (_, i) => ({ n: from + i, kind: i % 2 === 0 ? 'even' : 'odd' }));

describe.each(targets)('streams (%s)', (kind, make) => {
  const prefix = uniquePrefix(`streams-${kind}`);
  const clientName = `streams-${kind}-${prefix.slice(-7, -1)}`;
  let client: RedisClient;
  beforeAll(async () => {
    client = make({ instance: prefix, clientName });
    await client.ready()();
  });
  afterAll(async () => {
    await deleteKeys(client.redis, prefix);
    await client.close();
  });

  describe('toStream', () => {
    it('writes values in pipelines and emits their ids in input order', async () => {
      const values = events(1234);
      const ids = await lastValueFrom(
        from(values).pipe(toStream(client, 'sink', { codec: Event, batch: 100 }), toArray()),
      );
      expect(ids).toHaveLength(1234);
      const range = await client.redis.xrange(client.key('sink'), '-', '+');
      expect(range.map(([id]) => id)).toEqual(ids);
      expect(range[5]![1]).toEqual(['data', JSON.stringify(values[5])]);
    });

    it('trims with MAXLEN ~ and writes field maps without a codec', async () => {
      const ids = await lastValueFrom(
        from(Array.from({ length: 2000 }, (_, i) => ({ i }))).pipe(
          toStream(client, 'trimmed', { maxLen: 100 }),
          toArray(),
        ),
      );
      const len = await client.redis.xlen(client.key('trimmed'));
      expect(len).toBeGreaterThanOrEqual(100);
      expect(len).toBeLessThan(400); // approximate trimming keeps whole macro nodes
      const [last] = await client.redis.xrevrange(client.key('trimmed'), '+', '-', 'COUNT', 1);
      expect(last).toEqual([ids[1999], ['i', '1999']]);
    });

    it('fails with an EncodeError on a value it cannot write', async () => {
      await expect(lastValueFrom(from([{}]).pipe(toStream(client, 'bad')))).rejects.toMatchObject({
        _tag: 'EncodeError',
      });
    });
  });

  describe('fromStream and readStreamRange', () => {
    it("tails from '$' only entries added after subscribing, from '0' everything", async () => {
      await client.redis.xadd(
        client.key('tail'),
        '*',
        'data',
        JSON.stringify({ n: -1, kind: 'x' }),
      );
      const fromNow = firstValueFrom(
        fromStream(client, 'tail', { codec: Event, blockMs: 200 }).pipe(take(3), toArray()),
      );
      const fromStart = firstValueFrom(
        fromStream(client, 'tail', { codec: Event, from: '0', blockMs: 200 }).pipe(
          take(4),
          toArray(),
        ),
      );
      await waitFor(async () => (await blockingConnections(client, clientName)) >= 2);
      await lastValueFrom(from(events(3)).pipe(toStream(client, 'tail', { codec: Event })));
      expect((await fromNow).map((e) => e.value.n)).toEqual([0, 1, 2]);
      expect((await fromStart).map((e) => e.value.n)).toEqual([-1, 0, 1, 2]);
      expect((await fromNow)[0]).toMatchObject({
        stream: 'tail',
        id: expect.stringMatching(/^\d+-\d+$/),
      });
    });

    it('unsubscribing interrupts the blocking read and closes its connection at once', async () => {
      const sub = fromStream(client, 'idle', { blockMs: 60_000 }).subscribe();
      await waitFor(async () => (await blockingConnections(client, clientName)) === 1, {
        message: 'the blocking connection is open',
      });
      const t0 = Date.now();
      sub.unsubscribe();
      await waitFor(async () => (await blockingConnections(client, clientName)) === 0, {
        timeoutMs: 3000,
        intervalMs: 20,
        message: 'the blocking connection is closed',
      });
      expect(Date.now() - t0).toBeLessThan(3000);
    });

    it('reads a range page by page, forwards and backwards, with a limit', async () => {
      const ids = await lastValueFrom(
        from(events(25)).pipe(toStream(client, 'range', { codec: Event }), toArray()),
      );
      const all = await lastValueFrom(
        readStreamRange(client, 'range', { codec: Event, pageSize: 7 }).pipe(toArray()),
      );
      expect(all.map((e) => e.id)).toEqual(ids);
      const back = await lastValueFrom(
        readStreamRange(client, 'range', { reverse: true, pageSize: 4, limit: 10 }).pipe(toArray()),
      );
      expect(back.map((e) => e.id)).toEqual([...ids].reverse().slice(0, 10));
      expect(back[0]!.value).toEqual({ data: JSON.stringify({ n: 24, kind: 'even' }) });
      const middle = await lastValueFrom(
        readStreamRange(client, 'range', { start: ids[3]!, end: ids[5]! }).pipe(toArray()),
      );
      expect(middle.map((e) => e.id)).toEqual(ids.slice(3, 6));
    });

    it('reports an entry it cannot decode as a DecodeError naming the stream and id, or skips it', async () => {
      const id = await client.redis.xadd(client.key('garbage'), '*', 'data', '{nope');
      await expect(
        lastValueFrom(readStreamRange(client, 'garbage', { codec: Event })),
      ).rejects.toMatchObject({ _tag: 'DecodeError', key: 'garbage' });
      await expect(
        lastValueFrom(readStreamRange(client, 'garbage', { codec: Event })),
      ).rejects.toThrow(id!);
      expect(
        await lastValueFrom(
          readStreamRange(client, 'garbage', { codec: Event, onDecodeError: 'skip' }).pipe(
            toArray(),
          ),
        ),
      ).toEqual([]);
    });
  });

  describe('interop with redis-cli', () => {
    it('reads entries redis-cli wrote, with and without a codec', async () => {
      const key = client.key('cli-in');
      await redisCli(kind, ['XADD', key, '*', 'data', '{"n":7,"kind":"cli"}']);
      await redisCli(kind, ['XADD', key, '*', 'n', '8', 'kind', 'fields']);
      const Loose = t.type({ n: t.union([t.number, t.string]), kind: t.string });
      const typed = await lastValueFrom(
        readStreamRange(client, 'cli-in', { codec: Loose }).pipe(toArray()),
      );
      expect(typed.map((e) => e.value)).toEqual([
        { n: 7, kind: 'cli' },
        { n: '8', kind: 'fields' },
      ]);
      const raw = await lastValueFrom(readStreamRange(client, 'cli-in').pipe(toArray()));
      expect(raw[1]!.value).toEqual({ n: '8', kind: 'fields' });
      // and a consumer group consumes them like any other entry
      const got = await firstValueFrom(
        fromStreamGroup(client, { stream: 'cli-in', group: 'g', consumer: 'c', codec: Loose }).pipe(
          ackAfter(async (m) => m.value),
          take(2),
          toArray(),
        ),
      );
      expect(got).toEqual(typed.map((e) => e.value));
    });

    it('writes entries redis-cli reads', async () => {
      const [id] = await lastValueFrom(
        from([{ n: 1, kind: 'ours' }]).pipe(
          toStream(client, 'cli-out', { codec: Event }),
          toArray(),
        ),
      );
      await lastValueFrom(from([{ user: 'ada', n: 2 }]).pipe(toStream(client, 'cli-out')));
      const out = await redisCli(kind, ['XRANGE', client.key('cli-out'), '-', '+']);
      expect(out.split('\n').filter((l) => l !== '')).toEqual([
        id,
        'data',
        '{"n":1,"kind":"ours"}',
        expect.stringMatching(/^\d+-\d+$/),
        'user',
        'ada',
        'n',
        '2',
      ]);
    });
  });

  describe('fromStreamGroup', () => {
    it('creates the group at 0, so entries written before the first consumer are not skipped', async () => {
      await lastValueFrom(from(events(5)).pipe(toStream(client, 'early', { codec: Event })));
      const got = await firstValueFrom(
        fromStreamGroup(client, { stream: 'early', group: 'g', consumer: 'c1', codec: Event }).pipe(
          ackAfter(async (m) => m.value.n),
          take(5),
          toArray(),
        ),
      );
      expect(got).toEqual([0, 1, 2, 3, 4]);
      await waitFor(async () => (await pendingOf(client, 'early', 'g')).count === 0);
      expect(client.metrics.snapshot().counters['stream.acked']).toBeGreaterThanOrEqual(5);
    });

    it("with startId '$' takes only new entries", async () => {
      await lastValueFrom(from(events(3)).pipe(toStream(client, 'late', { codec: Event })));
      const got = firstValueFrom(
        fromStreamGroup(client, {
          stream: 'late',
          group: 'g',
          consumer: 'c1',
          codec: Event,
          startId: '$',
          blockMs: 100,
        }).pipe(
          ackAfter(async (m) => m.value.n),
          take(2),
          toArray(),
        ),
      );
      await waitFor(
        async () =>
          ((await client.redis.xinfo('GROUPS', client.key('late'))) as unknown[]).length === 1,
      );
      await lastValueFrom(from(events(2, 100)).pipe(toStream(client, 'late', { codec: Event })));
      expect(await got).toEqual([100, 101]);
    });

    it('re-reads its own pending entries first, with their delivery count', async () => {
      await lastValueFrom(from(events(4)).pipe(toStream(client, 'resume', { codec: Event })));
      // a first run takes 4 entries and dies without acking 2 of them
      const first = await firstValueFrom(
        fromStreamGroup(client, {
          stream: 'resume',
          group: 'g',
          consumer: 'c1',
          codec: Event,
        }).pipe(take(4), toArray()),
      );
      await Promise.all([first[0]!.ack(), first[2]!.ack()]);
      await lastValueFrom(from(events(1, 50)).pipe(toStream(client, 'resume', { codec: Event })));
      const second = await firstValueFrom(
        fromStreamGroup(client, {
          stream: 'resume',
          group: 'g',
          consumer: 'c1',
          codec: Event,
        }).pipe(
          ackAfter(async (m) => [m.value.n, m.deliveries]),
          take(3),
          toArray(),
        ),
      );
      expect(second).toEqual([
        [1, 2],
        [3, 2],
        [50, 1],
      ]);
    });

    it('claims entries a dead consumer left idle, and cleans up entries deleted meanwhile', async () => {
      const ids = await lastValueFrom(
        from(events(6)).pipe(toStream(client, 'claim', { codec: Event }), toArray()),
      );
      // "dead" consumer: reads everything, acks nothing
      await client.redis.xgroup('CREATE', client.key('claim'), 'g', '0');
      await client.redis.xreadgroup(
        'GROUP',
        'g',
        'dead',
        'COUNT',
        10,
        'STREAMS',
        client.key('claim'),
        '>',
      );
      await client.redis.xdel(client.key('claim'), ids[2]!);
      const before = client.metrics.snapshot().counters['stream.claimed'] ?? 0;
      const got = await firstValueFrom(
        fromStreamGroup(client, {
          stream: 'claim',
          group: 'g',
          consumer: 'alive',
          codec: Event,
          claimIdleMs: 200,
          claimIntervalMs: 100,
          blockMs: 100,
        }).pipe(
          ackAfter(async (m) => [m.value.n, m.deliveries]),
          take(5),
          toArray(),
        ),
      );
      expect(got.map(([n]) => n).sort()).toEqual([0, 1, 3, 4, 5]);
      expect(got.every(([, d]) => d === 2)).toBe(true);
      expect((client.metrics.snapshot().counters['stream.claimed'] ?? 0) - before).toBe(5);
      await waitFor(async () => (await pendingOf(client, 'claim', 'g')).count === 0, {
        message: 'the deleted entry left the PEL',
      });
    });

    it('dead-letters entries it cannot decode, with the reason, and goes on', async () => {
      const key = client.key('dl');
      await client.redis.xadd(key, '*', 'data', JSON.stringify({ n: 1, kind: 'ok' }));
      const bad = await client.redis.xadd(key, '*', 'data', '{"n":"two"}');
      await client.redis.xadd(key, '*', 'data', JSON.stringify({ n: 3, kind: 'ok' }));
      const got = await firstValueFrom(
        fromStreamGroup(client, { stream: 'dl', group: 'g', consumer: 'c', codec: Event }).pipe(
          ackAfter(async (m) => m.value.n),
          take(2),
          toArray(),
        ),
      );
      expect(got).toEqual([1, 3]);
      await waitFor(async () => (await pendingOf(client, 'dl', 'g')).count === 0);
      const letters = await lastValueFrom(readStreamRange(client, 'dl:dlq').pipe(toArray()));
      expect(letters.map((l) => l.value)).toEqual([
        {
          stream: 'dl',
          id: bad,
          group: 'g',
          consumer: 'c',
          deliveries: '1',
          reason: expect.stringMatching(/^decode: .*n/),
          fields: JSON.stringify({ data: '{"n":"two"}' }),
        },
      ]);
    });

    it('graceful stop: unsubscribing lets the running handler finish and flushes its ack', async () => {
      await lastValueFrom(from(events(3)).pipe(toStream(client, 'stop', { codec: Event })));
      const started = new Subject<StreamMessage<Event>>();
      let finished = 0;
      const sub = fromStreamGroup(client, {
        stream: 'stop',
        group: 'g',
        consumer: 'c',
        codec: Event,
        maxInFlight: 3,
      })
        .pipe(
          ackAfter(async (m) => {
            started.next(m);
            await new Promise((r) => setTimeout(r, 300));
            finished += 1;
          }),
        )
        .subscribe();
      await firstValueFrom(started);
      sub.unsubscribe();
      await waitFor(
        async () => finished === 1 && (await pendingOf(client, 'stop', 'g')).count === 2,
        {
          message: 'first entry acked, the two never started still pending',
        },
      );
      expect(await blockingConnections(client, clientName)).toBe(0);
    });

    it('client.close() drains and completes the source', async () => {
      const own = make({ instance: prefix });
      await lastValueFrom(from(events(3)).pipe(toStream(own, 'close', { codec: Event })));
      const seen: number[] = [];
      const done = lastValueFrom(
        fromStreamGroup(own, { stream: 'close', group: 'g', consumer: 'c', codec: Event }).pipe(
          ackAfter(async (m) => {
            await new Promise((r) => setTimeout(r, 50));
            seen.push(m.value.n);
          }),
          toArray(),
        ),
      );
      await waitFor(() => seen.length >= 1);
      await own.close({ timeoutMs: 5000 });
      await done; // completed, not errored
      expect(seen).toEqual([0, 1, 2]);
      expect((await pendingOf(client, 'close', 'g')).count).toBe(0);
    });
  });

  it('streamGroupStats shows lag and pending per group and consumer', async () => {
    await lastValueFrom(from(events(10)).pipe(toStream(client, 'stats', { codec: Event })));
    const msgs = await firstValueFrom(
      fromStreamGroup(client, {
        stream: 'stats',
        group: 'g',
        consumer: 'c1',
        count: 4,
        maxInFlight: 4,
      }).pipe(take(4), toArray()),
    );
    const [stats] = await firstValueFrom(
      streamGroupStats(client, 'stats', { periodMs: 50 }).pipe(filter((s) => s.length > 0)),
    );
    expect(stats).toMatchObject({
      stream: 'stats',
      group: 'g',
      length: 10,
      pending: 4,
      pendingByConsumer: { c1: 4 },
    });
    expect(stats!.lag).toBeGreaterThanOrEqual(6);
    await Promise.all(msgs.map((m) => m.ack()));
    expect(await firstValueFrom(streamGroupStats(client, 'nothing-here'))).toEqual([]);
  });
});
