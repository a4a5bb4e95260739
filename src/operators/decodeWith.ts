import * as E from 'fp-ts/Either';
import type * as t from 'io-ts';
import { concatMap, map, type OperatorFunction } from 'rxjs';
import { DecodeError } from '../errors';

/**
 * Configuration of {@link decodeWith}: what happens to a value that does not match the codec.
 * - `'fail'`: the stream fails with the {@link DecodeError}
 * - `'either'`: every value becomes an `Either<DecodeError, A>`, failures included, in order
 * - `'drop'`: the value is dropped after `report` was told (it is never dropped silently)
 *
 * @since 0.1.0
 */
export type DecodeWithConfig<I> =
  | {
      /** @defaultValue 'fail' */
      readonly onError?: 'fail' | 'either';
      /**
       * Names where a value came from (a key, `stream id`), for the error's `key` and message.
       * @defaultValue `'value'`
       */
      readonly at?: (input: I) => string;
    }
  | {
      readonly onError: 'drop';
      /** Told about each dropped value: log it, count it, dead-letter it. */
      readonly report: (error: DecodeError, input: I) => void;
      /** @defaultValue `'value'` */
      readonly at?: (input: I) => string;
    };

/**
 * Checks each value with an io-ts codec and emits the decoded value. A value that does not match
 * becomes a typed {@link DecodeError} (naming where it came from and the failing paths, never the
 * value), routed as `onError` says: fail the stream (default), emit `Either`s, or drop and report.
 *
 * ```
 * source:                    -a-x-b-|        (x does not match)
 * decodeWith(C):             -A-#             onError: 'fail'
 * decodeWith(C, either):     -R-L-R-|         R = right(decoded), L = left(DecodeError)
 * decodeWith(C, drop):       -A---B-|         report(DecodeError, x) at x's time
 * ```
 *
 * @example
 * ```ts
 * import * as t from 'io-ts';
 * import { decodeWith } from '@mamey/persistence-redis';
 *
 * const Order = t.type({ id: t.string, total: t.number }, 'Order');
 * json$.pipe(
 *   decodeWith(Order, { onError: 'drop', report: (e) => log.warn({ key: e.key }, e.message) }),
 * ); // Observable<{ id: string; total: number }>
 * ```
 * @param codec - the decoder (an io-ts `Type`, or any `t.Decoder<I, A>`)
 * @param config - see {@link DecodeWithConfig}
 * @returns an operator from raw values to decoded ones (or to `Either`s)
 * @throws TypeError when the configuration is invalid
 * @since 0.1.0
 */
export function decodeWith<I, A>(
  codec: t.Decoder<I, A>,
  config: { readonly onError: 'either'; readonly at?: (input: I) => string },
): OperatorFunction<I, E.Either<DecodeError, A>>;
export function decodeWith<I, A>(
  codec: t.Decoder<I, A>,
  config?: DecodeWithConfig<I> & { readonly onError?: 'fail' | 'drop' },
): OperatorFunction<I, A>;
export function decodeWith<I, A>(
  codec: t.Decoder<I, A>,
  config: DecodeWithConfig<I> = {},
): OperatorFunction<I, A | E.Either<DecodeError, A>> {
  const { onError = 'fail', at = () => 'value' } = config;
  if (typeof codec?.decode !== 'function')
    throw new TypeError('decodeWith: codec must be an io-ts decoder');
  if (!['fail', 'either', 'drop'].includes(onError))
    throw new TypeError(
      `decodeWith: onError must be 'fail', 'either' or 'drop', got ${String(onError)}`,
    );
  const report = config.onError === 'drop' ? config.report : undefined;
  if (onError === 'drop' && typeof report !== 'function')
    throw new TypeError("decodeWith: onError 'drop' needs a report function");
  if (typeof at !== 'function') throw new TypeError('decodeWith: at must be a function');

  // Either has no `mapError` in fp-ts 2.16 (only the Task types do)
  const decode = (input: I): E.Either<DecodeError, A> =>
    E.mapLeft((errors: t.Errors) => new DecodeError(at(input), errors))(codec.decode(input));
  switch (onError) {
    case 'either':
      return map(decode);
    case 'fail':
      return map((input) => {
        const decoded = decode(input);
        if (E.isLeft(decoded)) throw decoded.left;
        return decoded.right;
      });
    case 'drop':
      return concatMap((input) => {
        const decoded = decode(input);
        if (E.isRight(decoded)) return [decoded.right];
        report!(decoded.left, input);
        return [];
      });
  }
}
