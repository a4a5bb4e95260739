import { throwError } from 'rxjs';
import { CommandError, ConnectionError, EncodeError } from '../src/errors';
import type { BatchCommand } from '../src/operators/batchPipeline';
import { deadLetter } from '../src/operators/deadLetter';
import { createTestScheduler, fakePipeline } from '../src/testing';

/**
 * deadLetter: runs the handler per item; a failed item goes to the dead-letter stream and the
 * flow goes on.
 *
 * ```
 * source:          -a-b-c-|
 * handler:          a → A, b → error, c → C
 * XADD dead:       ---b                 (item b, error, reason)
 * result:          -A---C-|
 * ```
 */
describe('deadLetter', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const invalid = new Error('total must be positive');
  const xadd = (item: string, error = 'Error', reason = invalid.message): BatchCommand => [
    'xadd',
    'orders:dead',
    '*',
    'item',
    JSON.stringify(item),
    'error',
    error,
    'reason',
    reason,
  ];

  it('writes a failed item and its reason to the dead-letter stream, then goes on', () => {
    const redis = fakePipeline({ reply: () => '1700000000000-0' });
    const lettered: Array<[unknown, unknown, string]> = [];
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-c-|');
      const expected = '     -A---C-|';
      const handler = (x: string) =>
        x === 'b' ? throwError(() => invalid) : cold('(r|)', { r: x.toUpperCase() });
      const result = source.pipe(
        deadLetter(redis, handler, {
          stream: 'orders:dead',
          onDeadLettered: (item, error, id) => lettered.push([item, error, id]),
        }),
      );
      expectObservable(result).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
    expect(redis.sent).toEqual([{ time: 3, commands: [xadd('b')] }]);
    expect(lettered).toEqual([['b', invalid, '1700000000000-0']]);
  });

  it('mirrors an empty source', () => {
    const redis = fakePipeline();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  |');
      expectObservable(source.pipe(deadLetter(redis, (x) => [x], { stream: 'dead' }))).toBe('|');
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
    expect(redis.sent).toEqual([]);
  });

  it('handles items one after another by default, keeping their order', () => {
    const redis = fakePipeline();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const work = {
        a: cold('  ---(r|)', { r: 'A' }),
        b: cold('  ---B---#', { B: 'B' }, invalid),
        c: cold('  ---(r|)', { r: 'C' }),
      };
      const source = cold('  (abc|)');
      const expected = '     ---A--B------(C|)';
      const handler = (x: string) => work[x as keyof typeof work];
      expectObservable(source.pipe(deadLetter(redis, handler, { stream: 'orders:dead' }))).toBe(
        expected,
      );
      expectSubscriptions(source.subscriptions).toBe('(^!)');
      expectSubscriptions(work.a.subscriptions).toBe('^--!');
      expectSubscriptions(work.b.subscriptions).toBe('---^------!');
      expectSubscriptions(work.c.subscriptions).toBe('----------^--!');
    });
    expect(redis.sent).toEqual([{ time: 10, commands: [xadd('b')] }]);
  });

  it('passes transient errors on (for an outer retry) instead of dead-lettering them', () => {
    const redis = fakePipeline();
    const lost = new ConnectionError('closed', 'Redis connection is closed');
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-c-|');
      const expected = '     -A-#';
      const handler = (x: string) => (x === 'b' ? throwError(() => lost) : [x.toUpperCase()]);
      expectObservable(source.pipe(deadLetter(redis, handler, { stream: 'dead' }))).toBe(
        expected,
        undefined,
        lost,
      );
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
    expect(redis.sent).toEqual([]);
  });

  it('fails the stream when the dead-letter write fails: the item must not be lost', () => {
    const readonly = new CommandError('XADD', 'READONLY', 'Redis replied with an error (XADD)');
    const redis = fakePipeline({
      latencyMs: 2,
      reply: () => {
        throw readonly;
      },
    });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-c-|');
      const expected = '     -A---#';
      const handler = (x: string) => (x === 'b' ? throwError(() => invalid) : [x.toUpperCase()]);
      expectObservable(source.pipe(deadLetter(redis, handler, { stream: 'orders:dead' }))).toBe(
        expected,
        undefined,
        readonly,
      );
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('encodes the item with encode, trims with maxLen, and names library errors by _tag', () => {
    const redis = fakePipeline();
    const wrongType = new CommandError('GET', 'WRONGTYPE', 'Redis replied with an error (GET)');
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a|', { a: { id: 7, total: -1 } });
      const result = source.pipe(
        deadLetter(redis, () => throwError(() => wrongType), {
          stream: 'orders:dead',
          encode: (o) => `order ${o.id}`,
          maxLen: 1000,
        }),
      );
      expectObservable(result).toBe('--|');
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
    expect(redis.sent[0]?.commands).toEqual([
      [
        'xadd',
        'orders:dead',
        'MAXLEN',
        '~',
        1000,
        '*',
        'item',
        'order 7',
        'error',
        'CommandError',
        'reason',
        wrongType.message,
      ],
    ]);
  });

  it('fails with an EncodeError when the item cannot be encoded', () => {
    const redis = fakePipeline();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const cyclic: Record<string, unknown> = {};
      cyclic['self'] = cyclic;
      const source = cold('  -a|', { a: cyclic });
      const result = source.pipe(
        deadLetter(redis, () => throwError(() => invalid), { stream: 'dead' }),
      );
      expectObservable(result).toBe('-#', undefined, expect.any(EncodeError));
      expectSubscriptions(source.subscriptions).toBe('^!');
    });
    expect(redis.sent).toEqual([]);
  });
});
