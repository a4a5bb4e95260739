import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import { decodeEntries, decodeEntry, encodeEntry } from '../../../src/internal/streamWire';

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
