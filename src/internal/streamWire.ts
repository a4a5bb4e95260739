/**
 * The stream wire format, in one place. With a codec a value is one field `data` holding
 * `JSON.stringify(codec.encode(value))`; without one the value is the entry's field map.
 * Reading is lenient so entries written by redis-cli and other clients decode too: a `data`
 * field that is not JSON is given to the codec as the plain string, and an entry without a
 * `data` field is given to the codec as its field map.
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import type * as t from 'io-ts';
import { identityGuard } from '../cache/codecs/wire';
import { DecodeError, EncodeError } from '../errors';
import type { RawEntry, StreamFields } from './streamReplies';

/** A codec for stream values: decodes what JSON.parse gives (or a field map), encodes to JSON. */
export type StreamCodec<A> = t.Type<A, unknown, unknown>;

/** The one field a codec-encoded value is written to. */
export const DATA_FIELD = 'data';

/** A value written without a codec: field → value (numbers are written as strings). */
export type FieldInput = Readonly<Record<string, string | number>>;

/**
 * The JSON a codec writes to the `data` field for `value`.
 *
 * @throws EncodeError when the value cannot be encoded (JSON cycle, BigInt, encodes to undefined)
 */
export const encodeData = <A>(stream: string, value: A, codec: StreamCodec<A>): string => {
  let json: string | undefined;
  try {
    json = JSON.stringify(codec.encode(value));
  } catch (e) {
    throw new EncodeError(stream, e instanceof Error ? e.message : 'not serialisable', {
      cause: e,
    });
  }
  if (json === undefined) throw new EncodeError(stream, 'the codec encoded to undefined');
  return json;
};

/**
 * The `field value …` arguments of XADD for `value`.
 *
 * @throws EncodeError when the value cannot be encoded (JSON cycle, empty field map…)
 */
export const encodeEntry = <A>(stream: string, value: A, codec?: StreamCodec<A>): string[] => {
  if (codec !== undefined) return [DATA_FIELD, encodeData(stream, value, codec)];
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new EncodeError(stream, 'without a codec a value must be a field map');
  const args: string[] = [];
  for (const [field, v] of Object.entries(value as FieldInput)) {
    if (typeof v !== 'string' && typeof v !== 'number')
      throw new EncodeError(stream, `field ${field} must be a string or a number`);
    args.push(field, String(v));
  }
  if (args.length === 0) throw new EncodeError(stream, 'an entry needs at least one field');
  return args;
};

const failure = (stream: string, id: string, problem: string, errors: t.Errors = []) =>
  new DecodeError(stream, errors, {
    message: `Cannot decode entry ${id} of ${stream}: ${problem}`,
  });

/**
 * Per codec, the guard under which its decode is the identity ({@link identityGuard}), or `null`
 * when there is none: found once per codec, not per entry.
 */
const guards = new WeakMap<object, ((u: unknown) => boolean) | null>();
const guardOf = (codec: StreamCodec<unknown>): ((u: unknown) => boolean) | null => {
  let guard = guards.get(codec);
  if (guard === undefined) {
    guard = identityGuard(codec)?.guard ?? null;
    guards.set(codec, guard);
  }
  return guard;
};

/** `codec.decode(u)`; a value its guard accepts is its own decoding (no contexts, no copies). */
const decodeValue = <A>(
  codec: StreamCodec<A>,
  guard: ((u: unknown) => boolean) | null,
  u: unknown,
): t.Validation<A> => (guard !== null && guard(u) ? E.right(u as A) : codec.decode(u));

/**
 * The decoder of one stream's entries: `decodeEntry` with the codec's checks prepared once.
 *
 * @returns `(id, fields)` → the value, or a `DecodeError` naming the stream and the entry id
 */
export const entryDecoder = <A>(
  stream: string,
  codec?: StreamCodec<A>,
): ((id: string, fields: StreamFields) => E.Either<DecodeError, A>) => {
  const guard = codec === undefined ? null : guardOf(codec as StreamCodec<unknown>);
  return (id, fields) => decodeFields(stream, id, fields, codec, guard);
};

/**
 * Decodes an entry's fields. Without a codec the field map is the value.
 *
 * @returns the value, or a `DecodeError` naming the stream and the entry id (never the value)
 */
export const decodeEntry = <A>(
  stream: string,
  id: string,
  fields: StreamFields,
  codec?: StreamCodec<A>,
): E.Either<DecodeError, A> =>
  decodeFields(
    stream,
    id,
    fields,
    codec,
    codec === undefined ? null : guardOf(codec as StreamCodec<unknown>),
  );

const decodeFields = <A>(
  stream: string,
  id: string,
  fields: StreamFields,
  codec: StreamCodec<A> | undefined,
  guard: ((u: unknown) => boolean) | null,
): E.Either<DecodeError, A> => {
  if (codec === undefined) {
    return Object.keys(fields).length === 0
      ? E.left(failure(stream, id, 'the entry has no fields'))
      : E.right(fields as unknown as A);
  }
  const data = fields[DATA_FIELD];
  if (data === undefined) {
    const r = decodeValue(codec, guard, fields);
    return E.isRight(r) ? r : E.left(withId(stream, id, r.left));
  }
  let parsed: unknown;
  let isJson = true;
  try {
    parsed = JSON.parse(data);
  } catch {
    isJson = false;
  }
  if (isJson) {
    const r = decodeValue(codec, guard, parsed);
    if (E.isRight(r)) return r;
    // a plain-string codec given JSON-looking text written by another tool ("123")
    const asText = decodeValue(codec, guard, data);
    return E.isRight(asText) ? asText : E.left(withId(stream, id, r.left));
  }
  const asText = decodeValue(codec, guard, data);
  return E.isRight(asText)
    ? asText
    : E.left(
        failure(
          stream,
          id,
          data === '' ? 'the data field is empty' : 'the data field is not JSON',
          asText.left,
        ),
      );
};

const withId = (stream: string, id: string, errors: t.Errors): DecodeError => {
  const base = new DecodeError(stream, errors);
  return new DecodeError(stream, errors, {
    message: base.message.replace(`at ${stream}:`, `in entry ${id} of ${stream}:`),
  });
};

/** What a plain reader does with an entry that fails to decode. */
export type OnDecodeError = 'error' | 'skip';

/**
 * Decodes a page of entries into `StreamEntry`s; deleted entries (no fields) are left out.
 *
 * @throws DecodeError with `onDecodeError: 'error'`
 */
export const decodeEntries = <A>(
  stream: string,
  entries: ReadonlyArray<RawEntry>,
  codec: StreamCodec<A> | undefined,
  onDecodeError: OnDecodeError,
  skipped: (id: string, error: DecodeError) => void,
): Array<{ stream: string; id: string; value: A }> => {
  const out: Array<{ stream: string; id: string; value: A }> = [];
  const guard = codec === undefined ? null : guardOf(codec as StreamCodec<unknown>);
  for (const e of entries) {
    if (e.fields === null) continue;
    const r = decodeFields(stream, e.id, e.fields, codec, guard);
    if (E.isRight(r)) out.push({ stream, id: e.id, value: r.right });
    else if (onDecodeError === 'error') throw r.left;
    else skipped(e.id, r.left);
  }
  return out;
};
