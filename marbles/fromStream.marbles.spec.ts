import * as t from 'io-ts';
import { NEVER, of, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { CommandError, ConnectionError, DecodeError } from '../src/errors';
import { tailStream, type ReadLoopConfig } from '../src/internal/streamReadLoop';
import type { StreamReadPort } from '../src/internal/streamReadPort';
import type { RawEntry, StreamFields } from '../src/internal/streamReplies';
import type { StreamEntry } from '../src/sources/StreamEntry';
import { createTestScheduler, recordingLogger } from '../src/testing';

/**
 * The read loop behind fromStream, over a fake port whose reads are cold observables, so its
 * timing runs in virtual time. `fromStream` itself always builds the Redis port, so these cases
 * drive `tailStream` (what `fromStream` subscribes to) directly.
 *
 * fromStream's TSDoc diagram:
 *
 * ```
 * XADD:     --1---2-3---------------4--
 * XREAD:    R-R---R-R--x~~~~~~R-----R--   one at a time, each from the last id seen;
 *                                         x connection lost, ~ backoff (50 ms, doubling to 2 s)
 * entries:  --1---2-3---------------4--   (from '$': only entries added after subscribing)
 * ```
 */
describe('fromStream read loop (marbles)', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));

  type Call = [number, string, ...unknown[]];
  interface Script {
    readonly newest?: () => Observable<string | undefined>;
    readonly read?: (after: string, count: number, blockMs: number) => Observable<RawEntry[]>;
  }

  /** A port that logs each call with its virtual time. Defaults: an empty stream, reads block forever. */
  const fakePort = (ts: TestScheduler, script: Script = {}) => {
    const calls: Call[] = [];
    const log = (op: string, ...args: unknown[]) => calls.push([ts.now(), op, ...args]);
    const port: StreamReadPort = {
      newest: () => (log('newest'), script.newest?.() ?? of(undefined)),
      read: (after, count, blockMs) => (
        log('read', after, count, blockMs),
        script.read?.(after, count, blockMs) ?? NEVER
      ),
      close: () => void log('close'),
    };
    const only = (...ops: string[]) => calls.filter((c) => ops.includes(c[1]));
    return { port, calls, only };
  };

  const entry = (id: string, n?: string): RawEntry => ({
    id,
    fields: n === undefined ? null : { n },
  });

  const loop = <A = StreamFields>(
    ts: TestScheduler,
    port: StreamReadPort,
    config: Partial<ReadLoopConfig<A>> = {},
  ) => {
    const counters: Record<string, number> = {};
    const logger = recordingLogger();
    const hooks: Array<() => Promise<void>> = [];
    const entries$ = tailStream<A>(port, {
      stream: 'audit',
      from: '$',
      count: 10,
      blockMs: 5000,
      codec: undefined,
      onDecodeError: 'error',
      scheduler: ts,
      logger,
      increment: (name) => void (counters[name] = (counters[name] ?? 0) + 1),
      onClose: (hook) => {
        hooks.push(hook);
        return () => void hooks.splice(hooks.indexOf(hook), 1);
      },
      ...config,
    });
    return { entries$, counters, logger, hooks };
  };
  const e = (id: string, n: string): StreamEntry<StreamFields> => ({
    stream: 'audit',
    id,
    value: { n },
  });

  it("pins '$' to the newest id, then reads one blocking XREAD after another from the last id seen", () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const newest = cold<string | undefined>('       -(n|)', { n: '2-0' });
      const reads = [
        cold<RawEntry[]>('                            --(r|)', { r: [entry('3-0', 'a')] }),
        cold<RawEntry[]>('                              -(r|)', { r: [] }), // BLOCK timed out
        cold<RawEntry[]>('                               --(r|)', {
          r: [entry('4-0', 'b'), entry('5-0', 'c')],
        }),
        cold<RawEntry[]>('                                 ----'),
      ];
      let n = 0;
      fake = fakePort(ts, { newest: () => newest, read: () => reads[n++]! });
      const expected = '                          ---a--(bc)';
      const unsub = '                             ^--------!';
      expectObservable(loop(ts, fake.port).entries$, unsub).toBe(expected, {
        a: e('3-0', 'a'),
        b: e('4-0', 'b'),
        c: e('5-0', 'c'),
      });
      expectSubscriptions(newest.subscriptions).toBe('  ^!');
      expectSubscriptions(reads[0]!.subscriptions).toBe('-^-!');
      expectSubscriptions(reads[1]!.subscriptions).toBe('---^!');
      expectSubscriptions(reads[2]!.subscriptions).toBe('----^-!');
      expectSubscriptions(reads[3]!.subscriptions).toBe('------^--!');
    });
    expect(fake.calls).toEqual([
      [0, 'newest'],
      [1, 'read', '2-0', 10, 5000], // not '$': what is added between two reads is not skipped
      [3, 'read', '3-0', 10, 5000],
      [4, 'read', '3-0', 10, 5000], // an empty read leaves the position where it was
      [6, 'read', '5-0', 10, 5000],
      [9, 'close'], // unsubscribing closes the blocking connection at once
    ]);
  });

  it("reads an empty stream from 0-0 with '$', and from the given id without asking for the newest", () => {
    const ts = testScheduler();
    let empty!: ReturnType<typeof fakePort>;
    let fromId!: ReturnType<typeof fakePort>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const newest = cold<string | undefined>('-(n|)', { n: undefined });
      empty = fakePort(ts, { newest: () => newest });
      fromId = fakePort(ts);
      expectObservable(loop(ts, empty.port).entries$, '^--!').toBe('');
      expectObservable(loop(ts, fromId.port, { from: '7-1' }).entries$, '^--!').toBe('');
      expectSubscriptions(newest.subscriptions).toBe('^!');
    });
    expect(empty.calls).toEqual([
      [0, 'newest'],
      [1, 'read', '0-0', 10, 5000],
      [3, 'close'],
    ]);
    expect(fromId.calls).toEqual([
      [0, 'read', '7-1', 10, 5000],
      [3, 'close'],
    ]);
  });

  it('reads again from the same id after a lost connection: 50 ms, then doubling, reset by a read that succeeds', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    let logger!: ReturnType<typeof recordingLogger>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const lost = new ConnectionError('closed', 'the connection closed during XREAD');
      const reads = [
        cold<RawEntry[]>('                            -(r|)', { r: [entry('1-0', 'a')] }),
        cold<RawEntry[]>('                             --#', undefined, lost),
        cold<RawEntry[]>('                            -#', undefined, lost),
        cold<RawEntry[]>('                            -(r|)', { r: [entry('2-0', 'b')] }),
        cold<RawEntry[]>('                            --#', undefined, lost),
        cold<RawEntry[]>('                            ---'),
      ];
      let n = 0;
      fake = fakePort(ts, { read: () => reads[n++]! });
      const l = loop(ts, fake.port, { from: '0' });
      logger = l.logger;
      const expected = '                          -a 153ms b';
      const unsub = '                             ^ 209ms !';
      expectObservable(l.entries$, unsub).toBe(expected, { a: e('1-0', 'a'), b: e('2-0', 'b') });
      expectSubscriptions(reads[0]!.subscriptions).toBe('^!');
      expectSubscriptions(reads[1]!.subscriptions).toBe('-^-!');
      expectSubscriptions(reads[2]!.subscriptions).toBe('53ms ^!'); // failed at 3, + 50
      expectSubscriptions(reads[3]!.subscriptions).toBe('154ms ^!'); // failed at 54, + 100
      expectSubscriptions(reads[4]!.subscriptions).toBe('155ms ^-!');
      expectSubscriptions(reads[5]!.subscriptions).toBe('207ms ^--!'); // reset: + 50 again
    });
    expect(fake.only('read').map((c) => [c[0], c[2]])).toEqual([
      [0, '0'],
      [1, '1-0'],
      [53, '1-0'], // from the last id seen: nothing skipped, nothing repeated
      [154, '1-0'],
      [155, '2-0'],
      [207, '2-0'],
    ]);
    expect(logger.lines.map((l) => [l.msg, (l.obj as { attempt: number }).attempt])).toEqual([
      ['XREAD failed; retrying', 1],
      ['XREAD failed; retrying', 2],
      ['XREAD failed; retrying', 1],
    ]);
  });

  it('unsubscribing during the backoff clears the timer: no read follows', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const lost = new ConnectionError('closed', 'the connection closed during XREAD');
      const read = cold<RawEntry[]>('               --#', undefined, lost);
      fake = fakePort(ts, { read: () => read });
      const unsub = '                             ^ 19ms !';
      expectObservable(loop(ts, fake.port, { from: '0' }).entries$, unsub).toBe('');
      expectSubscriptions(read.subscriptions).toBe('^-!');
    });
    // the retry would have read at 52; the run flushes every scheduled action, and none is left
    expect(fake.calls).toEqual([
      [0, 'read', '0', 10, 5000],
      [20, 'close'],
    ]);
  });

  it("pins '$' again after a lost connection (50 ms later), then reads from the pinned id", () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    let logger!: ReturnType<typeof recordingLogger>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const lost = new ConnectionError('unavailable', 'Redis unavailable (XREVRANGE)');
      const pins = [
        cold<string | undefined>('                       --#', undefined, lost),
        cold<string | undefined>('                       -(n|)', { n: '2-0' }),
      ];
      const read = cold<RawEntry[]>('                    -(r|)', { r: [entry('3-0', 'a')] });
      const block = cold<RawEntry[]>('                   ---');
      let p = 0;
      let r = 0;
      fake = fakePort(ts, { newest: () => pins[p++]!, read: () => (r++ === 0 ? read : block) });
      const l = loop(ts, fake.port);
      logger = l.logger;
      const expected = '                                 54ms a';
      const unsub = '                                    ^ 59ms !';
      expectObservable(l.entries$, unsub).toBe(expected, { a: e('3-0', 'a') });
      expectSubscriptions(pins[0]!.subscriptions).toBe(' ^-!');
      expectSubscriptions(pins[1]!.subscriptions).toBe(' 52ms ^!'); // failed at 2, + 50
      expectSubscriptions(read.subscriptions).toBe('     53ms ^!');
      expectSubscriptions(block.subscriptions).toBe('    54ms ^-----!');
    });
    expect(fake.calls).toEqual([
      [0, 'newest'],
      [52, 'newest'],
      [53, 'read', '2-0', 10, 5000], // from the pinned id, not '$' or '0-0'
      [54, 'read', '3-0', 10, 5000],
      [60, 'close'],
    ]);
    expect(
      logger.lines.map((line) => [line.msg, (line.obj as { attempt: number }).attempt]),
    ).toEqual([['XREVRANGE failed; retrying', 1]]);
  });

  it("fails at once when pinning '$' fails with an error that is not transient, without reading", () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    const noPerm = new CommandError('XREVRANGE', 'NOPERM', 'no permissions to run the command');
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const pin = cold<string | undefined>('          -#', undefined, noPerm);
      fake = fakePort(ts, { newest: () => pin });
      const expected = '                              -#';
      // bounded, so a loop that retried it would fail here rather than run forever
      const unsub = '                                 ^ 99ms !';
      expectObservable(loop(ts, fake.port).entries$, unsub).toBe(expected, undefined, noPerm);
      expectSubscriptions(pin.subscriptions).toBe('   ^!');
    });
    expect(fake.calls).toEqual([
      [0, 'newest'],
      [1, 'close'],
    ]);
  });

  it("unsubscribing while a failed pin of '$' waits to be retried clears the timer", () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const lost = new ConnectionError('closed', 'Redis connection is closed (XREVRANGE)');
      const pin = cold<string | undefined>('          --#', undefined, lost);
      fake = fakePort(ts, { newest: () => pin });
      const unsub = '                                 ^ 19ms !';
      expectObservable(loop(ts, fake.port).entries$, unsub).toBe('');
      expectSubscriptions(pin.subscriptions).toBe('   ^-!');
    });
    // the retry would have pinned at 52; the run flushes every scheduled action, and none is left
    expect(fake.calls).toEqual([
      [0, 'newest'],
      [20, 'close'],
    ]);
  });

  it('fails at once with an error that is not transient (WRONGTYPE), and closes the connection', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    const wrongType = new CommandError(
      'XREAD',
      'WRONGTYPE',
      'Operation against a key holding the wrong kind of value',
    );
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const read = cold<RawEntry[]>('               --#', undefined, wrongType);
      fake = fakePort(ts, { read: () => read });
      const expected = '                            --#';
      // bounded, so a loop that retried it would fail here rather than run forever
      const unsub = '                               ^ 99ms !';
      expectObservable(loop(ts, fake.port, { from: '0' }).entries$, unsub).toBe(
        expected,
        undefined,
        wrongType,
      );
      expectSubscriptions(read.subscriptions).toBe('^-!');
    });
    expect(fake.calls).toEqual([
      [0, 'read', '0', 10, 5000],
      [2, 'close'],
    ]);
  });

  it('client.close() completes it and closes the connection in the middle of a blocking read', () => {
    const ts = testScheduler();
    let fake!: ReturnType<typeof fakePort>;
    let hooks!: Array<() => Promise<void>>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const read = cold<RawEntry[]>('               ------');
      const closing = hot('                         ---c');
      fake = fakePort(ts, { read: () => read });
      const l = loop(ts, fake.port, { from: '0' });
      hooks = l.hooks;
      closing.subscribe(() => l.hooks.forEach((h) => void h()));
      const expected = '                            ---|';
      expectObservable(l.entries$).toBe(expected);
      expectSubscriptions(read.subscriptions).toBe('^--!');
    });
    expect(fake.calls).toEqual([
      [0, 'read', '0', 10, 5000],
      [3, 'close'],
    ]);
    expect(hooks).toEqual([]); // the hook was unregistered in the teardown
  });

  describe('decoding', () => {
    const N = t.type({ n: t.number }, 'N');
    const json = (id: string, data: string): RawEntry => ({ id, fields: { data } });
    const page: RawEntry[] = [
      json('1-0', '{"n":1}'),
      json('2-0', '{"n":"two"}'),
      entry('3-0'), // deleted meanwhile: no fields, left out
      json('4-0', '{"n":4}'),
    ];

    it("'skip' leaves an undecodable entry out, counts and logs it, and reads on from the last id", () => {
      const ts = testScheduler();
      let fake!: ReturnType<typeof fakePort>;
      let l!: ReturnType<typeof loop<{ n: number }>>;
      ts.run(({ cold, expectObservable, expectSubscriptions }) => {
        const reads = [
          cold<RawEntry[]>('               -(r|)', { r: page }),
          cold<RawEntry[]>('---'),
        ];
        let n = 0;
        fake = fakePort(ts, { read: () => reads[n++]! });
        l = loop(ts, fake.port, { from: '0', codec: N, onDecodeError: 'skip' });
        const expected = '                            -(ad)';
        expectObservable(l.entries$, '                 ^---!').toBe(expected, {
          a: { stream: 'audit', id: '1-0', value: { n: 1 } },
          d: { stream: 'audit', id: '4-0', value: { n: 4 } },
        });
        expectSubscriptions(reads[1]!.subscriptions).toBe('-^--!');
      });
      expect(fake.only('read').map((c) => c[2])).toEqual(['0', '4-0']);
      expect(l.counters).toEqual({ 'stream.skipped': 1 });
      expect(l.logger.lines).toEqual([
        expect.objectContaining({
          msg: 'stream entry skipped',
          obj: expect.objectContaining({ id: '2-0' }),
        }),
      ]);
    });

    it("'error' emits what came before the undecodable entry, then fails with a DecodeError naming it", () => {
      const ts = testScheduler();
      let fake!: ReturnType<typeof fakePort>;
      let error: unknown;
      ts.run(({ cold, expectObservable, expectSubscriptions }) => {
        const read = cold<RawEntry[]>('               -(r|)', { r: page });
        fake = fakePort(ts, { read: () => read });
        const entries$ = loop(ts, fake.port, { from: '0', codec: N }).entries$;
        entries$.subscribe({ error: (e: unknown) => (error = e) });
        const expected = '                            -(a#)';
        expectObservable(entries$).toBe(
          expected,
          { a: { stream: 'audit', id: '1-0', value: { n: 1 } } },
          expect.any(DecodeError),
        );
        expectSubscriptions(read.subscriptions).toBe(['^!', '^!']);
      });
      expect(error).toBeInstanceOf(DecodeError);
      expect((error as Error).message).toContain('entry 2-0 of audit');
      expect(fake.only('close').map((c) => c[0])).toEqual([1, 1]);
    });
  });
});
