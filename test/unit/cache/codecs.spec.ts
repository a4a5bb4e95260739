import fc from 'fast-check';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { PathReporter } from 'io-ts/PathReporter';
import {
  BigIntFromString,
  DateFromISOString,
  JsonSerializer,
  mapFromEntries,
  wire,
} from '../../../src';
import { decodesToItself, identityGuard } from '../../../src/cache/codecs/wire';

describe('DateFromISOString', () => {
  it('round-trips dates through their ISO string and refuses what is not a date', () => {
    const d = new Date('2020-02-29T12:00:00.000Z');
    expect(DateFromISOString.encode(d)).toBe('2020-02-29T12:00:00.000Z');
    expect(DateFromISOString.decode('2020-02-29T12:00:00.000Z')).toEqual(E.right(d));
    expect(E.isLeft(DateFromISOString.decode('yesterday'))).toBe(true);
    expect(E.isLeft(DateFromISOString.decode(0))).toBe(true);
    expect(DateFromISOString.is(new Date(NaN))).toBe(false);
  });
});

describe('BigIntFromString', () => {
  it('round-trips bigints beyond 2^53 and refuses non-integers', () => {
    fc.assert(
      fc.property(fc.bigInt(), (n) =>
        expect(BigIntFromString.decode(BigIntFromString.encode(n))).toEqual(E.right(n)),
      ),
    );
    for (const bad of ['1.5', '', '1e3', ' 1', 12])
      expect(E.isLeft(BigIntFromString.decode(bad))).toBe(true);
  });
});

describe('mapFromEntries', () => {
  const Scores = mapFromEntries(t.string, DateFromISOString);
  it('stores a Map as entries, each through its codecs, in insertion order', () => {
    const m = new Map([
      ['b', new Date(0)],
      ['a', new Date(1)],
    ]);
    expect(Scores.encode(m)).toEqual([
      ['b', '1970-01-01T00:00:00.000Z'],
      ['a', '1970-01-01T00:00:00.001Z'],
    ]);
    expect(Scores.decode(Scores.encode(m))).toEqual(E.right(m));
    expect(Scores.name).toBe('Map<string, DateFromISOString>');
  });
  it('names the failing entry', () => {
    const r = Scores.decode([['a', 'not a date']]);
    expect(PathReporter.report(r).join()).toContain(
      '/0: [string, DateFromISOString]/1: DateFromISOString',
    );
  });
});

describe('wire', () => {
  const User = t.type({ id: t.string, since: DateFromISOString }, 'User');
  const W = wire(User);
  it('is a codec from the stored string, named after the serializer and the value codec', () => {
    expect(W.name).toBe('json(User)');
    const u = { id: '1', since: new Date(0) };
    expect(W.encode(u)).toBe('{"id":"1","since":"1970-01-01T00:00:00.000Z"}');
    expect(W.decode(W.encode(u))).toEqual(E.right(u));
  });
  it('reports the value codec’s own paths, and bad text without quoting it', () => {
    expect(PathReporter.report(W.decode('{"id":1}')).join('\n')).toContain('User/id: string');
    const bad = PathReporter.report(W.decode('{"secret": tru'));
    expect(bad).toEqual(['the stored text is not valid json']);
  });
  it('throws on encode when the serializer cannot write the value (the cache maps it)', () => {
    expect(() => wire(t.unknown).encode(1n)).toThrow();
    expect(() => JsonSerializer.stringify(undefined)).toThrow('no JSON form');
  });

  describe('decodesToItself: accepting a value that `is` a member gives exactly what validate gives', () => {
    const itself: Array<[string, t.Mixed]> = [
      ['primitives', t.union([t.string, t.number, t.boolean, t.null])],
      [
        't.type of arrays and brands',
        t.type({ a: t.array(t.Int), b: t.readonly(t.type({ c: t.string })) }),
      ],
      [
        't.partial and literals',
        t.partial({ k: t.union([t.literal('x'), t.literal(1)]), o: t.keyof({ p: null }) }),
      ],
      ['unions of records', t.union([t.type({ a: t.number }), t.type({ b: t.array(t.string) })])],
    ];
    const not: Array<[string, t.Mixed]> = [
      ['a custom type', DateFromISOString],
      ['t.exact (strips properties)', t.exact(t.type({ a: t.number }))],
      ['t.unknown (undefined-accepting)', t.type({ a: t.unknown })],
      ['an intersection', t.intersection([t.type({ a: t.number }), t.type({ b: t.number })])],
      ['a tuple', t.tuple([t.string])],
    ];
    it.each(itself)('holds for %s', (_name, codec) => {
      expect(decodesToItself(codec)).toBe(true);
      const W = wire(codec);
      fc.assert(
        fc.property(fc.jsonValue(), (v) => {
          const text = JSON.stringify(v);
          const fast = W.decode(text);
          const slow = codec.decode(JSON.parse(text));
          expect(E.isRight(fast)).toBe(E.isRight(slow));
          if (E.isRight(fast) && E.isRight(slow)) expect(fast.right).toEqual(slow.right);
        }),
        { numRuns: 300 },
      );
      // and for values that are members
      const member = codec.decode(JSON.parse(JSON.stringify({ a: [1], b: { c: 'x' }, k: 'x' })));
      if (E.isRight(member)) expect(W.decode(JSON.stringify(member.right))).toEqual(member);
    });
    it.each(not)('is not claimed for %s', (_name, codec) =>
      expect(decodesToItself(codec)).toBe(false),
    );
  });
});

