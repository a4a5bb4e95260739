import * as t from 'io-ts';
import type { DecodeError } from '../src/errors';
import type { SubscriptionStatus } from '../src/sources/fromChannel';
import { fromPattern } from '../src/sources/fromPattern';
import { createTestScheduler } from '../src/testing';
import { fakeClient } from '../test/unit/sources/fakeClient';

/**
 * fromPattern over a scripted subscriber connection: the server confirms each PSUBSCRIBE two
 * frames after it is sent, and sends a message (`pmessage`) only for channels the pattern
 * matches, as Redis does.
 *
 * fromPattern's TSDoc diagram:
 *
 * ```
 * fromPattern(client, 'orders.*')
 * server    -a-b---x---d--    a, b on orders.eu, d on orders.us; x a connection drop
 * status    s-S----R-S----    subscribing, subscribed, reconnecting, subscribed
 * emitted   ---B-------D--    B = { channel: 'orders.eu', pattern: 'orders.*', message: 'b' }
 * ```
 */
describe('fromPattern (marbles)', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));

  it('delivers after the confirmation, renews the PSUBSCRIBE after a drop and shows the gap', () => {
    const ts = testScheduler();
    const statuses: Array<[number, SubscriptionStatus]> = [];
    let f!: ReturnType<typeof fakeClient>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const confirm = cold('  --|');
      const server = hot('    -a-b---x---d--', {
        a: 'orders.eu a',
        b: 'orders.eu b',
        x: 'drop',
        d: 'orders.us d',
      });
      f = fakeClient({ confirm: () => confirm, now: () => ts.now() });
      server.subscribe((v) => {
        if (v === 'drop') return f.drop();
        const [channel, message] = v.split(' ') as [string, string];
        f.publish('pattern', 'app:orders.*', `app:${channel}`, message);
      });
      const source = fromPattern(f.client, 'orders.*', {
        onStatus: (s) => statuses.push([ts.now(), s]),
      });
      expectObservable(source, '^-------------!').toBe('---B-------D--', {
        B: { channel: 'orders.eu', pattern: 'orders.*', message: 'b' },
        D: { channel: 'orders.us', pattern: 'orders.*', message: 'd' },
      });
      expectSubscriptions(confirm.subscriptions).toBe(['^-!', '-------^-!']);
    });
    expect(statuses).toEqual([
      [0, 'subscribing'],
      [2, 'subscribed'],
      [7, 'reconnecting'],
      [9, 'subscribed'],
    ]);
    expect(f.timeline).toEqual([
      [0, '+pattern app:orders.*'],
      [7, '+pattern app:orders.*'],
      [14, '-pattern app:orders.*'],
    ]);
  });

  it('shares one PSUBSCRIBE per pattern: a later subscriber is subscribed at once, the last to leave PUNSUBSCRIBEs', () => {
    const ts = testScheduler();
    const late: SubscriptionStatus[] = [];
    let f!: ReturnType<typeof fakeClient>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const confirm = cold('  --|');
      const server = hot('    ----a--b---');
      f = fakeClient({ confirm: () => confirm, now: () => ts.now() });
      server.subscribe((v) => f.publish('pattern', 'app:orders.*', 'app:orders.eu', v));
      const first = fromPattern(f.client, 'orders.*');
      const second = fromPattern(f.client, 'orders.*', { onStatus: (s) => late.push(s) });
      const m = {
        a: { channel: 'orders.eu', pattern: 'orders.*', message: 'a' },
        b: { channel: 'orders.eu', pattern: 'orders.*', message: 'b' },
      };
      expectObservable(first, ' ^-------!--').toBe('----a--b---', m);
      expectObservable(second, '---^------!').toBe('----a--b---', m);
      expectSubscriptions(confirm.subscriptions).toBe('^-!');
    });
    expect(late).toEqual(['subscribed']);
    expect(f.timeline).toEqual([
      [0, '+pattern app:orders.*'],
      [10, '-pattern app:orders.*'],
    ]);
  });

  it('puts the instance prefix in front of the pattern, matched literally, and strips it from channels', () => {
    const ts = testScheduler();
    let f!: ReturnType<typeof fakeClient>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const confirm = cold('  |');
      const server = hot('    -a-');
      f = fakeClient({ confirm: () => confirm, instance: 'shop[1]:' });
      server.subscribe((v) => f.publish('pattern', 'shop\\[1\\]:orders.*', 'shop[1]:orders.eu', v));
      expectObservable(fromPattern(f.client, 'orders.*'), '^--!').toBe('-a-', {
        a: { channel: 'orders.eu', pattern: 'orders.*', message: 'a' },
      });
      expectSubscriptions(confirm.subscriptions).toBe('(^!)');
    });
    expect(f.calls[0]).toBe('+pattern shop\\[1\\]:orders.*');
  });

  it("a message that fails to decode is skipped (counted, logged, reported) or fails only the subscriber with 'fail'", () => {
    const ts = testScheduler();
    const reported: Array<[string, string]> = [];
    let f!: ReturnType<typeof fakeClient>;
    const Amount = new t.Type<number, string, unknown>(
      'Amount',
      (u): u is number => typeof u === 'number',
      (u, c) => (typeof u === 'string' && /^\d+$/.test(u) ? t.success(Number(u)) : t.failure(u, c)),
      String,
    );
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const confirm = cold('  |');
      const server = hot('    -1-x-2-');
      f = fakeClient({ confirm: () => confirm });
      server.subscribe((v) => f.publish('pattern', 'app:orders.*', 'app:orders.eu', v));
      const skipping = fromPattern(f.client, 'orders.*', {
        codec: Amount,
        onDecodeError: (e: DecodeError, raw) => reported.push([e._tag, raw.message]),
      });
      const failing = fromPattern(f.client, 'orders.*', { codec: Amount, decodeErrors: 'fail' });
      const m = {
        a: { channel: 'orders.eu', pattern: 'orders.*', message: 1 },
        b: { channel: 'orders.eu', pattern: 'orders.*', message: 2 },
      };
      expectObservable(skipping).toBe('-a---b-', m);
      expectObservable(failing).toBe('-a-#', m, expect.objectContaining({ _tag: 'DecodeError' }));
      expectSubscriptions(confirm.subscriptions).toBe('(^!)'); // one PSUBSCRIBE for both
    });
    expect(reported).toEqual([['DecodeError', 'x']]);
    expect(f.counters.get('pubsub.decodeErrors')).toBe(2); // once per subscriber that saw it
    expect(f.logger.lines.map((l) => l.msg)).toEqual([
      'pub/sub message failed to decode',
      'pub/sub message failed to decode',
    ]);
  });
});
