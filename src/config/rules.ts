/**
 * Small validation rules shared by the codec and by every source of input (connection strings,
 * environment, config sections), so a value is judged the same wherever it comes from and each
 * source can report it under its own name (`port`, `REDIS_PORT`, `Redis.Port`).
 *
 * A rule never puts the value it judges into a problem text: values may be secrets.
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import type { ConfigIssue } from '../errors';
import { Secret } from './Secret';

/** Problems found so far; a rule fails with at least one. */
export type Issues = ReadonlyArray<ConfigIssue>;

/** Judges one value found at `field`; on success returns it in normalised form. */
export type Rule<A> = (u: unknown, field: string) => E.Either<Issues, A>;

/** One issue as a failed result. */
export const fail = <A = never>(
  field: string,
  problem: string,
  allowed?: string,
): E.Either<Issues, A> =>
  E.left([allowed === undefined ? { field, problem } : { field, problem, allowed }]);

/** Joins a parent path and a child key into a dotted field path. */
export const at = (parent: string, key: string | number): string =>
  parent === '' ? String(key) : `${parent}.${key}`;

/** Every result's value, or every problem of every failed one (not just the first). */
export const collect = <A>(results: ReadonlyArray<E.Either<Issues, A>>): E.Either<Issues, A[]> => {
  const issues = results.flatMap((r) => (E.isLeft(r) ? r.left : []));
  return issues.length > 0 ? E.left(issues) : E.right(results.map((r) => (r as E.Right<A>).right));
};

export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u);

/** Largest delay Node timers accept; anything above fires immediately. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const integer =
  (min: number, max: number, allowed: string): Rule<number> =>
  (u, field) => {
    if (typeof u !== 'number' || !Number.isInteger(u)) {
      return fail(field, 'must be an integer', allowed);
    }
    return u < min || u > max ? fail(field, 'is out of range', allowed) : E.right(u);
  };

export const port: Rule<number> = integer(1, 65535, 'an integer 1–65535');
export const positiveMs: Rule<number> = integer(1, MAX_TIMER_MS, 'an integer of milliseconds ≥ 1');

export const boolean: Rule<boolean> = (u, field) =>
  typeof u === 'boolean' ? E.right(u) : fail(field, 'must be a boolean', 'true, false');

// Whitespace and control characters in names end up in keys, CLIENT SETNAME or AUTH, where they
// are either rejected by the server or silently change meaning.
const BAD_CHARS = /[\s\p{Cc}]/u;

/** A string without whitespace or control characters; empty only when `allowEmpty`. */
export const token =
  (allowEmpty: boolean): Rule<string> =>
  (u, field) => {
    if (typeof u !== 'string') return fail(field, 'must be a string');
    if (u === '' && !allowEmpty) return fail(field, 'must not be empty');
    return BAD_CHARS.test(u)
      ? fail(field, 'must not contain whitespace or control characters')
      : E.right(u);
  };

/** A password or key: a non-empty string or a {@link Secret}, always returned as a Secret. */
export const secretValue: Rule<Secret> = (u, field) => {
  if (u instanceof Secret) return E.right(u);
  if (typeof u !== 'string') return fail(field, 'must be a string');
  return u === ''
    ? fail(field, 'must not be empty', 'a non-empty string; leave it out for no password')
    : E.right(new Secret(u));
};

/** Reports each key of `u` that is not in `names`. */
export const unknownKeys = (
  u: Record<string, unknown>,
  names: ReadonlyArray<string>,
  parent: string,
): Issues =>
  Object.keys(u)
    .filter((k) => !names.includes(k))
    .map((k) => ({ field: at(parent, k), problem: 'unknown option', allowed: names.join(', ') }));

/** `true`/`false`/`1`/`0` (any case), as written in URLs, StackExchange strings and env vars. */
export const parseBooleanText = (s: string): boolean | undefined => {
  const v = s.trim().toLowerCase();
  return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : undefined;
};

/** Decimal integer text (optionally signed); anything else, including `1.5` or `1e3`, is not. */
export const parseIntegerText = (s: string): number | undefined =>
  /^[+-]?\d+$/.test(s.trim()) ? Number(s.trim()) : undefined;
