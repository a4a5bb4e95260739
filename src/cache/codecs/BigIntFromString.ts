/**
 * `BigIntFromString`: a `bigint` stored as its decimal string, so it survives JSON (which
 * throws on bigint and loses precision beyond 2^53 on numbers).
 *
 * @since 0.2.0
 */
import * as t from 'io-ts';

const INTEGER = /^-?\d+$/;

/**
 * A `bigint` whose JSON form is its decimal string (`'-12345678901234567890'`).
 *
 * @example
 * ```ts
 * const Account = t.type({ balance: BigIntFromString }, 'Account');
 * Account.encode({ balance: 2n ** 64n }); // { balance: '18446744073709551616' }
 * ```
 * @since 0.2.0
 */
export const BigIntFromString = new t.Type<bigint, string, unknown>(
  'BigIntFromString',
  (u): u is bigint => typeof u === 'bigint',
  (u, c) => (typeof u === 'string' && INTEGER.test(u) ? t.success(BigInt(u)) : t.failure(u, c)),
  (n) => n.toString(),
);
/** @since 0.2.0 */
export type BigIntFromString = t.TypeOf<typeof BigIntFromString>;
