import { CommandError, TimeoutError, toRedisError } from '../src/errors';
import {
  BatchOverflowError,
  batchPipeline,
  type BatchCommand,
  type CommandResult,
} from '../src/operators/batchPipeline';
import { createTestScheduler, fakePipeline } from '../src/testing';

/**
 * batchPipeline: one pipeline per batch, one outcome per item, in input order.
 *
 * ```
 * maxSize: 2, maxWaitMs: 5, Redis answering at once
 * source:    -a-b------c--------d|
 * result:    ---(AB)--------C----(D|)
 *               │           │    └ completion flushes the last batch
 *               │           └ c waited maxWaitMs: a partial batch
 *               └ a full batch is sent at once
 * ```
 */
describe('batchPipeline', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const set = (x: string): BatchCommand => ['set', x, x.toUpperCase()];
  const ok = (item: string, value: unknown = 'OK') => ({ ok: true, value, item });
  const failed = (item: string, error: unknown) => ({ ok: false, error, item });
  const keysSent = (redis: ReturnType<typeof fakePipeline>) =>
    redis.sent.map((p) => [p.time, p.commands.map((c) => c[1]).join('')]);

  it('sends full batches at once, partial ones after maxWaitMs, the last one on completion', () => {
    const redis = fakePipeline();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, time }) => {
      const source = cold('  -a-b------c--------d|');
      const expected = '     ---(AB)--------C----(D|)';
      const result = source.pipe(
        batchPipeline(redis, set, { maxSize: 2, maxWaitMs: time('-----|') }),
      );
      expectObservable(result).toBe(expected, { A: ok('a'), B: ok('b'), C: ok('c'), D: ok('d') });
      expectSubscriptions(source.subscriptions).toBe('^-------------------!');
    });
    expect(keysSent(redis)).toEqual([
      [3, 'ab'],
      [15, 'c'],
      [20, 'd'],
    ]);
  });

  it('completes at once on an empty source, sending nothing', () => {
    const redis = fakePipeline();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  |');
      expectObservable(source.pipe(batchPipeline(redis, set))).toBe('|');
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
    expect(redis.sent).toEqual([]);
  });

  it('flushes a partial batch when its first item has waited maxWaitMs', () => {
    const redis = fakePipeline();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-------|');
      const expected = '     -----(AB)--|';
      expectObservable(source.pipe(batchPipeline(redis, set, { maxSize: 10, maxWaitMs: 4 }))).toBe(
        expected,
        { A: ok('a'), B: ok('b') },
      );
      expectSubscriptions(source.subscriptions).toBe('^----------!');
    });
    expect(keysSent(redis)).toEqual([[5, 'ab']]);
  });

  it('times a partial batch from its own first item, not from an earlier batch that left full', () => {
    const redis = fakePipeline();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, time }) => {
      const source = cold('  -ab-c------|');
      const expected = '     --(AB)---C-|';
      const maxWaitMs = time('-----|');
      expectObservable(source.pipe(batchPipeline(redis, set, { maxSize: 2, maxWaitMs }))).toBe(
        expected,
        { A: ok('a'), B: ok('b'), C: ok('c') },
      );
      expectSubscriptions(source.subscriptions).toBe('^----------!');
    });
    // c came at 4: due at 9, although a's wait (due at 6) was still running when c came
    expect(keysSent(redis)).toEqual([
      [2, 'ab'],
      [9, 'c'],
    ]);
  });

  it('sends a partial batch that became due while no slot was free as soon as one frees', () => {
    const redis = fakePipeline({ latencyMs: 6 });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -abc-d-----|');
      const expected = '     ---------(ABC)-(D|)';
      expectObservable(source.pipe(batchPipeline(redis, set, { maxSize: 3, maxWaitMs: 2 }))).toBe(
        expected,
        { A: ok('a'), B: ok('b'), C: ok('c'), D: ok('d') },
      );
      expectSubscriptions(source.subscriptions).toBe('^----------!');
    });
    // d was due at 7, while abc was on its way until 9
    expect(keysSent(redis)).toEqual([
      [3, 'abc'],
      [9, 'd'],
    ]);
  });

  it('on completion sends the last batch and completes after its replies', () => {
    const redis = fakePipeline({ latencyMs: 3 });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b|');
      const expected = '     -------(AB|)';
      expectObservable(
        source.pipe(batchPipeline(redis, set, { maxSize: 10, maxWaitMs: 100 })),
      ).toBe(expected, { A: ok('a'), B: ok('b') });
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
    expect(keysSent(redis)).toEqual([[4, 'ab']]);
  });

  it('gives a failing command its own error; the other items of the batch succeed', () => {
    const wrongType = new CommandError('SET', 'WRONGTYPE', 'Redis replied with an error (SET)');
    const redis = fakePipeline({
      reply: ([, key]) => {
        if (key === 'b') throw wrongType;
        return 'OK';
      },
    });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -abc----|');
      const expected = '     ---(ABC)|';
      expectObservable(source.pipe(batchPipeline(redis, set, { maxSize: 3 }))).toBe(expected, {
        A: ok('a'),
        B: failed('b', wrongType),
        C: ok('c'),
      });
      expectSubscriptions(source.subscriptions).toBe('^-------!');
    });
  });

  it('gives every item of a round trip that failed as a whole its error, and goes on', () => {
    const timeout = new TimeoutError('Redis command timed out');
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const replies = [
        cold<ReadonlyArray<CommandResult>>('  --#', undefined, timeout),
        cold<ReadonlyArray<CommandResult>>('  --(r|)', { r: [{ ok: true, value: 1 }] }),
      ];
      const redis = fakePipeline({ respond: (_, n) => replies[n]! });
      const source = cold('                   (ab)c|');
      const expected = '                      --(AB)-(C|)';
      expectObservable(source.pipe(batchPipeline(redis, set, { maxSize: 2 }))).toBe(expected, {
        A: failed('a', timeout),
        B: failed('b', timeout),
        C: ok('c', 1),
      });
      expectSubscriptions(source.subscriptions).toBe('   ^----!');
      expectSubscriptions(replies[0]!.subscriptions).toBe('^-!');
      expectSubscriptions(replies[1]!.subscriptions).toBe('-----^-!');
    });
  });

  it('gives every item of a batch whose runner throws that error, and goes on', () => {
    const down = new Error('runner down');
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const redis = fakePipeline({
        respond: (_, n) => {
          if (n === 0) throw down;
          return cold<ReadonlyArray<CommandResult>>('-(r|)', { r: [{ ok: true, value: 1 }] });
        },
      });
      const source = cold('  (ab)c|');
      const expected = '     (AB)--(C|)';
      expectObservable(source.pipe(batchPipeline(redis, set, { maxSize: 2 }))).toBe(expected, {
        A: failed('a', toRedisError(down)),
        B: failed('b', toRedisError(down)),
        C: ok('c', 1),
      });
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('on a source error mid-batch, sends what it took, emits its outcomes, then the error', () => {
    const boom = new Error('upstream failed');
    const redis = fakePipeline({ latencyMs: 2 });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-#', undefined, boom);
      const expected = '     -------(AB#)';
      expectObservable(source.pipe(batchPipeline(redis, set, { maxSize: 10 }))).toBe(
        expected,
        { A: ok('a'), B: ok('b') },
        boom,
      );
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
    expect(keysSent(redis)).toEqual([[5, 'ab']]);
  });

  it('keeps at most maxInFlight pipelines out; the rest waits and goes in full batches', () => {
    const one = fakePipeline({ latencyMs: 5 });
    const two = fakePipeline({ latencyMs: 6 });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  (abcde|)');
      const values = { A: ok('a'), B: ok('b'), C: ok('c'), D: ok('d'), E: ok('e') };
      expectObservable(source.pipe(batchPipeline(one, set, { maxSize: 2 }))).toBe(
        '                    -----(AB)-(CD)-(E|)',
        values,
      );
      expectObservable(source.pipe(batchPipeline(two, set, { maxSize: 2, maxInFlight: 2 }))).toBe(
        '                    ------(ABCD)(E|)',
        values,
      );
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '(^!)']);
    });
    expect(keysSent(one)).toEqual([
      [0, 'ab'],
      [5, 'cd'],
      [10, 'e'],
    ]);
    expect(keysSent(two)).toEqual([
      [0, 'ab'],
      [0, 'cd'],
      [6, 'e'],
    ]);
  });

  it('emits in input order when a later pipeline answers first', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const reply = (v: string): CommandResult[] => [
        { ok: true, value: v },
        { ok: true, value: v },
      ];
      const replies = [
        cold('  ----(r|)', { r: reply('slow') }),
        cold('  -(r|)', { r: reply('fast') }),
      ];
      const redis = fakePipeline({ respond: (_, n) => replies[n]! });
      const source = cold('    (abcd|)');
      const expected = '       ----(ABCD|)';
      expectObservable(source.pipe(batchPipeline(redis, set, { maxSize: 2, maxInFlight: 2 }))).toBe(
        expected,
        {
          A: ok('a', 'slow'),
          B: ok('b', 'slow'),
          C: ok('c', 'fast'),
          D: ok('d', 'fast'),
        },
      );
      expectSubscriptions(source.subscriptions).toBe('(^!)');
      expectSubscriptions(replies[0]!.subscriptions).toBe('^---!');
      expectSubscriptions(replies[1]!.subscriptions).toBe('^!');
    });
  });

  it('fails with BatchOverflowError when more than maxBuffered items wait, after sending them', () => {
    const redis = fakePipeline({ latencyMs: 5 });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  (abcd)');
      const expected = '     -----A----B----(C#)';
      expectObservable(source.pipe(batchPipeline(redis, set, { maxSize: 1, maxBuffered: 2 }))).toBe(
        expected,
        { A: ok('a'), B: ok('b'), C: ok('c') },
        new BatchOverflowError(2),
      );
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
    expect(keysSent(redis)).toEqual([
      [0, 'a'],
      [5, 'b'],
      [10, 'c'],
    ]);
  });

  it('drops in-flight pipelines and the wait timer when unsubscribed', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const reply = cold<ReadonlyArray<CommandResult>>('  -----(r|)', { r: [] });
      const redis = fakePipeline({ respond: () => reply });
      const source = cold('                               -a-b-c---');
      const unsub = '                                      ^-----!';
      expectObservable(source.pipe(batchPipeline(redis, set, { maxSize: 2 })), unsub).toBe('');
      expectSubscriptions(source.subscriptions).toBe('      ^-----!');
      expectSubscriptions(reply.subscriptions).toBe('       ---^--!');
      // the maxWaitMs timer (c's batch is due at 15) is gone with the subscription
      let pending: number | undefined;
      scheduler.schedule(() => (pending = scheduler.actions.length), 7);
      scheduler.flush();
      expect(pending).toBe(0);
    });
  });

  it('fails the stream when build throws, after the items already taken', () => {
    const redis = fakePipeline();
    const bad = new Error('no key for c');
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-c-d|');
      const expected = '     -----(AB#)';
      const build = (x: string): BatchCommand => {
        if (x === 'c') throw bad;
        return set(x);
      };
      expectObservable(source.pipe(batchPipeline(redis, build, { maxSize: 10 }))).toBe(
        expected,
        { A: ok('a'), B: ok('b') },
        bad,
      );
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });
});
