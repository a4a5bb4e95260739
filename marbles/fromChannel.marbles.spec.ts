import { fromChannel } from '../src/sources/fromChannel';
import type { SubscriptionStatus } from '../src/sources/fromChannel';
import { createTestScheduler } from '../src/testing/createTestScheduler';
import { fakeClient } from '../test/unit/sources/fakeClient';

/**
 * fromChannel over a scripted subscriber connection: the server confirms each SUBSCRIBE two
 * frames after it is sent; `x` is a connection drop.
 *
 *   server     -a-b-x---d---     a comes before the confirmation: not delivered
 *   SUBSCRIBE  ^-!  ^-!          sent at 0 and again at the drop; confirmed 2 frames later
 *   emitted    ---b-----d---
 *   status     s-S--R-S          subscribing, subscribed, reconnecting, subscribed
 */
describe('fromChannel (marbles)', () => {
  it('delivers after the confirmation, renews the subscription after a drop and shows the gap', () => {
    const ts = createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const statuses: Array<[number, SubscriptionStatus]> = [];
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const confirm = cold('  --|');
      const server = hot('    -a-b-x---d---');
      const f = fakeClient({ confirm: () => confirm });
      server.subscribe((v) => (v === 'x' ? f.drop() : f.publish('channel', 'app:ch', 'app:ch', v)));
      const source = fromChannel(f.client, 'ch', {
        onStatus: (s) => statuses.push([ts.now(), s]),
      });
      expectObservable(source, '^------------!').toBe('---b-----d---', {
        b: { channel: 'ch', message: 'b' },
        d: { channel: 'ch', message: 'd' },
      });
      expectSubscriptions(confirm.subscriptions).toBe(['^-!', '-----^-!']);
    });
    expect(statuses).toEqual([
      [0, 'subscribing'],
      [2, 'subscribed'],
      [5, 'reconnecting'],
      [7, 'subscribed'],
    ]);
  });

  it('a second subscriber of a confirmed channel is subscribed at once and shares the SUBSCRIBE', () => {
    const ts = createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const confirm = cold('  --|');
      const server = hot('    ----a--b-');
      const f = fakeClient({ confirm: () => confirm });
      server.subscribe((v) => f.publish('channel', 'app:ch', 'app:ch', v));
      const source = fromChannel(f.client, 'ch');
      const m = { a: { channel: 'ch', message: 'a' }, b: { channel: 'ch', message: 'b' } };
      expectObservable(source, '^--------').toBe('----a--b-', m);
      expectObservable(source, '---^--!--').toBe('----a----', m);
      expectSubscriptions(confirm.subscriptions).toBe('^-!');
    });
  });
});
