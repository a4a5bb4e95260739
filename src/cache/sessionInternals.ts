/**
 * What `expressSessionStore` needs from a store beyond its public functions: express-session
 * picks the ids itself and writes with upserts, so the adapter reads without sliding, writes
 * with `put` and touches with the cookie's lifetime. Kept off the public interface.
 *
 * @internal
 */
import type * as O from 'fp-ts/Option';
import type { TaskEither } from 'fp-ts/TaskEither';
import type { RedisClient } from '../connection/RedisClient';
import type { DecodeError, EncodeError, RedisError } from '../errors';

/** The outcome of a `put`: an existing session written, a new one created, or the id ended. */
export type PutOutcome = 'written' | 'created' | 'ended';

/** The adapter's view of a store; ids are already validated by the caller. */
export interface SessionOps<A> {
  readonly client: RedisClient;
  readonly ttlMs: number;
  /** Reads a session's data without pushing back its expiry. */
  readonly peek: (id: string) => TaskEither<RedisError | DecodeError, O.Option<A>>;
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
  /** Pushes back the idle expiry by `idleMs` (capped by the absolute deadline). */
  readonly touchFor: (id: string, idleMs: number) => TaskEither<RedisError, boolean>;
}

const registry = new WeakMap<object, SessionOps<unknown>>();

/** Records the ops of a store made by `Session.make`. */
export const register = <A>(store: object, ops: SessionOps<A>): void => {
  registry.set(store, ops as SessionOps<unknown>);
};

/** The ops of a store made by `Session.make`; `undefined` for any other object. */
export const opsOf = <A>(store: object): SessionOps<A> | undefined =>
  registry.get(store) as SessionOps<A> | undefined;
