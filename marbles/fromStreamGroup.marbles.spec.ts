import * as E from 'fp-ts/Either';
import { NEVER, map, of, take, tap, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { CommandError, ConnectionError, DecodeError } from '../src/errors';
import { consumeGroup, type EngineConfig, type LostAck } from '../src/internal/streamGroupConsumer';
import type { DeadLetter, GroupPort } from '../src/internal/streamGroupPort';
import type { AutoClaimReply, RawEntry, StreamFields } from '../src/internal/streamReplies';
import type { StreamMessage } from '../src/sources/StreamEntry';
import { createTestScheduler, recordingLogger } from '../src/testing';

/**
 * The consumer-group engine behind fromStreamGroup, over a fake port whose operations are cold
 * observables, so its timing runs in virtual time. `fromStreamGroup` itself always builds the
 * Redis port, so these cases drive `consumeGroup` (what `fromStreamGroup` subscribes to) directly.
 *
 * fromStreamGroup's TSDoc diagram:
 *
 * ```
 * stream:    --1--2--3--------4--
 * messages:  --a--b--c--------d--     (each held until ack(); at maxInFlight reading pauses)
 * ```
 *
 * The loop as the claim case runs it (claimIntervalMs 10, a `>` read that blocks 5 frames and
 * returns nothing, one idle entry to claim at 10):
 *
 * ```
 * XAUTOCLAIM  C---------C---------C---------C   when due, at the next read boundary
 * history     H                                 own pending entries first, until a read is empty
 * read `>`    R----R----R----R----R----R----R   the next read as soon as one returns
 * messages    ----------a                       the claimed entry (its 3rd delivery), acked
 * ```
 */
describe('fromStreamGroup engine (marbles)', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));

  type Call = [number, string, ...unknown[]];
  interface Script {
    readonly ensureGroup?: () => Observable<void>;
    readonly read?: (
      id: string,
      count: number,
      blockMs: number | undefined,
    ) => Observable<RawEntry[]>;
    readonly autoClaim?: (
      cursor: string,
      count: number,
      minIdleMs: number,
    ) => Observable<AutoClaimReply>;
    readonly deliveries?: (ids: ReadonlyArray<string>) => Observable<ReadonlyMap<string, number>>;
    readonly ack?: (ids: ReadonlyArray<string>) => Observable<number>;
    readonly refresh?: (
      claims: ReadonlyArray<{ id: string; minIdleMs: number }>,
    ) => Observable<string[]>;
    readonly deadLetter?: (letter: DeadLetter) => Observable<void>;
  }

  /**
   * A port that logs each call with its virtual time. Defaults: the group exists, nothing to
   * claim, an empty history, a `>` read that blocks forever, every entry delivered once, every
   * ack and refresh succeeds.
   */
  const fakePort = (ts: TestScheduler, script: Script = {}) => {
    const calls: Call[] = [];
    const log = (op: string, ...args: unknown[]) => calls.push([ts.now(), op, ...args]);
    const port: GroupPort = {
      ensureGroup: () => (log('ensureGroup'), script.ensureGroup?.() ?? of(undefined)),
      read: (id, count, blockMs) => (
        log('read', id, count, blockMs),
        script.read?.(id, count, blockMs) ?? (id === '>' ? NEVER : of([]))
      ),
      autoClaim: (cursor, count, minIdleMs) => (
        log('autoClaim', cursor, count, minIdleMs),
        script.autoClaim?.(cursor, count, minIdleMs) ??
          of({ next: '0-0', entries: [], deleted: [] })
      ),
      deliveries: (ids) => (
        log('deliveries', ids),
        script.deliveries?.(ids) ?? of(new Map(ids.map((id) => [id, 1])))
      ),
      ack: (ids) => (log('ack', ids), script.ack?.(ids) ?? of(ids.length)),
      refresh: (claims) => (
        log('refresh', claims),
        script.refresh?.(claims) ?? of(claims.map((c) => c.id))
      ),
      deadLetter: (letter) => (
        log('deadLetter', letter),
        script.deadLetter?.(letter) ?? of(undefined)
      ),
      close: () => void log('close'),
    };
    const only = (...ops: string[]) => calls.filter((c) => ops.includes(c[1]));
    return { port, calls, only };
  };

  const entry = (id: string, n?: string): RawEntry => ({
    id,
    fields: n === undefined ? {} : { n },
  });
  const page = (entries: RawEntry[], next = '0-0'): AutoClaimReply => ({
    next,
    entries,
    deleted: [],
  });
  /** Decodes field `n`; an entry without it is undecodable. */
  const decode = (id: string, fields: StreamFields): E.Either<DecodeError, string> =>
    fields['n'] === undefined
      ? E.left(new DecodeError(`orders ${id}`, [], { message: 'no field n' }))
      : E.right(fields['n']);

  const engine = (
    ts: TestScheduler,
    port: GroupPort,
    config: Partial<EngineConfig<string>> = {},
  ) => {
    const counters: Record<string, number> = {};
    const logger = recordingLogger();
    const messages$ = consumeGroup<string>(port, {
      stream: 'orders',
      group: 'billing',
      consumer: 'billing-1',
      count: 10,
      blockMs: 2000,
      maxInFlight: 10,
      claimIdleMs: 1000,
      claimIntervalMs: 1000,
      maxDeliveries: 5,
      drainTimeoutMs: 0,
      decode,
      scheduler: ts,
      logger,
      increment: (name, by = 1) => void (counters[name] = (counters[name] ?? 0) + by),
      onLostAck: undefined,
      onClose: () => () => undefined,
      ...config,
    });
    return { messages$, counters, logger };
  };
  const view = map((m: StreamMessage<string>) => `${m.id} ${m.value} ×${m.deliveries}`);
  const ackAll = tap((m: StreamMessage<string>) => void m.ack());

  it('reads its own pending history first, until it is empty, then new entries (`>`)', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const reads = [
        cold<RawEntry[]>('                               -(r|)', { r: [entry('1-0', 'x')] }),
        cold<RawEntry[]>('                                -(r|)', { r: [] }),
        cold<RawEntry[]>('                                 --(r|)', { r: [entry('2-0', 'y')] }),
        cold<RawEntry[]>('                                   -------'),
      ];
      let n = 0;
      fake = fakePort(ts, {
        read: () => reads[n++]!,
        deliveries: (ids) => of(new Map(ids.map((id) => [id, 2]))),
      });
      const { messages$ } = engine(ts, fake.port);
      const expected = '                                 -a--b-';
      const unsub = '                                    ^-----!';
      expectObservable(messages$.pipe(view), unsub).toBe(expected, {
        a: '1-0 x ×2',
        b: '2-0 y ×1',
      });
      expectSubscriptions(reads[0]!.subscriptions).toBe('^!');
      expectSubscriptions(reads[1]!.subscriptions).toBe('-^!');
      expectSubscriptions(reads[2]!.subscriptions).toBe('--^-!');
      expectSubscriptions(reads[3]!.subscriptions).toBe('----^-!');
    });
    expect(fake.calls).toEqual([
      [0, 'ensureGroup'],
      [0, 'autoClaim', '0-0', 10, 1000],
      [0, 'read', '0', 10, undefined], // history, without BLOCK
      [1, 'deliveries', ['1-0']], // history and claims ask for the delivery count
      [1, 'read', '1-0', 9, undefined], // one slot of ten taken
      [2, 'read', '>', 9, 2000], // history empty: new entries, blocking
      [4, 'read', '>', 8, 2000],
      [6, 'close'],
    ]);
  });

  it('polls: a read that comes back empty is followed at once by the next one', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const blocking = cold<RawEntry[]>('-----(r|)', { r: [] });
      fake = fakePort(ts, { read: (id) => (id === '>' ? blocking : of([])) });
      const expected = '';
      const unsub = '                    ^----------------!';
      expectObservable(engine(ts, fake.port).messages$, unsub).toBe(expected);
      expectSubscriptions(blocking.subscriptions).toBe([
        '                                ^----!',
        '                                -----^----!',
        '                                ----------^----!',
        '                                ---------------^-!',
      ]);
    });
    expect(fake.only('read')).toEqual([
      [0, 'read', '0', 10, undefined],
      [0, 'read', '>', 10, 2000],
      [5, 'read', '>', 10, 2000],
      [10, 'read', '>', 10, 2000],
      [15, 'read', '>', 10, 2000],
    ]);
  });

  it('claims idle entries (XAUTOCLAIM) every claimIntervalMs and emits them with their delivery count', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    let counters!: Record<string, number>;
    ts.run(({ cold, expectObservable, expectSubscriptions, time }) => {
      const blocking = cold<RawEntry[]>('                 -----(r|)', { r: [] });
      const claims = [
        cold<AutoClaimReply>('                            (r|)', { r: page([]) }),
        cold<AutoClaimReply>('                                      (r|)', {
          r: page([entry('7-0', 'z')]),
        }),
      ];
      let n = 0;
      fake = fakePort(ts, {
        read: (id) => (id === '>' ? blocking : of([])),
        autoClaim: () => claims[n++] ?? of(page([])),
        deliveries: (ids) => of(new Map(ids.map((id) => [id, 3]))),
      });
      const claimIdleMs = time('   --------------------|');
      const claimIntervalMs = time('----------|');
      const e = engine(ts, fake.port, { claimIdleMs, claimIntervalMs });
      counters = e.counters;
      const expected = '10ms a';
      const unsub = '                                     ^ 31ms !';
      expectObservable(e.messages$.pipe(ackAll, view), unsub).toBe(expected, {
        a: '7-0 z ×3',
      });
      expectSubscriptions(claims[0]!.subscriptions).toBe('(^!)');
      expectSubscriptions(claims[1]!.subscriptions).toBe('10ms (^!)');
    });
    expect(fake.only('autoClaim')).toEqual([
      [0, 'autoClaim', '0-0', 10, 20],
      [10, 'autoClaim', '0-0', 10, 20],
      [20, 'autoClaim', '0-0', 10, 20],
      [30, 'autoClaim', '0-0', 10, 20],
    ]);
    expect(fake.only('deliveries', 'ack')).toEqual([
      [10, 'deliveries', ['7-0']],
      [10, 'ack', ['7-0']],
    ]);
    expect(counters).toMatchObject({ 'stream.claimed': 1, 'stream.acked': 1 });
  });

  it('a claim that comes due during a blocking read waits for it: blockMs bounds the delay', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const blocking = cold<RawEntry[]>('-------(r|)', { r: [] });
      fake = fakePort(ts, { read: (id) => (id === '>' ? blocking : of([])) });
      const e = engine(ts, fake.port, { claimIdleMs: 20, claimIntervalMs: 10 });
      const expected = '';
      const unsub = '                    ^ 29ms !';
      expectObservable(e.messages$, unsub).toBe(expected);
      expectSubscriptions(blocking.subscriptions).toBe([
        '                                ^------!',
        '                                7ms ^------!',
        '                                14ms ^------!',
        '                                21ms ^------!',
        '                                28ms ^-!',
      ]);
    });
    // due at 10 and 24, each taken at the end of the read then running
    expect(fake.only('autoClaim').map((c) => c[0])).toEqual([0, 14, 28]);
  });

  it('claims again at once when a full page of claims has more behind it', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const claims = [
        cold<AutoClaimReply>('                            -(r|)', {
          r: page([entry('1-0', 'a')], '2-0'),
        }),
        cold<AutoClaimReply>('                             -(r|)', {
          r: page([entry('2-0', 'b')]),
        }),
      ];
      let n = 0;
      fake = fakePort(ts, { autoClaim: () => claims[n++] ?? of(page([])) });
      const e = engine(ts, fake.port, { count: 1 });
      const expected = '                                  -ab';
      const unsub = '                                     ^---!';
      expectObservable(e.messages$.pipe(ackAll, view), unsub).toBe(expected, {
        a: '1-0 a ×1',
        b: '2-0 b ×1',
      });
      expectSubscriptions(claims[0]!.subscriptions).toBe('^!');
      expectSubscriptions(claims[1]!.subscriptions).toBe('-^!');
    });
    expect(fake.only('autoClaim', 'read')).toEqual([
      [0, 'autoClaim', '0-0', 1, 1000],
      [1, 'autoClaim', '2-0', 1, 1000], // a full page: at once, from the cursor it returned
      [2, 'read', '0', 1, undefined], // the last page was not full: back to reading
      [2, 'read', '>', 1, 2000],
    ]);
  });

  it('stops reading while maxInFlight messages are unacked; an acknowledged XACK frees a slot', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const reads = [
        cold<RawEntry[]>('                               -(r|)', {
          r: [entry('1-0', 'a'), entry('2-0', 'b')],
        }),
        cold<RawEntry[]>('                                      ---'),
      ];
      const xack = cold('                                      -(n|)', { n: 1 });
      const acks = hot('                                 ------a---');
      let n = 0;
      fake = fakePort(ts, {
        read: (id) => (id === '>' ? reads[n++]! : of([])),
        ack: () => xack,
      });
      const got = new Map<string, StreamMessage<string>>();
      acks.subscribe(() => void got.get('1-0')!.ack());
      const e = engine(ts, fake.port, { maxInFlight: 2 });
      const expected = '                                 -(ab)';
      const unsub = '                                    ^---------!';
      expectObservable(
        e.messages$.pipe(
          tap((m) => got.set(m.id, m)),
          view,
        ),
        unsub,
      ).toBe(expected, { a: '1-0 a ×1', b: '2-0 b ×1' });
      expectSubscriptions(reads[0]!.subscriptions).toBe('^!');
      // the ack is requested at 6 and confirmed at 7: only then a slot is free
      expectSubscriptions(xack.subscriptions).toBe('     ------^!');
      expectSubscriptions(reads[1]!.subscriptions).toBe('-------^--!');
    });
    expect(fake.only('read', 'ack')).toEqual([
      [0, 'read', '0', 2, undefined],
      [0, 'read', '>', 2, 2000],
      [6, 'ack', ['1-0']],
      [7, 'read', '>', 1, 2000], // one free slot: COUNT 1
    ]);
  });

  it('reads ahead: the next read goes out as a read returns, asking only for slots not yet promised', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const reads = [
        cold<RawEntry[]>('                               -(r|)', {
          r: [entry('1-0', 'a'), entry('2-0', 'b')],
        }),
        cold<RawEntry[]>('                                -----(r|)', {
          r: [entry('3-0', 'c'), entry('4-0', 'd')],
        }),
        cold<RawEntry[]>('                                     ----(r|)', {
          r: [entry('5-0', 'e')],
        }),
        cold<RawEntry[]>('                                           ---'),
      ];
      const acks = hot('                                 ------------a');
      let n = 0;
      fake = fakePort(ts, { read: (id) => (id === '>' ? reads[n++]! : of([])) });
      const got = new Map<string, StreamMessage<string>>();
      acks.subscribe(() => void got.get('1-0')!.ack());
      const e = engine(ts, fake.port, { count: 2, maxInFlight: 5 });
      const expected = '                                 -(ab)-(cd)e';
      const unsub = '                                    ^--------------!';
      expectObservable(
        e.messages$.pipe(
          tap((m) => (got.set(m.id, m), fake.calls.push([ts.now(), 'emit', m.id]))),
          view,
        ),
        unsub,
      ).toBe(expected, {
        a: '1-0 a ×1',
        b: '2-0 b ×1',
        c: '3-0 c ×1',
        d: '4-0 d ×1',
        e: '5-0 e ×1',
      });
      // each read goes out in the frame the one before it returned, before its batch is emitted
      expectSubscriptions(reads[0]!.subscriptions).toBe('^!');
      expectSubscriptions(reads[1]!.subscriptions).toBe('-^----!');
      expectSubscriptions(reads[2]!.subscriptions).toBe('------^---!');
      // five held: no read until the ack at 12 frees a slot
      expectSubscriptions(reads[3]!.subscriptions).toBe('------------^--!');
    });
    expect(fake.only('read', 'emit', 'ack')).toEqual([
      [0, 'read', '0', 2, undefined],
      [0, 'read', '>', 2, 2000],
      [1, 'read', '>', 2, 2000], // before the batch is emitted; 2 promised to it: 3 free
      [1, 'emit', '1-0'],
      [1, 'emit', '2-0'],
      [6, 'read', '>', 1, 2000], // 2 held, 2 promised: 1 free
      [6, 'emit', '3-0'],
      [6, 'emit', '4-0'],
      [10, 'emit', '5-0'], // 4 held, 1 promised: none free
      [12, 'ack', ['1-0']],
      [12, 'read', '>', 1, 2000],
    ]);
  });

  it('acks requested while a batch is emitted go in one XACK; those made while it is on its way, in the next', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    let counters!: Record<string, number>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const reads = [
        cold<RawEntry[]>('                               -(r|)', {
          r: [entry('1-0', 'a'), entry('2-0', 'b'), entry('3-0', 'c')],
        }),
        cold<RawEntry[]>('                                -----(r|)', {
          r: [entry('4-0', 'd'), entry('5-0', 'e')],
        }),
      ];
      const xack = cold('                                 ------(n|)', { n: 3 });
      let n = 0;
      fake = fakePort(ts, {
        read: (id) => (id === '>' ? (reads[n++] ?? NEVER) : of([])),
        ack: (ids) => (ids.length === 3 ? xack : of(ids.length)),
      });
      const e = engine(ts, fake.port, { count: 3 });
      counters = e.counters;
      const expected = '                                 -(abc)(de)';
      const unsub = '                                    ^--------------!';
      expectObservable(e.messages$.pipe(ackAll, view), unsub).toBe(expected, {
        a: '1-0 a ×1',
        b: '2-0 b ×1',
        c: '3-0 c ×1',
        d: '4-0 d ×1',
        e: '5-0 e ×1',
      });
      expectSubscriptions(xack.subscriptions).toBe('       -^-----!');
    });
    expect(fake.only('ack')).toEqual([
      [1, 'ack', ['1-0', '2-0', '3-0']],
      [7, 'ack', ['4-0', '5-0']], // acked at 6, sent when the first XACK returned
    ]);
    expect(counters).toMatchObject({ 'stream.consumed': 5, 'stream.acked': 5 });
  });

  it('flushes every ack requested before an unsubscribe, and never waits for messages it did not emit', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    let e!: ReturnType<typeof engine>;
    ts.run(({ cold, expectObservable, expectSubscriptions, time }) => {
      const reads = [
        cold<RawEntry[]>('                               -(r|)', {
          r: [entry('1-0', 'a'), entry('2-0', 'b'), entry('3-0', 'c')],
        }),
        cold<RawEntry[]>('                                ---'),
      ];
      let n = 0;
      fake = fakePort(ts, { read: (id) => (id === '>' ? reads[n++]! : of([])) });
      e = engine(ts, fake.port, { drainTimeoutMs: time('-----|') });
      // take(2) unsubscribes while the batch is emitted, right after the second ack
      const expected = '                                 -(ab|)';
      expectObservable(e.messages$.pipe(ackAll, take(2), view)).toBe(expected, {
        a: '1-0 a ×1',
        b: '2-0 b ×1',
      });
      expectSubscriptions(reads[1]!.subscriptions).toBe('-(^!)');
    });
    expect(fake.calls.filter((c) => c[0] >= 1)).toEqual([
      [1, 'read', '>', 7, 2000], // read ahead, then cut by the unsubscribe
      [1, 'close'],
      [1, 'ack', ['1-0', '2-0']], // the acks requested before the unsubscribe, sent after it
    ]);
    expect(e.counters).toMatchObject({ 'stream.consumed': 2, 'stream.acked': 2 });
    // 3-0 was never handed out: the drain does not wait for it (nor warn after drainTimeoutMs)
    expect(e.logger.lines.map((l) => l.msg)).not.toContain(
      'stream consumer stopped before every entry was acked; they will be delivered again',
    );
  });

  it('refreshes a message held for claimIdleMs/2 to itself (XCLAIM JUSTID), until it is acked', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions, time }) => {
      const refreshed = cold<string[]>('                            -(r|)', { r: ['1-0'] });
      const acks = hot('                                  ----------------------a');
      let reads = 0;
      fake = fakePort(ts, {
        read: (id) => (id !== '>' ? of([]) : reads++ === 0 ? of([entry('1-0', 'a')]) : NEVER),
        refresh: () => refreshed,
      });
      const got: Array<StreamMessage<string>> = [];
      acks.subscribe(() => void got[0]!.ack());
      const e = engine(ts, fake.port, { claimIdleMs: time('--------------------|') });
      const expected = 'a';
      const unsub = '                                     ^ 31ms !';
      expectObservable(
        e.messages$.pipe(
          tap((m) => got.push(m)),
          view,
        ),
        unsub,
      ).toBe(expected, { a: '1-0 a ×1' });
      // checked every 5 (claimIdleMs/4); due at 10 (held since 0), then 20 (refreshed at 10)
      expectSubscriptions(refreshed.subscriptions).toBe(['10ms ^!', '20ms ^!']);
    });
    expect(fake.only('refresh', 'ack')).toEqual([
      // minIdleMs: held for 10, less the tick: an entry another consumer took is left alone
      [10, 'refresh', [{ id: '1-0', minIdleMs: 5 }]],
      [20, 'refresh', [{ id: '1-0', minIdleMs: 5 }]],
      [22, 'ack', ['1-0']],
    ]);
  });

  it('lets go of a message acked out of order: only the others are still refreshed', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ hot, expectObservable, time }) => {
      const acks = hot('                                  ---b--------ac');
      let reads = 0;
      fake = fakePort(ts, {
        read: (id) =>
          id !== '>'
            ? of([])
            : reads++ === 0
              ? of([entry('1-0', 'a'), entry('2-0', 'b'), entry('3-0', 'c')])
              : NEVER,
      });
      const got = new Map<string, StreamMessage<string>>();
      acks.subscribe((k) => void got.get(`${' abc'.indexOf(k)}-0`)!.ack());
      const e = engine(ts, fake.port, { claimIdleMs: time('--------------------|') });
      const expected = '(abc)';
      const unsub = '                                     ^ 24ms !';
      expectObservable(
        e.messages$.pipe(
          tap((m) => got.set(m.id, m)),
          view,
        ),
        unsub,
      ).toBe(expected, { a: '1-0 a ×1', b: '2-0 b ×1', c: '3-0 c ×1' });
    });
    expect(fake.only('refresh', 'ack').map((c) => [c[0], c[1], c[2]])).toEqual([
      [3, 'ack', ['2-0']],
      // held since 0: the first and the last are due at 10, the acked middle one is not
      [
        10,
        'refresh',
        [
          { id: '1-0', minIdleMs: 5 },
          { id: '3-0', minIdleMs: 5 },
        ],
      ],
      [12, 'ack', ['1-0']],
      [13, 'ack', ['3-0']],
      // nothing held at 20: no refresh
    ]);
  });

  it('hands out plain messages: the bookkeeping of the engine never shows in them', () => {
    const ts = testScheduler();
    const got: Array<StreamMessage<string>> = [];
    ts.run(({ expectObservable }) => {
      let reads = 0;
      const fake = fakePort(ts, {
        read: (id) =>
          id !== '>' ? of([]) : reads++ === 0 ? of([entry('1-0', 'a'), entry('2-0', 'b')]) : NEVER,
      });
      const expected = '(ab)';
      const unsub = '    ^-!';
      expectObservable(
        engine(ts, fake.port).messages$.pipe(
          tap((m) => got.push(m)),
          view,
        ),
        unsub,
      ).toBe(expected, { a: '1-0 a ×1', b: '2-0 b ×1' });
    });
    const plain = { stream: 'orders', group: 'billing', consumer: 'billing-1', deliveries: 1 };
    expect(got.map((m) => JSON.parse(JSON.stringify(m)))).toEqual([
      { ...plain, id: '1-0', value: 'a' },
      { ...plain, id: '2-0', value: 'b' },
    ]);
    expect(Object.keys(got[0]!).sort()).toEqual(
      ['consumer', 'deliveries', 'group', 'id', 'stream', 'value'].sort(),
    );
  });

  it('an entry another consumer claimed is not refreshed again, and its late ack is reported', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    const lost: LostAck[] = [];
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      // another consumer took it: the refresh finds it no longer ours
      const refreshed = cold<string[]>('                           (r|)', { r: [] });
      const xack = cold('                                                       (n|)', { n: 0 });
      const acks = hot('                                 -----------------------a');
      let reads = 0;
      fake = fakePort(ts, {
        read: (id) => (id !== '>' ? of([]) : reads++ === 0 ? of([entry('1-0', 'a')]) : NEVER),
        refresh: () => refreshed,
        ack: () => xack,
      });
      const got: Array<StreamMessage<string>> = [];
      acks.subscribe(() => void got[0]!.ack());
      const e = engine(ts, fake.port, { claimIdleMs: 20, onLostAck: (l) => lost.push(l) });
      const expected = 'a';
      const unsub = '                                    ^ 29ms !';
      expectObservable(
        e.messages$.pipe(
          tap((m) => got.push(m)),
          view,
        ),
        unsub,
      ).toBe(expected, { a: '1-0 a ×1' });
      expectSubscriptions(refreshed.subscriptions).toBe('10ms (^!)');
      expectSubscriptions(xack.subscriptions).toBe('     23ms (^!)');
    });
    expect(fake.only('refresh', 'ack').map((c) => c.slice(0, 2))).toEqual([
      [10, 'refresh'],
      [23, 'ack'],
    ]);
    expect(lost).toEqual([
      { stream: 'orders', group: 'billing', consumer: 'billing-1', ids: ['1-0'], lost: 1 },
    ]);
  });

  it('dead-letters an undecodable entry and acks it only after the DLQ write', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    let counters!: Record<string, number>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const read = cold<RawEntry[]>('               -(r|)', {
        r: [entry('1-0'), entry('2-0', 'ok')],
      });
      const xadd = cold<void>('                      --(r|)', { r: undefined });
      let reads = 0;
      fake = fakePort(ts, {
        read: (id) => (id !== '>' ? of([]) : reads++ === 0 ? read : NEVER),
        deadLetter: () => xadd,
      });
      const e = engine(ts, fake.port);
      counters = e.counters;
      // the good entry of the same read waits for the DLQ write
      const expected = '                            ---a';
      const unsub = '                               ^----!';
      expectObservable(e.messages$.pipe(ackAll, view), unsub).toBe(expected, { a: '2-0 ok ×1' });
      expectSubscriptions(read.subscriptions).toBe('^!');
      expectSubscriptions(xadd.subscriptions).toBe('-^-!');
    });
    expect(fake.only('deadLetter', 'ack')).toEqual([
      [1, 'deadLetter', { id: '1-0', fields: {}, deliveries: 1, reason: 'decode: no field n' }],
      // the dead letter's ack and the good entry's, requested in the same frame: one XACK
      [3, 'ack', ['1-0', '2-0']],
    ]);
    expect(counters).toMatchObject({ 'stream.deadLettered': 1, 'stream.consumed': 1 });
  });

  it('dead-letters a history entry delivered more than maxDeliveries times', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const xadd = cold<void>('                     -(r|)', { r: undefined });
      let history = 0;
      fake = fakePort(ts, {
        read: (id) => (id === '>' ? NEVER : history++ === 0 ? of([entry('1-0', 'x')]) : of([])),
        deliveries: () => of(new Map([['1-0', 6]])),
        deadLetter: () => xadd,
      });
      const expected = '';
      const unsub = '                               ^---!';
      expectObservable(engine(ts, fake.port).messages$, unsub).toBe(expected);
      expectSubscriptions(xadd.subscriptions).toBe('^!');
    });
    expect(fake.only('deadLetter', 'ack')).toEqual([
      [
        0,
        'deadLetter',
        {
          id: '1-0',
          fields: { n: 'x' },
          deliveries: 6,
          reason: 'maxDeliveries: delivered 6 times (limit 5)',
        },
      ],
      [1, 'ack', ['1-0']],
    ]);
  });

  it('leaves the entry pending (no ack) when the DLQ write fails, and goes on', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    let counters!: Record<string, number>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const lost = new ConnectionError('closed', 'lost');
      const xadd = cold<void>('                     --#', undefined, lost);
      let reads = 0;
      fake = fakePort(ts, {
        read: (id) =>
          id !== '>' ? of([]) : reads++ === 0 ? of([entry('1-0'), entry('2-0', 'ok')]) : NEVER,
        deadLetter: () => xadd,
      });
      const e = engine(ts, fake.port);
      counters = e.counters;
      const expected = '                            --a';
      const unsub = '                               ^---!';
      expectObservable(e.messages$.pipe(view), unsub).toBe(expected, { a: '2-0 ok ×1' });
      expectSubscriptions(xadd.subscriptions).toBe('^-!');
    });
    expect(fake.only('ack')).toEqual([]);
    expect(counters).toMatchObject({ 'stream.errors': 1 });
    expect(counters['stream.deadLettered']).toBeUndefined();
  });

  it('retries a read that failed transiently after 50 ms, then goes on reading', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const lostConnection = new ConnectionError(
        'closed',
        'the connection closed during XREADGROUP',
      );
      const reads = [
        cold<RawEntry[]>('                               --#', undefined, lostConnection),
        cold<RawEntry[]>('                               -(r|)', { r: [entry('1-0', 'a')] }),
        cold<RawEntry[]>('                               ----'),
      ];
      let n = 0;
      fake = fakePort(ts, { read: (id) => (id === '>' ? reads[n++]! : of([])) });
      const expected = '53ms a';
      const unsub = '                                    ^ 59ms !';
      expectObservable(engine(ts, fake.port).messages$.pipe(view), unsub).toBe(expected, {
        a: '1-0 a ×1',
      });
      expectSubscriptions(reads[0]!.subscriptions).toBe('^-!');
      expectSubscriptions(reads[1]!.subscriptions).toBe('52ms ^!');
      expectSubscriptions(reads[2]!.subscriptions).toBe('53ms ^------!');
    });
    expect(fake.only('read').map((c) => [c[0], c[2]])).toEqual([
      [0, '0'],
      [0, '>'],
      [52, '>'],
      [53, '>'],
    ]);
  });

  it('creates the group again when a read finds it missing (NOGROUP), then reads on', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    let logger!: ReturnType<typeof recordingLogger>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const noGroup = new CommandError('XREADGROUP', 'NOGROUP', 'No such key or consumer group');
      const reads = [
        cold<RawEntry[]>('                               --#', undefined, noGroup),
        cold<RawEntry[]>('                                 -(r|)', { r: [entry('1-0', 'a')] }),
        cold<RawEntry[]>('                                  ---'),
      ];
      const created = cold<void>('                           -(x|)', { x: undefined });
      let n = 0;
      let groups = 0;
      fake = fakePort(ts, {
        ensureGroup: () => (groups++ === 0 ? of(undefined) : created),
        read: (id) => (id === '>' ? reads[n++]! : of([])),
      });
      const e = engine(ts, fake.port);
      logger = e.logger;
      const expected = '                                 ----a';
      const unsub = '                                    ^-----!';
      expectObservable(e.messages$.pipe(view), unsub).toBe(expected, { a: '1-0 a ×1' });
      expectSubscriptions(reads[0]!.subscriptions).toBe('^-!');
      expectSubscriptions(created.subscriptions).toBe('  --^!');
      expectSubscriptions(reads[1]!.subscriptions).toBe('---^!');
      expectSubscriptions(reads[2]!.subscriptions).toBe('----^-!');
    });
    expect(fake.only('ensureGroup', 'read').map((c) => [c[0], c[1], c[2]])).toEqual([
      [0, 'ensureGroup', undefined],
      [0, 'read', '0'],
      [0, 'read', '>'],
      [2, 'ensureGroup', undefined],
      [3, 'read', '>'],
      [4, 'read', '>'],
    ]);
    expect(logger.lines.map((l) => l.msg)).toContain('consumer group missing; creating it again');
  });

  it('passes a read error that is not transient (WRONGTYPE) on, and stops', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    const bug = new CommandError(
      'XREADGROUP',
      'WRONGTYPE',
      'Operation against a key holding the wrong kind of value',
    );
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const read = cold<RawEntry[]>('               --#', undefined, bug);
      fake = fakePort(ts, { read: (id) => (id === '>' ? read : of([])) });
      const expected = '                            --#';
      expectObservable(engine(ts, fake.port).messages$).toBe(expected, undefined, bug);
      expectSubscriptions(read.subscriptions).toBe('^-!');
    });
    expect(fake.calls.filter((c) => c[0] > 0)).toEqual([[2, 'close']]);
  });

  it('on unsubscribe stops reading at once and still sends the acks made within drainTimeoutMs', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions, time }) => {
      const reads = [
        cold<RawEntry[]>('                               -(r|)', { r: [entry('1-0', 'a')] }),
        cold<RawEntry[]>('                                ----'),
      ];
      const acks = hot('                                 ----a');
      let n = 0;
      fake = fakePort(ts, { read: (id) => (id === '>' ? reads[n++]! : of([])) });
      const got: Array<StreamMessage<string>> = [];
      acks.subscribe(() => void got[0]!.ack());
      const e = engine(ts, fake.port, { drainTimeoutMs: time('-----|') });
      const expected = '                                 -a';
      const unsub = '                                    ^--!';
      expectObservable(
        e.messages$.pipe(
          tap((m) => got.push(m)),
          view,
        ),
        unsub,
      ).toBe(expected, { a: '1-0 a ×1' });
      expectSubscriptions(reads[1]!.subscriptions).toBe('-^-!');
    });
    expect(fake.calls.filter((c) => c[0] >= 3)).toEqual([
      [3, 'close'],
      [4, 'ack', ['1-0']],
    ]);
  });

  it('settles every ack() after a drain that timed out: an XACK in flight or sent later runs to its reply', async () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    const got: Array<StreamMessage<string>> = [];
    const settled: string[] = [];
    ts.run(({ cold, hot, expectObservable, time }) => {
      const reads = [
        cold<RawEntry[]>('                               -(r|)', {
          r: [entry('1-0', 'a'), entry('2-0', 'b')],
        }),
        cold<RawEntry[]>('                                ----'),
      ];
      const replies = [
        cold<number>('                                       -----(n|)', { n: 1 }),
        cold<number>('                                            -(n|)', { n: 1 }),
      ];
      // a acked at 4 (its XACK answers at 9), b at 7: both after the unsubscribe at 3, and the
      // drain gives up at 5
      const acks = hot('                                 ----a--b');
      let n = 0;
      let k = 0;
      fake = fakePort(ts, {
        read: (id) => (id === '>' ? reads[n++]! : of([])),
        ack: () => replies[k++]!,
      });
      acks.subscribe((x) => {
        const m = got[x === 'a' ? 0 : 1]!;
        m.ack().then(
          () => settled.push(m.id),
          () => settled.push(`${m.id} failed`),
        );
      });
      const e = engine(ts, fake.port, { drainTimeoutMs: time('--|') });
      const expected = '                                 -(ab)';
      const unsub = '                                    ^--!';
      expectObservable(
        e.messages$.pipe(
          tap((m) => got.push(m)),
          view,
        ),
        unsub,
      ).toBe(expected, { a: '1-0 a ×1', b: '2-0 b ×1' });
    });
    await new Promise((r) => setImmediate(r));
    expect(fake.only('ack')).toEqual([
      [4, 'ack', ['1-0']],
      [9, 'ack', ['2-0']],
    ]);
    expect(settled).toEqual(['1-0', '2-0']);
  });
});
