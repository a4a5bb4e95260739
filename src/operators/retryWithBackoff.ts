import { pipe } from 'fp-ts/function';
import {
  asyncScheduler,
  retry,
  throwError,
  timer,
  type MonoTypeOperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import { isTransient, toRedisError } from '../errors';
import { exponential, jittered, upTo, type BackoffPolicy, type Jitter } from './backoff';

/**
 * Configuration of {@link retryWithBackoff}. The delay comes either from `initialDelayMs`,
 * `factor`, `maxDelayMs` and `jitter` (exponential, capped, jittered) or from `policy`; not both.
 *
 * @since 0.1.0
 */
export interface RetryWithBackoffConfig {
  /**
   * Retries after which the error is passed on (`Infinity` for no limit, `0` for none).
   * @defaultValue 5
   */
  readonly maxRetries?: number;
  /**
   * Delay before the first retry, before jitter.
   * @defaultValue 100
   */
  readonly initialDelayMs?: number;
  /**
   * Cap of the delay, before jitter.
   * @defaultValue 30000
   */
  readonly maxDelayMs?: number;
  /**
   * Growth of the delay per retry.
   * @defaultValue 2
   */
  readonly factor?: number;
  /**
   * How the delay is spread at random (see {@link Jitter}).
   * @defaultValue 'full'
   */
  readonly jitter?: Jitter;
  /** A policy of your own (see `backoff.ts`), instead of the four fields above. */
  readonly policy?: BackoffPolicy;
  /**
   * Start counting retries (and delays) from scratch once the resubscribed source emits a value,
   * so a long-lived source that recovered gets its whole budget again for its next failure.
   * @defaultValue true
   */
  readonly resetOnSuccess?: boolean;
  /**
   * Whether an error is worth a retry. Errors it rejects are passed on at once.
   * @defaultValue connection, timeout and Cluster errors and transient replies (`isTransient`,
   * after mapping a raw ioredis error with `toRedisError`); never a `DecodeError`
   */
  readonly shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Called before each wait, e.g. to log the error that is being retried. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /**
   * Scheduler of the waits.
   * @defaultValue asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
  /**
   * Source of randomness for the jitter, in [0, 1).
   * @defaultValue Math.random
   */
  readonly random?: () => number;
}

const isTagged = (e: unknown): boolean => e instanceof Error && '_tag' in e;

/** Library errors are judged as they are; anything else as `toRedisError` would map it. */
const retryTransient = (error: unknown): boolean =>
  isTransient(isTagged(error) ? error : toRedisError(error));

const checkNumber = (name: string, value: number, min: number, integer = false): void => {
  const ok =
    typeof value === 'number' &&
    value >= min &&
    (value === Infinity ? name === 'maxRetries' : Number.isFinite(value)) &&
    (!integer || value === Infinity || Number.isInteger(value));
  if (!ok)
    throw new TypeError(
      `retryWithBackoff: ${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${String(value)}`,
    );
};

/**
 * Resubscribes to the source after an error it may recover from, waiting longer after each
 * failure: exponential backoff with jitter by default, or any {@link BackoffPolicy}. Errors
 * `shouldRetry` rejects, and the error after the last retry, are passed on. Unsubscribing during
 * a wait cancels the wait.
 *
 * ```
 * source:          --a--#
 * retryWithBackoff({ initialDelayMs: 10, jitter: 'none', maxRetries: 2, resetOnSuccess: false })
 * subscriptions:   ^----!
 *                  15ms ^----!                  (after 10 ms)
 *                  40ms ^----!                  (after 20 ms)
 * result:          --a 14ms a 24ms a--#
 * ```
 *
 * @example
 * ```ts
 * import { retryWithBackoff } from '@mamey/persistence-redis';
 *
 * fromStreamGroup(client, { stream: 'orders', group: 'billing', consumer: 'c1' }).pipe(
 *   ackAfter((m) => bill(m.value)),
 *   retryWithBackoff({ maxRetries: Infinity, initialDelayMs: 100, maxDelayMs: 10_000 }),
 * );
 * ```
 * @param config - see {@link RetryWithBackoffConfig}
 * @returns an operator that mirrors the source and resubscribes it after retryable errors
 * @throws TypeError when the configuration is invalid
 * @see {@link exponential}, {@link upTo}, {@link jittered} to build a policy
 * @since 0.1.0
 */
export const retryWithBackoff = <T>(
  config: Readonly<RetryWithBackoffConfig> = {},
): MonoTypeOperatorFunction<T> => {
  const {
    maxRetries = 5,
    initialDelayMs = 100,
    maxDelayMs = 30_000,
    factor = 2,
    jitter = 'full',
    policy,
    resetOnSuccess = true,
    shouldRetry = retryTransient,
    onRetry,
    scheduler = asyncScheduler,
    random = Math.random,
  } = config;
  checkNumber('maxRetries', maxRetries, 0, true);
  if (policy !== undefined) {
    if (typeof policy !== 'function')
      throw new TypeError('retryWithBackoff: policy must be a function');
    const mixed = (['initialDelayMs', 'maxDelayMs', 'factor', 'jitter'] as const).filter(
      (k) => config[k] !== undefined,
    );
    if (mixed.length > 0)
      throw new TypeError(`retryWithBackoff: pass either policy or ${mixed.join(', ')}, not both`);
  }
  checkNumber('initialDelayMs', initialDelayMs, 0);
  checkNumber('maxDelayMs', maxDelayMs, 0);
  checkNumber('factor', factor, 1);
  if (typeof jitter !== 'function' && !['full', 'equal', 'none'].includes(jitter))
    throw new TypeError(
      `retryWithBackoff: jitter must be 'full', 'equal', 'none' or a function, got ${String(jitter)}`,
    );
  if (typeof shouldRetry !== 'function')
    throw new TypeError('retryWithBackoff: shouldRetry must be a function');
  if (typeof random !== 'function')
    throw new TypeError('retryWithBackoff: random must be a function');
  const delayOf =
    policy ??
    pipe(exponential({ initialMs: initialDelayMs, factor }), upTo(maxDelayMs), jittered(jitter));

  return retry<T>({
    count: maxRetries,
    resetOnSuccess,
    delay: (error: unknown, attempt: number) => {
      if (!shouldRetry(error, attempt)) return throwError(() => error);
      const delayMs = delayOf(attempt, random);
      onRetry?.(error, attempt, delayMs);
      return timer(delayMs, scheduler);
    },
  });
};
