import {
  asyncScheduler,
  Observable,
  Subject,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
} from 'rxjs';
import type { StreamMessage } from '../sources/StreamEntry';
import { testMessage, type TestStreamMessage } from './testMessage';

/** One acknowledgement a {@link ScriptedGroup} received. */
export interface AckRecord {
  readonly id: string;
  /** Virtual time of the `ack()` call. */
  readonly time: number;
  /** The delivery that was acknowledged (1 = first). */
  readonly deliveries: number;
}

/** One delivery a {@link ScriptedGroup} made. */
export interface DeliveryRecord {
  readonly id: string;
  readonly time: number;
  readonly deliveries: number;
}

/** An entry the group gave up on after `maxDeliveries`, as fromStreamGroup dead-letters it. */
export interface DeadLetterRecord<A> {
  readonly id: string;
  readonly value: A;
  readonly time: number;
  readonly deliveries: number;
}

/** Configuration of {@link scriptedGroup}. */
export interface ScriptedGroupConfig<A> {
  /**
   * What is appended to the stream, and when: usually `cold('-a-b---c|', values)` or a `hot(…)`.
   * Subscribed once, when `messages$` is first subscribed; its completion means "nothing more
   * will be appended".
   */
  readonly entries: Observable<A>;
  /**
   * When the consumer's connection fails: each value is an error the current subscription of
   * `messages$` fails with (a lost connection, a timeout), e.g.
   * `hot('-----x', { x: new ConnectionError('closed', 'lost') })`. The group itself survives: a
   * new subscription re-reads what is pending. Subscribed with `entries`.
   * @defaultValue never
   */
  readonly failures?: Observable<unknown>;
  /** @defaultValue `'test-stream'` */
  readonly stream?: string;
  /** @defaultValue `'test-group'` */
  readonly group?: string;
  /** @defaultValue `'test-consumer'` */
  readonly consumer?: string;
  /**
   * An entry delivered and neither acknowledged nor redelivered for this long is delivered
   * again (fromStreamGroup's claim of idle entries).
   * @defaultValue 1000
   */
  readonly claimIdleMs?: number;
  /**
   * Deliveries after which an unacknowledged entry is dead-lettered (recorded in `deadLetters`)
   * and acknowledged instead of delivered again, as fromStreamGroup does.
   * @defaultValue 5
   */
  readonly maxDeliveries?: number;
  /**
   * Clock and timers. Inside `TestScheduler.run` the default runs in virtual time.
   * @defaultValue asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
}

/**
 * A fake consumer group, driven by a script, that stands in for `fromStreamGroup` in marble
 * tests. `messages$` behaves like one consumer of a real group: entries appended while it is
 * subscribed are delivered at once; a new subscription (a retry, a restart) first re-reads the
 * consumer's pending entries, then gets the entries appended meanwhile; an entry left
 * unacknowledged for `claimIdleMs` is delivered again; after `maxDeliveries` it is dead-lettered.
 *
 * @since 0.1.0
 */
export interface ScriptedGroup<A> {
  /**
   * The messages, as `fromStreamGroup` would emit them. Completes once `entries` completed and
   * every entry is acknowledged or dead-lettered (a real group never completes; tests should).
   * One subscriber at a time, like one consumer.
   */
  readonly messages$: Observable<StreamMessage<A>>;
  /**
   * Ids of effective acknowledgements (a repeated `ack()` is a no-op, as XACK), each at the
   * virtual time of the `ack()` call: `expectObservable(group.acks$).toBe('---a-b', ids)`.
   * Completes with `messages$`'s completion condition.
   */
  readonly acks$: Observable<string>;
  /** Every effective acknowledgement so far, in order. */
  readonly acks: ReadonlyArray<AckRecord>;
  /** Every delivery so far, redeliveries included. */
  readonly deliveries: ReadonlyArray<DeliveryRecord>;
  /** Entries dead-lettered after `maxDeliveries`. */
  readonly deadLetters: ReadonlyArray<DeadLetterRecord<A>>;
  /** Ids delivered and not yet acknowledged, in id order. */
  pending(): string[];
}

interface Entry<A> {
  readonly id: string;
  readonly value: A;
  deliveries: number;
  lastDeliveredAt: number;
  state: 'new' | 'pending' | 'done';
  claimTimer?: Subscription;
}

/**
 * Creates a {@link ScriptedGroup}. Entry ids are `1-0`, `2-0`, … in append order.
 *
 * @example
 * ```ts
 * createTestScheduler().run(({ cold, expectObservable }) => {
 *   const group = scriptedGroup({ entries: cold('-a-b|', { a: 1, b: 2 }), claimIdleMs: 10 });
 *   const flow$ = group.messages$.pipe(concatMap((m) => from(m.ack()).pipe(map(() => m.id))));
 *   expectObservable(group.acks$).toBe('-a-b|', { a: '1-0', b: '2-0' });
 * });
 * ```
 * @param config - see {@link ScriptedGroupConfig}
 * @returns the group; subscribe to `messages$` in place of `fromStreamGroup(…)`
 * @throws TypeError when the configuration is invalid
 * @since 0.1.0
 */
export const scriptedGroup = <A>(config: Readonly<ScriptedGroupConfig<A>>): ScriptedGroup<A> => {
  const {
    entries,
    failures,
    stream = 'test-stream',
    group = 'test-group',
    consumer = 'test-consumer',
    claimIdleMs = 1000,
    maxDeliveries = 5,
    scheduler = asyncScheduler,
  } = config;
  if (entries === undefined || typeof entries.subscribe !== 'function')
    throw new TypeError('scriptedGroup: entries must be an Observable');
  if (failures !== undefined && typeof failures.subscribe !== 'function')
    throw new TypeError('scriptedGroup: failures must be an Observable');
  if (typeof claimIdleMs !== 'number' || !(claimIdleMs > 0) || !Number.isFinite(claimIdleMs))
    throw new TypeError(
      `scriptedGroup: claimIdleMs must be a number > 0, got ${String(claimIdleMs)}`,
    );
  if (!Number.isInteger(maxDeliveries) || maxDeliveries < 1)
    throw new TypeError(
      `scriptedGroup: maxDeliveries must be an integer ≥ 1, got ${String(maxDeliveries)}`,
    );

  const log: Array<Entry<A>> = [];
  const acks: AckRecord[] = [];
  const deliveries: DeliveryRecord[] = [];
  const deadLetters: Array<DeadLetterRecord<A>> = [];
  const acks$ = new Subject<string>();
  let script: Subscription | undefined;
  let faults: Subscription | undefined;
  let scriptDone = false;
  let active: Subscriber<StreamMessage<A>> | undefined;
  let finished = false;

  const isDone = (): boolean => scriptDone && log.every((e) => e.state === 'done');
  const checkFinished = (): void => {
    if (finished || !isDone()) return;
    // Not at once: an ack made while the message is being emitted must not complete the
    // stream before the message itself has reached the end of the flow.
    scheduler.schedule(() => {
      if (finished || !isDone()) return;
      finished = true;
      active?.complete();
      acks$.complete();
    });
  };

  const ack = (entry: Entry<A>, deliveryNumber: number): void => {
    if (entry.state !== 'pending') return;
    entry.state = 'done';
    entry.claimTimer?.unsubscribe();
    acks.push({ id: entry.id, time: scheduler.now(), deliveries: deliveryNumber });
    acks$.next(entry.id);
    checkFinished();
  };

  const deliver = (entry: Entry<A>): void => {
    if (active === undefined || active.closed) return;
    if (entry.deliveries >= maxDeliveries) {
      entry.state = 'done';
      deadLetters.push({
        id: entry.id,
        value: entry.value,
        time: scheduler.now(),
        deliveries: entry.deliveries,
      });
      checkFinished();
      return;
    }
    entry.deliveries += 1;
    entry.state = 'pending';
    entry.lastDeliveredAt = scheduler.now();
    const deliveryNumber = entry.deliveries;
    deliveries.push({ id: entry.id, time: entry.lastDeliveredAt, deliveries: deliveryNumber });
    entry.claimTimer?.unsubscribe();
    entry.claimTimer = scheduler.schedule(() => {
      // still unacknowledged and not delivered since: claim it (to the current subscriber)
      if (entry.state === 'pending' && entry.deliveries === deliveryNumber) deliver(entry);
    }, claimIdleMs);
    const message: TestStreamMessage<A> = testMessage(entry.value, {
      id: entry.id,
      stream,
      group,
      consumer,
      deliveries: deliveryNumber,
      scheduler,
      onAck: () => ack(entry, deliveryNumber),
    });
    active.next(message);
  };

  const messages$ = new Observable<StreamMessage<A>>((subscriber) => {
    if (active !== undefined && !active.closed) {
      subscriber.error(new Error('scriptedGroup: messages$ has one subscriber at a time'));
      return;
    }
    active = subscriber;
    // a restarted consumer first re-reads its own pending entries, then what is new
    for (const entry of log) if (entry.state === 'pending') deliver(entry);
    for (const entry of log) if (entry.state === 'new') deliver(entry);
    script ??= entries.subscribe({
      next: (value) => {
        const entry: Entry<A> = {
          id: `${log.length + 1}-0`,
          value,
          deliveries: 0,
          lastDeliveredAt: -1,
          state: 'new',
        };
        log.push(entry);
        deliver(entry);
      },
      error: (e: unknown) => {
        scriptDone = true;
        active?.error(e);
      },
      complete: () => {
        scriptDone = true;
        checkFinished();
      },
    });
    faults ??= failures?.subscribe((error) => active?.error(error));
    if (finished) subscriber.complete();
    return () => {
      if (active === subscriber) active = undefined;
    };
  });

  return {
    messages$,
    acks$: acks$.asObservable(),
    acks,
    deliveries,
    deadLetters,
    pending: () => log.filter((e) => e.state === 'pending').map((e) => e.id),
  };
};
