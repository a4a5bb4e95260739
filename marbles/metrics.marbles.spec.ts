import { map, take } from 'rxjs';
import { MetricsRecorder } from '../src/connection/metrics';
import { createTestScheduler } from '../src/testing';

/**
 * snapshots$: a snapshot at once, then one per period.
 *
 *   snapshots$(10):  a 9ms b 9ms c 9ms …
 */
describe('metrics.snapshots$', () => {
  const scheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));

  it('emits at subscription and then every period, reading the figures at each tick', () => {
    const m = new MetricsRecorder(false);
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const counts$ = m.snapshots$(10).pipe(
        map((s) => s.counters['ticks'] ?? 0),
        take(3),
      );
      // increments land at 5 ms and 15 ms, between the ticks at 0, 10 and 20 ms
      const increments = cold('     -----a---------b|');
      increments.subscribe(() => m.increment('ticks'));
      expectObservable(counts$).toBe('a 9ms b 9ms (c|)', { a: 0, b: 1, c: 2 });
      expectSubscriptions(increments.subscriptions).toBe('^---------------!');
    });
  });

  it('stops its timer when unsubscribed', () => {
    const m = new MetricsRecorder(false);
    scheduler().run(({ expectObservable }) => {
      expectObservable(m.snapshots$(10).pipe(map(() => 'x')), '^ 25ms !').toBe('x 9ms x 9ms x');
    });
  });
});
