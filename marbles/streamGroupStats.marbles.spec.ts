import { of, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import type { RedisClient } from '../src/connection/RedisClient';
import { streamGroupStats, type StreamGroupStats } from '../src/sources/streamGroupStats';
import { createTestScheduler } from '../src/testing';

/**
 * streamGroupStats over a client whose XLEN / XINFO GROUPS / XPENDING return cold observables
 * (each command goes through `defer`, which takes an Observable as well as ioredis' Promise), so
 * the poll runs in virtual time.
 *
 * streamGroupStats' TSDoc diagram (periodMs 5):
 *
 * ```
 * tick:   x----x----x----x-    at once, then every periodMs (5 here)
 * stats:  -a---------b----c    a snapshot per tick (an array, one item per group); a tick
 *                              while the snapshot before it is still being read is skipped
 * ```
 */
describe('streamGroupStats (marbles)', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));

  /** XINFO GROUPS' RESP2 row for a group. */
  const groupRow = (name: string, pending: number, lag: number) => [
    'name',
    name,
    'consumers',
    1,
    'pending',
    pending,
    'last-delivered-id',
    '9-0',
    'entries-read',
    9,
    'lag',
    lag,
  ];
  /** XPENDING's summary reply. */
  const summary = (byConsumer: Record<string, number>) => {
    const rows = Object.entries(byConsumer).map(([c, n]) => [c, String(n)]);
    const count = Object.values(byConsumer).reduce((a, b) => a + b, 0);
    return [count, count > 0 ? '1-0' : null, count > 0 ? '9-0' : null, rows];
  };
  const stats = (
    group: string,
    length: number,
    pending: number,
    lag: number,
  ): StreamGroupStats => ({
    stream: 'orders',
    group,
    length,
    lag,
    pending,
    pendingByConsumer: pending > 0 ? { c1: pending } : {},
    consumers: 1,
    lastDeliveredId: '9-0',
  });

  interface Script {
    readonly xlen?: () => Observable<unknown>;
    readonly xinfo?: () => Observable<unknown>;
    readonly xpending?: (group: string) => Observable<unknown>;
  }
  /** Logs [time, command, …args]; each command answers what the script says. */
  const fakeClient = (ts: TestScheduler, script: Script) => {
    const calls: unknown[][] = [];
    const log = (...c: unknown[]) => calls.push([ts.now(), ...c]);
    const client = {
      key: (name: string) => `app:${name}`,
      redis: {
        xlen: (key: string) => (log('XLEN', key), script.xlen?.() ?? of(0)),
        xinfo: (sub: string, key: string) => (log('XINFO', sub, key), script.xinfo?.() ?? of([])),
        xpending: (key: string, group: string) => (
          log('XPENDING', key, group),
          script.xpending?.(group) ?? of(summary({}))
        ),
      },
    } as unknown as RedisClient;
    return { client, calls };
  };

  it('reads at once and then every periodMs; a tick while a snapshot is being read is skipped', () => {
    const ts = testScheduler();
    let f!: ReturnType<typeof fakeClient>;
    ts.run(({ cold, expectObservable, expectSubscriptions, time }) => {
      const xlens = [
        cold('                       -(n|)', { n: 9 }),
        cold('                            ------(n|)', { n: 10 }), // slow: the tick at 10 is skipped
        cold('                                      -(n|)', { n: 11 }),
      ];
      let n = 0;
      f = fakeClient(ts, {
        xlen: () => xlens[n++]!,
        xinfo: () => of([groupRow('billing', 2, 3)]),
        xpending: () => of(summary({ c1: 2 })),
      });
      const expected = '           -a---------b----c';
      const unsub = '              ^----------------!';
      expectObservable(
        streamGroupStats(f.client, 'orders', { periodMs: time('-----|'), scheduler: ts }),
        unsub,
      ).toBe(expected, {
        a: [stats('billing', 9, 2, 3)],
        b: [stats('billing', 10, 2, 3)],
        c: [stats('billing', 11, 2, 3)],
      });
      expectSubscriptions(xlens[0]!.subscriptions).toBe('^!');
      expectSubscriptions(xlens[1]!.subscriptions).toBe('-----^-----!');
      expectSubscriptions(xlens[2]!.subscriptions).toBe('---------------^!');
    });
    expect(f.calls.filter((c) => c[1] === 'XLEN').map((c) => c[0])).toEqual([0, 5, 15]);
    expect(f.calls.slice(0, 3)).toEqual([
      [0, 'XLEN', 'app:orders'],
      [0, 'XINFO', 'GROUPS', 'app:orders'],
      [1, 'XPENDING', 'app:orders', 'billing'], // once XLEN and XINFO (which names the groups) answered
    ]);
  });

  it('asks XPENDING of the chosen group only; a stream that does not exist yet has no groups', () => {
    const ts = testScheduler();
    let f!: ReturnType<typeof fakeClient>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const noSuchKey = Object.assign(new Error('ERR no such key'), { name: 'ReplyError' });
      const infos = [
        cold('                       #', undefined, noSuchKey),
        cold('                            -(g|)', {
          g: [groupRow('audit', 0, 0), groupRow('billing', 4, 1)],
        }),
      ];
      const pending = cold('                -(p|)', { p: summary({ c1: 4 }) });
      let n = 0;
      f = fakeClient(ts, { xinfo: () => infos[n++]!, xpending: () => pending });
      const expected = '           a------b';
      const unsub = '              ^-------!';
      expectObservable(
        streamGroupStats(f.client, 'orders', { group: 'billing', periodMs: 5, scheduler: ts }),
        unsub,
      ).toBe(expected, { a: [], b: [stats('billing', 0, 4, 1)] });
      expectSubscriptions(infos[1]!.subscriptions).toBe('-----^!');
      expectSubscriptions(pending.subscriptions).toBe('  ------^!');
    });
    expect(f.calls.filter((c) => c[1] === 'XPENDING')).toEqual([
      [6, 'XPENDING', 'app:orders', 'billing'],
    ]);
  });

  it('fails with the RedisError of a command that fails, and polls no more', () => {
    const ts = testScheduler();
    let f!: ReturnType<typeof fakeClient>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const wrongType = Object.assign(
        new Error('WRONGTYPE Operation against a key holding the wrong kind of value'),
        { name: 'ReplyError' },
      );
      const xlens = [cold('         -(n|)', { n: 1 }), cold('--#', undefined, wrongType)];
      let n = 0;
      f = fakeClient(ts, { xlen: () => xlens[n++]! });
      const expected = '           -a-----#';
      expectObservable(streamGroupStats(f.client, 'orders', { periodMs: 5, scheduler: ts })).toBe(
        expected,
        { a: [] },
        expect.objectContaining({ _tag: 'CommandError', code: 'WRONGTYPE', command: 'XLEN' }),
      );
      expectSubscriptions(xlens[1]!.subscriptions).toBe('-----^-!');
    });
    // the run flushes every scheduled action: no tick after the failure read anything
    expect(f.calls.filter((c) => c[1] === 'XLEN').map((c) => c[0])).toEqual([0, 5]);
  });

  it('unsubscribing drops the snapshot being read and stops the timer', () => {
    const ts = testScheduler();
    let f!: ReturnType<typeof fakeClient>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const xinfo = cold('               ---(g|)', { g: [groupRow('billing', 0, 0)] });
      f = fakeClient(ts, { xinfo: () => xinfo });
      const unsub = '              ^-!';
      expectObservable(
        streamGroupStats(f.client, 'orders', { periodMs: 5, scheduler: ts }),
        unsub,
      ).toBe('');
      expectSubscriptions(xinfo.subscriptions).toBe('^-!');
    });
    expect(f.calls.map((c) => c.slice(0, 2))).toEqual([
      [0, 'XLEN'],
      [0, 'XINFO'],
    ]);
  });
});
