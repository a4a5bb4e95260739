import { ConnectionError, DecodeError, TimeoutError } from '../src/errors';
import { fixed } from '../src/operators/backoff';
import { retryWithBackoff } from '../src/operators/retryWithBackoff';
import { createTestScheduler } from '../src/testing';

/**
 * retryWithBackoff: resubscribes after a retryable error, waiting longer each time.
 *
 * ```
 * source:          --a--#
 * retryWithBackoff({ initialDelayMs: 10, jitter: 'none', maxRetries: 2, resetOnSuccess: false })
 * subscriptions:   ^----!
 *                  15ms ^----!                  (after 10 ms)
 *                  40ms ^----!                  (after 20 ms)
 * result:          --a 14ms a 24ms a--#
 * ```
 */
describe('retryWithBackoff', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const timeout = new TimeoutError('Redis command timed out (XREADGROUP)');

  it('resubscribes after each retryable error with growing delays, then passes the error on', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, time }) => {
      const source = cold('  --a--#', undefined, timeout);
      const result = source.pipe(
        retryWithBackoff({
          initialDelayMs: time('----------|'),
          jitter: 'none',
          maxRetries: 2,
          resetOnSuccess: false,
        }),
      );
      expectObservable(result).toBe('--a 14ms a 24ms a--#', undefined, timeout);
      expectSubscriptions(source.subscriptions).toBe([
        '                            ^----!',
        '                            15ms ^----!',
        '                            40ms ^----!',
      ]);
    });
  });

  it('mirrors an empty source', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  |');
      expectObservable(source.pipe(retryWithBackoff())).toBe('|');
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
  });

  it('mirrors a source that completes, without retrying', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-|');
      expectObservable(source.pipe(retryWithBackoff())).toBe('-a-b-|');
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('passes a DecodeError on at once: decoding again gives the same answer', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const bad = new DecodeError('orders 1-0', []);
      const source = cold('  -a-#', undefined, bad);
      expectObservable(source.pipe(retryWithBackoff({ maxRetries: 5 }))).toBe(
        '-a-#',
        undefined,
        bad,
      );
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('retries raw ioredis connection errors and not other raw errors', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6380'), {
        code: 'ECONNREFUSED',
      });
      const bug = new Error('cannot read properties of undefined');
      const config = { initialDelayMs: 5, jitter: 'none', maxRetries: 1 } as const;
      const flaky = cold('   --#', undefined, refused);
      const broken = cold('  --#', undefined, bug);
      expectObservable(flaky.pipe(retryWithBackoff(config))).toBe('9ms #', undefined, refused);
      expectSubscriptions(flaky.subscriptions).toBe(['^-!', '7ms ^-!']);
      expectObservable(broken.pipe(retryWithBackoff(config))).toBe('--#', undefined, bug);
      expectSubscriptions(broken.subscriptions).toBe('^-!');
    });
  });

  it('cancels the wait when unsubscribed during it: no resubscription, no timer left', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions, time }) => {
      const source = cold('  --#', undefined, timeout);
      const result = source.pipe(
        retryWithBackoff({ initialDelayMs: time('----------|'), jitter: 'none' }),
      );
      expectObservable(result, '^-----!').toBe('--');
      expectSubscriptions(source.subscriptions).toBe('^-!');
      // the retry would resubscribe at frame 12; after the unsubscription at 6 nothing is due
      let pendingAfterUnsubscribe: number | undefined;
      scheduler.schedule(() => (pendingAfterUnsubscribe = scheduler.actions.length), 7);
      scheduler.flush();
      expect(pendingAfterUnsubscribe).toBe(0);
    });
  });

  it('with resetOnSuccess, a source that emitted again starts from the first delay', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  --a--#', undefined, timeout);
      const result = source.pipe(
        retryWithBackoff({
          initialDelayMs: 10,
          jitter: 'none',
          maxRetries: 2,
          resetOnSuccess: true,
        }),
      );
      // every attempt emits, so the budget never runs out and every wait is 10 ms
      expectObservable(result, '^ 47ms !').toBe('--a 14ms a 14ms a 14ms a');
      expectSubscriptions(source.subscriptions).toBe([
        '                                        ^----!',
        '                                        15ms ^----!',
        '                                        30ms ^----!',
        '                                        45ms ^--!',
      ]);
    });
  });

  it('with resetOnSuccess, a source that never emits still runs out of retries', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  --#', undefined, timeout);
      const result = source.pipe(
        retryWithBackoff({
          initialDelayMs: 10,
          jitter: 'none',
          maxRetries: 2,
          resetOnSuccess: true,
        }),
      );
      expectObservable(result).toBe('36ms #', undefined, timeout);
      expectSubscriptions(source.subscriptions).toBe(['^-!', '12ms ^-!', '34ms ^-!']);
    });
  });

  it('caps the delay at maxDelayMs', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  #', undefined, timeout);
      const result = source.pipe(
        retryWithBackoff({ initialDelayMs: 10, maxDelayMs: 15, jitter: 'none', maxRetries: 3 }),
      );
      // waits 10, 15 (not 20), 15 (not 40)
      expectObservable(result).toBe('40ms #', undefined, timeout);
      expectSubscriptions(source.subscriptions).toBe([
        '(^!)',
        '10ms (^!)',
        '25ms (^!)',
        '40ms (^!)',
      ]);
    });
  });

  it('draws the jitter from the injected random source', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const full = cold('   #', undefined, timeout);
      const equal = cold('  #', undefined, timeout);
      const config = { initialDelayMs: 20, maxRetries: 2, random: () => 0.5 } as const;
      // full: 0.5 × 20 = 10, then 0.5 × 40 = 20
      expectObservable(full.pipe(retryWithBackoff({ ...config, jitter: 'full' }))).toBe(
        '30ms #',
        undefined,
        timeout,
      );
      expectSubscriptions(full.subscriptions).toBe(['(^!)', '10ms (^!)', '30ms (^!)']);
      // equal: 10 + 0.5 × 10 = 15, then 20 + 0.5 × 20 = 30
      expectObservable(equal.pipe(retryWithBackoff({ ...config, jitter: 'equal' }))).toBe(
        '45ms #',
        undefined,
        timeout,
      );
      expectSubscriptions(equal.subscriptions).toBe(['(^!)', '15ms (^!)', '45ms (^!)']);
    });
  });

  it('runs a custom policy and reports each retry to onRetry', () => {
    const retries: Array<[unknown, number, number]> = [];
    const lost = new ConnectionError('closed', 'Redis connection is closed');
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -#', undefined, lost);
      const result = source.pipe(
        retryWithBackoff({
          policy: fixed(3),
          maxRetries: 2,
          onRetry: (e, attempt, delayMs) => retries.push([e, attempt, delayMs]),
        }),
      );
      expectObservable(result).toBe('9ms #', undefined, lost);
      expectSubscriptions(source.subscriptions).toBe(['^!', '4ms ^!', '8ms ^!']);
    });
    expect(retries).toEqual([
      [lost, 1, 3],
      [lost, 2, 3],
    ]);
  });

  it('passes on an error that shouldRetry rejects, at once', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  --#', undefined, timeout);
      const result = source.pipe(
        retryWithBackoff({ initialDelayMs: 1, jitter: 'none', shouldRetry: (_, n) => n < 2 }),
      );
      expectObservable(result).toBe('-----#', undefined, timeout);
      expectSubscriptions(source.subscriptions).toBe(['^-!', '---^-!']);
    });
  });

  it('does not retry with maxRetries: 0', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a#', undefined, timeout);
      expectObservable(source.pipe(retryWithBackoff({ maxRetries: 0 }))).toBe(
        '-a#',
        undefined,
        timeout,
      );
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });
});
