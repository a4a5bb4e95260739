import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import { DecodeError } from '../src/errors';
import { decodeWith } from '../src/operators/decodeWith';
import { createTestScheduler } from '../src/testing';

/**
 * decodeWith: checks each value with a codec; a mismatch is a DecodeError routed by onError.
 *
 * ```
 * source:                     -a-x-b-|        (x does not match)
 * decodeWith(C):              -A-#             onError: 'fail' (default)
 * decodeWith(C, 'either'):    -R-L-R-|         R = right(decoded), L = left(DecodeError)
 * decodeWith(C, 'drop'):      -A---B-|         report(DecodeError, x) at x's time
 * ```
 */
describe('decodeWith', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const Order = t.type({ id: t.number }, 'Order');
  const values = { a: { id: 1 }, x: { id: 'one' }, b: { id: 2 } };
  const decodeErrorAt = (key: string) =>
    expect.objectContaining({ _tag: 'DecodeError', key, message: expect.stringContaining('id') });

  it("onError 'fail' (default): emits decoded values and fails with the DecodeError", () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-x-b-|', values);
      const expected = '     -a-#';
      expectObservable(source.pipe(decodeWith(Order))).toBe(
        expected,
        { a: { id: 1 } },
        decodeErrorAt('value'),
      );
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it("onError 'either': one Either per value, failures included, in order", () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-x-b-|', values);
      const expected = '     -R-L-S-|';
      const at = (o: { id: unknown }) => `orders ${String(o.id)}`;
      expectObservable(source.pipe(decodeWith(Order, { onError: 'either', at }))).toBe(expected, {
        R: E.right({ id: 1 }),
        L: E.left(decodeErrorAt('orders one')),
        S: E.right({ id: 2 }),
      });
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it("onError 'drop': drops the value after reporting it, at its time", () => {
    const reported: Array<[number, DecodeError, unknown]> = [];
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-x-b-|', values);
      const expected = '     -a---b-|';
      const report = (e: DecodeError, input: unknown) => reported.push([scheduler.now(), e, input]);
      expectObservable(source.pipe(decodeWith(Order, { onError: 'drop', report }))).toBe(expected, {
        a: { id: 1 },
        b: { id: 2 },
      });
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
    expect(reported).toEqual([[3, decodeErrorAt('value'), { id: 'one' }]]);
  });

  it('mirrors an empty source and passes source errors on', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold('   |');
      const broken = cold('  -a-#', values);
      expectObservable(empty.pipe(decodeWith(Order))).toBe('|');
      expectObservable(broken.pipe(decodeWith(Order, { onError: 'either' }))).toBe('-R-#', {
        R: E.right({ id: 1 }),
      });
      expectSubscriptions(empty.subscriptions).toBe('(^!)');
      expectSubscriptions(broken.subscriptions).toBe('^--!');
    });
  });

  it('decodes wire forms: a codec from string', () => {
    const FromJson = new t.Type<number, string, unknown>(
      'NumberFromJson',
      t.number.is,
      (u, c) => {
        if (typeof u !== 'string') return t.failure(u, c);
        try {
          const n: unknown = JSON.parse(u);
          return typeof n === 'number' ? t.success(n) : t.failure(u, c);
        } catch {
          return t.failure(u, c);
        }
      },
      (n) => JSON.stringify(n),
    );
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-|', { a: '41', b: '{' });
      const expected = '     -x-#';
      expectObservable(source.pipe(decodeWith(FromJson))).toBe(
        expected,
        { x: 41 },
        decodeErrorAt('value'),
      );
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });
});
