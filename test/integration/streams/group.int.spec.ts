/**
 * Consumer groups under load and abuse, on the standalone server and on the Cluster: several
 * consumers sharing the work exactly once, the in-flight limit seen from XPENDING, poison
 * entries and failing handlers, and a handler that runs longer than claimIdleMs.
 */
import * as t from 'io-ts';
import { from, lastValueFrom, of, take, toArray, type Subscription } from 'rxjs';
import {
  ackAfter,
  fromStreamGroup,
  readStreamRange,
  toStream,
  type RedisClient,
  type StreamMessage,
} from '../../../src';
import { deleteKeys, uniquePrefix, waitFor } from '../../support/env';
import { pendingOf, sleep, targets } from './helpers';

const Event = t.type({ n: t.number, kind: t.string }, 'Event');
type Event = t.TypeOf<typeof Event>;
const events = (count: number): Event[] =>
  Array.from({ length: count }, (_, i) => ({ n: i, kind: 'e' }));

describe.each(targets)('consumer groups (%s)', (kind, make) => {
  const prefix = uniquePrefix(`group-${kind}`);
  const clients: RedisClient[] = [];
  const subs: Subscription[] = [];
  const open = (): RedisClient => {
    const c = make({ instance: prefix });
    clients.push(c);
    return c;
  };
  let client: RedisClient;
  beforeAll(() => {
    client = open();
  });
  afterEach(() => {
    subs.splice(0).forEach((s) => s.unsubscribe());
  });
  afterAll(async () => {
    await deleteKeys(client.redis, prefix);
    await Promise.all(clients.map((c) => c.close({ timeoutMs: 2000 })));
  });

  it('10,000 entries, 3 consumers of one group: every entry handled and acked exactly once', async () => {
    await lastValueFrom(from(events(10_000)).pipe(toStream(client, 'load', { codec: Event })));
    const handled = new Map<number, number>();
    let errored: unknown;
    const consumers = [open(), open(), open()];
    consumers.forEach((c, i) =>
      subs.push(
        fromStreamGroup(c, {
          stream: 'load',
          group: 'g',
          consumer: `c${i}`,
          codec: Event,
          maxInFlight: 200,
        })
          .pipe(
            ackAfter(
              async (m) => {
                handled.set(m.value.n, (handled.get(m.value.n) ?? 0) + 1);
              },
              { concurrency: 8 },
            ),
          )
          .subscribe({ error: (e: unknown) => (errored = e) }),
      ),
    );
    await waitFor(
      async () => handled.size === 10_000 && (await pendingOf(client, 'load', 'g')).count === 0,
      {
        timeoutMs: 60_000,
        message: 'all 10,000 handled and acked',
      },
    );
    expect(errored).toBeUndefined();
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    const counters = consumers.map((c) => c.metrics.snapshot().counters);
    expect(counters.reduce((a, c) => a + (c['stream.acked'] ?? 0), 0)).toBe(10_000);
    expect(counters.reduce((a, c) => a + (c['stream.consumed'] ?? 0), 0)).toBe(10_000);
    expect(counters.every((c) => (c['stream.acked'] ?? 0) > 0)).toBe(true);
    expect(counters.every((c) => (c['stream.lostAcks'] ?? 0) === 0)).toBe(true);
    const [info] = (await client.redis.xinfo('GROUPS', client.key('load'))) as unknown[][];
    expect(info).toEqual(expect.arrayContaining(['entries-read', 10_000, 'lag', 0, 'pending', 0]));
  }, 90_000);

  it('stopped mid-batch: every ack asked for is sent after the unsubscribe; what was read ahead stays pending for the restart', async () => {
    await lastValueFrom(from(events(1000)).pipe(toStream(client, 'stopmid', { codec: Event })));
    const consume = (c: RedisClient, take$: number) =>
      lastValueFrom(
        fromStreamGroup(c, { stream: 'stopmid', group: 'g', consumer: 'c', codec: Event }).pipe(
          ackAfter((m) => of(m.value.n)),
          take(take$),
          toArray(),
        ),
      );
    const first = open();
    // 250 is mid-batch (COUNT 100): take() unsubscribes while a read's messages are emitted
    const firstRun = await consume(first, 250);
    expect(firstRun).toEqual(Array.from({ length: 250 }, (_, i) => i));
    await waitFor(() => first.metrics.snapshot().counters['stream.acked'] === 250, {
      message: 'the 250 acks flushed after the unsubscribe',
    });
    const [info] = (await client.redis.xinfo('GROUPS', client.key('stopmid'))) as unknown[][];
    const read = Number(info![info!.indexOf('entries-read') + 1]);
    expect(read).toBeGreaterThan(250); // the rest of the batch, and the read ahead
    expect((await pendingOf(client, 'stopmid', 'g')).count).toBe(read - 250);
    // the restarted consumer re-reads its pending entries first: each of the 750 once
    const secondRun = await consume(open(), 750);
    expect([...secondRun].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 750 }, (_, i) => 250 + i),
    );
    await waitFor(async () => (await pendingOf(client, 'stopmid', 'g')).count === 0, {
      message: 'every entry acked',
    });
  });

  it('never holds more than maxInFlight unacked messages (XPENDING), and reads on as acks free slots', async () => {
    await lastValueFrom(from(events(60)).pipe(toStream(client, 'inflight', { codec: Event })));
    // a subscriber that never acks: the source stops at the limit
    const held: Array<StreamMessage<Event>> = [];
    subs.push(
      fromStreamGroup(client, {
        stream: 'inflight',
        group: 'g',
        consumer: 'hoarder',
        codec: Event,
        maxInFlight: 5,
      }).subscribe((m) => held.push(m)),
    );
    await waitFor(() => held.length === 5);
    await sleep(300);
    expect(held).toHaveLength(5);
    expect((await pendingOf(client, 'inflight', 'g')).consumers).toEqual({ hoarder: 5 });
    await held[0]!.ack();
    await waitFor(() => held.length === 6, { message: 'one more read after one ack' });
    subs.pop()!.unsubscribe();
    held.forEach((m) => m.release());

    // a working consumer, sampled while it runs
    let peak = 0;
    let done = 0;
    subs.push(
      fromStreamGroup(client, {
        stream: 'inflight',
        group: 'g2',
        consumer: 'worker',
        codec: Event,
        maxInFlight: 5,
        count: 10,
      })
        .pipe(
          ackAfter(
            async () => {
              await sleep(5);
              done += 1;
            },
            { concurrency: 3 },
          ),
        )
        .subscribe(),
    );
    while (done < 60) {
      peak = Math.max(peak, (await pendingOf(client, 'inflight', 'g2')).count);
      await sleep(2);
    }
    expect(peak).toBeLessThanOrEqual(5);
    expect(peak).toBeGreaterThan(1);
  });

  it('poison: 1,000 good + 100 malformed entries and a handler failing for some ids — bad ones dead-lettered with reasons, good ones processed, no error', async () => {
    const key = client.key('poison');
    const malformed = ['{oops', '{"n":"x","kind":1}', ''];
    const pipeline = client.redis.pipeline();
    let bad = 0;
    for (let i = 0; i < 1000; i++) {
      pipeline.xadd(key, '*', 'data', JSON.stringify({ n: i, kind: 'good' }));
      if (i % 10 === 0) {
        if (bad % 4 === 3) pipeline.xadd(key, '*', 'other', '');
        else pipeline.xadd(key, '*', 'data', malformed[bad % 4]!);
        bad += 1;
      }
    }
    await pipeline.exec();
    expect(await client.redis.xlen(key)).toBe(1100);
    const failsAlways = (n: number) => n % 50 === 7; // 20 ids
    const processed = new Set<number>();
    let errored: unknown;
    for (const consumer of ['p1', 'p2'])
      subs.push(
        fromStreamGroup(client, {
          stream: 'poison',
          group: 'g',
          consumer,
          codec: Event,
          maxDeliveries: 2,
          claimIdleMs: 300,
          claimIntervalMs: 100,
          blockMs: 100,
        })
          .pipe(
            ackAfter(
              async (m) => {
                if (failsAlways(m.value.n)) throw new Error(`cannot handle ${m.value.n}`);
                processed.add(m.value.n);
              },
              { concurrency: 4 },
            ),
          )
          .subscribe({ error: (e: unknown) => (errored = e) }),
      );
    await waitFor(
      async () =>
        (await client.redis.xlen(client.key('poison:dlq'))) === 120 &&
        (await pendingOf(client, 'poison', 'g')).count === 0,
      { timeoutMs: 30_000, message: '120 dead letters and nothing pending' },
    );
    expect(errored).toBeUndefined();
    expect(processed.size).toBe(980);
    expect([...processed].some(failsAlways)).toBe(false);
    const letters = await lastValueFrom(readStreamRange(client, 'poison:dlq').pipe(toArray()));
    const reasons = letters.map((l) => l.value['reason']!);
    expect(reasons.filter((r) => r.startsWith('decode: '))).toHaveLength(100);
    expect(reasons.filter((r) => r.startsWith('maxDeliveries: '))).toHaveLength(20);
    const maxed = letters.filter((l) => l.value['reason']!.startsWith('maxDeliveries'));
    expect(
      maxed
        .map((l) => (JSON.parse(JSON.parse(l.value['fields']!).data) as Event).n)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 20 }, (_, i) => i * 50 + 7));
    expect(maxed.every((l) => l.value['deliveries'] === '3' && l.value['group'] === 'g')).toBe(
      true,
    );
    const failed = clients[0]!.metrics.snapshot().counters['stream.failed'] ?? 0;
    expect(failed).toBeGreaterThanOrEqual(40); // each of the 20 failed on delivery 1 and 2
  });

  it('a handler running 3× claimIdleMs is not stolen by a second consumer: processed once', async () => {
    await lastValueFrom(from(events(20)).pipe(toStream(client, 'long', { codec: Event })));
    const claimIdleMs = 1000;
    const calls = new Map<number, string[]>();
    const [a, b] = [open(), open()];
    const run = (c: RedisClient, consumer: string) =>
      fromStreamGroup(c, {
        stream: 'long',
        group: 'g',
        consumer,
        codec: Event,
        claimIdleMs,
        claimIntervalMs: 100,
        blockMs: 100,
        maxInFlight: 4,
      })
        .pipe(
          ackAfter(async (m) => {
            calls.set(m.value.n, [...(calls.get(m.value.n) ?? []), consumer]);
            if (m.value.n === 0) await sleep(3 * claimIdleMs);
          }),
        )
        .subscribe();
    subs.push(run(a, 'a'));
    await waitFor(() => calls.has(0), { message: 'a took the slow entry' });
    subs.push(run(b, 'b'));
    await waitFor(
      async () => calls.size === 20 && (await pendingOf(client, 'long', 'g')).count === 0,
      {
        timeoutMs: 20_000,
      },
    );
    expect(calls.get(0)).toEqual(['a']);
    expect([...calls.values()].every((who) => who.length === 1)).toBe(true);
    expect(b.metrics.snapshot().counters['stream.claimed'] ?? 0).toBe(0);
    expect(a.metrics.snapshot().counters['stream.lostAcks'] ?? 0).toBe(0);
  }, 30_000);
});
