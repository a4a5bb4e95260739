/**
 * Backoff policies: pure functions from a retry's number to the delay before it, kept apart from
 * the code that waits ({@link retryWithBackoff} only runs them). Build one, compose with `pipe`,
 * and test it as a delay sequence with {@link delaysOf}:
 *
 * ```ts
 * import { pipe } from 'fp-ts/function';
 * const policy = pipe(exponential({ initialMs: 100 }), upTo(5_000), jittered('full'));
 * delaysOf(policy, 4, () => 0.5); // [50, 100, 200, 400]
 * ```
 *
 * @since 0.1.0
 */

/**
 * The delay in milliseconds before retry number `attempt` (1 for the first retry). `random`
 * returns a number in [0, 1); a policy that uses no randomness ignores it. Pure: the same
 * arguments and the same `random` answers give the same delay.
 *
 * @since 0.1.0
 */
export type BackoffPolicy = (attempt: number, random: () => number) => number;

/**
 * How a delay is spread at random, so clients that failed together do not retry together:
 * - `'full'`: anywhere in `[0, delay]` (the AWS "full jitter"; the most spread)
 * - `'equal'`: in `[delay / 2, delay]` (keeps at least half of the delay)
 * - `'none'`: exactly `delay`
 * - a function of the delay and a random number in [0, 1), for anything else
 *
 * @since 0.1.0
 */
export type Jitter =
  'full' | 'equal' | 'none' | ((delayMs: number, random: () => number) => number);

const nonNegative = (name: string, value: number): void => {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0)
    throw new TypeError(`${name} must be a number ≥ 0, got ${String(value)}`);
};

/**
 * The same delay before every retry.
 *
 * @param delayMs - the delay, ≥ 0
 * @returns `delayMs, delayMs, delayMs, …`
 * @throws TypeError when `delayMs` is negative or not a number
 * @example
 * ```ts
 * delaysOf(fixed(250), 3); // [250, 250, 250]
 * ```
 * @since 0.1.0
 */
export const fixed = (delayMs: number): BackoffPolicy => {
  nonNegative('fixed: delayMs', delayMs);
  return () => delayMs;
};

/** Options of {@link exponential}. */
export interface ExponentialOptions {
  /** Delay before the first retry, ≥ 0. */
  readonly initialMs: number;
  /**
   * Growth per retry, ≥ 1.
   * @defaultValue 2
   */
  readonly factor?: number;
}

/**
 * A delay that grows by `factor` each retry: `initialMs × factor^(attempt − 1)`, rounded to whole
 * milliseconds. Unbounded: cap it with {@link upTo}.
 *
 * @param options - see {@link ExponentialOptions}
 * @returns `initialMs, initialMs × factor, initialMs × factor², …`
 * @throws TypeError when `initialMs` is negative or `factor` is below 1
 * @example
 * ```ts
 * delaysOf(exponential({ initialMs: 100 }), 4); // [100, 200, 400, 800]
 * ```
 * @since 0.1.0
 */
export const exponential = (options: ExponentialOptions): BackoffPolicy => {
  const { initialMs, factor = 2 } = options;
  nonNegative('exponential: initialMs', initialMs);
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1)
    throw new TypeError(`exponential: factor must be a finite number ≥ 1, got ${String(factor)}`);
  return (attempt) => Math.round(initialMs * factor ** Math.max(0, attempt - 1));
};

/**
 * Caps every delay of `policy` at `maxMs`.
 *
 * @param maxMs - the longest delay, ≥ 0
 * @returns a combinator for `pipe`
 * @throws TypeError when `maxMs` is negative or not a number
 * @example
 * ```ts
 * delaysOf(pipe(exponential({ initialMs: 100 }), upTo(300)), 4); // [100, 200, 300, 300]
 * ```
 * @since 0.1.0
 */
export const upTo = (maxMs: number): ((policy: BackoffPolicy) => BackoffPolicy) => {
  nonNegative('upTo: maxMs', maxMs);
  return (policy) => (attempt, random) => Math.min(maxMs, policy(attempt, random));
};

const JITTERS: Record<'full' | 'equal' | 'none', (d: number, random: () => number) => number> = {
  full: (d, random) => Math.round(d * unit(random())),
  equal: (d, random) => Math.round(d / 2 + (d / 2) * unit(random())),
  none: (d) => d,
};

/** A custom `random` may misbehave; keep its answer in [0, 1] so a delay never goes negative. */
const unit = (r: number): number => (Number.isNaN(r) ? 0 : Math.min(1, Math.max(0, r)));

/**
 * Spreads every delay of `policy` at random (see {@link Jitter}). Apply it last, after
 * {@link upTo}, so the cap bounds the range the delay is drawn from.
 *
 * @param jitter - `'full'`, `'equal'`, `'none'` or a function
 * @returns a combinator for `pipe`
 * @throws TypeError for an unknown jitter
 * @example
 * ```ts
 * delaysOf(pipe(fixed(100), jittered('equal')), 2, () => 0); // [50, 50]
 * ```
 * @since 0.1.0
 */
export const jittered = (jitter: Jitter): ((policy: BackoffPolicy) => BackoffPolicy) => {
  const spread =
    typeof jitter === 'function'
      ? jitter
      : Object.hasOwn(JITTERS, jitter)
        ? JITTERS[jitter]
        : undefined;
  if (spread === undefined)
    throw new TypeError(
      `jittered: jitter must be 'full', 'equal', 'none' or a function, got ${String(jitter)}`,
    );
  if (jitter === 'none') return (policy) => policy;
  return (policy) => (attempt, random) => Math.max(0, spread(policy(attempt, random), random));
};

/**
 * The first `count` delays of `policy`: how a policy is looked at and tested.
 *
 * @param policy - the policy
 * @param count - how many retries
 * @param random - the random source the policy gets
 * @defaultValue random `Math.random`
 * @returns the delays before retries 1 … `count`
 * @example
 * ```ts
 * expect(delaysOf(pipe(exponential({ initialMs: 10 }), upTo(25)), 3)).toEqual([10, 20, 25]);
 * ```
 * @since 0.1.0
 */
export const delaysOf = (
  policy: BackoffPolicy,
  count: number,
  random: () => number = Math.random,
): number[] => Array.from({ length: count }, (_, i) => policy(i + 1, random));
