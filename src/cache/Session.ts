/**
 * `Session`: a typed session store whose functions are lazy `TaskEither`s that never reject.
 * Data is checked by an io-ts codec on every read; a missing session is `Option.none`.
 *
 * - Expiry: every session has an idle expiry (`ttlMs`, pushed back by `touch`, `update` and —
 *   with `sliding` — by `get`, in the same round trip) and an absolute deadline
 *   (`absoluteTtlMs` from creation) that nothing pushes back: the key's TTL is always
 *   `min(ttlMs, deadline - now)` on the server's clock.
 * - Storage: one string key per session, `<version>:<created>:<deadline>:<user bytes>:<user>`
 *   then the encoded data (see `sessionValue.ts`), so reads are native commands: an
 *   express-session read is an `MGET` (the reads of one tick batched), a sliding `get` whose
 *   deadline is known to be far off a `GETEX PXAT`, and a touch a `PEXPIRE` (the touches of one
 *   tick batched in one script call). Lua runs where a read and a write must be one step:
 *   create, update, express-session's upsert, destroy, regenerate, revoke, and a touch or a
 *   sliding read near the deadline (or of a session whose deadline this process has not seen).
 * - Ids: 26 URL-safe characters, 144 random bits from `crypto.randomBytes` after a two-character
 *   bucket. Ids that are not URL-safe, shorter than 22 or longer than 128 characters are refused
 *   before any command is sent.
 * - Cluster: a session, its id marker and its user's index share the hash tag `{bucket}`; a
 *   user's sessions all get the bucket of the user id, so one Lua script changes them together
 *   (see `sessionIds.ts` for the layout and its trade-off).
 * - Ended ids stay ended: an id marker outlives every session (by `ttlMs`), `update` never
 *   creates, and express-session's upsert refuses an ended id, so a late write from a request
 *   still in flight never brings a destroyed, revoked, regenerated or expired session back.
 * - Lost updates: `update` takes the version the caller read and fails with {@link Conflict}
 *   when another write came first; `modify` retries read-modify-write on a conflict.
 * - Per-user index: a sorted set per user, changed in the same script as the sessions, pruned
 *   lazily (on create and list) of sessions that expired on their own — no keyspace
 *   notifications needed. `maxPerUser` revokes the oldest sessions on create.
 * - `expired$`: ids of sessions that expired, from keyspace notifications: best-effort.
 *
 * @since 0.2.0
 */
import type * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import * as TE from 'fp-ts/TaskEither';
import { pipe } from 'fp-ts/function';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Cluster, Command, type Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import calculateSlot from 'cluster-key-slot';
import { defer, filter, map, share, type Observable } from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { DecodeError, EncodeError, toRedisError, type RedisError } from '../errors';
import { pipelinePerNode } from '../internal/pipelinePerNode';
import { fromKeyspace } from '../sources/fromKeyspace';
import { decodesToItself, wire } from './codecs/wire';
import { JsonSerializer, type Serializer } from './Serializer';
import { batcher, type Done } from '../internal/batcher';
import * as Ids from './sessionIds';
import { decodesAsIs, register, type PutOutcome, type SessionOps } from './sessionInternals';
import { sessionScripts } from './sessionScripts';
import { parseStored, readHeaderBytes } from './sessionValue';

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * Options of {@link make}.
 *
 * @since 0.2.0
 */
export interface SessionConfig<A, O = unknown> {
  readonly client: RedisClient;
  /** Checks the data on every read; its output is serialized (JSON by default). */
  readonly codec: t.Type<A, O, unknown>;
  /** Idle lifetime: a session nobody reads, touches or updates for this long expires. */
  readonly ttlMs: number;
  /**
   * Absolute lifetime from creation: no touch, read or update keeps a session past it
   * (`regenerate` keeps the deadline too).
   * @defaultValue 86_400_000 (one day)
   */
  readonly absoluteTtlMs?: number;
  /**
   * `get` pushes back the idle expiry in the same round trip.
   * @defaultValue true
   */
  readonly sliding?: boolean;
  /**
   * Put in front of every key (after the client's `instance`).
   * @defaultValue 'sess:'
   */
  readonly prefix?: string;
  /** Most sessions one user may have; creating one more revokes the oldest. No cap when unset. */
  readonly maxPerUser?: number;
  /**
   * How the codec's output becomes the stored string.
   * @defaultValue JsonSerializer
   */
  readonly serializer?: Serializer;
  /**
   * The local clock, in ms (used only to tell whether a remembered absolute deadline is far off;
   * every deadline itself is on the server's clock).
   * @defaultValue a monotonic clock (`performance.timeOrigin + performance.now()`), which a step
   * of the system clock does not move
   */
  readonly now?: () => number;
  /**
   * Random bytes for ids; injectable for tests.
   * @defaultValue crypto.randomBytes
   */
  readonly random?: (size: number) => Buffer;
}

