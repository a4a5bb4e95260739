/**
 * `expressSessionStore`: a {@link SessionStore} as an express-session `Store`, so an Express app
 * moves from connect-redis by changing the `store:` line.
 *
 * @since 0.2.0
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import type * as TE from 'fp-ts/TaskEither';
import type { SessionData, Store } from 'express-session';
import { DecodeError } from '../errors';
import type { SessionStore } from './Session';
import { InvalidSessionInput } from './Session';
import { fingerprint, idProblem } from './sessionIds';
import { decodesAsIs, opsOf, type SessionOps } from './sessionInternals';

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * Options of {@link expressSessionStore}.
 *
 * @since 0.2.0
 */
export interface ExpressSessionStoreOptions {
  /**
   * A stored session the codec refuses (written by an older version of the app): `'discard'`
   * logs a warning and answers "no session", so express-session starts a new one; `'error'`
   * hands the `DecodeError` to express (the request fails until the session expires).
   * @defaultValue 'discard'
   */
  readonly onDecodeError?: 'discard' | 'error';
}

/**
 * The codec of express-session's data: an object with a `cookie` object; other fields pass
 * through. Narrow it for your own fields:
 * `t.intersection([ExpressSessionData, t.partial({ user: t.string })])`.
 *
 * @since 0.2.0
 */
export const ExpressSessionData: t.Type<SessionData, SessionData, unknown> = new t.Type<
  SessionData,
  SessionData,
  unknown
>(
  'ExpressSessionData',
  (u): u is SessionData => t.UnknownRecord.is(u) && t.UnknownRecord.is(u['cookie']),
  (u, c) =>
    t.UnknownRecord.is(u) && t.UnknownRecord.is(u['cookie'])
      ? t.success(u as unknown as SessionData)
      : t.failure(u, c, 'expected an express-session object with a cookie'),
  (a) => a,
);

// Its validate answers the value itself whenever `is` holds: a read need not run it.
decodesAsIs.add(ExpressSessionData);

/**
 * The type of {@link ExpressSessionData}.
 *
 * @since 0.2.0
 */
export type ExpressSessionData = t.TypeOf<typeof ExpressSessionData>;

type Callback<T = unknown> = (err?: unknown, value?: T) => void;

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * An express-session `Store` backed by `store` — a drop-in for connect-redis' `RedisStore`:
 * `get`, `set`, `destroy`, `touch`, `all`, `length`, `clear` and `ids`.
 *
 * - Lifetimes: the store's `ttlMs` is the idle lifetime (express-session touches or saves the
 *   session at the end of every request, which pushes it back), shortened to the cookie's
 *   `expires` when that comes first (as connect-redis does); the store's `absoluteTtlMs` holds
 *   whatever the cookie says. `get` does not slide: the end-of-request touch does.
 * - `set` is express-session's upsert: it never revives an id whose session ended (destroyed,
 *   revoked, regenerated or expired): such a late write from a request still in flight is
 *   dropped with an `info` log. Two requests of one session still overwrite each other's
 *   changes (express-session writes whole sessions; use `Session.update` for versioned writes).
 * - Ids: express-session's own (signed in the cookie with its `secret`); an id that is not
 *   URL-safe or not 22–128 characters long is "no session" without a command sent.
 * - express-session is loaded when this is called, so the library does not need it otherwise.
 *
 * @param store a store from `Session.make`, whose codec accepts express-session's data (start
 *   from {@link ExpressSessionData})
 * @param options see {@link ExpressSessionStoreOptions}
 * @returns an express-session `Store`
 * @throws TypeError when `store` was not made by `Session.make`
 * @example
 * ```ts
 * app.use(
 *   session({
 *     store: expressSessionStore(Session.make({ client, codec: ExpressSessionData, ttlMs: 1_800_000 })),
 *     secret: process.env.SESSION_SECRET!,
 *     resave: false,
 *     saveUninitialized: false,
 *   }),
 * );
 * ```
 * @see Session.make
 * @since 0.2.0
 */
export const expressSessionStore = <A extends SessionData>(
  store: SessionStore<A>,
  options: ExpressSessionStoreOptions = {},
): Store => {
  const { onDecodeError = 'discard' } = options;
  const ops = opsOf<A>(store);
  if (ops === undefined)
    throw new TypeError('expressSessionStore: pass a store made by Session.make');
  const Adapter = adapterClass();
  return new Adapter(
    store as unknown as SessionStore<SessionData>,
    ops as unknown as SessionOps<SessionData>,
    onDecodeError,
  );
};

// -------------------------------------------------------------------------------------
// internals
// -------------------------------------------------------------------------------------

