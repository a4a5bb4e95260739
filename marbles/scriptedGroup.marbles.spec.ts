import { map, tap } from 'rxjs';
import { ConnectionError } from '../src/errors';
import type { StreamMessage } from '../src/sources/StreamEntry';
import { createTestScheduler, scriptedGroup, testMessage } from '../src/testing';

/**
 * The testing kit's scripted consumer group, in place of fromStreamGroup.
 *
 * ```
 * entries:     -a--b|
 * messages$:   -A--B|     (each acked when received)
 * acks$:       -a--b|
 * ```
 */
describe('scriptedGroup', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const label = (m: StreamMessage<string>) => `${m.value}${m.deliveries}`;
  const ackAll = tap((m: StreamMessage<string>) => void m.ack());

  it('delivers entries when appended, records acks at their time, completes when all acked', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const entries = cold('   -a--b|');
      const group = scriptedGroup({ entries });
      expectObservable(group.messages$.pipe(ackAll, map(label))).toBe('-x--y|', {
        x: 'a1',
        y: 'b1',
      });
      expectObservable(group.acks$).toBe('                             -a--b|', {
        a: '1-0',
        b: '2-0',
      });
      expectSubscriptions(entries.subscriptions).toBe('                ^----!');
    });
  });

  it('delivers an unacked entry again after claimIdleMs, and dead-letters it after maxDeliveries', () => {
    let deadLetters: unknown;
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const entries = cold('   -a|');
      const group = scriptedGroup({ entries, claimIdleMs: 5, maxDeliveries: 3 });
      deadLetters = group.deadLetters;
      expectObservable(group.messages$.pipe(map(label))).toBe('-x 4ms y 4ms z 4ms |', {
        x: 'a1',
        y: 'a2',
        z: 'a3',
      });
      expectObservable(group.acks$).toBe('                       16ms |');
      expectSubscriptions(entries.subscriptions).toBe('          ^-!');
    });
    expect(deadLetters).toEqual([{ id: '1-0', value: 'a', time: 16, deliveries: 3 }]);
  });

  it('a new subscription re-reads the pending entries first, then those appended meanwhile', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const entries = cold('   -a----b|');
      const group = scriptedGroup({ entries, claimIdleMs: 100 });
      // the first consumer takes a and stops without acking it
      expectObservable(group.messages$.pipe(map(label)), '^---!').toBe('-x', { x: 'a1' });
      // the next one gets a again (second delivery), then b, acks both, and the group is done
      expectObservable(group.messages$.pipe(ackAll, map(label)), '8ms ^').toBe('8ms (xy|)', {
        x: 'a2',
        y: 'b1',
      });
      expectObservable(group.acks$).toBe('8ms (ab|)', { a: '1-0', b: '2-0' });
      expectSubscriptions(entries.subscriptions).toBe('^------!');
    });
  });

  it('counts an ack once, whichever delivery acks, and a repeated ack is a no-op', () => {
    let acks: unknown;
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const entries = cold('   -a|');
      const group = scriptedGroup({ entries, claimIdleMs: 3 });
      acks = group.acks;
      const held: Array<StreamMessage<string>> = [];
      // keep every delivery; ack the first one late, twice, after the entry was redelivered
      group.messages$.subscribe((m) => held.push(m));
      cold('   -----x').subscribe(() => {
        void held[0]!.ack();
        void held[0]!.ack();
        void held[1]!.ack();
      });
      expectObservable(group.acks$).toBe('-----(a|)', { a: '1-0' });
      expectSubscriptions(entries.subscriptions).toBe('^-!');
    });
    expect(acks).toEqual([{ id: '1-0', time: 5, deliveries: 1 }]);
  });

  it('fails the current subscription at each failure; the group keeps its pending entries', () => {
    const lost = new ConnectionError('closed', 'Redis connection is closed');
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const entries = cold('   -a|');
      const failures = hot('   ---x', { x: lost });
      const group = scriptedGroup({ entries, failures, claimIdleMs: 100 });
      expectObservable(group.messages$.pipe(map(label))).toBe('-x-#', { x: 'a1' }, lost);
      expectObservable(group.messages$.pipe(ackAll, map(label)), '6ms ^').toBe('6ms (y|)', {
        y: 'a2',
      });
      expectSubscriptions(entries.subscriptions).toBe('^-!');
      expectSubscriptions(failures.subscriptions).toBe('^');
    });
  });

  it('has one subscriber at a time, like one consumer', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const group = scriptedGroup({ entries: cold<string>('-a|') });
      expectObservable(group.messages$.pipe(map(label)), '^--!').toBe('-x', { x: 'a1' });
      expectObservable(group.messages$, '-^').toBe(
        '-#',
        undefined,
        new Error('scriptedGroup: messages$ has one subscriber at a time'),
      );
    });
  });
});

/**
 * testMessage: a StreamMessage whose acks are recorded at their virtual time.
 *
 * ```
 * messages:   --a---b|       (each released at once)
 * acks:       ----a---b       (acked 2 ms after arrival)
 * ```
 */
describe('testMessage', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));

  it('records the virtual time of each ack and release', () => {
    const a = testMessage('a', { id: '1-0' });
    const b = testMessage('b', { id: '2-0' });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const messages = cold('  --a---b|', { a, b });
      const later = cold('     ----a---b', { a, b });
      messages.subscribe((m) => m.release('busy'));
      later.subscribe((m) => void m.ack());
      expectObservable(messages).toBe('--a---b|', { a, b });
      expectSubscriptions(later.subscriptions).toBe('^');
    });
    expect(a.ackTimes).toEqual([4]);
    expect(b.ackTimes).toEqual([8]);
    expect(a.releases).toEqual([{ time: 2, reason: 'busy' }]);
    expect([a.acked, b.acked]).toEqual([true, true]);
  });
});
