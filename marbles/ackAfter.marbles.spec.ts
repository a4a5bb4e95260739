import { ackAfter } from '../src/operators/ackAfter';
import { createTestScheduler, testMessage, type TestStreamMessage } from '../src/testing';

/**
 * ackAfter: runs the handler per message, acks when the handler's result completed, releases
 * the message when it failed, and goes on. The diagram of its TSDoc:
 *
 * ```
 * source:   --a-----b-----c--|
 * handler:    a:--x| b:--#  c:--y|
 * result:   -----x-----------y|      (a acked, b released for redelivery, c acked)
 * ```
 *
 * Exactly, as the first case runs it (each handler subscribed when its message arrives):
 *
 * ```
 * source:     --a-----b-----c--|
 * handler a:    ---x|                 a acked at 6
 * handler b:          --#             b released at 10
 * handler c:                ---y|     c acked at 18
 * result:     -----x-----------y|
 * ```
 */
describe('ackAfter (marbles)', () => {
  const testScheduler = () =>
    createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const boom = new Error('handler failed');
  type M = TestStreamMessage<string>;

  it('emits the handler results, acks what succeeded and releases what failed (TSDoc diagram)', () => {
    const ts = testScheduler();
    let a!: TestStreamMessage<string>, b!: TestStreamMessage<string>, c!: TestStreamMessage<string>;
    const failures: Array<[unknown, string]> = [];
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      a = testMessage('a', { id: '1-0', scheduler: ts });
      b = testMessage('b', { id: '2-0', scheduler: ts });
      c = testMessage('c', { id: '3-0', scheduler: ts });
      const handlers = {
        a: cold('                                           ---x|'),
        b: cold('                                                 --#', undefined, boom),
        c: cold('                                                       ---y|'),
      };
      const source = cold('                               --a-----b-----c--|', { a, b, c });
      const expected = '                                  -----x-----------y|';
      const result = source.pipe(
        ackAfter((m) => handlers[m.value as keyof typeof handlers], {
          onError: (e, m) => failures.push([e, m.id]),
        }),
      );
      expectObservable(result).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe('    ^----------------!');
      expectSubscriptions(handlers.a.subscriptions).toBe('--^---!');
      expectSubscriptions(handlers.b.subscriptions).toBe('--------^-!');
      expectSubscriptions(handlers.c.subscriptions).toBe('--------------^---!');
    });
    expect(a.ackTimes).toEqual([6]);
    expect(b.ackTimes).toEqual([]);
    expect(b.releases).toEqual([{ time: 10, reason: boom }]);
    expect(c.ackTimes).toEqual([18]);
    expect([a.releases, c.releases]).toEqual([[], []]);
    expect(failures).toEqual([[boom, '2-0']]);
  });

  it('acks only when the handler result completes, not at its first value', () => {
    const ts = testScheduler();
    let m!: TestStreamMessage<string>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      m = testMessage('m', { scheduler: ts });
      const handler = cold('                            -x-y----|');
      const source = cold('                            -m|', { m });
      const expected = '                               --x-y----|';
      expectObservable(source.pipe(ackAfter(() => handler))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(' ^-!');
      expectSubscriptions(handler.subscriptions).toBe('-^-------!');
    });
    expect(m.ackTimes).toEqual([9]);
    expect(m.releases).toEqual([]);
  });

  it('runs at most `concurrency` handlers at once; the others wait for a free slot', () => {
    const ts = testScheduler();
    let ms: Array<TestStreamMessage<string>> = [];
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      ms = ['a', 'b', 'c', 'd'].map((v, i) => testMessage(v, { id: `${i + 1}-0`, scheduler: ts }));
      const [a, b, c, d] = ms as [M, M, M, M];
      const handlers = {
        a: cold('                                         ----A|'),
        b: cold('                                         --B|'),
        c: cold('                                            ----C|'),
        d: cold('                                              -D|'),
      };
      const source = cold('                               (abcd)|', { a, b, c, d });
      // b finishes first and lets c in at 3; a lets d in at 5; results as they come
      const expected = '                                  --B-A-DC|';
      expectObservable(
        source.pipe(
          ackAfter((m) => handlers[m.value as keyof typeof handlers], { concurrency: 2 }),
        ),
      ).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe('    ^-----!');
      expectSubscriptions(handlers.a.subscriptions).toBe('^----!');
      expectSubscriptions(handlers.b.subscriptions).toBe('^--!');
      expectSubscriptions(handlers.c.subscriptions).toBe('---^----!');
      expectSubscriptions(handlers.d.subscriptions).toBe('-----^-!');
    });
    expect(ms.map((m) => m.ackTimes)).toEqual([[5], [3], [8], [7]]);
  });

  it('with the default concurrency of 1, runs the handlers one after the other, in order', () => {
    const ts = testScheduler();
    let ms: Array<TestStreamMessage<string>> = [];
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      ms = ['a', 'b'].map((v, i) => testMessage(v, { id: `${i + 1}-0`, scheduler: ts }));
      const [a, b] = ms as [M, M];
      const handlers = {
        a: cold('                                         ---A|'),
        b: cold('                                             -B|'),
      };
      const source = cold('                               (ab)|', { a, b });
      const expected = '                                  ---A-B|';
      expectObservable(
        source.pipe(ackAfter((m) => handlers[m.value as keyof typeof handlers])),
      ).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe('    ^---!');
      expectSubscriptions(handlers.a.subscriptions).toBe('^---!');
      expectSubscriptions(handlers.b.subscriptions).toBe('----^-!');
    });
    expect(ms.map((m) => m.ackTimes)).toEqual([[4], [6]]);
  });

  it('releases the message of a handler that throws or errors, without acking, and goes on', () => {
    const ts = testScheduler();
    let ms: Array<TestStreamMessage<string>> = [];
    const failures: string[] = [];
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      ms = ['a', 'b', 'c'].map((v, i) => testMessage(v, { id: `${i + 1}-0`, scheduler: ts }));
      const [a, b, c] = ms as [M, M, M];
      const erroring = cold('                               -#', undefined, boom);
      const working = cold('                                   --C|');
      const source = cold('                             -a--b--c|', { a, b, c });
      const expected = '                                ---------C|';
      const result = source.pipe(
        ackAfter(
          (m) => {
            if (m.value === 'a') throw boom; // throws before returning anything
            return m.value === 'b' ? erroring : working;
          },
          { onError: (_, m) => failures.push(m.id) },
        ),
      );
      expectObservable(result).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe('  ^-------!');
      expectSubscriptions(erroring.subscriptions).toBe('----^!');
      expectSubscriptions(working.subscriptions).toBe(' -------^--!');
    });
    expect(ms.map((m) => m.ackTimes)).toEqual([[], [], [10]]);
    expect(ms.map((m) => m.releases)).toEqual([
      [{ time: 1, reason: boom }],
      [{ time: 5, reason: boom }],
      [],
    ]);
    expect(failures).toEqual(['1-0', '2-0']);
  });

  it('completes at once on an empty source, calling no handler', () => {
    let calls = 0;
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TestStreamMessage<string>>('  |');
      const result = source.pipe(ackAfter(() => (calls++, cold('-x|'))));
      const expected = '                                        |';
      expectObservable(result).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe('          (^!)');
    });
    expect(calls).toBe(0);
  });

  it('passes a source error on, after the handlers that finished before it', () => {
    const ts = testScheduler();
    let m!: TestStreamMessage<string>;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      m = testMessage('a', { scheduler: ts });
      const handler = cold('                           -A|');
      const source = cold('                            a---#', { a: m }, boom);
      const expected = '                               -A--#';
      expectObservable(source.pipe(ackAfter(() => handler))).toBe(expected, undefined, boom);
      expectSubscriptions(source.subscriptions).toBe(' ^---!');
      expectSubscriptions(handler.subscriptions).toBe('^-!');
    });
    expect(m.ackTimes).toEqual([2]);
  });

  it('on unsubscribe mid-handler, releases waiting messages at once and lets the running one finish and ack', () => {
    const ts = testScheduler();
    let a!: TestStreamMessage<string>, b!: TestStreamMessage<string>;
    ts.run(({ cold, expectObservable, expectSubscriptions, time }) => {
      a = testMessage('a', { id: '1-0', scheduler: ts });
      b = testMessage('b', { id: '2-0', scheduler: ts });
      const handler = cold('                            ----A|');
      const source = cold('                            -ab------', { a, b });
      const unsub = '                                  ^--!';
      const expected = '                               ---';
      const result = source.pipe(
        ackAfter(() => handler, { drainTimeoutMs: time('----------|'), scheduler: ts }),
      );
      // A comes after the unsubscription: it is not emitted, but a is acked
      expectObservable(result, unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(' ^--!');
      expectSubscriptions(handler.subscriptions).toBe('-^----!');
    });
    expect(a.ackTimes).toEqual([6]);
    expect(a.releases).toEqual([]);
    expect(b.ackTimes).toEqual([]);
    expect(b.releases).toEqual([{ time: 3, reason: undefined }]);
  });

  it('on unsubscribe, cuts a handler still running after drainTimeoutMs and releases its message', () => {
    const ts = testScheduler();
    let a!: TestStreamMessage<string>;
    ts.run(({ cold, expectObservable, expectSubscriptions, time }) => {
      a = testMessage('a', { scheduler: ts });
      const handler = cold('                            --------------A|');
      const source = cold('                            -a-------', { a });
      const unsub = '                                  ^--!';
      const expected = '                               ---';
      const result = source.pipe(
        ackAfter(() => handler, { drainTimeoutMs: time('-----|'), scheduler: ts }),
      );
      expectObservable(result, unsub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(' ^--!');
      // unsubscribed at 3, cut at 3 + 5
      expectSubscriptions(handler.subscriptions).toBe('-^------!');
    });
    expect(a.ackTimes).toEqual([]);
    expect(a.releases).toEqual([{ time: 8, reason: undefined }]);
  });

  it('a failed ack goes on without an unhandled rejection, also when messages share one ack promise', async () => {
    // as fromStreamGroup's: the messages of one XACK share its promise
    const xackFailed = new Error('XACK failed');
    const shared = Promise.reject(xackFailed);
    const own = Promise.reject(xackFailed);
    const acks: string[] = [];
    const message = (id: string, acked: Promise<void>) =>
      ({ ...testMessage(id, { id }), ack: () => (acks.push(id), acked) }) as M;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const [a, b, c] = [message('1-0', shared), message('2-0', shared), message('3-0', own)];
        const source = cold('                            a-b-c|', { a, b, c });
        const expected = '                               a-b-c|';
        const result = source.pipe(ackAfter((m) => [m.id.slice(0, 1)]));
        expectObservable(result).toBe(expected, { a: '1', b: '2', c: '3' });
        expectSubscriptions(source.subscriptions).toBe(' ^----!');
      });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(acks).toEqual(['1-0', '2-0', '3-0']);
    expect(unhandled).toEqual([]);
  });
});
