import {
  Observable,
  asyncScheduler,
  from,
  timer,
  type Observer,
  type Subscription,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import type { StreamMessage } from '../sources/StreamEntry';

/**
 * Options of {@link ackAfter}.
 *
 * @since 0.1.0
 */
export interface AckAfterConfig<A> {
  /** @defaultValue 1 — handlers running at once (order of results is kept only with 1) */
  readonly concurrency?: number;
  /** Called when a handler fails (besides the source's logger and `stream.failed` counter). */
  readonly onError?: (error: unknown, message: StreamMessage<A>) => void;
  /**
   * After an unsubscribe, how long handlers already running may take to finish (and be acked)
   * before they are cut and their messages released.
   * @defaultValue 5000
   */
  readonly drainTimeoutMs?: number;
  /** @defaultValue asyncScheduler */
  readonly scheduler?: SchedulerLike;
}

/** What the handler runs of one subscription report to. */
interface Hub<A, B> {
  emit(value: B): void;
  succeed(message: StreamMessage<A>): void;
  fail(message: StreamMessage<A>, error: unknown): void;
}

/** The observer of one handler's result: one object per message rather than three closures. */
class Run<A, B> implements Observer<B> {
  finished = false;
  constructor(
    readonly message: StreamMessage<A>,
    readonly hub: Hub<A, B>,
  ) {}
  next(value: B): void {
    this.hub.emit(value);
  }
  error(e: unknown): void {
    this.finished = true;
    this.hub.fail(this.message, e);
  }
  complete(): void {
    this.finished = true;
    this.hub.succeed(this.message);
  }
}

/**
 * Runs `handler` for each message and acknowledges the message only after the handler's
 * result completed; emits the handler's values.
 *
 * Up to `concurrency` handlers run at once; the others wait (holding their slot of the
 * source's `maxInFlight`). Acks are batched by the source: those requested in one synchronous
 * run (say, while a batch is emitted) go in one XACK, and those requested while an XACK is on
 * its way go together in the next one. A handler that fails (throws, rejects, errors) releases
 * its message — it stays pending and is delivered again after `claimIdleMs`, until
 * `maxDeliveries` sends it to the dead-letter stream — and the stream goes on. On unsubscribe,
 * messages not started yet are released at once and running handlers may finish (and ack)
 * within `drainTimeoutMs`.
 *
 * ```text
 * source:   --a-----b-----c--|
 * handler:    a:--x| b:--#  c:--y|
 * result:   -----x-----------y|      (a acked, b released for redelivery, c acked)
 * ```
 *
 * @example
 * ```ts
 * import { ackAfter, createRedis, fromStreamGroup } from '@mamey/persistence-redis';
 *
 * const client = createRedis(process.env.REDIS_URL);
 * fromStreamGroup(client, { stream: 'events', group: 'mailer', consumer: 'mailer-1' })
 *   .pipe(ackAfter(async (m) => m.value['to'], { concurrency: 4 }))
 *   .subscribe((to) => console.log('mailed', to));
 * ```
 * @param handler the work per message; its completion acknowledges the message
 * @param config see {@link AckAfterConfig}
 * @returns an operator from messages to the handler's values
 * @throws TypeError at call time for an invalid concurrency
 * @see fromStreamGroup
 * @since 0.1.0
 */
export const ackAfter =
  <A, B>(
    handler: (message: StreamMessage<A>) => ObservableInput<B>,
    config: AckAfterConfig<A> = {},
  ): OperatorFunction<StreamMessage<A>, B> =>
  (source) => {
    const { concurrency = 1, onError, drainTimeoutMs = 5000, scheduler = asyncScheduler } = config;
    if (!(concurrency >= 1))
      throw new TypeError(`ackAfter: concurrency must be ≥ 1, got ${concurrency}`);
    return new Observable<B>((subscriber) => {
      // Hand-rolled rather than mergeMap(…, concurrency): no inner Observable per message, and
      // the queue of messages not started yet is ours, to release on unsubscribe.
      // a FIFO with a moving head: Array#shift copies the whole array each time
      let waiting: Array<StreamMessage<A> | undefined> = [];
      let head = 0;
      const take = (): StreamMessage<A> => {
        const m = waiting[head]!;
        waiting[head++] = undefined;
        if (head === waiting.length) {
          waiting = [];
          head = 0;
        }
        return m;
      };
      /** handlers started and not finished */
      let active = 0;
      /** those of them that did not finish synchronously: what an unsubscribe may have to cut */
      const running = new Map<StreamMessage<A>, Subscription | undefined>();
      let sourceDone = false;
      let stopped = false;
      let onDrained: (() => void) | undefined;

      // a loop, not recursion: handlers that complete synchronously must not grow the stack
      let pumping = false;
      const pump = (): void => {
        if (pumping) return;
        pumping = true;
        while (!stopped && active < concurrency && head < waiting.length) start(take());
        pumping = false;
        if (!stopped && sourceDone && active === 0 && head === waiting.length)
          subscriber.complete();
      };
      const finish = (m: StreamMessage<A>): void => {
        active -= 1;
        if (running.size > 0) running.delete(m);
        if (!stopped) pump();
        else if (active === 0) onDrained?.();
      };
      // Failed acks are logged and counted by the source; here they only must not be unhandled.
      // A source's acks of one batch share one promise: one handler for it, not one per message
      // (each would cost a promise and, once settled, a microtask).
      let guarded: Promise<void> | undefined;
      const hub: Hub<A, B> = {
        emit: (v) => {
          if (!stopped) subscriber.next(v);
        },
        succeed: (m) => {
          const acked = m.ack();
          if (acked !== guarded) {
            guarded = acked;
            acked.catch(() => undefined);
          }
          finish(m);
        },
        fail: (m, error) => {
          m.release(error ?? new Error('handler failed'));
          onError?.(error, m);
          finish(m);
        },
      };

      // The handler runs detached from the subscription, so an unsubscribe lets it finish
      // and ack instead of abandoning work that is half done.
      const start = (m: StreamMessage<A>): void => {
        active += 1;
        let result: ObservableInput<B>;
        try {
          result = handler(m);
        } catch (e) {
          return hub.fail(m, e);
        }
        if (result instanceof Promise) {
          running.set(m, undefined);
          (result as Promise<B>).then(
            (v) => {
              hub.emit(v);
              hub.succeed(m);
            },
            (e: unknown) => hub.fail(m, e),
          );
          return;
        }
        const run = new Run(m, hub);
        const handling = from(result).subscribe(run);
        if (!run.finished) running.set(m, handling);
      };

      const main = source.subscribe({
        next: (m) => {
          waiting.push(m);
          pump();
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          pump();
        },
      });

      return () => {
        stopped = true;
        main.unsubscribe();
        for (const m of waiting.slice(head)) m?.release();
        waiting = [];
        if (active === 0) return;
        const cut = timer(drainTimeoutMs, scheduler).subscribe(() => {
          for (const [m, handling] of running) {
            handling?.unsubscribe();
            m.release();
          }
          running.clear();
        });
        onDrained = () => cut.unsubscribe();
      };
    });
  };