/**
 * A session as read or written: its data and bookkeeping. Times are milliseconds since the
 * epoch on the Redis server's clock.
 *
 * @since 0.2.0
 */
export interface SessionRecord<A> {
  /** The id: a bearer credential — put it in a cookie, never in a log. */
  readonly id: string;
  readonly data: A;
  /** Starts at 1; every `update` adds one. Pass it to `update` to write. */
  readonly version: number;
  readonly userId?: string;
  readonly createdAt: number;
  /** The absolute deadline: the session ends then at the latest. */
  readonly expiresAt: number;
}

/**
 * One live session in a user's index, oldest first.
 *
 * @since 0.2.0
 */
export interface UserSession {
  readonly id: string;
  readonly createdAt: number;
  /** Time left until the idle expiry, ms. */
  readonly idleMs: number;
}

/**
 * Another write came between the caller's read (`expected`) and its `update` (`actual`).
 *
 * @since 0.2.0
 */
export class Conflict extends Error {
  readonly _tag = 'Conflict' as const;
  override readonly name = 'Conflict';
  constructor(
    /** The session, by fingerprint (the id itself is a credential). */
    readonly session: string,
    readonly expected: number,
    readonly actual: number,
    options?: { cause?: unknown },
  ) {
    super(
      `Session ${session} was updated concurrently: expected version ${expected}, found ${actual}`,
      options,
    );
  }
}

/**
 * The session does not exist (never did, expired, destroyed, revoked or regenerated away).
 *
 * @since 0.2.0
 */
export class SessionNotFound extends Error {
  readonly _tag = 'SessionNotFound' as const;
  override readonly name = 'SessionNotFound';
  constructor(
    /** The session, by fingerprint. */
    readonly session: string,
    options?: { cause?: unknown },
  ) {
    super(`Session ${session} does not exist`, options);
  }
}

/**
 * An id or user id refused before any command was sent. The message never quotes the input.
 *
 * @since 0.2.0
 */
export class InvalidSessionInput extends Error {
  readonly _tag = 'InvalidSessionInput' as const;
  override readonly name = 'InvalidSessionInput';
  constructor(
    readonly field: 'id' | 'userId',
    readonly reason: Ids.InvalidIdReason,
    options?: { cause?: unknown },
  ) {
    super(`Invalid session ${field === 'id' ? 'id' : 'user id'}: ${reason}`, options);
  }
}

/**
 * Every error a session function can end in.
 *
 * @since 0.2.0
 */
export type SessionError =
  RedisError | DecodeError | EncodeError | Conflict | SessionNotFound | InvalidSessionInput;

/**
 * A session store of data `A`. Every function returns a lazy `TaskEither` that never rejects.
 *
 * @since 0.2.0
 */
