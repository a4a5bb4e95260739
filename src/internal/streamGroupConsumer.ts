/**
 * The consumer-group engine behind `fromStreamGroup`, written against a {@link GroupPort} so its
 * timing runs in virtual time with a fake port.
 *
 * The reader: while slots are free, either an XAUTOCLAIM round (when due), a read of this
 * consumer's own pending history (first, until it is empty) or a blocking read of new entries,
 * one read at a time, the next read of new entries going out while the batch before it is
 * processed (read-ahead, within `maxInFlight`). Each batch in turn: deliveries and decoding →
 * dead-letter what must go → emit the rest. Beside it, in the background: the ack batcher (one
 * XACK in flight, the acks that arrive meanwhile go together in the next one) and the refresh
 * tick (XCLAIM JUSTID to self for entries held longer than half of `claimIdleMs`, so nobody
 * claims an entry that is being worked on).
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import {
  EMPTY,
  Observable,
  Subject,
  Subscription,
  asapScheduler,
  catchError,
  concat,
  defer,
  filter,
  ignoreElements,
  map,
  merge,
  mergeMap,
  take,
  tap,
  timer,
  type SchedulerLike,
} from 'rxjs';
import type { Logger } from '../config/types';
import { isTransient, toRedisError, type DecodeError } from '../errors';
import type { StreamMessage } from '../sources/StreamEntry';
import { isNoGroup, type DeadLetter, type GroupPort } from './streamGroupPort';
import type { RawEntry, StreamFields } from './streamReplies';

/** What the engine reports an ack from a consumer that no longer owned the entry with. */
export interface LostAck {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  /** The entries concerned (when Redis only gave a count: the whole batch they were in). */
  readonly ids: ReadonlyArray<string>;
  /** How many of `ids` were no longer this consumer's. */
  readonly lost: number;
}

export interface EngineConfig<A> {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly count: number;
  readonly blockMs: number;
  readonly maxInFlight: number;
  readonly claimIdleMs: number;
  readonly claimIntervalMs: number;
  readonly maxDeliveries: number;
  readonly drainTimeoutMs: number;
  readonly decode: (id: string, fields: StreamFields) => E.Either<DecodeError, A>;
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  readonly increment: (counter: string, by?: number) => void;
  readonly onLostAck: ((lost: LostAck) => void) | undefined;
  /** Registers the drain with the client's close(); returns an unregister. */
  readonly onClose: (hook: () => Promise<void>) => () => void;
}

/** Counters the engine adds to (documented in the README). */
export const COUNTERS = {
  consumed: 'stream.consumed',
  acked: 'stream.acked',
  failed: 'stream.failed',
  deadLettered: 'stream.deadLettered',
  claimed: 'stream.claimed',
  lostAcks: 'stream.lostAcks',
  deletedCleaned: 'stream.deletedCleaned',
  errors: 'stream.errors',
} as const;

const ACK_BATCH = 1000;

/** What a message needs from its source: one object per source, not closures per message. */
interface MessageOwner<A> {
  ack(m: Message<A>): Promise<void>;
  release(m: Message<A>, reason: unknown): void;
}

/**
 * The messages a consumer holds (emitted, not yet acked or released), linked through the
 * messages themselves: holding and letting go of one is O(1) with no allocation and no hashing
 * of its id, which a Map of ids would cost per message.
 */
interface Held<A> {
  first: Message<A> | undefined;
  last: Message<A> | undefined;
  size: number;
}

