import type { Logger } from '../config/types';

const noop = (): void => undefined;

/** The default logger: says nothing. @internal */
export const silentLogger: Logger = Object.freeze({
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
});

/**
 * Keeps one message that repeats (a connection error ioredis reports on every reconnect attempt,
 * every few milliseconds on a Cluster's sharded subscribers while a master is down) from
 * flooding the log: the first occurrence is logged, repeats within `windowMs` are only counted,
 * and the next line logged says how many were left out.
 *
 * @returns `take(message, now)`: the number of repeats left out since the last line logged when
 *   this one should be logged, `undefined` when it should be left out
 * @internal
 */
export const repeatLimiter = (windowMs: number) => {
  let last: string | undefined;
  let loggedAt = -Infinity;
  let leftOut = 0;
  return (message: string, now: number): number | undefined => {
    if (message === last && now - loggedAt < windowMs) {
      leftOut += 1;
      return undefined;
    }
    const n = leftOut;
    last = message;
    loggedAt = now;
    leftOut = 0;
    return n;
  };
};
