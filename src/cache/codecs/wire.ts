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
  readonly value?: unknown;
  readonly predicate?: (u: unknown) => boolean;
  readonly is: (u: unknown) => boolean;
}

/**
 * True when `codec`'s decode is the identity on its members: for every `u`, `codec.is(u)`
 * implies `codec.decode(u)` is `right(u)` (the very same reference), so a value that passes `is`
 * needs no `validate`. Holds, by induction on io-ts' own implementations, for primitives,
 * literals, keyofs, refinements and brands (`t.Int`), arrays, `t.type`, `t.partial`, `t.readonly`
 * and unions of such codecs. Left out on purpose: custom `t.Type`s (decode may transform),
 * `t.exact`/`t.strict` (they strip properties: {@link identityGuard} gives them a stricter guard
 * than `is`), intersections, tuples, records, and types that accept `undefined` (`t.type` fills a
 * missing key with `undefined` on validate, and a union could then answer with an earlier
 * member's copy).
 *
 * @internal
 */
export const decodesToItself = (codec: unknown): boolean => {
  const f = identityGuard(codec);
  return f !== undefined && f.plain;
};

/** A guard `g` with `g(u)` ⇒ `decode(u)` is `right(u)`; `plain` when `g` is `codec.is` itself. */
interface IdentityGuard {
  readonly guard: (u: unknown) => boolean;
  readonly plain: boolean;
}

const own = Object.prototype.hasOwnProperty;

/**
 * The guard under which `codec.decode(u)` is `right(u)`, or `undefined` when there is none we
 * can prove (see {@link decodesToItself}, which is the `plain` case).
 *
 * Why `codec.is` alone is not enough, and what is done instead:
 * - `is` is a type guard for `A`, so returning `u` when `is(u)` holds is type-safe for every
 *   codec; but it is not always what `decode` returns, and the cache promises `decode`'s answer.
 *   Custom `t.Type`s may normalise (a trimming string codec's `is` accepts untrimmed text), so
 *   they are never taken on trust: they fall back to `decode`. Our own transforming codecs
 *   (`DateFromISOString`…) would fall back anyway, since their `is` refuses the JSON form.
 * - `t.exact`/`t.strict`: `is` ignores extra properties, `decode` strips them. Their guard is
 *   `is` plus "no own property outside `props`" (io-ts' `stripKeys` returns the same object
 *   exactly then), so stored entries with no extra keys (all of those the cache wrote) take the
 *   fast path, and ones with extra keys are stripped by `decode` as before.
 * - A parent of an exact codec (`t.type({ a: t.strict(…) })`) checks its own `is` (loose
 *   membership: `validate` succeeds) and then the strict guards of those children.
 * - A union answers with its first member whose `validate` succeeds, which for these codecs is
 *   the first whose `is` holds: the fast path needs that member's guard, not any member's.
 */
