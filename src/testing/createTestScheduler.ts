import { deepStrictEqual } from 'node:assert';
import { TestScheduler } from 'rxjs/testing';

/**
 * A `TestScheduler` whose assertions use `assert.deepStrictEqual` (or the function you pass, e.g.
 * `(a, e) => expect(a).toEqual(e)`), for marble-testing flows built with this library.
 *
 * @param assertDeepEqual compares actual and expected frames; throws when they differ
 * @returns a fresh scheduler; run every case inside `scheduler.run(...)`
 * @example
 * ```ts
 * const scheduler = createTestScheduler((a, e) => expect(a).toEqual(e));
 * scheduler.run(({ cold, expectObservable }) => {
 *   expectObservable(cold('a-b|')).toBe('a-b|');
 * });
 * ```
 * @since 0.1.0
 */
export const createTestScheduler = (
  assertDeepEqual: (actual: unknown, expected: unknown) => void = deepStrictEqual,
): TestScheduler => new TestScheduler(assertDeepEqual);