class Message<A> implements StreamMessage<A> {
  #settled = false;
  readonly #owner: MessageOwner<A>;
  // the engine's bookkeeping, private so that users (and JSON.stringify, console.log) never see it
  #held: Held<A> | undefined;
  #prev: Message<A> | undefined;
  #next: Message<A> | undefined;
  /** when it was delivered or last refreshed (scheduler time) */
  #since = 0;
  /** another consumer claimed it meanwhile */
  #lost = false;
  constructor(
    readonly stream: string,
    readonly id: string,
    readonly value: A,
    readonly group: string,
    readonly consumer: string,
    readonly deliveries: number,
    owner: MessageOwner<A>,
  ) {
    this.#owner = owner;
  }
  ack(): Promise<void> {
    if (this.#settled) return Promise.resolve();
    this.#settled = true;
    return this.#owner.ack(this);
  }
  release(reason?: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#owner.release(this, reason);
  }

  /** Appends `m` to `held`, as held since `now`. */
  static hold<A>(held: Held<A>, m: Message<A>, now: number): void {
    m.#held = held;
    m.#since = now;
    m.#prev = held.last;
    if (held.last === undefined) held.first = m;
    else held.last.#next = m;
    held.last = m;
    held.size += 1;
  }
  /** Takes `m` out of the list it is held in; false when it was not held (any more). */
  static unhold<A>(m: Message<A>): boolean {
    const held = m.#held;
    if (held === undefined) return false;
    if (m.#prev === undefined) held.first = m.#next;
    else m.#prev.#next = m.#next;
    if (m.#next === undefined) held.last = m.#prev;
    else m.#next.#prev = m.#prev;
    m.#held = m.#prev = m.#next = undefined;
    held.size -= 1;
    return true;
  }
  static isHeld<A>(m: Message<A>): boolean {
    return m.#held !== undefined;
  }
  /** The held messages in the order they were emitted (a copy: they may be let go of meanwhile). */
  static heldIn<A>(held: Held<A>): Array<Message<A>> {
    const out: Array<Message<A>> = [];
    for (let m = held.first; m !== undefined; m = m.#next) out.push(m);
    return out;
  }
  static since<A>(m: Message<A>): number {
    return m.#since;
  }
  static refreshed<A>(m: Message<A>, now: number): void {
    m.#since = now;
  }
  static isLost<A>(m: Message<A>): boolean {
    return m.#lost;
  }
  static lose<A>(m: Message<A>): void {
    m.#lost = true;
  }
}

interface AckBatch<A> {
  readonly ids: string[];
  /** those of `ids` that are held messages, to let go of once the XACK is answered */
  readonly messages: Array<Message<A>>;
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

const newAckBatch = <A>(): AckBatch<A> => {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // the source reports failed acks itself; callers that do not listen must not crash the process
  promise.catch(() => undefined);
  return { ids: [], messages: [], promise, resolve, reject };
};

type Batch = { readonly source: 'new' | 'history' | 'claim'; readonly entries: RawEntry[] };

/** Runs a consumer of a group on `port`; see `fromStreamGroup` for the contract. */
export const consumeGroup = <A>(
  port: GroupPort,
  cfg: EngineConfig<A>,
): Observable<StreamMessage<A>> =>
  new Observable<StreamMessage<A>>((subscriber) => {
    const { scheduler, logger, increment } = cfg;
    const ctx = { stream: cfg.stream, group: cfg.group, consumer: cfg.consumer };
    const held: Held<A> = { first: undefined, last: undefined, size: 0 };
    /** ticks when a slot is freed or an ack settled: the drain listens to it */
    const changed = new Subject<void>();
    const background = new Subscription();
    let stopping = false;
    let drained: Promise<void> | undefined;

    // ---- acks: one XACK in flight; what arrives meanwhile goes in the next one. The messages
    // of a batch share one promise (a promise per message is measurable garbage at 100k/s).
    // The first XACK is not sent at the first ack but at the end of the current synchronous run
    // (a microtask; the same virtual frame under a TestScheduler's run), so the acks requested
    // while a read's messages are emitted all go in one XACK. Invariant: while acks wait, an
    // XACK is in flight (its reply sends them) or a flush is scheduled — none is ever stranded.
    const ackBatches: Array<AckBatch<A>> = [];
    let acking = false;
    let flushDue = false;
    const scheduleFlush = (): void => {
      if (acking || flushDue || ackBatches.length === 0) return;
      flushDue = true;
      asapScheduler.schedule(flushAcks);
    };
    const flushAcks = (): void => {
      flushDue = false;
      const batch = acking ? undefined : ackBatches.shift();
      if (batch === undefined) return;
      acking = true;
      const { ids } = batch;
      const done = (error: unknown, confirmed = 0): void => {
        acking = false;
        let ours = 0;
        let flagged: string[] | undefined;
        for (const m of batch.messages) {
          if (!Message.unhold(m)) continue; // let go of meanwhile: not this ack's to count
          ours += 1;
          if (Message.isLost(m)) (flagged ??= []).push(m.id);
        }
        if (error === undefined) {
          increment(COUNTERS.acked, Math.min(confirmed, ours));
          const lost = Math.max(ids.length - confirmed, flagged?.length ?? 0);
          if (lost > 0) reportLost(flagged ?? ids, lost);
          batch.resolve();
        } else batch.reject(error);
        scheduleFlush();
        freed();
      };
      // Not tied to the consumer's lifetime: an XACK runs to its reply (bounded by the command
      // deadline) even after a drain that timed out, so every ack() promise settles.
      port.ack(ids).subscribe({
        next: (n) => done(undefined, n),
        error: (e: unknown) => {
          const error = toRedisError(e, 'XACK');
          increment(COUNTERS.errors);
          logger.warn(
            { ...ctx, error: error.message, ids: ids.length },
            'stream ack failed; the entries stay pending and will be delivered again',
          );
          done(error);
        },
      });
    };
    /** Acks entry `id`; `m` is its message when it is one this consumer holds. */
    const enqueueAck = (id: string, m?: Message<A>): Promise<void> => {
      let batch = ackBatches[ackBatches.length - 1];
      if (batch === undefined || batch.ids.length >= ACK_BATCH) {
        batch = newAckBatch();
        ackBatches.push(batch);
      }
      batch.ids.push(id);
      if (m !== undefined) batch.messages.push(m);
      scheduleFlush();
      return batch.promise;
    };
    const ackQuietly = (id: string): void => void enqueueAck(id);
    const reportLost = (ids: ReadonlyArray<string>, lost: number): void => {
      increment(COUNTERS.lostAcks, lost);
      logger.warn(
        { ...ctx, lost, ids: ids.slice(0, 20) },
        'stream entries acked by a consumer that no longer owned them (processed more than once)',
      );
      cfg.onLostAck?.({ ...ctx, ids, lost });
    };

    // ---- messages
    const owner: MessageOwner<A> = {
      ack: (m) => enqueueAck(m.id, m),
      release: (m, reason) => {
        if (reason !== undefined) {
          increment(COUNTERS.failed);
          logger.warn(
            {
              ...ctx,
              id: m.id,
              deliveries: m.deliveries,
              error: reason instanceof Error ? reason.message : String(reason),
            },
            'stream entry failed; it stays pending and will be delivered again',
          );
        }
        Message.unhold(m);
        freed();
      },
    };

    const deadLetter = (letter: DeadLetter): Observable<never> =>
      port.deadLetter(letter).pipe(
        tap(() => {
          increment(COUNTERS.deadLettered);
          logger.warn(
            { ...ctx, id: letter.id, reason: letter.reason },
            'stream entry dead-lettered',
          );
          ackQuietly(letter.id); // only after the dead-letter copy is written
        }),
        ignoreElements(),
        catchError((e: unknown) => {
          increment(COUNTERS.errors);
          logger.warn(
            { ...ctx, id: letter.id, error: toRedisError(e, 'XADD').message },
            'dead-lettering failed; the entry stays pending and will be tried again',
          );
          return EMPTY;
        }),
      );

    /** Messages take their slot as they are emitted; none is emitted once stopping. */
    const emit = (messages: ReadonlyArray<Message<A>>): void => {
      if (stopping) return; // they stay pending and are delivered again
      const now = scheduler.now();
      let emitted = 0;
      for (const m of messages) {
        if (subscriber.closed) break; // unsubscribed mid-batch: the rest were never handed out
        Message.hold(held, m, now);
        emitted += 1;
        subscriber.next(m);
      }
      if (emitted > 0) increment(COUNTERS.consumed, emitted);
    };

    /** Decodes a batch, dead-letters what must go, emits the rest; completes when done. */
    const process = (batch: Batch): Observable<never> => {
      const live: Array<RawEntry & { fields: StreamFields }> = [];
      // a new entry (`>`) is on its first delivery: it cannot be one this consumer holds
      const holding =
        batch.source === 'new' || held.size === 0
          ? undefined
          : new Map(Message.heldIn(held).map((m) => [m.id, m]));
      for (const e of batch.entries) {
        const m = holding?.get(e.id);
        if (e.fields === null) {
          // deleted from the stream while pending: nothing to deliver, just clean up the PEL
          increment(COUNTERS.deletedCleaned);
          ackQuietly(e.id);
        } else if (m !== undefined) {
          // ours and being worked on: a claim or history read only refreshed its idle time
          Message.refreshed(m, scheduler.now());
        } else {
          live.push(e as RawEntry & { fields: StreamFields });
        }
      }
      if (live.length === 0) return EMPTY;
      if (batch.source === 'claim') increment(COUNTERS.claimed, live.length);
      const sort = (counts: ReadonlyMap<string, number> | undefined): Observable<never> => {
        const good: Array<Message<A>> = [];
        const letters: DeadLetter[] = [];
        for (const e of live) {
          const deliveries = counts === undefined ? 1 : (counts.get(e.id) ?? 1);
          if (deliveries > cfg.maxDeliveries) {
            letters.push({
              id: e.id,
              fields: e.fields,
              deliveries,
              reason: `maxDeliveries: delivered ${deliveries} times (limit ${cfg.maxDeliveries})`,
            });
            continue;
          }
          const value = cfg.decode(e.id, e.fields);
          if (E.isLeft(value))
            letters.push({
              id: e.id,
              fields: e.fields,
              deliveries,
              reason: `decode: ${value.left.message}`,
            });
          else
            good.push(
              new Message(
                cfg.stream,
                e.id,
                value.right,
                cfg.group,
                cfg.consumer,
                deliveries,
                owner,
              ),
            );
        }
        if (letters.length === 0) {
          emit(good);
          return EMPTY;
        }
        // the good entries of the batch wait for the dead-letter writes, to keep stream order
        return concat(
          merge(...letters.map(deadLetter)),
          defer(() => {
            emit(good);
            return EMPTY;
          }),
        );
      };
      // new entries are on their first delivery; history and claims ask for their count
      return batch.source === 'new'
        ? sort(undefined)
        : port.deliveries(live.map((e) => e.id)).pipe(mergeMap(sort));
    };

    // ---- the reader. One read at a time (reads share the blocking connection). A read of new
    // entries (`>`) goes out as soon as the one before it returned — before that one's batch is
    // decoded and emitted — so Redis and the network work while we do; expand cannot express
    // this (it emits a value before it subscribes the next inner), hence the small pump. Every
    // read asks for no more than the slots free net of those promised to the read on its way and
    // to batches read and not yet emitted: held + promised never exceeds maxInFlight. Claims and
    // history reads wait until every batch before them is emitted, since they may return
    // entries of this consumer that are only recognised (as held) once emitted.
    let history: string | undefined = '0';
    let claimCursor = '0-0';
    let nextClaimAt = scheduler.now();
    let promised = 0;
    const ready: Batch[] = [];
    let reading = false;
    let processing = false;
    /** waiting for the group to be created or for a retry's backoff */
    let paused = true;
    let attempt = 0;
    const work = new Subscription();

    const free = (): number => cfg.maxInFlight - held.size - promised;
    const nextSource = (): Batch['source'] =>
      scheduler.now() >= nextClaimAt ? 'claim' : history !== undefined ? 'history' : 'new';
    const mayRead = (): boolean =>
      !reading &&
      !paused &&
      !stopping &&
      free() > 0 &&
      (nextSource() === 'new' || (ready.length === 0 && !processing));

    /** Subscribes `work$` as part of the loop; `done` runs on completion, errors go to `failed`. */
    const run = (
      work$: Observable<unknown>,
      done: () => void,
      failedWith: (e: unknown) => void,
    ): void => {
      let finished = false;
      const sub = work$.subscribe({
        error: (e: unknown) => {
          finished = true;
          failedWith(e);
        },
        complete: () => {
          finished = true;
          done();
        },
      });
      if (!finished) work.add(sub); // it leaves `work` by itself when it ends
    };

    const read = (): void => {
      const n = Math.min(cfg.count, free());
      const now = scheduler.now();
      const source = nextSource();
      let entries: RawEntry[] = [];
      let request: Observable<unknown>;
      if (source === 'claim') {
        nextClaimAt = now + cfg.claimIntervalMs;
        request = port.autoClaim(claimCursor, n, cfg.claimIdleMs).pipe(
          tap((r) => {
            claimCursor = r.next;
            // a full page with more behind it: claim again at once
            if (r.next !== '0-0' && r.entries.length + r.deleted.length >= n) nextClaimAt = now;
            if (r.deleted.length > 0) increment(COUNTERS.deletedCleaned, r.deleted.length);
            entries = r.entries;
          }),
        );
      } else if (source === 'history') {
        request = port.read(history!, n, undefined).pipe(
          tap((r) => {
            history = r.length === 0 ? undefined : r[r.length - 1]!.id;
            entries = r;
          }),
        );
      } else {
        request = port.read('>', n, cfg.blockMs).pipe(tap((r) => (entries = r)));
      }
      reading = true;
      promised += n;
      run(
        request,
        () => {
          reading = false;
          promised -= n - entries.length;
          attempt = 0;
          ready.push({ source, entries });
          pump();
        },
        (e) => {
          reading = false;
          promised -= n;
          failed(e);
        },
      );
    };

    const processNext = (): void => {
      const batch = ready.shift()!;
      processing = true;
      const settle = (): void => {
        processing = false;
        promised -= batch.entries.length;
      };
      run(
        process(batch),
        () => {
          settle();
          pump();
        },
        (e) => {
          settle();
          failed(e);
        },
      );
    };

    // a loop, not recursion: reads and batches that complete synchronously must not grow the stack
    let pumping = false;
    const pump = (): void => {
      if (pumping) return;
      pumping = true;
      for (;;) {
        if (mayRead()) read();
        else if (!processing && ready.length > 0) processNext();
        else break;
      }
      pumping = false;
    };
    const freed = (): void => {
      changed.next();
      pump();
    };

    /** Transient failures are retried with backoff; a lost group is created again. */
    const failed = (e: unknown): void => {
      if (stopping) return;
      const error = toRedisError(e);
      attempt += 1;
      let resume$: Observable<unknown>;
      if (isNoGroup(error)) {
        logger.warn({ ...ctx }, 'consumer group missing; creating it again');
        resume$ = port.ensureGroup();
      } else if (isTransient(error)) {
        increment(COUNTERS.errors);
        logger.warn({ ...ctx, error: error.message, attempt }, 'stream read failed; retrying');
        resume$ = timer(Math.min(50 * 2 ** (attempt - 1), 2000), scheduler);
      } else return fatal(error);
      paused = true;
      run(resume$, resume, fatal);
    };
    const resume = (): void => {
      paused = false;
      pump();
    };
    const fatal = (e: unknown): void => {
      void stop();
      subscriber.error(e);
    };

    // ---- refresh: keep entries we hold from looking idle to the other consumers
    const half = cfg.claimIdleMs / 2;
    const tick = Math.max(1, Math.floor(cfg.claimIdleMs / 4));
    const refresh$ = timer(tick, tick, scheduler).pipe(
      mergeMap(() => {
        const now = scheduler.now();
        const due = Message.heldIn(held).filter(
          (m) => !Message.isLost(m) && now - Message.since(m) >= half,
        );
        if (due.length === 0) return EMPTY;
        // an entry another consumer claimed has been idle for less than claimIdleMs/2
        const claims = due.map((m) => ({
          id: m.id,
          minIdleMs: now - Message.since(m) - cfg.claimIdleMs / 4,
        }));
        return port.refresh(claims).pipe(
          tap((ours) => {
            const still = new Set(ours);
            for (const m of due) {
              if (!Message.isHeld(m)) continue; // acked or released meanwhile
              if (still.has(m.id)) Message.refreshed(m, now);
              else {
                Message.lose(m);
                logger.warn({ ...ctx, id: m.id }, 'stream entry was claimed by another consumer');
              }
            }
          }),
          catchError((e: unknown) => {
            logger.warn({ ...ctx, error: toRedisError(e, 'XCLAIM').message }, 'refresh failed');
            return EMPTY;
          }),
        );
      }, 1),
      ignoreElements(),
    );
    background.add(refresh$.subscribe());

    // ---- stop: no more reads; in-flight work is acked or released; bounded by drainTimeoutMs
    const isIdle = (): boolean => held.size === 0 && ackBatches.length === 0 && !acking;
    const stop = (): Promise<void> => {
      if (drained !== undefined) return drained;
      stopping = true;
      port.close();
      changed.next();
      drained = new Promise<void>((resolve) => {
        const done = (timedOut: boolean): void => {
          if (timedOut && held.size > 0)
            logger.warn(
              { ...ctx, held: held.size },
              'stream consumer stopped before every entry was acked; they will be delivered again',
            );
          unregister();
          resolve();
          background.unsubscribe();
        };
        if (isIdle()) return done(false);
        background.add(
          merge(
            changed.pipe(
              filter(isIdle),
              map(() => false),
            ),
            timer(cfg.drainTimeoutMs, scheduler).pipe(map(() => true)),
          )
            .pipe(take(1))
            .subscribe(done),
        );
      });
      return drained;
    };
    const unregister = cfg.onClose(() => stop().then(() => subscriber.complete()));

    run(port.ensureGroup(), resume, fatal);
    return () => {
      work.unsubscribe();
      void stop();
    };
  });