export interface SessionStore<A> {
  /** Creates a session (with `userId`: indexed under the user, capped by `maxPerUser`). */
  readonly create: (
    data: A,
    options?: { readonly userId?: string },
  ) => TE.TaskEither<RedisError | EncodeError | InvalidSessionInput, SessionRecord<A>>;
  /** Reads a session; with `sliding`, pushes back its idle expiry in the same round trip. */
  readonly get: (
    id: string,
  ) => TE.TaskEither<RedisError | DecodeError | InvalidSessionInput, O.Option<SessionRecord<A>>>;
  /** Writes new data if the session is still at `expectedVersion`; never creates a session. */
  readonly update: (
    id: string,
    data: A,
    expectedVersion: number,
  ) => TE.TaskEither<
    RedisError | EncodeError | InvalidSessionInput | Conflict | SessionNotFound,
    SessionRecord<A>
  >;
  /** Read-modify-write: `get`, `f`, `update`, retried on a {@link Conflict}. */
  readonly modify: (
    id: string,
    f: (data: A) => A,
    options?: {
      /** @defaultValue 5 */
      readonly maxAttempts?: number;
    },
  ) => TE.TaskEither<SessionError, SessionRecord<A>>;
  /** Pushes back the idle expiry; `false` when there is no such session. */
  readonly touch: (id: string) => TE.TaskEither<RedisError | InvalidSessionInput, boolean>;
  /** Ends a session; `false` when there was none. */
  readonly destroy: (id: string) => TE.TaskEither<RedisError | InvalidSessionInput, boolean>;
  /**
   * Moves the session to a new id in one atomic step; the old id stops working at once. With
   * `userId`, the session also becomes that user's: the old id ends first, then the session is
   * created under the user's bucket (two steps, since the user's sessions live in their own
   * slot; if the second fails the session is gone, never duplicated).
   */
  readonly regenerate: (
    id: string,
    options?: { readonly userId?: string },
  ) => TE.TaskEither<
    RedisError | DecodeError | InvalidSessionInput | SessionNotFound,
    SessionRecord<A>
  >;
  /** The user's live sessions, oldest first (drops index entries of expired sessions). */
  readonly listForUser: (
    userId: string,
  ) => TE.TaskEither<RedisError | InvalidSessionInput, ReadonlyArray<UserSession>>;
  /** Ends every session of the user at once; resolves how many were live. */
  readonly revokeAll: (userId: string) => TE.TaskEither<RedisError | InvalidSessionInput, number>;
  /** Ids of every live session (SCAN on every master: O(keys), for admin tools). */
  readonly ids: () => TE.TaskEither<RedisError, ReadonlyArray<string>>;
  /** Deletes every key of the store (SCAN on every master); resolves how many sessions ended. */
  readonly clear: () => TE.TaskEither<RedisError, number>;
  /**
   * Ids of sessions that expired (idle or absolute), from keyspace notifications
   * (`fromKeyspace` with `configure: true`: sets the `Ex` flags on every node). Hot and shared;
   * on a Cluster it listens on every master. Best-effort: pub/sub is at-most-once (events
   * during a reconnect are lost), Redis announces an expiry when it notices it (on access or by
   * its background sweep, possibly well after the TTL), and sessions ended by `destroy`,
   * `revokeAll`, `regenerate` or the cap are not expiries.
   */
  readonly expired$: Observable<string>;
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * Makes a session store. No I/O happens until a function's `TaskEither` runs.
 *
 * @param config see {@link SessionConfig}
 * @returns the store
 * @throws TypeError when a lifetime or `maxPerUser` is not a positive integer
 * @example
 * ```ts
 * const UserSession = t.type({ userId: t.string, roles: t.array(t.string) }, 'UserSession');
 * const sessions = Session.make({ client, codec: UserSession, ttlMs: 30 * 60_000 });
 * const created = await sessions.create({ userId: 'u1', roles: [] }, { userId: 'u1' })();
 * ```
 * @see expressSessionStore
 * @since 0.2.0
 */
export const make = <A, O = unknown>(config: SessionConfig<A, O>): SessionStore<A> => {
  const {
    client,
    codec,
    ttlMs,
    absoluteTtlMs = 86_400_000,
    sliding = true,
    prefix = 'sess:',
    maxPerUser,
    serializer = JsonSerializer,
    random = randomBytes,
    now = monotonicNow,
  } = config;
  const positive = (name: string, n: unknown) => {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0)
      throw new TypeError(`Session.make: ${name} must be a positive integer`);
  };
  positive('ttlMs', ttlMs);
  positive('absoluteTtlMs', absoluteTtlMs);
  if (maxPerUser !== undefined) positive('maxPerUser', maxPerUser);
  if (typeof prefix !== 'string') throw new TypeError('Session.make: prefix must be a string');

  const onWire = wire(codec, serializer);
  // A value `is` accepts needs no `validate` when validate is the identity on such values
  // (`decodesToItself`, or a codec registered as such, like `ExpressSessionData`).
  const asIs = decodesToItself(codec) || decodesAsIs.has(codec);
  const keys = Ids.sessionKeys(client.key(prefix));
  const scripts = () => sessionScripts(client.redis);
  const count = (counter: string, by = 1) => client.metrics.increment(`session.${counter}`, by);
  /** Names a session in errors: its key with the id replaced by a fingerprint. */
  const shownKey = (id: string) => `${keys.slotBase(Ids.bucketOfId(id))}s:${Ids.fingerprint(id)}`;

