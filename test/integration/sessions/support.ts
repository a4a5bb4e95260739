/** Shared helpers of the session integration suites. */
import * as E from 'fp-ts/Either';
import type { TaskEither } from 'fp-ts/TaskEither';
import { topologies } from '../../support/clients';

/** Both kinds of server every session suite runs against. */
export const targets = topologies;

/** Runs a TaskEither; a Left fails the test with its message. */
export const right = async <E, A>(task: TaskEither<E, A>): Promise<A> => {
  const result = await task();
  if (E.isLeft(result)) throw new Error(`expected a Right, got ${String(result.left)}`);
  return result.right;
};

/** Runs a TaskEither that must fail; returns its error. */
export const left = async <E, A>(task: TaskEither<E, A>): Promise<E> => {
  const result = await task();
  if (E.isRight(result)) throw new Error(`expected a Left, got ${JSON.stringify(result.right)}`);
  return result.left;
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
