/**
 * `DateFromISOString`: a `Date` stored as its ISO 8601 string, so it survives JSON.
 *
 * @since 0.2.0
 */
import * as t from 'io-ts';

/**
 * A `Date` whose JSON form is `date.toISOString()`. Decoding refuses strings that are not dates
 * and invalid `Date`s are not `is` members.
 *
 * @example
 * ```ts
 * const Event = t.type({ at: DateFromISOString }, 'Event');
 * Event.encode({ at: new Date(0) }); // { at: '1970-01-01T00:00:00.000Z' }
 * ```
 * @since 0.2.0
 */
export const DateFromISOString = new t.Type<Date, string, unknown>(
  'DateFromISOString',
  (u): u is Date => u instanceof Date && !Number.isNaN(u.getTime()),
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c);
    const d = new Date(u);
    return Number.isNaN(d.getTime()) ? t.failure(u, c) : t.success(d);
  },
  (d) => d.toISOString(),
);
/** @since 0.2.0 */
export type DateFromISOString = t.TypeOf<typeof DateFromISOString>;