  const rejected = (reason: Ids.InvalidIdReason): InvalidSessionInput => {
    count('rejected');
    return new InvalidSessionInput('id', reason);
  };
  const checkId = (id: string): E.Either<InvalidSessionInput, string> => {
    const reason = Ids.idProblem(id);
    return reason === undefined ? E.right(id) : E.left(rejected(reason));
  };
  const checkUser = (userId: string): E.Either<InvalidSessionInput, string> =>
    typeof userId !== 'string' || userId === ''
      ? E.left(new InvalidSessionInput('userId', 'empty'))
      : userId.length > 1024
        ? E.left(new InvalidSessionInput('userId', 'too-long'))
        : E.right(userId);
  const call =
    <R>(command: string, run: () => Promise<R>): TE.TaskEither<RedisError, R> =>
    () => {
      try {
        return run().then(E.right, (e: unknown) => E.left(toRedisError(e, command)));
      } catch (e) {
        return Promise.resolve(E.left(toRedisError(e, command)));
      }
    };
  /** A batched callback call as a TaskEither: the public functions' boundary. */
  const fromBatch =
    <R>(command: string, send: (done: (e: unknown, r?: R) => void) => void) =>
    (): Promise<E.Either<RedisError, R>> =>
      new Promise((resolve) =>
        send((e, r) => resolve(e !== undefined ? E.left(toRedisError(e, command)) : E.right(r!))),
      );
  const encode = (data: A, where: string): E.Either<EncodeError, string> =>
    E.tryCatch(
      () => onWire.encode(data),
      (e) => new EncodeError(where, e instanceof Error ? e.message : String(e), { cause: e }),
    );
  /** Decodes stored data: the data, or a `DecodeError` (no `Either`: this runs per read). */
  const decodeOrError = (id: string, text: string): A | DecodeError => {
    if (asIs) {
      let parsed: unknown;
      try {
        parsed = serializer.parse(text);
      } catch {
        parsed = undefined; // onWire.decode below words the failure
      }
      if (parsed !== undefined && codec.is(parsed)) return parsed;
    }
    const decoded = onWire.decode(text);
    return E.isRight(decoded) ? decoded.right : new DecodeError(shownKey(id), decoded.left);
  };
  const decodeData = (id: string, text: string): E.Either<DecodeError, A> => {
    const decoded = decodeOrError(id, text);
    return decoded instanceof DecodeError ? E.left(decoded) : E.right(decoded);
  };
  const notStored = (id: string): DecodeError =>
    new DecodeError(shownKey(id), [
      { value: undefined, context: [], message: 'the stored value is not a session of this store' },
    ]);
  const toRecord = (id: string, text: string): E.Either<DecodeError, SessionRecord<A>> => {
    const stored = parseStored(text);
    if (stored === undefined) return E.left(notStored(id));
    deadlines.set(id, stored.expiresAt);
    return pipe(
      decodeData(id, stored.data),
      E.map((data) => ({
        id,
        data,
        version: stored.version,
        ...(stored.userId !== undefined ? { userId: stored.userId } : {}),
        createdAt: stored.createdAt,
        expiresAt: stored.expiresAt,
      })),
    );
  };

  // ---- the server's clock

  /**
   * Absolute deadlines of sessions this process read or wrote, by id. A deadline never changes,
   * so while it is far off a touch (a sliding read) is a bare PEXPIRE (GETEX), without reading
   * it again.
   */
  const deadlines = new LRUCache<string, number>({ max: DEADLINE_CACHE_SIZE });
  /**
   * The server's clock minus ours, as last reported: the server's time less our time when the
   * command was *sent*. The server read its clock after that, so this overestimates the
   * server's time, never underestimates it: a deadline looks nearer than it is, the safe side.
   */
  let serverOffsetMs: number | undefined;
  const learnServerTime = (serverMs: unknown, sentAt: number): void => {
    const ms = Number(serverMs);
    if (Number.isFinite(ms) && ms > 0) serverOffsetMs = ms - sentAt;
  };
  /** The deadline is further off than an expiry `idleMs` from now would reach (plus a margin). */
  const farFromDeadline = (id: string, idleMs: number, localNow: number): boolean => {
    const deadline = deadlines.get(id);
    return (
      deadline !== undefined &&
      serverOffsetMs !== undefined &&
      localNow + serverOffsetMs + idleMs + CLOCK_MARGIN_MS < deadline
    );
  };

  // ---- batches: the reads and touches of one tick, one command per Cluster slot

  const slotOf = (key: string) => String(calculateSlot(key));
  const groupOf = () => (client.redis instanceof Cluster ? slotOf : undefined);

  let reads: ((key: string, done: (e: unknown, text?: string | null) => void) => void) | undefined;
  /**
   * Sends one batch's MGET. With `sendCommand`, past ioredis' auto-pipeline: a batch is already
   * one command per tick, and the auto-pipeline would hold it for a `setImmediate` (one more turn
   * of the event loop per batch, on the path of every read in it) and wrap it in a `Pipeline`.
   */
  const mget = (many: ReadonlyArray<string>, encoding: 'utf8' | null): Promise<unknown> =>
    client.redis.sendCommand(
      new Command('mget', many as string[], { replyEncoding: encoding }),
    ) as Promise<unknown>;
  /** Reads stored values with MGET: a native command, the cheapest read Redis has. */
  const read = (key: string, done: (e: unknown, text?: string | null) => void): void =>
    (reads ??= batcher<string, string | null>(
      (many) => mget(many, 'utf8') as Promise<Array<string | null>>,
      groupOf(),
      BATCH_SIZE,
    ))(key, done);

