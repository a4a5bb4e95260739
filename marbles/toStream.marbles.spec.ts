import * as t from 'io-ts';
import { map } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { BatchOverflowError, CommandError, EncodeError } from '../src/errors';
import type { BatchCommand, CommandResult } from '../src/operators/batchPipeline';
import { toStream } from '../src/sinks/toStream';
import { createTestScheduler, fakePipeline } from '../src/testing';

/**
 * toStream: XADD per value, as pipelines; entry ids in input order. The diagram of its TSDoc,
 * exactly, with an XADD round trip of one frame:
 *
 * ```
 * values:  --a--b--c---|
 * ids:     ---1--2--3--|     (an id once its XADD is confirmed)
 * ```
 *
 * Values that arrive while `concurrency` pipelines are on their way go together in the next one
 * (concurrency 1, a round trip of 4 frames):
 *
 * ```
 * values:  -abc---d|
 * XADD:     a   bc  d
 * ids:     -----1---(23)(4|)
 * ```
 */
describe('toStream (marbles)', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const Item = t.type({ v: t.string }, 'Item');
  type Item = t.TypeOf<typeof Item>;
  const items = { a: { v: 'a' }, b: { v: 'b' }, c: { v: 'c' }, d: { v: 'd' }, e: { v: 'e' } };
  /** The value an XADD writes (`['xadd', stream, '*', 'data', json]`). */
  const valueOf = (command: BatchCommand): string =>
    (JSON.parse(String(command[command.length - 1])) as Item).v;
  const sentValues = (redis: ReturnType<typeof fakePipeline>) =>
    redis.sent.map((p) => [p.time, p.commands.map(valueOf).join('')]);
  /** Entry ids in the order the XADDs were sent: 1-0, 2-0, … */
  const idsInSendOrder = () => {
    let n = 0;
    return (commands: ReadonlyArray<BatchCommand>): CommandResult[] =>
      commands.map(() => ({ ok: true, value: `${++n}-0` }));
  };
  const ids = { 1: '1-0', 2: '2-0', 3: '3-0', 4: '4-0', 5: '5-0' };
  /**
   * A `respond` for the fake: the `k`th pipeline is answered when `responses[k]` emits (made in
   * the case, so that it can assert their subscriptions), with ids in send order.
   */
  const answeredBy =
    (
      responses: ReadonlyArray<ReturnType<TestScheduler['createColdObservable']>>,
      reply: (commands: ReadonlyArray<BatchCommand>) => CommandResult[],
    ) =>
    (commands: ReadonlyArray<BatchCommand>, k: number) => {
      const ready = reply(commands);
      return responses[k]!.pipe(map(() => ready));
    };

  it('writes each value and emits its id once confirmed (TSDoc diagram)', () => {
    let n = 0;
    const redis = fakePipeline({ latencyMs: 1, reply: () => `${++n}-0` });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = cold<Item>('--a--b--c---|', items);
      const expected = '         ---1--2--3--|';
      expectObservable(values.pipe(toStream(redis, 'log', { codec: Item }))).toBe(expected, ids);
      expectSubscriptions(values.subscriptions).toBe('^-----------!');
    });
    expect(sentValues(redis)).toEqual([
      [2, 'a'],
      [5, 'b'],
      [8, 'c'],
    ]);
    expect(redis.sent[0]!.commands).toEqual([['xadd', 'log', '*', 'data', '{"v":"a"}']]);
  });

  it('collects the values that arrive while `concurrency` pipelines are on their way into the next', () => {
    const reply = idsInSendOrder();
    let redis!: ReturnType<typeof fakePipeline>;
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const responses = [cold('----(r|)'), cold('----(r|)'), cold('----(r|)')];
      redis = fakePipeline({ respond: answeredBy(responses, reply) });
      const values = cold<Item>('-abc---d|', items);
      const expected = '         -----1---(23)(4|)';
      expectObservable(values.pipe(toStream(redis, 'log', { codec: Item, concurrency: 1 }))).toBe(
        expected,
        ids,
      );
      expectSubscriptions(values.subscriptions).toBe('^-------!');
      expectSubscriptions(responses[0]!.subscriptions).toBe('-^---!');
      expectSubscriptions(responses[1]!.subscriptions).toBe('-----^---!');
      expectSubscriptions(responses[2]!.subscriptions).toBe('---------^---!');
    });
    // the completion at 8 waits for d, sent once [b c] is back
    expect(sentValues(redis)).toEqual([
      [1, 'a'],
      [5, 'bc'],
      [9, 'd'],
    ]);
  });

  it('sends at most `batch` XADDs per pipeline and emits ids in input order, whatever order pipelines return in', () => {
    const reply = idsInSendOrder();
    let redis!: ReturnType<typeof fakePipeline>;
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const responses = [cold('---(r|)'), cold('-(r|)'), cold('------(r|)')];
      redis = fakePipeline({ respond: answeredBy(responses, reply) });
      // one synchronous run: [a b] and [c d] go out at once; e waits for a free pipeline,
      // and [c d], back first, waits for [a b] so that the ids keep the input order
      const values = cold<Item>('(abcde|)', items);
      const expected = '         ---(1234)(5|)';
      expectObservable(values.pipe(toStream(redis, 'log', { codec: Item, batch: 2 }))).toBe(
        expected,
        ids,
      );
      expectSubscriptions(values.subscriptions).toBe('(^!)');
      expectSubscriptions(responses[0]!.subscriptions).toBe('^--!');
      expectSubscriptions(responses[1]!.subscriptions).toBe('^!');
      expectSubscriptions(responses[2]!.subscriptions).toBe('---^-----!');
    });
    expect(sentValues(redis)).toEqual([
      [0, 'ab'],
      [0, 'cd'],
      [3, 'e'],
    ]);
  });

  it('on a failed XADD mid-batch, emits the ids before it, then the error, and sends nothing more', () => {
    const wrongType = new CommandError(
      'XADD',
      'WRONGTYPE',
      'Operation against a key holding the wrong kind of value',
    );
    let redis!: ReturnType<typeof fakePipeline>;
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const reply = idsInSendOrder();
      redis = fakePipeline({
        respond: (commands) =>
          cold<CommandResult[]>('-(r|)', {
            r: reply(commands).map((r, i) =>
              valueOf(commands[i]!) === 'b' ? { ok: false, error: wrongType } : r,
            ),
          }),
      });
      const values = cold<Item>('(abcde|)', items);
      const expected = '         -(1#)';
      expectObservable(
        values.pipe(toStream(redis, 'log', { codec: Item, batch: 3, concurrency: 1 })),
      ).toBe(expected, ids, wrongType);
      expectSubscriptions(values.subscriptions).toBe('(^!)');
    });
    expect(sentValues(redis)).toEqual([[0, 'abc']]);
  });

  it('on a value it cannot encode, writes the values before it, emits their ids, then the EncodeError', () => {
    const redis = fakePipeline({ latencyMs: 1, reply: idsOneByOne() });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      // without a codec a value must be a non-empty field map
      const values = cold<Record<string, string>>('(abxde|)', { ...items, x: {} });
      const expected = '                           -(12#)';
      expectObservable(values.pipe(toStream(redis, 'log'))).toBe(
        expected,
        ids,
        new EncodeError('log', 'an entry needs at least one field'),
      );
      expectSubscriptions(values.subscriptions).toBe('(^!)');
    });
    expect(redis.sent.map((p) => [p.time, p.commands])).toEqual([
      [
        0,
        [
          ['xadd', 'log', '*', 'v', 'a'],
          ['xadd', 'log', '*', 'v', 'b'],
        ],
      ],
    ]);
  });

  it('passes trimming options on to every XADD', () => {
    const redis = fakePipeline({ reply: idsOneByOne() });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = cold<Item>('a|', items);
      const config = { codec: Item, maxLen: 1000, limit: 100 };
      expectObservable(values.pipe(toStream(redis, 'log', config))).toBe('1|', ids);
      expectSubscriptions(values.subscriptions).toBe('^!');
    });
    expect(redis.sent[0]!.commands).toEqual([
      ['xadd', 'log', 'MAXLEN', '~', '1000', 'LIMIT', '100', '*', 'data', '{"v":"a"}'],
    ]);
  });

  it('completes at once on an empty source, sending nothing', () => {
    const redis = fakePipeline();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = cold<Item>('|');
      expectObservable(values.pipe(toStream(redis, 'log', { codec: Item }))).toBe('|');
      expectSubscriptions(values.subscriptions).toBe('(^!)');
    });
    expect(redis.sent).toEqual([]);
  });

  it('on unsubscribe, stops reading values and drops the replies still on their way', () => {
    let redis!: ReturnType<typeof fakePipeline>;
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const responses = [cold('-----(r|)'), cold('-----(r|)')];
      redis = fakePipeline({ respond: answeredBy(responses, idsInSendOrder()) });
      const values = cold<Item>('-a-b-c-', items);
      const unsub = '            ^---!';
      expectObservable(values.pipe(toStream(redis, 'log', { codec: Item })), unsub).toBe('');
      expectSubscriptions(values.subscriptions).toBe('^---!');
      expectSubscriptions(responses[0]!.subscriptions).toBe('-^--!');
      expectSubscriptions(responses[1]!.subscriptions).toBe('---^!');
    });
    expect(sentValues(redis)).toEqual([
      [1, 'a'],
      [3, 'b'],
    ]);
  });

  /** A `reply` giving 1-0, 2-0, … in the order the replies are made. */
  function idsOneByOne(): () => string {
    let n = 0;
    return () => `${++n}-0`;
  }

  it('fails with a BatchOverflowError when one more value than `maxBuffered` would wait; ids of earlier writes first', () => {
    let n = 0;
    const redis = fakePipeline({ latencyMs: 4, reply: () => `${++n}-0` });
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const values = hot<Item>('-abcd---|', items);
      // a goes at once (one pipeline in flight); b and c wait (maxBuffered 2); d would be a third
      const expected = '        -----(1#)';
      expectObservable(
        values.pipe(
          toStream(redis, 'log', { codec: Item, batch: 1, concurrency: 1, maxBuffered: 2 }),
        ),
      ).toBe(expected, ids, new BatchOverflowError(2, 'toStream'));
      expectSubscriptions(values.subscriptions).toBe('^----!');
    });
    expect(sentValues(redis)).toEqual([[1, 'a']]);
  });
});
