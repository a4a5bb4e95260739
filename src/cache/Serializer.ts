/**
 * `Serializer`: how a codec's output becomes the string stored in Redis and back. JSON by
 * default; plug in another one (a tagged JSON, a compact format) through `Cache.make({ serializer })`.
 *
 * @since 0.2.0
 */

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * Turns the codec's output (`codec.encode(value)`) into a string and back. `parse` may throw:
 * the cache reports it as a `DecodeError` naming the key; a throwing `stringify` becomes an
 * `EncodeError`.
 *
 * @since 0.2.0
 */
export interface Serializer {
  /** Shown in codec names and messages, e.g. `json`. */
  readonly name: string;
  readonly stringify: (output: unknown) => string;
  readonly parse: (text: string) => unknown;
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * Plain `JSON.stringify` / `JSON.parse`. Values JSON cannot carry (Date, bigint, Map) survive when
 * the codec encodes them to JSON values first (`DateFromISOString`, `BigIntFromString`,
 * `mapFromEntries`).
 *
 * @example
 * ```ts
 * JsonSerializer.parse(JsonSerializer.stringify({ a: 1 })); // { a: 1 }
 * ```
 * @since 0.2.0
 */
export const JsonSerializer: Serializer = {
  name: 'json',
  stringify: (output) => {
    const text: unknown = JSON.stringify(output);
    // JSON.stringify(undefined) and JSON.stringify(() => 1) are undefined, not strings.
    if (typeof text !== 'string') throw new TypeError('the value has no JSON form');
    return text;
  },
  parse: (text) => JSON.parse(text) as unknown,
};