  /** A touch: the id alone for the store's own idle lifetime (the usual case), else with its own. */
  type Touch = string | { readonly id: string; readonly idleMs: number };
  const idOfTouch = (t: Touch): string => (typeof t === 'string' ? t : t.id);
  const idleOfTouch = (t: Touch): number => (typeof t === 'string' ? ttlMs : t.idleMs);
  let touches: ((t: Touch, done: Done<boolean>) => void) | undefined;
  /**
   * Pushes back the idle expiry of a batch with one session-touch script call. Sessions whose
   * deadline this process knows to be far off (read or written here; a deadline never changes)
   * go last, with the earliest of their deadlines less the longest idle time: while the
   * server's clock is before that, each takes a bare PEXPIRE; the others have their deadline
   * read by the script. The server checks that bound against its own clock, so a wrong guess
   * here (`serverOffsetMs`) costs reads, never a session outliving its deadline. Why a bare
   * PEXPIRE is safe against concurrent writes: it never creates a key, so it cannot bring back
   * a session that `destroy`, `regenerate` (RENAME moves the key away) or the cap deleted; it
   * changes no value, so it cannot undo an `update`. (A deadline remembered from an ended
   * session whose id came back into use, after its marker expired, is earlier than the new
   * session's: it can only cost a read.)
   */
  const runTouches = async (batch: ReadonlyArray<Touch>): Promise<boolean[]> => {
    const n = batch.length;
    const sentAt = now();
    const idle = idleOfTouch(batch[0]!);
    let shared = true;
    // Sessions whose deadline the script must read go first (ARGV[1] says how many); `order`
    // maps positions in KEYS to positions in `batch` (`undefined`: the same, the usual case).
    let near: number[] | undefined;
    let earliest = Infinity;
    let longest = 0;
    for (let i = 0; i < n; i++) {
      const t = batch[i]!;
      const id = idOfTouch(t);
      const idleMs = idleOfTouch(t);
      if (idleMs !== idle) shared = false;
      if (!farFromDeadline(id, idleMs, sentAt)) (near ??= []).push(i);
      else {
        earliest = Math.min(earliest, deadlines.get(id)!);
        longest = Math.max(longest, idleMs);
      }
    }
    const checked = near?.length ?? 0;
    let order: number[] | undefined;
    if (near !== undefined && checked < n) {
      const isNear = new Set(near);
      order = near;
      for (let i = 0; i < n; i++) if (!isNear.has(i)) order.push(i);
    }
    const at = (k: number): number => (order === undefined ? k : order[k]!);
    const args: Array<string | number> = [n];
    for (let k = 0; k < n; k++) args.push(keys.session(idOfTouch(batch[at(k)]!)));
    args.push(checked, checked < n ? earliest - longest : '', shared ? idle : '');
    if (!shared) for (let k = 0; k < n; k++) args.push(idleOfTouch(batch[at(k)]!));
    let reply: ReadonlyArray<number>;
    try {
      reply = await scripts().touch(args);
    } catch (e) {
      throw toRedisError(e, 'EVALSHA session-touch');
    }
    learnServerTime(reply[0], sentAt);
    const found = new Array<boolean>(n).fill(true);
    for (let m = 1; m < reply.length; m++) found[at(Number(reply[m]) - 1)] = false;
    return found;
  };
  // runTouches fails with a RedisError, so `done` gets one (typed as `unknown` by the batcher)
  const touchOne = (t: Touch, done: Done<boolean>): void =>
    (touches ??= batcher(
      runTouches,
      groupOf() && ((t: Touch) => slotOf(keys.session(idOfTouch(t)))),
      BATCH_SIZE,
    ))(t, done);

  // ---- create

  const createIn = (
    bucket: string,
    encoded: string,
    userId: string | undefined,
    carried: string,
    attempt = 1,
  ): TE.TaskEither<RedisError, { id: string; reply: [number, number, number, number, number] }> => {
    const id = Ids.newId(bucket, random);
    const sentAt = now();
    return pipe(
      call('EVALSHA session-create', () =>
        scripts().create(
          keys.session(id),
          keys.marker(id),
          // an anonymous session passes its slot's (unused) index key: every key in one slot
          `${keys.slotBase(bucket)}u:${userId ?? ''}`,
          id,
          encoded,
          ttlMs,
          userId ?? '',
          maxPerUser ?? 0,
          keys.slotBase(bucket),
          absoluteTtlMs,
          carried,
        ),
      ),
      TE.flatMap((reply) => {
        if (Array.isArray(reply)) {
          learnServerTime(reply[4], sentAt);
          deadlines.set(id, Number(reply[2]));
          return TE.right({ id, reply });
        }
        // The id was taken (2^-144 by chance; an injected `random` in tests), or a carried-over
        // session reached its deadline in between: try another id, a few times.
        return attempt < 3
          ? createIn(bucket, encoded, userId, carried, attempt + 1)
          : TE.left(toRedisError(new Error('no free session id after 3 attempts'), 'create'));
      }),
    );
  };

  const create: SessionStore<A>['create'] = (data, options = {}) => {
    const { userId } = options;
    const valid: TE.TaskEither<InvalidSessionInput, unknown> =
      userId !== undefined ? TE.fromEither(checkUser(userId)) : TE.right(undefined);
    return pipe(
      valid,
      TE.flatMapEither(() => encode(data, `${keys.slotBase('…')}s:(new)`)),
      TE.flatMap((encoded) =>
        createIn(
          userId !== undefined ? Ids.bucketOfUser(userId) : Ids.randomBucket(random),
          encoded,
          userId,
          '',
        ),
      ),
      TE.map(({ id, reply: [version, createdAt, expiresAt, evicted] }) => {
        count('created');
        if (evicted > 0) count('evicted', evicted);
        return {
          id,
          data,
          version: Number(version),
          ...(userId !== undefined ? { userId } : {}),
          createdAt: Number(createdAt),
          expiresAt: Number(expiresAt),
        };
      }),
    );
  };