describe('identityGuard: the fast path of exact/strict codecs', () => {
  const Strict = t.strict({ a: t.number, tags: t.array(t.string) }, 'Strict');
  const codecs: Array<[string, t.Mixed]> = [
    ['t.strict', Strict],
    ['t.exact(t.partial)', t.exact(t.partial({ a: t.number, b: t.string }))],
    ['t.exact(t.readonly(t.type))', t.exact(t.readonly(t.type({ a: t.number })))],
    ['t.strict inside t.type', t.type({ s: Strict, n: t.number })],
    ['t.strict inside t.partial', t.partial({ s: Strict, b: t.string })],
    ['an array of t.strict', t.array(Strict)],
    ['t.readonly(t.strict)', t.readonly(Strict)],
    ['a union, t.strict first', t.union([Strict, t.type({ a: t.number })])],
    ['a union, t.strict last', t.union([t.type({ b: t.string }), Strict])],
    [
      't.exact of a union member',
      t.union([t.exact(t.type({ b: t.string })), t.type({ b: t.string, c: t.number })]),
    ],
  ];
  // Members and near-members, with and without properties the exact codecs do not know.
  const withExtra = <A extends object>(arb: fc.Arbitrary<A>) =>
    fc
      .tuple(
        arb,
        fc.option(
          fc.dictionary(fc.constantFrom('x', 'a', 'c', 'tags'), fc.integer(), { maxKeys: 2 }),
        ),
      )
      .map(([o, extra]) => (extra === null ? o : { ...extra, ...o }));
  const strictish = withExtra(
    fc.record({ a: fc.integer(), tags: fc.array(fc.string(), { maxLength: 2 }) }),
  );
  const value = fc.oneof(
    strictish,
    withExtra(fc.record({ a: fc.integer() })),
    withExtra(fc.record({ b: fc.string() })),
    withExtra(fc.record({ b: fc.string(), c: fc.integer() })),
    fc.record({ s: strictish, n: fc.integer() }),
    fc.record({ s: strictish, b: fc.string() }, { requiredKeys: [] }),
    fc.array(strictish, { maxLength: 3 }),
    fc.jsonValue(),
  );

  it.each(codecs)(
    'for %s: decode of a value the guard accepts is that very value',
    (_name, codec) => {
      const g = identityGuard(codec);
      expect(g).toBeDefined();
      expect(g!.plain).toBe(false);
      let fast = 0;
      fc.assert(
        fc.property(value, (v) => {
          const text = JSON.stringify(v);
          const u: unknown = JSON.parse(text);
          if (g!.guard(u)) {
            fast++;
            const d = codec.decode(u);
            expect(E.isRight(d) && d.right).toBe(u);
          }
          // Whatever path wire takes, it answers what decode answers, extra properties stripped.
          const viaWire = wire(codec).decode(text);
          const direct = codec.decode(JSON.parse(text));
          expect(E.isRight(viaWire)).toBe(E.isRight(direct));
          if (E.isRight(viaWire) && E.isRight(direct))
            expect(viaWire.right).toStrictEqual(direct.right);
        }),
        { numRuns: 400 },
      );
      expect(fast).toBeGreaterThanOrEqual(5); // the fast path is taken, not just claimed (~25 expected)
    },
  );

  it('strips what t.strict does not know, as decode does, and takes the fast path when nothing is extra', () => {
    expect(wire(Strict).decode('{"a":1,"tags":["t"],"x":2}')).toStrictEqual(
      E.right({ a: 1, tags: ['t'] }),
    );
    const g = identityGuard(Strict)!.guard;
    expect(g({ a: 1, tags: [] })).toBe(true);
    expect(g({ a: 1, tags: [], x: 2 })).toBe(false);
    expect(identityGuard(t.type({ s: Strict }))!.guard({ s: { a: 1, tags: [], x: 2 } })).toBe(
      false,
    );
  });

  it('claims nothing for codecs it cannot prove', () => {
    expect(
      identityGuard(t.exact(t.intersection([t.type({ a: t.number }), t.type({ b: t.number })]))),
    ).toBeUndefined();
    expect(identityGuard(t.strict({ at: DateFromISOString }))).toBeUndefined();
    expect(identityGuard(t.type({ s: t.strict({ a: t.unknown }) }))).toBeUndefined();
  });
});
