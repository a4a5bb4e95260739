/**
 * The stored form of a session: one string key per session, so the common read is a native
 * `GET`/`MGET`/`GETEX` instead of a script. Its value is a short header, then the encoded data:
 *
 * ```
 * <version>:<created ms>:<deadline ms>:<user id bytes>:<user id><data>
 * ```
 *
 * All numbers are decimal integers; `<user id bytes>` is the UTF-8 length of the user id (0 for
 * an anonymous session), so a user id may hold any character, `:` included. The key's own TTL is
 * `min(idle, deadline - now)`. Only the Lua scripts write values (they read the server's clock);
 * this module reads them.
 *
 * @internal
 */

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** A stored session, its data still encoded. */
export interface StoredSession {
  readonly version: number;
  readonly createdAt: number;
  /** The absolute deadline, ms on the server's clock. */
  readonly expiresAt: number;
  readonly userId: string | undefined;
  /** The encoded data (the serializer's text). */
  readonly data: string;
}

// -------------------------------------------------------------------------------------
// destructors
// -------------------------------------------------------------------------------------

const COLON = 58;
const ZERO = 48;

/**
 * Reads the decimal integer that starts at `from` and ends at the next `:`; writes it to
 * `out[0]` and returns the index after the `:`, or -1 when there is none.
 */
const readNumber = (text: string, from: number, out: number[]): number => {
  let n = 0;
  let i = from;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - ZERO;
    if (d === COLON - ZERO) break;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  if (i === from || i === text.length) return -1;
  out[0] = n;
  return i + 1;
};

/** The index after `bytes` UTF-8 bytes of `text` from `from`; -1 when they end mid-character. */
const afterUtf8Bytes = (text: string, from: number, bytes: number): number => {
  let i = from;
  let b = 0;
  while (b < bytes && i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 0x80) b += 1;
    else if (c < 0x800) b += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      b += 4;
      i += 1;
    } else b += 3;
    i += 1;
  }
  return b === bytes ? i : -1;
};

const scratch = [0];

/** Reads a stored value; `undefined` when it is not one. */
export const parseStored = (text: string): StoredSession | undefined => {
  let i = readNumber(text, 0, scratch);
  if (i < 0) return undefined;
  const version = scratch[0]!;
  i = readNumber(text, i, scratch);
  if (i < 0) return undefined;
  const createdAt = scratch[0]!;
  i = readNumber(text, i, scratch);
  if (i < 0) return undefined;
  const expiresAt = scratch[0]!;
  i = readNumber(text, i, scratch);
  if (i < 0) return undefined;
  const userBytes = scratch[0]!;
  const start = userBytes === 0 ? i : afterUtf8Bytes(text, i, userBytes);
  if (start < 0) return undefined;
  return {
    version,
    createdAt,
    expiresAt,
    userId: userBytes === 0 ? undefined : text.slice(i, start),
    data: text.slice(start),
  };
};

/**
 * The absolute deadline of a stored value (a reply read as a `Buffer`) and the byte where its
 * data starts, without allocating: the hot path of express-session reads, whose data then
 * becomes a string on its own, the header never converted. `false` when `bytes` is not a
 * stored session.
 */
export const readHeaderBytes = (
  bytes: Uint8Array,
  into: { expiresAt: number; dataStart: number },
): boolean => {
  let i = 0;
  let field = 0;
  let n = 0;
  let expiresAt = 0;
  for (; i < bytes.length && field < 4; i++) {
    const d = bytes[i]! - ZERO;
    if (d === COLON - ZERO) {
      if (i === 0 || bytes[i - 1] === COLON) return false;
      if (field === 2) expiresAt = n;
      field += 1;
      if (field < 4) n = 0;
    } else if (d < 0 || d > 9) return false;
    else n = n * 10 + d;
  }
  if (field < 4 || i + n > bytes.length) return false;
  into.expiresAt = expiresAt;
  into.dataStart = i + n;
  return true;
};
