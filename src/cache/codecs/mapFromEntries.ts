/**
 * `mapFromEntries`: a `Map` stored as its array of `[key, value]` pairs, so it survives JSON
 * (which turns a Map into `{}`).
 *
 * @since 0.2.0
 */
import * as t from 'io-ts';

/**
 * A `Map<K, V>` whose JSON form is `[[k, v], …]`, in insertion order; keys and values go
 * through their own codecs. A key present twice keeps its last value, as `new Map(entries)`.
 *
 * @param key the codec of the keys
 * @param value the codec of the values
 * @param name the codec's name, in decode messages
 * @returns a codec from an entry array to a `Map`
 * @example
 * ```ts
 * const Scores = mapFromEntries(t.string, t.number);
 * Scores.encode(new Map([['ann', 3]])); // [['ann', 3]]
 * ```
 * @since 0.2.0
 */
export const mapFromEntries = <K, KO, V, VO>(
  key: t.Type<K, KO, unknown>,
  value: t.Type<V, VO, unknown>,
  name = `Map<${key.name}, ${value.name}>`,
): t.Type<Map<K, V>, Array<[KO, VO]>, unknown> => {
  const entries = t.array(t.tuple([key, value]));
  return new t.Type<Map<K, V>, Array<[KO, VO]>, unknown>(
    name,
    (u): u is Map<K, V> => u instanceof Map && [...u].every(([k, v]) => key.is(k) && value.is(v)),
    (u, c) => {
      const r = entries.validate(u, c);
      return r._tag === 'Left' ? r : t.success(new Map(r.right));
    },
    (m) => Array.from(m, ([k, v]): [KO, VO] => [key.encode(k), value.encode(v)]),
  );
};
