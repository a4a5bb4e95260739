import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import {
  decodeEntries,
  decodeEntry,
  encodeEntry,
  entryDecoder,
} from '../../../src/internal/streamWire';

const Event = t.type({ n: t.number }, 'Event');

describe('stream wire format', () => {
  it('with a codec writes one field data holding JSON; without one, the field map', () => {
    expect(encodeEntry('s', { n: 1 }, Event)).toEqual(['data', '{"n":1}']);
    expect(encodeEntry('s', { a: 'x', b: 2 })).toEqual(['a', 'x', 'b', '2']);
  });

  it('refuses values it cannot write, with an EncodeError naming the stream', () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(() => encodeEntry('s', cyclic, t.unknown)).toThrow(/Cannot encode value for s/);
    expect(() => encodeEntry('s', {})).toThrow(/at least one field/);
    expect(() => encodeEntry('s', 'text')).toThrow(/field map/);
    expect(() => encodeEntry('s', { a: { b: 1 } } as never)).toThrow(/field a/);
  });

  it('reads what others wrote: JSON in data, plain text in data, or a field map', () => {
    expect(decodeEntry('s', '1-0', { data: '{"n":1}' }, Event)).toEqual(E.right({ n: 1 }));
    expect(decodeEntry('s', '1-0', { data: 'hello' }, t.string)).toEqual(E.right('hello'));
    expect(decodeEntry('s', '1-0', { data: '123' }, t.string)).toEqual(E.right('123'));
    expect(decodeEntry('s', '1-0', { name: 'ada' }, t.type({ name: t.string }))).toEqual(
      E.right({ name: 'ada' }),
    );
    expect(decodeEntry('s', '1-0', { a: 'b' })).toEqual(E.right({ a: 'b' }));
  });

  it('gives what the codec decodes to, also for codecs whose decode changes what `is` accepts', () => {
    // `is` accepts untrimmed text; decode trims: the value must be decode's, not the input
    const Trimmed = new t.Type<string, string, unknown>(
      'Trimmed',
      (u): u is string => typeof u === 'string',
      (u, c) => (typeof u === 'string' ? t.success(u.trim()) : t.failure(u, c)),
      String,
    );
    expect(decodeEntry('s', '1-0', { data: '" x "' }, Trimmed)).toEqual(E.right('x'));
    const decode = entryDecoder('s', t.type({ v: Trimmed }));
    expect(decode('1-0', { data: '{"v":" x "}' })).toEqual(E.right({ v: 'x' }));
    // t.strict strips what its `is` lets through
    const strict = entryDecoder('s', t.strict({ n: t.number }));
    expect(strict('1-0', { data: '{"n":1,"extra":2}' })).toEqual(E.right({ n: 1 }));
    // a codec that decodes to itself: the parsed value as it is
    const plain = entryDecoder('s', Event);
    expect(plain('1-0', { data: '{"n":1}' })).toEqual(E.right({ n: 1 }));
    expect(E.isLeft(plain('1-0', { data: '{"n":"1"}' }))).toBe(true);
  });

  it('names the stream and the entry id when decoding fails, never the value', () => {
    const cases = [
      [{ data: '{oops secret' }, /entry 1-0 of s: the data field is not JSON/],
      [{ data: '' }, /the data field is empty/],
      [{ data: '{"n":"secret"}' }, /entry 1-0 of s/],
      [{ other: 'secret' }, /entry 1-0 of s/],
    ] as const;
    for (const [fields, message] of cases) {
      const r = decodeEntry('s', '1-0', fields, Event);
      if (E.isRight(r)) throw new Error('expected a failure');
      expect(r.left._tag).toBe('DecodeError');
      expect(r.left.key).toBe('s');
      expect(r.left.message).toMatch(message);
      expect(r.left.message).not.toContain('secret');
    }
  });

  it('decodeEntries skips deleted entries and either throws or reports bad ones', () => {
    const entries = [
      { id: '1-0', fields: { data: '{"n":1}' } },
      { id: '2-0', fields: null },
      { id: '3-0', fields: { data: 'x' } },
    ];
    expect(() => decodeEntries('s', entries, Event, 'error', () => undefined)).toThrow(/3-0/);
    const skipped: string[] = [];
    expect(decodeEntries('s', entries, Event, 'skip', (id) => skipped.push(id))).toEqual([
      { stream: 's', id: '1-0', value: { n: 1 } },
    ]);
    expect(skipped).toEqual(['3-0']);
  });
});
