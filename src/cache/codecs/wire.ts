/**
 * `wire`: the Redis wire form of a value codec — a `t.Type<A, string, unknown>` that parses the
 * stored string with a {@link Serializer} and then validates it with the value codec.
 *
 * @since 0.2.0
 */
import * as t from 'io-ts';
import { JsonSerializer, type Serializer } from '../Serializer';

interface Node {
  readonly _tag?: string;
  readonly type?: Node;
  readonly types?: ReadonlyArray<Node>;
  readonly props?: Readonly<Record<string, Node>>;
}

/**
 * True when `codec`'s decode is the identity on its members: for every `u`, `codec.is(u)`
 * implies `codec.decode(u)` is `right(u)` (the very same reference), so a value that passes `is`
 * needs no `validate`. Holds, by induction on io-ts' own implementations, for primitives,
 * literals, keyofs, refinements and brands (`t.Int`), arrays, `t.type`, `t.partial`, `t.readonly`
 * and unions of such codecs. Left out on purpose: custom `t.Type`s (decode may transform),
 * `t.exact`/`t.strict` (they strip properties), intersections, tuples, records, and types that
 * accept `undefined` (`t.type` fills a missing key with `undefined` on validate, and a union could
 * then answer with an earlier member's copy).
 *
 * @internal
 */
export const decodesToItself = (codec: unknown): boolean => {
  const c = codec as Node;
  switch (c._tag) {
    case 'StringType':
    case 'NumberType':
    case 'BooleanType':
    case 'NullType':
    case 'BigIntType':
    case 'LiteralType':
    case 'KeyofType':
      return true;
    case 'RefinementType':
    case 'ReadonlyType':
    case 'ArrayType':
    case 'ReadonlyArrayType':
      return c.type !== undefined && decodesToItself(c.type);
    case 'InterfaceType':
    case 'PartialType':
      return c.props !== undefined && Object.values(c.props).every(decodesToItself);
    case 'UnionType':
      return c.types !== undefined && c.types.every(decodesToItself);
    default:
      return false;
  }
};

/**
 * Builds the wire codec of `codec`: decode = `serializer.parse` then `codec.decode` (paths are
 * the value codec's own, e.g. `User/email`); encode = `codec.encode` then `serializer.stringify`
 * (may throw: the cache turns that into an `EncodeError`).
 *
 * @param codec the value codec, e.g. `t.type({ id: t.string, born: DateFromISOString })`
 * @param serializer how the codec's output becomes a string
 * @defaultValue serializer `JsonSerializer`
 * @returns a codec from the stored string to `A`
 * @example
 * ```ts
 * const User = t.type({ id: t.string }, 'User');
 * wire(User).decode('{"id":"1"}'); // right({ id: '1' })
 * ```
 * @since 0.2.0
 */
export const wire = <A, O>(
  codec: t.Type<A, O, unknown>,
  serializer: Serializer = JsonSerializer,
): t.Type<A, string, unknown> => {
  const itself = decodesToItself(codec);
  return new t.Type<A, string, unknown>(
    `${serializer.name}(${codec.name})`,
    codec.is,
    (u, c) => {
      if (typeof u !== 'string') return t.failure(u, c, `expected a ${serializer.name} string`);
      let parsed: unknown;
      try {
        parsed = serializer.parse(u);
      } catch {
        // The parser's own message may quote the text, which is user data.
        return t.failure(u, c, `the stored text is not valid ${serializer.name}`);
      }
      // Same answer as validate (see decodesToItself), without building contexts and Eithers.
      if (itself && codec.is(parsed)) return t.success(parsed);
      return codec.validate(parsed, [{ key: '', type: codec, actual: parsed }]);
    },
    (a) => serializer.stringify(codec.encode(a)),
  );
};
