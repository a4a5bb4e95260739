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
interface MessageOwner {
  ack(id: string): Promise<void>;
  release(id: string, deliveries: number, reason: unknown): void;
}

class Message<A> implements StreamMessage<A> {
  #settled = false;
  readonly #owner: MessageOwner;
  constructor(
    readonly stream: string,
    readonly id: string,
    readonly value: A,
    readonly group: string,
    readonly consumer: string,
    readonly deliveries: number,
    owner: MessageOwner,
  ) {
    this.#owner = owner;
  }
  ack(): Promise<void> {
    if (this.#settled) return Promise.resolve();
    this.#settled = true;
    return this.#owner.ack(this.id);
  }
  release(reason?: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#owner.release(this.id, this.deliveries, reason);
  }
}

interface AckBatch {
  readonly ids: string[];
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

const newAckBatch = (): AckBatch => {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // the source reports failed acks itself; callers that do not listen must not crash the process
  promise.catch(() => undefined);
  return { ids: [], promise, resolve, reject };
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
    /** id → when it was delivered or last refreshed (scheduler time) */
    const held = new Map<string, number>();
    /** held ids another consumer has claimed meanwhile */
    const lostIds = new Set<string>();
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
    const ackBatches: AckBatch[] = [];
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
        for (const id of ids) {
          if (!held.delete(id)) continue; // released meanwhile: not this ack's to count
          ours += 1;
          if (lostIds.size > 0 && lostIds.delete(id)) (flagged ??= []).push(id);
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
      background.add(
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
        }),
      );
    };
    const enqueueAck = (id: string): Promise<void> => {
      let batch = ackBatches[ackBatches.length - 1];
      if (batch === undefined || batch.ids.length >= ACK_BATCH) {
        batch = newAckBatch();
        ackBatches.push(batch);
      }
      batch.ids.push(id);
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
    const owner: MessageOwner = {
      ack: enqueueAck,
      release: (id, deliveries, reason) => {
        if (reason !== undefined) {
          increment(COUNTERS.failed);
          logger.warn(
            {
              ...ctx,
              id,
              deliveries,
              error: reason instanceof Error ? reason.message : String(reason),
            },
            'stream entry failed; it stays pending and will be delivered again',
          );
        }
        held.delete(id);
        lostIds.delete(id);
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
        held.set(m.id, now);
        emitted += 1;
        subscriber.next(m);
      }
      if (emitted > 0) increment(COUNTERS.consumed, emitted);
    };

    /** Decodes a batch, dead-letters what must go, emits the rest; completes when done. */
    const process = (batch: Batch): Observable<never> => {
      const live: Array<RawEntry & { fields: StreamFields }> = [];
      // a new entry (`>`) is on its first delivery: it cannot be one this consumer holds
      const mayBeHeld = batch.source !== 'new';
      for (const e of batch.entries) {
        if (e.fields === null) {
          // deleted from the stream while pending: nothing to deliver, just clean up the PEL
          increment(COUNTERS.deletedCleaned);
          ackQuietly(e.id);
        } else if (mayBeHeld && held.has(e.id)) {
          // ours and being worked on: a claim or history read only refreshed its idle time
          held.set(e.id, scheduler.now());
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
        const due = [...held].filter(([id, at]) => !lostIds.has(id) && now - at >= half);
        if (due.length === 0) return EMPTY;
        // an entry another consumer claimed has been idle for less than claimIdleMs/2
        const claims = due.map(([id, at]) => ({
          id,
          minIdleMs: now - at - cfg.claimIdleMs / 4,
        }));
        return port.refresh(claims).pipe(
          tap((ours) => {
            const still = new Set(ours);
            for (const [id] of due) {
              if (!held.has(id)) continue; // acked or released meanwhile
              if (still.has(id)) held.set(id, now);
              else {
                lostIds.add(id);
                logger.warn({ ...ctx, id }, 'stream entry was claimed by another consumer');
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
