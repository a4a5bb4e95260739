/**
 * Session ids and the key layout of the session store.
 *
 * An id is 26 URL-safe characters: a two-character bucket, then 24 characters of
 * `crypto.randomBytes(18)` (144 bits). Every key of a session carries its bucket as the hash
 * tag `{b}`, so on a Cluster a session, its id marker and its user's index live in one slot and
 * Lua scripts change them atomically:
 *
 * ```
 * <instance><prefix>{b}s:<id>      session: a string `<v>:<c>:<a>:<n>:<user><data>` (sessionValue.ts)
 * <instance><prefix>{b}g:<id>      id marker: outlives the session, so an ended id stays ended
 * <instance><prefix>{b}u:<userId>  the user's index: sorted set of ids scored by creation time (µs)
 * ```
 *
 * The bucket of a user's session is derived from a hash of the user id (one of 4096), so all of
 * a user's sessions share a slot; an anonymous session's bucket is random. The trade-off: a
 * user's sessions all live on one Cluster node (a user has few), and the first two characters
 * of a cookie say which of 4096 buckets its user hashes to — nothing more.
 *
 * Ids from other generators (express-session's 32-character `uid-safe` ids) are accepted when
 * they are URL-safe and 22–128 characters long; their first two characters are their bucket.
 *
 * @internal
 */
import { createHash, randomBytes } from 'node:crypto';
import * as E from 'fp-ts/Either';

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** Why an id was refused before any command was sent. */
export type InvalidIdReason = 'empty' | 'too-short' | 'too-long' | 'not-url-safe';

/** Fewest characters an id may have: 22 base64url characters carry 128 bits. */
export const MIN_ID_LENGTH = 22;
/** Most characters an id may have. */
export const MAX_ID_LENGTH = 128;
/** Length of the ids this store makes. */
export const ID_LENGTH = 26;

const URL_SAFE = /^[A-Za-z0-9_-]+$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The keys of one store: `base` is `<instance><prefix>`. */
export interface SessionKeys {
  /** `<instance><prefix>{b}`: every key of bucket `b` starts with it (Lua builds keys from it). */
  readonly slotBase: (bucket: string) => string;
  readonly session: (id: string) => string;
  readonly marker: (id: string) => string;
  readonly userIndex: (userId: string) => string;
  /** SCAN pattern matching every session key of the store. */
  readonly sessionPattern: string;
  /** SCAN pattern matching every key of the store (sessions, markers, indexes). */
  readonly everyKeyPattern: string;
  /** The id of a session key; `undefined` for any other key. */
  readonly idOf: (key: string) => string | undefined;
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/** The bucket of a user: 12 bits of SHA-256 of the user id, as two base64url characters. */
export const bucketOfUser = (userId: string): string => {
  const h = createHash('sha256').update(userId, 'utf8').digest();
  return ALPHABET[h[0]! >> 2]! + ALPHABET[((h[0]! & 3) << 4) | (h[1]! >> 4)]!;
};

/** A random bucket, for an anonymous session. */
export const randomBucket = (random: (n: number) => Buffer = randomBytes): string =>
  random(2).toString('base64url').slice(0, 2);

/**
 * A new id in `bucket`: the bucket then 144 random bits, 26 URL-safe characters.
 *
 * @param random byte source, injectable for tests; `crypto.randomBytes` by default
 */
export const newId = (bucket: string, random: (n: number) => Buffer = randomBytes): string =>
  bucket + random(18).toString('base64url');

/** The bucket an id belongs to. */
export const bucketOfId = (id: string): string => id.slice(0, 2);

/**
 * Checks an id's shape without touching Redis: URL-safe characters only, 22–128 of them.
 *
 * @returns the id, or why it is refused
 */
export const validateId = (id: unknown): E.Either<InvalidIdReason, string> => {
  const reason = idProblem(id);
  return reason === undefined ? E.right(id as string) : E.left(reason);
};

/**
 * Why an id is refused, or `undefined` when it is fine: {@link validateId} without the `Either`,
 * for the per-request paths.
 */
export const idProblem = (id: unknown): InvalidIdReason | undefined => {
  if (typeof id !== 'string' || id.length === 0) return 'empty';
  if (id.length > MAX_ID_LENGTH) return 'too-long';
  if (!URL_SAFE.test(id)) return 'not-url-safe';
  if (id.length < MIN_ID_LENGTH) return 'too-short';
  return undefined;
};

/**
 * Names a session in messages and logs without giving away its id (an id is a bearer
 * credential): the bucket and 8 hex characters of its SHA-256.
 */
export const fingerprint = (id: string): string =>
  `${bucketOfId(id)}…${createHash('sha256').update(id).digest('hex').slice(0, 8)}`;

const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');

/**
 * The key builder of one store.
 *
 * @param base `<instance><prefix>` (the client's `key(prefix)`)
 */
export const sessionKeys = (base: string): SessionKeys => {
  const slotBase = (bucket: string) => `${base}{${bucket}}`;
  const glob = escapeGlob(base);
  return {
    slotBase,
    session: (id) => `${slotBase(bucketOfId(id))}s:${id}`,
    marker: (id) => `${slotBase(bucketOfId(id))}g:${id}`,
    userIndex: (userId) => `${slotBase(bucketOfUser(userId))}u:${userId}`,
    sessionPattern: `${glob}{??}s:*`,
    everyKeyPattern: `${glob}{??}*`,
    idOf: (key) => {
      if (!key.startsWith(base) || key.length < base.length + 6) return undefined;
      const rest = key.slice(base.length);
      if (rest[0] !== '{' || rest[3] !== '}' || rest[4] !== 's' || rest[5] !== ':')
        return undefined;
      const id = rest.slice(6);
      return id.startsWith(rest.slice(1, 3)) && E.isRight(validateId(id)) ? id : undefined;
    },
  };
};
