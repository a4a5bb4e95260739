/**
 * `compiledIs`: the compiled form of `codec.is` the cache runs on every value it reads. It must
 * answer as `is` does on every value (or refuse, for an array with holes), for every codec it
 * compiles, and compile nothing `decodesToItself` does not admit.
 */
import fc from 'fast-check';
import * as t from 'io-ts';
import { DateFromISOString } from '../../../src';
import { compiledIs, wire } from '../../../src/cache/codecs/wire';
import * as E from 'fp-ts/Either';

/** JSON-like values whose records use the codecs' own keys, so many of them are members. */
const values = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom<unknown>(null, true, false, '', 'x', 'y', 0, 1, 2.5, -3),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', 'we"ird\nkey'), tie('value'), { maxKeys: 4 }),
  ),
})).value;

const Int = t.Int;
/** `[name, codec, members]`: the values are checked alone and as members with one part swapped. */
const compiled: Array<[string, t.Mixed, unknown[]]> = [
  ['primitives', t.union([t.string, t.number, t.boolean, t.null]), ['s', 1, true, null]],
  [
    'a record of primitives',
    t.type({ a: t.number, b: t.string, c: t.boolean }),
    [{ a: 1, b: 'x', c: false }],
  ],
  ['a record whose member may be null', t.type({ a: t.union([t.null, t.string]) }), [{ a: null }]],
  [
    'arrays and brands',
    t.type({ a: t.array(Int), b: t.readonlyArray(t.string) }),
    [
      { a: [1, 2], b: ['x'] },
      { a: [], b: [] },
    ],
  ],
  [
    'nested readonly records',
    t.readonly(t.type({ a: t.readonly(t.type({ b: t.boolean })) })),
    [{ a: { b: true } }],
  ],
  [
    'partials and literals',
    t.partial({ a: t.union([t.literal('x'), t.literal(1)]), b: t.null }),
    [{}, { a: 'x', b: null }, { a: 1 }],
  ],
  ['keyof', t.type({ a: t.keyof({ x: null, y: null }) }), [{ a: 'x' }, { a: 'y' }]],
  [
    'unions of records',
    t.union([t.type({ a: t.number }), t.type({ b: t.array(t.string) })]),
    [{ a: 1 }, { b: ['x'] }],
  ],
  ['a refined array', t.refinement(t.array(t.number), (xs) => xs.length < 2, 'Short'), [[1], []]],
  ['a quoted property name', t.type({ 'we"ird\nkey': t.string }), [{ 'we"ird\nkey': 'x' }]],
];

/** A member, or a member with one property (or item) replaced by any value. */
const nearMembers = (members: unknown[]) =>
  fc
    .tuple(fc.constantFrom(...members), fc.constantFrom('a', 'b', 'c', 'we"ird\nkey', 0), values)
    .map(([m, k, v]) =>
      Array.isArray(m)
        ? Object.assign([...m], { [0]: v })
        : typeof m === 'object' && m !== null
          ? { ...m, [k]: v }
          : v,
    );

describe('compiledIs', () => {
  it.each(compiled)('answers as io-ts `is` does for %s', (_name, codec, members) => {
    const is = compiledIs(codec);
    expect(is).toBeDefined();
    let hits = 0;
    fc.assert(
      fc.property(fc.oneof(values, fc.constantFrom(...members), nearMembers(members)), (v) => {
        expect(is!(v)).toBe(codec.is(v));
        if (codec.is(v)) hits++;
      }),
      { numRuns: 1000 },
    );
    expect(hits).toBeGreaterThan(0); // the comparison saw both answers
  });

  it('an array with holes fails it, where io-ts `is` skips them: validate decides', () => {
    const codec = t.array(t.number);
    const holes = [1, , 3];
    expect(codec.is(holes)).toBe(true);
    expect(compiledIs(codec)!(holes)).toBe(false);
  });

  it('the cache decodes through it exactly as the codec does', () => {
    const codec = t.type({ a: t.array(Int), b: t.partial({ c: t.literal('x') }) }, 'R');
    const W = wire(codec);
    for (const text of ['{"a":[1,2],"b":{}}', '{"a":[1.5],"b":{}}', '{"a":[],"b":{"c":"y"}}']) {
      const fast = W.decode(text);
      const slow = codec.decode(JSON.parse(text));
      expect(E.isRight(fast)).toBe(E.isRight(slow));
      if (E.isRight(slow)) expect(fast).toEqual(slow);
    }
  });

  it('compiles nothing decodesToItself does not admit', () => {
    for (const codec of [
      DateFromISOString,
      t.exact(t.type({ a: t.number })),
      t.type({ a: t.unknown }),
      t.intersection([t.type({ a: t.number }), t.type({ b: t.number })]),
      t.tuple([t.string]),
      t.record(t.string, t.number),
    ])
      expect(compiledIs(codec)).toBeUndefined();
  });
});
