import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { StreamMessage } from '../sources/StreamEntry';

/**
 * A {@link StreamMessage} for tests: it records, in virtual time, when it was acknowledged and
 * released.
 *
 * @since 0.1.0
 */
export interface TestStreamMessage<A> extends StreamMessage<A> {
  /** The scheduler's time at each `ack()` call, repeated calls included. */
  readonly ackTimes: ReadonlyArray<number>;
  /** Each `release(reason)` call with the scheduler's time. */
  readonly releases: ReadonlyArray<{ readonly time: number; readonly reason: unknown }>;
  /** True once `ack()` was called. */
  readonly acked: boolean;
}

/** Options of {@link testMessage}. */
export interface TestMessageOptions {
  /** @defaultValue `'1-0'` */
  readonly id?: string;
  /** @defaultValue `'test-stream'` */
  readonly stream?: string;
  /** @defaultValue `'test-group'` */
  readonly group?: string;
  /** @defaultValue `'test-consumer'` */
  readonly consumer?: string;
  /** @defaultValue 1 */
  readonly deliveries?: number;
  /**
   * When set, `ack()` rejects with this error (an XACK that failed), after being recorded.
   * @defaultValue acks succeed
   */
  readonly ackError?: unknown;
  /**
   * Clock of the recorded times. Inside `TestScheduler.run` the default reads virtual time.
   * @defaultValue asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
  /** Called on each `ack()` call, after it was recorded. */
  readonly onAck?: (message: TestStreamMessage<unknown>, time: number) => void;
  /** Called on each `release()` call, after it was recorded. */
  readonly onRelease?: (message: TestStreamMessage<unknown>, reason: unknown, time: number) => void;
}

/**
 * Builds a {@link StreamMessage} without Redis, for testing a handler or an operator that
 * acknowledges. `ack()` records the virtual time of the call and resolves (or rejects with
 * `ackError`); `release()` records too.
 *
 * @example
 * ```ts
 * createTestScheduler().run(({ cold, expectObservable }) => {
 *   const m = testMessage({ orderId: 7 }, { id: '5-0' });
 *   expectObservable(cold('--a|', { a: m }).pipe(ackAfter(bill))).toBe('--b|', { b: … });
 *   // after run: expect(m.ackTimes).toEqual([2])
 * });
 * ```
 * @param value - the message's value
 * @param options - see {@link TestMessageOptions}
 * @returns a message whose acks are recorded
 * @since 0.1.0
 */
export const testMessage = <A>(
  value: A,
  options: TestMessageOptions = {},
): TestStreamMessage<A> => {
  const {
    id = '1-0',
    stream = 'test-stream',
    group = 'test-group',
    consumer = 'test-consumer',
    deliveries = 1,
    ackError,
    scheduler = asyncScheduler,
    onAck,
    onRelease,
  } = options;
  const ackTimes: number[] = [];
  const releases: Array<{ time: number; reason: unknown }> = [];
  const message: TestStreamMessage<A> = {
    stream,
    id,
    value,
    group,
    consumer,
    deliveries,
    ackTimes,
    releases,
    get acked() {
      return ackTimes.length > 0;
    },
    ack() {
      const time = scheduler.now();
      ackTimes.push(time);
      onAck?.(message, time);
      return 'ackError' in options ? Promise.reject(ackError) : Promise.resolve();
    },
    release(reason?: unknown) {
      const time = scheduler.now();
      releases.push({ time, reason });
      onRelease?.(message, reason, time);
    },
  };
  return message;
};
