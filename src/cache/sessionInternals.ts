/**
 * What `expressSessionStore` needs from a store beyond its public functions: express-session
 * picks the ids itself and writes with upserts, so the adapter reads without sliding, writes
 * with `put` and touches with the cookie's lifetime. Kept off the public interface. `peek` and
 * `touchFor` take express-session's own callbacks: they are the hot path of every request, and
 * a `TaskEither` (two promises) per call was a measurable share of it.
 *
 * @internal
 */
import type { TaskEither } from 'fp-ts/TaskEither';
import type { RedisClient } from '../connection/RedisClient';
import type { DecodeError, EncodeError, RedisError } from '../errors';

/** The outcome of a `put`: an existing session written, a new one created, or the id ended. */
export type PutOutcome = 'written' | 'created' | 'ended';

/** The adapter's view of a store; ids are already validated by the caller. */
export interface SessionOps<A> {
  readonly client: RedisClient;
  readonly ttlMs: number;
  /**
   * Reads a session's data without pushing back its expiry: `done` gets a `RedisError`, or the
   * data, `null` when there is none, or the `DecodeError` of a value the codec refuses.
   */
  readonly peek: (
    id: string,
    done: (error: RedisError | undefined, data?: A | DecodeError | null) => void,
  ) => void;
  /** Reads many sessions' data (one round trip per node); missing ones are left out. */
  readonly peekMany: (
    ids: ReadonlyArray<string>,
  ) => TaskEither<RedisError | DecodeError, ReadonlyArray<readonly [string, A]>>;
  /** Upsert under an id the caller chose; never revives an ended id. */
  readonly put: (
    id: string,
    data: A,
    idleMs: number,
  ) => TaskEither<RedisError | EncodeError, PutOutcome>;
  /**
   * Pushes back the idle expiry by `idleMs` (capped by the absolute deadline); `false` when
   * there is no such session.
   */
  readonly touchFor: (
    id: string,
    idleMs: number,
    done: (error: RedisError | undefined, found: boolean) => void,
  ) => void;
}

const registry = new WeakMap<object, SessionOps<unknown>>();

/** Records the ops of a store made by `Session.make`. */
export const register = <A>(store: object, ops: SessionOps<A>): void => {
  registry.set(store, ops as SessionOps<unknown>);
};

/** The ops of a store made by `Session.make`; `undefined` for any other object. */
export const opsOf = <A>(store: object): SessionOps<A> | undefined =>
  registry.get(store) as SessionOps<A> | undefined;

/**
 * Codecs whose `validate` is the identity on every value their `is` accepts, beyond those
 * `decodesToItself` recognises (custom `t.Type`s such as `ExpressSessionData`): the store skips
 * `validate` for a stored value that `is` accepts.
 */
export const decodesAsIs = new WeakSet<object>();
