import { Subject, lastValueFrom, of, throwError, toArray, delay, from } from 'rxjs';
import { ackAfter } from '../../../src';
import type { StreamMessage } from '../../../src';

/** A message that records what happened to it. */
const message = (id: string): StreamMessage<number> & { log: string[] } => {
  const log: string[] = [];
  return {
    stream: 's',
    id,
    value: Number(id),
    group: 'g',
    consumer: 'c',
    deliveries: 1,
    log,
    ack: async () => void log.push('ack'),
    release: (reason?: unknown) => void log.push(reason === undefined ? 'release' : 'fail'),
  };
};

describe('ackAfter', () => {
  it('acks after the handler completes, releases on failure, and keeps going', async () => {
    const ms = ['1', '2', '3'].map(message);
    const errors: unknown[] = [];
    const out = await lastValueFrom(
      from(ms).pipe(
        ackAfter((m) => (m.id === '2' ? throwError(() => new Error('boom')) : of(m.value * 10)), {
          onError: (e) => errors.push(e),
        }),
        toArray(),
      ),
    );
    expect(out).toEqual([10, 30]);
    expect(ms.map((m) => m.log)).toEqual([['ack'], ['fail'], ['ack']]);
    expect(errors).toHaveLength(1);
  });

  it('treats a throwing or rejecting handler as a failure', async () => {
    const ms = ['1', '2'].map(message);
    await lastValueFrom(
      from(ms).pipe(
        ackAfter(async (m) => {
          if (m.id === '1') throw new Error('async boom');
        }),
        toArray(),
      ),
    );
    const sync = message('3');
    await lastValueFrom(
      of(sync).pipe(
        ackAfter(() => {
          throw new Error('sync boom');
        }),
        toArray(),
      ),
    );
    expect([...ms.map((m) => m.log), sync.log]).toEqual([['fail'], ['ack'], ['fail']]);
  });

  it('runs at most `concurrency` handlers at once', async () => {
    let running = 0;
    let peak = 0;
    const ms = Array.from({ length: 10 }, (_, i) => message(String(i)));
    await lastValueFrom(
      from(ms).pipe(
        ackAfter(
          async () => {
            running += 1;
            peak = Math.max(peak, running);
            await new Promise((r) => setTimeout(r, 5));
            running -= 1;
          },
          { concurrency: 3 },
        ),
        toArray(),
      ),
    );
    expect(peak).toBe(3);
    expect(ms.every((m) => m.log[0] === 'ack')).toBe(true);
  });

  it('on unsubscribe releases messages not started and lets running ones finish and ack', async () => {
    const source = new Subject<StreamMessage<number>>();
    const ms = ['1', '2', '3'].map(message);
    let finish!: () => void;
    const sub = source
      .pipe(
        ackAfter((m) =>
          m.id === '1' ? new Promise<number>((r) => (finish = () => r(0))) : of(0).pipe(delay(1)),
        ),
      )
      .subscribe();
    ms.forEach((m) => source.next(m));
    sub.unsubscribe();
    expect(ms.map((m) => m.log)).toEqual([[], ['release'], ['release']]);
    finish();
    await new Promise((r) => setTimeout(r, 0));
    expect(ms[0]!.log).toEqual(['ack']);
  });

  it('rejects an invalid concurrency at call time', () => {
    expect(() => of().pipe(ackAfter(() => of(1), { concurrency: 0 }))).toThrow(TypeError);
  });
});