export const identityGuard = (codec: unknown): IdentityGuard | undefined => {
  const c = codec as Node;
  const plain = { guard: c.is, plain: true };
  switch (c._tag) {
    case 'StringType':
    case 'NumberType':
    case 'BooleanType':
    case 'NullType':
    case 'BigIntType':
    case 'LiteralType':
    case 'KeyofType':
      return plain;
    case 'RefinementType':
    case 'ReadonlyType':
    case 'ArrayType':
    case 'ReadonlyArrayType': {
      const inner = c.type === undefined ? undefined : identityGuard(c.type);
      if (inner === undefined) return undefined;
      if (inner.plain) return plain;
      const g = inner.guard;
      return c._tag === 'ArrayType' || c._tag === 'ReadonlyArrayType'
        ? { guard: (u) => c.is(u) && (u as unknown[]).every(g), plain: false }
        : { guard: (u) => c.is(u) && g(u), plain: false };
    }
    case 'InterfaceType':
    case 'PartialType': {
      if (c.props === undefined) return undefined;
      const strict: Array<readonly [string, (u: unknown) => boolean]> = [];
      for (const [k, p] of Object.entries(c.props)) {
        const f = identityGuard(p);
        if (f === undefined) return undefined;
        if (!f.plain) strict.push([k, f.guard]);
      }
      if (strict.length === 0) return plain;
      // t.partial skips an absent (undefined) property without looking at its codec.
      const optional = c._tag === 'PartialType';
      return {
        guard: (u) => {
          if (!c.is(u)) return false;
          const r = u as Record<string, unknown>;
          for (const [k, g] of strict) {
            const v = r[k];
            if (!(optional && v === undefined) && !g(v)) return false;
          }
          return true;
        },
        plain: false,
      };
    }
    case 'UnionType': {
      if (c.types === undefined) return undefined;
      const members: Array<readonly [Node, IdentityGuard]> = [];
      for (const m of c.types) {
        const f = identityGuard(m);
        if (f === undefined) return undefined;
        members.push([m, f]);
      }
      if (members.every(([, f]) => f.plain)) return plain;
      return {
        guard: (u) => {
          for (const [m, f] of members) if (m.is(u)) return f.plain || f.guard(u);
          return false;
        },
        plain: false,
      };
    }
    case 'ExactType': {
      // Only over t.type / t.partial (possibly readonly or refined): those are the props
      // io-ts strips against here; an exact intersection is left to decode.
      let inner = c.type;
      while (inner?._tag === 'ReadonlyType' || inner?._tag === 'RefinementType') inner = inner.type;
      if (inner?._tag !== 'InterfaceType' && inner?._tag !== 'PartialType') return undefined;
      const props = inner.props;
      const f = c.type === undefined ? undefined : identityGuard(c.type);
      if (f === undefined || props === undefined) return undefined;
      const g = f.guard;
      return {
        guard: (u) => {
          if (!g(u)) return false;
          for (const k of Object.getOwnPropertyNames(u)) if (!own.call(props, k)) return false;
          return true;
        },
        plain: false,
      };
    }
    default:
      return undefined;
  }
};

/**
 * `codec.is`, compiled into plain JavaScript for the codecs {@link decodesToItself} accepts, or
 * `undefined` for any other (and where code generation is disallowed).
 *
 * Why: the cache runs the identity guard on every value it reads, and io-ts' `is` walks the
 * codec tree through generic functions (keyed property loads over a key list, `every` with a
 * callback, one shared closure per codec kind), so V8 sees every call site as megamorphic; for a
 * small record that walk cost a fifth of `JSON.parse`. The compiled guard reads each property by
 * its literal name in a function of its own, which V8 compiles like hand-written checks (about
 * eight times faster on the bench's payload).
 *
 * What it checks is `is`, node by node (see io-ts 2.2's `type`, `partial`, `array`, `refinement`,
 * `union`), with one difference on the safe side: an array with holes fails it (`every` skips
 * holes), so such a value takes `validate`, as an unknown codec would. Property names enter the
 * code only as `JSON.stringify`ed string literals; literal values, refinement predicates and
 * keyof guards are passed in as arguments, never written into the code.
 *
 * @internal
 */