  // ---- read

  /**
   * A sliding read. When the deadline is known to be far off, a bare GETEX: like PEXPIRE (see
   * `runTouches`) it never creates a key nor changes a value, so it can neither resurrect an
   * ended session nor undo a write. Its expiry is a time on the server's clock (PXAT: now, as
   * this process reckons the server's clock, plus `ttlMs`) that the check put before the
   * deadline, so neither a command delivered late (a reconnect) nor a misjudged clock carries
   * the session past its deadline. Otherwise the session-get script, which reads the deadline
   * and caps the expiry on the server.
   */
  const slidingRead = (id: string): TE.TaskEither<RedisError, string | null> => {
    const key = keys.session(id);
    const sentAt = now();
    if (farFromDeadline(id, ttlMs, sentAt))
      return call('GETEX', () =>
        client.redis.getex(key, 'PXAT', Math.floor(sentAt + serverOffsetMs! + ttlMs)),
      );
    return pipe(
      call('EVALSHA session-get', () => scripts().get(key, ttlMs)),
      TE.map((reply) => {
        learnServerTime(reply[0], sentAt);
        return typeof reply[1] === 'string' ? reply[1] : null;
      }),
    );
  };

  const get: SessionStore<A>['get'] = (id) =>
    pipe(
      TE.fromEither(checkId(id)),
      TE.flatMap(() =>
        sliding
          ? slidingRead(id)
          : fromBatch<string | null>('MGET', (done) => read(keys.session(id), done)),
      ),
      TE.flatMapEither((text) =>
        typeof text !== 'string'
          ? E.right(O.none)
          : pipe(
              toRecord(id, text),
              E.map((r) => O.some(r)),
            ),
      ),
    );

  // ---- write

  const update: SessionStore<A>['update'] = (id, data, expectedVersion) =>
    pipe(
      TE.fromEither(checkId(id)),
      TE.flatMapEither(() => encode(data, shownKey(id))),
      TE.flatMap((encoded) =>
        call('EVALSHA session-update', () =>
          scripts().update(keys.session(id), encoded, expectedVersion, ttlMs),
        ),
      ),
      TE.flatMap((reply): TE.TaskEither<Conflict | SessionNotFound, SessionRecord<A>> => {
        switch (reply[0]) {
          case 1:
            deadlines.set(id, Number(reply[3]));
            return TE.right({
              id,
              data,
              version: Number(reply[1]),
              ...(typeof reply[4] === 'string' ? { userId: reply[4] } : {}),
              createdAt: Number(reply[2]),
              expiresAt: Number(reply[3]),
            });
          case -1:
            count('conflicts');
            return TE.left(new Conflict(Ids.fingerprint(id), expectedVersion, Number(reply[1])));
          default:
            return TE.left(new SessionNotFound(Ids.fingerprint(id)));
        }
      }),
    );

  const modify: SessionStore<A>['modify'] = (id, f, options = {}) => {
    const { maxAttempts = 5 } = options;
    const attempt = (n: number): TE.TaskEither<SessionError, SessionRecord<A>> =>
      pipe(
        get(id),
        TE.flatMap(
          O.match(
            (): TE.TaskEither<SessionError, SessionRecord<A>> =>
              TE.left(new SessionNotFound(Ids.fingerprint(id))),
            (current) => update(id, f(current.data), current.version),
          ),
        ),
        TE.orElse((e) => (e._tag === 'Conflict' && n < maxAttempts ? attempt(n + 1) : TE.left(e))),
      );
    return attempt(1);
  };

  const touchFor = (
    id: string,
    idleMs: number,
    done: (e: RedisError | undefined, found: boolean) => void,
  ): void => touchOne(idleMs === ttlMs ? id : { id, idleMs }, done as Done<boolean>);

  const touch: SessionStore<A>['touch'] = (id) =>
    pipe(
      TE.fromEither(checkId(id)),
      TE.flatMap(() =>
        fromBatch<boolean>('EVALSHA session-touch', (done) => touchFor(id, ttlMs, done)),
      ),
    );

  // ---- end

  const destroyRaw = (id: string): TE.TaskEither<RedisError, string | null> =>
    pipe(
      call('EVALSHA session-destroy', () =>
        scripts().destroy(
          keys.session(id),
          keys.marker(id),
          id,
          ttlMs,
          keys.slotBase(Ids.bucketOfId(id)),
        ),
      ),
      TE.map((text) => {
        deadlines.delete(id);
        if (typeof text !== 'string') return null;
        count('destroyed');
        return text;
      }),
    );

