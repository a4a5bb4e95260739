import * as t from 'io-ts';
import type { Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import type { RedisClient } from '../src/connection/RedisClient';
import { BatchOverflowError, CommandError, EncodeError } from '../src/errors';
import { publishTo } from '../src/sinks/publishTo';
import { createTestScheduler } from '../src/testing';

/**
 * publishTo over a client whose PUBLISH/SPUBLISH return cold observables (publishTo sends each
 * command through `defer`, which takes an Observable as well as ioredis' Promise), so the
 * round trips run in virtual time.
 *
 * publishTo's TSDoc diagram:
 *
 * ```
 * source    --a--b----c--|
 * PUBLISH   --^!-^!---^!       one round trip per value, at most `concurrency` in flight
 * emitted   ---1--1----0-|     receivers of a, b, c, in input order
 * ```
 */
describe('publishTo (marbles)', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));

  /** Each PUBLISH gets the next reply of `replies`; `sent` logs [time, command, channel, message]. */
  const fakeClient = (ts: TestScheduler, replies: Array<Observable<number>>) => {
    const sent: Array<[number, string, string, string]> = [];
    let n = 0;
    const command = (name: string) => (channel: string, message: string) => {
      sent.push([ts.now(), name, channel, message]);
      return replies[n++];
    };
    const client = {
      key: (name: string) => `app:${name}`,
      redis: { publish: command('PUBLISH'), spublish: command('SPUBLISH') },
    } as unknown as RedisClient;
    return { client, sent };
  };

  it('publishes each value as it comes and emits its receiver count, in input order', () => {
    const ts = testScheduler();
    let f!: ReturnType<typeof fakeClient>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('            --a--b----c--|');
      const replies = [
        cold<number>('                  -(r|)', { r: 1 }),
        cold<number>('                     -(r|)', { r: 1 }),
        cold<number>('                          -(r|)', { r: 0 }),
      ];
      f = fakeClient(ts, replies);
      const expected = '              ---1--1----0-|';
      expectObservable(source.pipe(publishTo(f.client, 'orders'))).toBe(expected, {
        1: 1,
        0: 0,
      });
      expectSubscriptions(source.subscriptions).toBe('^------------!');
      expectSubscriptions(replies[0]!.subscriptions).toBe('--^!');
      expectSubscriptions(replies[1]!.subscriptions).toBe('-----^!');
      expectSubscriptions(replies[2]!.subscriptions).toBe('----------^!');
    });
    expect(f.sent).toEqual([
      [2, 'PUBLISH', 'app:orders', 'a'],
      [5, 'PUBLISH', 'app:orders', 'b'],
      [10, 'PUBLISH', 'app:orders', 'c'],
    ]);
  });

  it('holds a count back until the counts before it are known; completes after the last reply', () => {
    const ts = testScheduler();
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('            -ab|');
      const replies = [
        cold<number>('                 ----(r|)', { r: 3 }), // a: the slowest
        cold<number>('                  -(r|)', { r: 2 }),
      ];
      const f = fakeClient(ts, replies);
      const expected = '              -----(xy|)';
      expectObservable(source.pipe(publishTo(f.client, 'orders'))).toBe(expected, {
        x: 3,
        y: 2,
      });
      expectSubscriptions(source.subscriptions).toBe('^--!');
      expectSubscriptions(replies[0]!.subscriptions).toBe('-^---!');
      expectSubscriptions(replies[1]!.subscriptions).toBe('--^!');
    });
  });

  it('an empty source completes at once without a PUBLISH', () => {
    const ts = testScheduler();
    let f!: ReturnType<typeof fakeClient>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<string>('   ---|');
      f = fakeClient(ts, []);
      expectObservable(source.pipe(publishTo(f.client, 'orders'))).toBe('---|');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
    expect(f.sent).toEqual([]);
  });

  it('keeps at most `concurrency` PUBLISHes in flight; the next goes when one returns', () => {
    const ts = testScheduler();
    let f!: ReturnType<typeof fakeClient>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('            -abc|');
      const replies = [
        cold<number>('                 ---(r|)', { r: 1 }),
        cold<number>('                  ----(r|)', { r: 2 }),
        cold<number>('                    -(r|)', { r: 3 }),
      ];
      f = fakeClient(ts, replies);
      const expected = '              ----x-(yz|)';
      expectObservable(source.pipe(publishTo(f.client, 'orders', { concurrency: 2 }))).toBe(
        expected,
        { x: 1, y: 2, z: 3 },
      );
      expectSubscriptions(source.subscriptions).toBe('^---!');
      expectSubscriptions(replies[0]!.subscriptions).toBe('-^--!');
      expectSubscriptions(replies[1]!.subscriptions).toBe('--^---!');
      expectSubscriptions(replies[2]!.subscriptions).toBe('----^!'); // c waits for a's reply
    });
    expect(f.sent.map(([at, , , message]) => [at, message])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [4, 'c'],
    ]);
  });

  it('reads the source on at the limit: values queue in arrival order and go as replies return', () => {
    const ts = testScheduler();
    let f!: ReturnType<typeof fakeClient>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('            -abc---|');
      const replies = [
        cold<number>('                 --(r|)', { r: 1 }),
        cold<number>('                   --(r|)', { r: 2 }),
        cold<number>('                     --(r|)', { r: 3 }),
      ];
      f = fakeClient(ts, replies);
      const expected = '              ---x-y-(z|)';
      expectObservable(source.pipe(publishTo(f.client, 'orders', { concurrency: 1 }))).toBe(
        expected,
        { x: 1, y: 2, z: 3 },
      );
      // not paused while a's PUBLISH is in flight: b and c are taken at once and wait
      expectSubscriptions(source.subscriptions).toBe('^------!');
      expectSubscriptions(replies[0]!.subscriptions).toBe('-^-!');
      expectSubscriptions(replies[1]!.subscriptions).toBe('---^-!');
      expectSubscriptions(replies[2]!.subscriptions).toBe('-----^-!');
    });
    expect(f.sent.map(([at, , , message]) => [at, message])).toEqual([
      [1, 'a'],
      [3, 'b'],
      [5, 'c'],
    ]);
  });

  it('drops the values still queued when a PUBLISH fails: they are never published', () => {
    const ts = testScheduler();
    let f!: ReturnType<typeof fakeClient>;
    const lost = new Error('Connection is closed.'); // as ioredis rejects it
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('            -abc---|');
      const replies = [cold<number>('  --#', undefined, lost)];
      f = fakeClient(ts, replies);
      const expected = '              ---#';
      expectObservable(source.pipe(publishTo(f.client, 'orders', { concurrency: 1 }))).toBe(
        expected,
        undefined,
        expect.objectContaining({ _tag: 'ConnectionError', reason: 'closed' }) as Error,
      );
      expectSubscriptions(source.subscriptions).toBe('^--!');
      expectSubscriptions(replies[0]!.subscriptions).toBe('-^-!');
    });
    expect(f.sent.map(([, , , message]) => message)).toEqual(['a']);
  });

  it('fails with a BatchOverflowError when one more value than `maxBuffered` would wait', () => {
    const ts = testScheduler();
    let f!: ReturnType<typeof fakeClient>;
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('            -abcd---|');
      const replies = [cold<number>(' -----(r|)', { r: 1 })];
      f = fakeClient(ts, replies);
      // a in flight; b and c wait (maxBuffered 2); d would be the third waiting
      const expected = '              ----#';
      expectObservable(
        source.pipe(publishTo(f.client, 'orders', { concurrency: 1, maxBuffered: 2 })),
      ).toBe(expected, undefined, new BatchOverflowError(2, 'publishTo'));
      expectSubscriptions(source.subscriptions).toBe('^---!');
      expectSubscriptions(replies[0]!.subscriptions).toBe('-^--!');
    });
    expect(f.sent.map(([at, , , message]) => [at, message])).toEqual([[1, 'a']]);
  });

  it('a queue that stays within `maxBuffered` drains in order without an error', () => {
    const ts = testScheduler();
    ts.run(({ cold, hot, expectObservable }) => {
      const source = hot('            -abcd---|');
      const replies = [
        cold<number>('                 -----(r|)', { r: 1 }),
        cold<number>('                      -(r|)', { r: 2 }),
        cold<number>('                       -(r|)', { r: 3 }),
        cold<number>('                        -(r|)', { r: 4 }),
      ];
      const f = fakeClient(ts, replies);
      const expected = '              ------wxy(z|)';
      expectObservable(
        source.pipe(publishTo(f.client, 'orders', { concurrency: 1, maxBuffered: 3 })),
      ).toBe(expected, { w: 1, x: 2, y: 3, z: 4 });
    });
  });

  it('fails with the CommandError of a PUBLISH that fails, dropping the source and the others in flight', () => {
    const ts = testScheduler();
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const noPerm = Object.assign(new Error('NOPERM no permissions to access a channel'), {
        name: 'ReplyError',
      });
      const source = hot('            -a-bc---|');
      const replies = [
        cold<number>('                 -(r|)', { r: 1 }),
        cold<number>('                   --#', undefined, noPerm),
        cold<number>('                    ------'),
      ];
      const f = fakeClient(ts, replies);
      const expected = '              --1--#';
      expectObservable(source.pipe(publishTo(f.client, 'orders'))).toBe(
        expected,
        { 1: 1 },
        expect.objectContaining({
          _tag: 'CommandError',
          code: 'NOPERM',
          command: 'PUBLISH',
        }) as CommandError,
      );
      expectSubscriptions(source.subscriptions).toBe('^----!');
      expectSubscriptions(replies[1]!.subscriptions).toBe('---^-!');
      expectSubscriptions(replies[2]!.subscriptions).toBe('----^!');
    });
  });

  it('fails with an EncodeError when the codec throws, before sending that value; SPUBLISH when sharded', () => {
    const ts = testScheduler();
    let f!: ReturnType<typeof fakeClient>;
    const Amount = new t.Type<number, string, unknown>(
      'Amount',
      (u): u is number => typeof u === 'number',
      (u, c) => (typeof u === 'string' ? t.success(Number(u)) : t.failure(u, c)),
      (n) => {
        if (!Number.isFinite(n)) throw new RangeError('not a finite amount');
        return n.toFixed(2);
      },
    );
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot<number>('    -a-b-|', { a: 1.5, b: Infinity });
      const replies = [cold<number>('  -(r|)', { r: 4 })];
      f = fakeClient(ts, replies);
      const expected = '              --x#';
      expectObservable(
        source.pipe(publishTo(f.client, 'orders:{eu}', { codec: Amount, sharded: true })),
      ).toBe(expected, { x: 4 }, expect.any(EncodeError) as EncodeError);
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
    expect(f.sent).toEqual([[1, 'SPUBLISH', 'app:orders:{eu}', '1.50']]);
  });

  it('unsubscribing drops the PUBLISH replies in flight', () => {
    const ts = testScheduler();
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('            -a----');
      const replies = [cold<number>('   -----(r|)', { r: 1 })];
      const f = fakeClient(ts, replies);
      expectObservable(source.pipe(publishTo(f.client, 'orders')), '^--!').toBe('');
      expectSubscriptions(source.subscriptions).toBe('^--!');
      expectSubscriptions(replies[0]!.subscriptions).toBe('-^-!');
    });
  });
});