type AdapterClass = new (
  store: SessionStore<SessionData>,
  ops: SessionOps<SessionData>,
  onDecodeError: 'discard' | 'error',
) => Store;

let adapter: AdapterClass | undefined;

const ignore = (): void => {};

/** Runs `task` and hands its outcome to an express-session callback. */
const settle = <T>(task: TE.TaskEither<Error, T>, cb: Callback<T> | undefined): void => {
  void task().then((result) => {
    if (cb === undefined) return;
    if (E.isLeft(result)) cb(result.left);
    else cb(null, result.right);
  });
};

const adapterClass = (): AdapterClass => {
  if (adapter !== undefined) return adapter;
  // Loaded here, not at the top: only apps that use express-session have it installed.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Store: Base } = require('express-session') as typeof import('express-session');

  class MameySessionStore extends Base {
    constructor(
      private readonly store: SessionStore<SessionData>,
      private readonly ops: SessionOps<SessionData>,
      private readonly onDecodeError: 'discard' | 'error',
    ) {
      super();
    }

    /** The idle lifetime: the store's, or less when the cookie expires first. */
    private idleFor(sess: SessionData | undefined): number {
      const expires = sess?.cookie?.expires;
      if (expires === undefined || expires === null) return this.ops.ttlMs;
      return Math.min(this.ops.ttlMs, Math.ceil(new Date(expires).getTime() - Date.now()));
    }

    /** Why express-session's id is refused, or `undefined` when it is fine. */
    private refuse(sid: string): InvalidSessionInput | undefined {
      const reason = idProblem(sid);
      if (reason === undefined) return undefined;
      this.ops.client.metrics.increment('session.rejected');
      return new InvalidSessionInput('id', reason);
    }

    /** Whether express-session's id may be sent to Redis (counts a refusal). */
    private valid(sid: string): boolean {
      if (idProblem(sid) === undefined) return true;
      this.refuse(sid);
      return false;
    }

    override get(sid: string, cb: Callback<SessionData | null>): void {
      if (!this.valid(sid)) return cb(null, null);
      this.ops.peek(sid, (e, data) => {
        if (e !== undefined) return cb(e);
        if (!(data instanceof DecodeError)) return cb(null, data);
        if (this.onDecodeError === 'error') return cb(data);
        this.ops.client.logger.warn(
          { session: fingerprint(sid), error: data.message },
          'stored session does not match the codec; starting a new session',
        );
        cb(null, null);
      });
    }

    override set(sid: string, sess: SessionData, cb?: Callback): void {
      // express-session made this id (its `genid`): refusing it is a configuration error
      const refused = this.refuse(sid);
      if (refused !== undefined) return cb?.(refused);
      const idle = this.idleFor(sess);
      if (idle <= 0) return this.destroy(sid, cb);
      void this.ops
        .put(sid, sess, idle)()
        .then((result) => {
          if (E.isLeft(result)) return cb?.(result.left);
          if (result.right === 'ended')
            this.ops.client.logger.info(
              { session: fingerprint(sid) },
              'dropped a write to an ended session (destroyed, revoked or expired)',
            );
          cb?.();
        });
    }

    override touch(sid: string, sess: SessionData, cb?: () => void): void {
      if (!this.valid(sid)) return cb?.();
      const idle = this.idleFor(sess);
      if (idle <= 0) return this.destroy(sid, cb);
      // express-session's callback takes the error, if any: it is handed over as it is
      this.ops.touchFor(sid, idle, (cb as Callback | undefined) ?? ignore);
    }

    override destroy(sid: string, cb?: Callback): void {
      if (!this.valid(sid)) return cb?.();
      settle(this.store.destroy(sid), cb);
    }

    override all(cb: Callback<SessionData[]>): void {
      void this.store
        .ids()()
        .then(async (ids) => {
          if (E.isLeft(ids)) return cb(ids.left);
          const found = await this.ops.peekMany(ids.right)();
          if (E.isLeft(found)) return cb(found.left);
          cb(
            null,
            found.right.map(([id, data]) => ({ ...data, id }) as SessionData),
          );
        });
    }

    override length(cb: Callback<number>): void {
      void this.store
        .ids()()
        .then((ids) => (E.isLeft(ids) ? cb(ids.left) : cb(null, ids.right.length)));
    }

    override clear(cb?: Callback): void {
      settle(this.store.clear(), cb);
    }

    /** The ids of every session (connect-redis has it too). */
    ids(cb: Callback<ReadonlyArray<string>>): void {
      settle(this.store.ids(), cb);
    }
  }
  adapter = MameySessionStore;
  return adapter;
};