  const destroy: SessionStore<A>['destroy'] = (id) =>
    pipe(
      TE.fromEither(checkId(id)),
      TE.flatMap(() => destroyRaw(id)),
      TE.map((text) => text !== null),
    );

  const regenerateInPlace = (
    id: string,
    attempt = 1,
  ): TE.TaskEither<RedisError | DecodeError | SessionNotFound, SessionRecord<A>> => {
    const bucket = Ids.bucketOfId(id);
    const next = Ids.newId(bucket, random);
    return pipe(
      call('EVALSHA session-regenerate', () =>
        scripts().regenerate(
          keys.session(id),
          keys.marker(id),
          keys.session(next),
          keys.marker(next),
          id,
          next,
          ttlMs,
          keys.slotBase(bucket),
        ),
      ),
      TE.flatMap(
        (reply): TE.TaskEither<RedisError | DecodeError | SessionNotFound, SessionRecord<A>> => {
          if (reply[0] === 1) {
            count('regenerated');
            deadlines.delete(id);
            return TE.fromEither(toRecord(next, reply[1]));
          }
          if (reply[0] === 0) return TE.left(new SessionNotFound(Ids.fingerprint(id)));
          return attempt < 3
            ? regenerateInPlace(id, attempt + 1)
            : TE.left(toRedisError(new Error('no free session id after 3 attempts'), 'regenerate'));
        },
      ),
    );
  };

  const regenerateForUser = (
    id: string,
    userId: string,
  ): TE.TaskEither<RedisError | DecodeError | SessionNotFound, SessionRecord<A>> =>
    pipe(
      destroyRaw(id),
      TE.flatMap(
        (text): TE.TaskEither<RedisError | DecodeError | SessionNotFound, SessionRecord<A>> => {
          if (text === null) return TE.left(new SessionNotFound(Ids.fingerprint(id)));
          const old = parseStored(text);
          if (old === undefined) return TE.left(notStored(id));
          return pipe(
            createIn(
              Ids.bucketOfUser(userId),
              old.data,
              userId,
              `${old.createdAt}:${old.expiresAt}:${old.version}`,
            ),
            TE.flatMapEither(({ id: next }) => {
              count('regenerated');
              return pipe(
                decodeData(next, old.data),
                E.map((data) => ({
                  id: next,
                  data,
                  version: old.version,
                  userId,
                  createdAt: old.createdAt,
                  expiresAt: old.expiresAt,
                })),
              );
            }),
          );
        },
      ),
    );

  const regenerate: SessionStore<A>['regenerate'] = (id, options = {}) =>
    pipe(
      TE.fromEither(checkId(id)),
      TE.flatMap(() =>
        options.userId === undefined
          ? regenerateInPlace(id)
          : pipe(
              TE.fromEither(checkUser(options.userId)),
              TE.flatMap((userId) => regenerateForUser(id, userId)),
            ),
      ),
    );

  // ---- per user

  const listForUser: SessionStore<A>['listForUser'] = (userId) =>
    pipe(
      TE.fromEither(checkUser(userId)),
      TE.flatMap(() =>
        call('EVALSHA session-list', () =>
          scripts().list(keys.userIndex(userId), keys.slotBase(Ids.bucketOfUser(userId))),
        ),
      ),
      TE.map((flat) => {
        const out: UserSession[] = [];
        for (let i = 0; i + 2 < flat.length; i += 3) {
          out.push({
            id: String(flat[i]),
            createdAt: Math.floor(Number(flat[i + 1]) / 1000),
            idleMs: Number(flat[i + 2]),
          });
        }
        return out;
      }),
    );

  const revokeAll: SessionStore<A>['revokeAll'] = (userId) =>
    pipe(
      TE.fromEither(checkUser(userId)),
      TE.flatMap(() =>
        call('EVALSHA session-revoke', () =>
          scripts().revoke(keys.userIndex(userId), keys.slotBase(Ids.bucketOfUser(userId)), ttlMs),
        ),
      ),
      TE.tap((n) => {
        count('revoked', n);
        return TE.right(n);
      }),
    );

  // ---- whole store

