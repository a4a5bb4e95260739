import { asyncScheduler, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { ConfigError } from '../src/errors';
import type { SubscriptionStatus } from '../src/sources/fromChannel';
import { watchKeyspace, type KeyspaceEvent } from '../src/sources/fromKeyspace';
import { createTestScheduler } from '../src/testing';
import { fakeClient } from '../test/unit/sources/fakeClient';

/**
 * fromKeyspace over a scripted flags check (CONFIG GET/SET on every node, a cold observable
 * that completes when the flags are there) and a scripted subscriber connection (the server
 * confirms each PSUBSCRIBE two frames after it is sent). `fromKeyspace` checks its arguments and
 * hands the rest to `watchKeyspace` with the real check, so these cases drive `watchKeyspace`.
 *
 * fromKeyspace's TSDoc diagram (with `configure`):
 *
 * ```
 * server    --a-s--d--x-----X--    s SET a, d DEL a, x connection drop, X a expired
 * status    -s-S------R---S----    subscribing, subscribed, reconnecting, subscribed
 * emitted   ----S--D--------X--    S = { key: 'a', event: 'set', db: 0 }
 * ```
 */
describe('fromKeyspace (marbles)', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));

  const CHANNELS = '__keyspace@0__:app:*';
  /** The server's notification: `s` SET, `d` DEL, `X` expired, of key `app:a`. */
  const EVENTS: Record<string, string> = { a: 'set', s: 'set', d: 'del', X: 'expired' };

  const setup = (
    ts: TestScheduler,
    ensures: Array<Observable<unknown>>,
    options: { configure?: boolean; events?: ReadonlyArray<string> } = {},
  ) => {
    const statuses: Array<[number, SubscriptionStatus]> = [];
    const checks: number[] = [];
    const f = fakeClient({ confirm: () => confirm$, now: () => ts.now() });
    let confirm$!: Observable<unknown>;
    let n = 0;
    const source = watchKeyspace(
      f.client,
      {
        channels: CHANNELS,
        wanted: options.events === undefined ? undefined : new Set(options.events),
        configure: options.configure ?? false,
        onStatus: (s) => statuses.push([ts.now(), s]),
        topologyRefreshMs: 5000,
        scheduler: asyncScheduler, // the topology refresh runs on a Cluster only
      },
      () => (checks.push(ts.now()), ensures[n++]!),
    );
    return {
      f,
      source,
      statuses,
      checks,
      confirmWith: (o: Observable<unknown>) => void (confirm$ = o),
      /** Plays `server`: a letter is a notification for `app:a`, `x` a connection drop. */
      play: (server: Observable<string>) =>
        server.subscribe((v) =>
          v === 'x'
            ? f.drop()
            : f.publish('pattern', CHANNELS, '__keyspace@0__:app:a', EVENTS[v] ?? v),
        ),
    };
  };
  const a = (event: string): KeyspaceEvent => ({ key: 'a', event, db: 0 });

  it('checks the flags, then PSUBSCRIBEs; after a drop sets them again before saying subscribed', () => {
    const ts = testScheduler();
    let s!: ReturnType<typeof setup>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const ensures = [cold('-|'), cold('--|')];
      const confirm = cold('  --|');
      s = setup(ts, ensures, { configure: true });
      s.confirmWith(confirm);
      s.play(hot('            --a-s--d--x-----X--'));
      const expected = '      ----S--D--------X--';
      expectObservable(s.source, '^------------------!').toBe(expected, {
        S: a('set'),
        D: a('del'),
        X: a('expired'),
      });
      expectSubscriptions(ensures[0]!.subscriptions).toBe('^!');
      expectSubscriptions(confirm.subscriptions).toBe(['-^-!', '----------^-!']);
      expectSubscriptions(ensures[1]!.subscriptions).toBe('------------^-!');
    });
    expect(s.statuses).toEqual([
      [1, 'subscribing'],
      [3, 'subscribed'],
      [10, 'reconnecting'],
      [14, 'subscribed'], // confirmed at 12, flags set again at 14
    ]);
    expect(s.f.timeline).toEqual([
      [1, `+pattern ${CHANNELS}`],
      [10, `+pattern ${CHANNELS}`],
      [19, `-pattern ${CHANNELS}`],
    ]);
  });

  it('without configure, says subscribed as soon as the server confirmed again, checking nothing', () => {
    const ts = testScheduler();
    let s!: ReturnType<typeof setup>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const ensures = [cold('|')];
      const confirm = cold('  -|');
      s = setup(ts, ensures);
      s.confirmWith(confirm);
      s.play(hot('            --s-x--d-'));
      expectObservable(s.source, '^-------!').toBe('--S----D-', { S: a('set'), D: a('del') });
      expectSubscriptions(ensures[0]!.subscriptions).toBe('(^!)');
      expectSubscriptions(confirm.subscriptions).toBe(['^!', '----^!']);
    });
    expect(s.checks).toEqual([0]);
    expect(s.statuses.map(([, st]) => st)).toEqual([
      'subscribing',
      'subscribed',
      'reconnecting',
      'subscribed',
    ]);
    expect(s.statuses[3]![0]).toBe(5);
  });

  it('emits only the events asked for, of keys under the instance prefix, without the prefix', () => {
    const ts = testScheduler();
    let s!: ReturnType<typeof setup>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const ensures = [cold('|')];
      const confirm = cold('  |');
      s = setup(ts, ensures, { events: ['set', 'expired'] });
      s.confirmWith(confirm);
      const server = hot('    -s-d-o-k-X', {
        s: 's',
        d: 'd',
        o: 'other',
        k: 'not keyspace',
        X: 'X',
      });
      server.subscribe((v) => {
        if (v === 'other') s.f.publish('pattern', CHANNELS, '__keyspace@0__:other:a', 'set');
        else if (v === 'not keyspace') s.f.publish('pattern', CHANNELS, 'app:a', 'set');
        else s.f.publish('pattern', CHANNELS, '__keyspace@0__:app:a', EVENTS[v]!);
      });
      expectObservable(s.source).toBe('-S-------X', { S: a('set'), X: a('expired') });
      expectSubscriptions(confirm.subscriptions).toBe('(^!)');
    });
  });

  it('fails with the ConfigError of the flags check, subscribing nothing', () => {
    const ts = testScheduler();
    let s!: ReturnType<typeof setup>;
    const missing = new ConfigError([
      { field: 'notify-keyspace-events', problem: 'must include the flags "Kx"' },
    ]);
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const ensures = [cold('--#', undefined, missing)];
      const confirm = cold('  --|');
      s = setup(ts, ensures);
      s.confirmWith(confirm);
      expectObservable(s.source).toBe('--#', undefined, missing);
      expectSubscriptions(ensures[0]!.subscriptions).toBe('^-!');
      expectSubscriptions(confirm.subscriptions).toBe([]);
    });
    expect(s.f.calls).toEqual([]);
    expect(s.statuses).toEqual([]);
  });

  it('fails when setting the flags again after a drop is refused', () => {
    const ts = testScheduler();
    let s!: ReturnType<typeof setup>;
    const refused = new ConfigError([
      { field: 'notify-keyspace-events', problem: 'CONFIG SET is not allowed' },
    ]);
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const ensures = [cold('|'), cold('-#', undefined, refused)];
      const confirm = cold('  -|');
      s = setup(ts, ensures, { configure: true });
      s.confirmWith(confirm);
      s.play(hot('            --x--'));
      expectObservable(s.source).toBe('----#', undefined, refused);
      expectSubscriptions(ensures[1]!.subscriptions).toBe('---^!');
    });
    expect(s.statuses.map(([, st]) => st)).toEqual(['subscribing', 'subscribed', 'reconnecting']);
    expect(s.f.timeline.map(([at, c]) => [at, c[0]])).toEqual([
      [0, '+'],
      [2, '+'],
      [4, '-'], // the failure releases the subscription
    ]);
  });

  it('unsubscribing while the flags are set again drops that check: no late status', () => {
    const ts = testScheduler();
    let s!: ReturnType<typeof setup>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const ensures = [cold('|'), cold('-----|')];
      const confirm = cold('  -|');
      s = setup(ts, ensures, { configure: true });
      s.confirmWith(confirm);
      s.play(hot('            --x------'));
      expectObservable(s.source, '^----!').toBe('');
      expectSubscriptions(ensures[1]!.subscriptions).toBe('---^-!');
    });
    expect(s.statuses.map(([, st]) => st)).toEqual(['subscribing', 'subscribed', 'reconnecting']);
  });
});