export const compiledIs = (codec: unknown): ((u: unknown) => boolean) | undefined => {
  if (!decodesToItself(codec)) return undefined;
  const values: unknown[] = [];
  const calls: Array<(u: unknown) => boolean> = [];
  const functions: string[] = [];
  /** A boolean expression: `c.is(v)`, where `v` names a variable. */
  const expr = (c: Node, v: string): string => {
    switch (c._tag) {
      case 'StringType':
        return `typeof ${v} === "string"`;
      case 'NumberType':
        return `typeof ${v} === "number"`;
      case 'BooleanType':
        return `typeof ${v} === "boolean"`;
      case 'BigIntType':
        return `typeof ${v} === "bigint"`;
      case 'NullType':
        return `${v} === null`;
      case 'LiteralType':
        return `${v} === values[${values.push(c.value) - 1}]`;
      case 'RefinementType':
        return `(${expr(c.type!, v)} && calls[${calls.push(c.predicate!) - 1}](${v}))`;
      case 'ReadonlyType':
        return expr(c.type!, v);
      case 'UnionType':
        return `(${c.types!.map((m) => expr(m, v)).join(' || ')})`;
      case 'ArrayType':
      case 'ReadonlyArrayType':
      case 'InterfaceType':
      case 'PartialType':
        return `f${fn(c)}(${v})`;
      default:
        // KeyofType (and nothing else decodesToItself admits): its own `is`.
        return `calls[${calls.push(c.is) - 1}](${v})`;
    }
  };
  /** Declares a function checking a composite node; returns its number. */
  const fn = (c: Node): number => {
    const n = functions.push('') - 1;
    let body: string;
    if (c._tag === 'ArrayType' || c._tag === 'ReadonlyArrayType') {
      body =
        'if (!Array.isArray(u)) return false;\n' +
        `for (let i = 0; i < u.length; i++) { const v = u[i]; if (!(${expr(c.type!, 'v')})) return false; }\n`;
    } else {
      const optional = c._tag === 'PartialType';
      body = "if (u === null || typeof u !== 'object' || Array.isArray(u)) return false;\nlet v;\n";
      for (const [k, p] of Object.entries(c.props!)) {
        const key = JSON.stringify(k);
        body += optional
          ? `v = u[${key}]; if (v !== undefined && !(${expr(p, 'v')})) return false;\n`
          : `v = u[${key}]; if ((v === undefined && !has.call(u, ${key})) || !(${expr(p, 'v')})) return false;\n`;
      }
    }
    functions[n] = `function f${n}(u) {\n${body}return true;\n}`;
    return n;
  };
  const root = expr(codec as Node, 'u');
  try {
    return new Function(
      'has',
      'values',
      'calls',
      `'use strict';\n${functions.join('\n')}\nreturn function is(u) { return ${root}; };`,
    )(own, values, calls) as (u: unknown) => boolean;
  } catch {
    return undefined; // --disallow-code-generation-from-strings
  }
};

/**
 * The stored text's decoder of {@link wire}, for callers that start from a string: the cache
 * reads texts on its hot path and calls this without building an io-ts context first (one is
 * made only for a failure).
 *
 * @internal
 */
export interface WireCodec<A> {
  readonly type: t.Type<A, string, unknown>;
  readonly decodeText: (text: string) => t.Validation<A>;
}

/** @internal {@link wire} with its text decoder. */
export const wireCodec = <A, O>(
  codec: t.Type<A, O, unknown>,
  serializer: Serializer = JsonSerializer,
): WireCodec<A> => {
  const fast = compiledIs(codec) ?? identityGuard(codec)?.guard;
  const notText = `the stored text is not valid ${serializer.name}`;
  // `c` is undefined on the cache's path: the root context is then built only for a failure.
  const decodeText = (text: string, c: t.Context | undefined): t.Validation<A> => {
    let parsed: unknown;
    try {
      parsed = serializer.parse(text);
    } catch {
      // The parser's own message may quote the text, which is user data.
      return t.failure(text, c ?? [{ key: '', type, actual: text }], notText);
    }
    // Same answer as validate (see identityGuard), without building contexts and Eithers.
    if (fast !== undefined && fast(parsed)) return t.success(parsed as A);
    return codec.validate(parsed, [{ key: '', type: codec, actual: parsed }]);
  };
  const type: t.Type<A, string, unknown> = new t.Type<A, string, unknown>(
    `${serializer.name}(${codec.name})`,
    codec.is,
    (u, c) =>
      typeof u !== 'string'
        ? t.failure(u, c, `expected a ${serializer.name} string`)
        : decodeText(u, c),
    (a) => serializer.stringify(codec.encode(a)),
  );
  return {
    type,
    decodeText: (text) => decodeText(text, undefined),
  };
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
): t.Type<A, string, unknown> => wireCodec(codec, serializer).type;