  const scanKeys = (pattern: string): TE.TaskEither<RedisError, string[]> =>
    call('SCAN', async () => {
      const redis = client.redis;
      if (redis instanceof Cluster && redis.status !== 'ready') await redis.ping();
      const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis];
      const found = new Set<string>();
      await Promise.all(
        nodes.map(async (node) => {
          let cursor = '0';
          do {
            const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
            cursor = next;
            for (const k of batch) found.add(k);
          } while (cursor !== '0');
        }),
      );
      return [...found];
    });

  const ids: SessionStore<A>['ids'] = () =>
    pipe(
      scanKeys(keys.sessionPattern),
      TE.map((found) => found.flatMap((k) => keys.idOf(k) ?? [])),
    );

  const clear: SessionStore<A>['clear'] = () =>
    pipe(
      scanKeys(keys.everyKeyPattern),
      TE.flatMap((found) =>
        call('UNLINK', () =>
          pipelinePerNode(
            client.redis,
            found,
            (k) => ['unlink', k],
            client.options.commandTimeoutMs,
            'UNLINK',
          ),
        ),
      ),
      TE.flatMap((results) => {
        const failed = results.find((r) => !r.ok);
        return failed !== undefined && !failed.ok
          ? TE.left(failed.error)
          : TE.right(results.length);
      }),
    );

  const expired$ = defer(() =>
    fromKeyspace(client, {
      pattern: `${escapeGlob(prefix)}{??}s:*`,
      events: ['expired'],
      configure: true,
    }),
  ).pipe(
    map((e) => keys.idOf(client.key(e.key))),
    filter((id): id is string => id !== undefined),
    share(),
  );

  const store: SessionStore<A> = {
    create,
    get,
    update,
    modify,
    touch,
    destroy,
    regenerate,
    listForUser,
    revokeAll,
    ids,
    clear,
    expired$,
  };

  // ---- what expressSessionStore needs

  /** Where `readHeaderBytes` leaves its findings: one object per store, not one per read. */
  const header = { expiresAt: 0, dataStart: 0 };
  /**
   * express-session's reads: an MGET per batch, each value decoded in the batch's loop (a
   * `DecodeError` is the item's result, not the batch's failure), so a read costs no closure and
   * no `Either` of its own.
   */
  const runPeeks = async (many: ReadonlyArray<string>): Promise<Array<A | DecodeError | null>> => {
    let values: Array<Buffer | null>;
    try {
      values = (await mget(
        many.map((id) => keys.session(id)),
        null,
      )) as Array<Buffer | null>;
    } catch (e) {
      throw toRedisError(e, 'MGET');
    }
    const out = new Array<A | DecodeError | null>(many.length);
    for (let i = 0; i < many.length; i++) {
      const id = many[i]!;
      const value = values[i];
      if (value === null || value === undefined) out[i] = null;
      else if (!readHeaderBytes(value, header)) out[i] = notStored(id);
      else {
        // peek: no recency bump here, the touch that ends the request does it
        if (deadlines.peek(id) !== header.expiresAt) deadlines.set(id, header.expiresAt);
        out[i] = decodeOrError(id, value.toString('utf8', header.dataStart));
      }
    }
    return out;
  };
  let peeks: ((id: string, done: Done<A | DecodeError | null>) => void) | undefined;
  const ops: SessionOps<A> = {
    client,
    ttlMs,
    peek: (id, done) =>
      (peeks ??= batcher(
        runPeeks,
        groupOf() && ((id: string) => slotOf(keys.session(id))),
        BATCH_SIZE,
      ))(id, done as Done<A | DecodeError | null>),
    peekMany: (many) =>
      pipe(
        call('GET', () =>
          pipelinePerNode(
            client.redis,
            many,
            (id) => ['get', keys.session(id)],
            client.options.commandTimeoutMs,
            'GET',
          ),
        ),
        TE.flatMapEither(
          (results): E.Either<RedisError | DecodeError, Array<readonly [string, A]>> => {
            const out: Array<readonly [string, A]> = [];
            for (const [i, r] of results.entries()) {
              if (!r.ok) return E.left(r.error);
              if (typeof r.value !== 'string') continue;
              const id = many[i]!;
              const stored = parseStored(r.value);
              if (stored === undefined) return E.left(notStored(id));
              const decoded = decodeData(id, stored.data);
              if (E.isLeft(decoded)) return decoded;
              out.push([id, decoded.right]);
            }
            return E.right(out);
          },
        ),
      ),
    put: (id, data, idleMs) =>
      pipe(
        TE.fromEither(encode(data, shownKey(id))),
        TE.flatMap((encoded) =>
          call('EVALSHA session-put', () =>
            scripts().put(keys.session(id), keys.marker(id), encoded, idleMs, absoluteTtlMs, ttlMs),
          ),
        ),
        TE.map((reply): PutOutcome => {
          if (reply[0] === 0) return 'ended';
          deadlines.set(id, Number(reply[1]));
          return reply[0] === 1 ? 'written' : 'created';
        }),
      ),
    touchFor,
  };
  register(store, ops);
  return store;
};

/** Most keys in one batched command. */
const BATCH_SIZE = 256;
/** Deadlines remembered for the cheap touch. */
const DEADLINE_CACHE_SIZE = 10_000;
/** Slack for the drift of the server's clock since it was read, and for a round trip. */
const CLOCK_MARGIN_MS = 1000;

const monotonicNow = (): number => performance.timeOrigin + performance.now();

const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');
