/**
 * The consumer-group engine behind `fromStreamGroup`, written against a {@link GroupPort} so its
 * timing runs in virtual time with a fake port.
 *
 * One sequential loop (`expand`): wait for a free slot → either an XAUTOCLAIM round (when due),
 * a read of this consumer's own pending history (first, until it is empty) or a blocking read
 * of new entries → deliveries and decoding → dead-letter what must go → emit the rest. Beside
 * it, in the background: the ack batcher (one XACK in flight, the acks that arrive meanwhile
 * go together in the next one) and the refresh tick (XCLAIM JUSTID to self for entries held
 * longer than half of `claimIdleMs`, so nobody claims an entry that is being worked on).
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import {
  EMPTY,
  Observable,
  Subject,
  Subscription,
  catchError,
  concat,
  defer,
  expand,
  filter,
  ignoreElements,
  map,
  merge,
  mergeAll,
  mergeMap,
  of,
  retry,
  switchMap,
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
    const changed = new Subject<void>();
    const background = new Subscription();
    let stopping = false;
    let drained: Promise<void> | undefined;

    // ---- acks: one XACK in flight; what arrives meanwhile goes in the next one. The messages
    // of a batch share one promise (a promise per message is measurable garbage at 100k/s).
    const ackBatches: AckBatch[] = [];
    let acking = false;
    const flushAcks = (): void => {
      const batch = acking ? undefined : ackBatches.shift();
      if (batch === undefined) return;
      acking = true;
      const { ids } = batch;
      const done = (error: unknown): void => {
        acking = false;
        for (const id of ids) {
          held.delete(id);
          lostIds.delete(id);
        }
        if (error === undefined) batch.resolve();
        else batch.reject(error);
        changed.next();
        flushAcks();
      };
      background.add(
        port.ack(ids).subscribe({
          next: (n) => {
            let ours = 0;
            const flagged: string[] = [];
            for (const id of ids) {
              if (!held.has(id)) continue;
              ours += 1;
              if (lostIds.has(id)) flagged.push(id);
            }
            increment(COUNTERS.acked, Math.min(n, ours));
            const lost = Math.max(ids.length - n, flagged.length);
            if (lost > 0) reportLost(flagged.length > 0 ? flagged : ids, lost);
            done(undefined);
          },
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
      flushAcks();
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
        changed.next();
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

    const process = (batch: Batch): Observable<StreamMessage<A>[]> => {
      const live: Array<RawEntry & { fields: StreamFields }> = [];
      for (const e of batch.entries) {
        if (e.fields === null) {
          // deleted from the stream while pending: nothing to deliver, just clean up the PEL
          increment(COUNTERS.deletedCleaned);
          ackQuietly(e.id);
        } else if (held.has(e.id)) {
          // ours and being worked on: a claim or history read only refreshed its idle time
          held.set(e.id, scheduler.now());
        } else {
          live.push(e as RawEntry & { fields: StreamFields });
        }
      }
      if (live.length === 0) return of([]);
      if (batch.source === 'claim') increment(COUNTERS.claimed, live.length);
      const counts$: Observable<ReadonlyMap<string, number>> =
        batch.source === 'new' ? of(new Map()) : port.deliveries(live.map((e) => e.id));
      return counts$.pipe(
        mergeMap((counts) => {
          const good: Array<{ id: string; value: A; deliveries: number }> = [];
          const letters: DeadLetter[] = [];
          for (const e of live) {
            const deliveries = batch.source === 'new' ? 1 : (counts.get(e.id) ?? 1);
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
            else good.push({ id: e.id, value: value.right, deliveries });
          }
          // messages take their slot when emitted, not before: an unsubscribe in between
          // must not leave slots that nobody will free
          return concat(
            merge(...letters.map(deadLetter)),
            defer(() => {
              increment(COUNTERS.consumed, good.length);
              const now = scheduler.now();
              return of(
                good.map((g) => {
                  held.set(g.id, now);
                  return new Message(
                    cfg.stream,
                    g.id,
                    g.value,
                    cfg.group,
                    cfg.consumer,
                    g.deliveries,
                    owner,
                  );
                }),
              );
            }),
          );
        }),
      );
    };

    // ---- the loop
    const free = (): number => cfg.maxInFlight - held.size;
    const slot$ = defer(() =>
      free() > 0 || stopping
        ? of(undefined)
        : changed.pipe(
            filter(() => free() > 0 || stopping),
            take(1),
          ),
    );
    let history: string | undefined = '0';
    let claimCursor = '0-0';
    let nextClaimAt = scheduler.now();

    const read$: Observable<Batch> = slot$.pipe(
      switchMap((): Observable<Batch> => {
        if (stopping) return EMPTY;
        const n = Math.min(cfg.count, free());
        const now = scheduler.now();
        if (now >= nextClaimAt) {
          nextClaimAt = now + cfg.claimIntervalMs;
          return port.autoClaim(claimCursor, n, cfg.claimIdleMs).pipe(
            map((r) => {
              claimCursor = r.next;
              // a full page with more behind it: claim again at once
              if (r.next !== '0-0' && r.entries.length + r.deleted.length >= n) nextClaimAt = now;
              if (r.deleted.length > 0) increment(COUNTERS.deletedCleaned, r.deleted.length);
              return { source: 'claim' as const, entries: r.entries };
            }),
          );
        }
        if (history !== undefined) {
          return port.read(history, n, undefined).pipe(
            map((entries) => {
              history = entries.length === 0 ? undefined : entries[entries.length - 1]!.id;
              return { source: 'history' as const, entries };
            }),
          );
        }
        return port
          .read('>', n, cfg.blockMs)
          .pipe(map((entries) => ({ source: 'new' as const, entries })));
      }),
    );

    const recover = retry<StreamMessage<A>[]>({
      resetOnSuccess: true,
      delay: (e: unknown, attempt) => {
        if (stopping) return EMPTY;
        const error = toRedisError(e);
        if (isNoGroup(error)) {
          logger.warn({ ...ctx }, 'consumer group missing; creating it again');
          return port.ensureGroup();
        }
        if (!isTransient(error)) throw error;
        increment(COUNTERS.errors);
        logger.warn({ ...ctx, error: error.message, attempt }, 'stream read failed; retrying');
        return timer(Math.min(50 * 2 ** (attempt - 1), 2000), scheduler);
      },
    });
    const step$ = defer(() => read$.pipe(mergeMap(process))).pipe(recover);
    const loop$ = concat(port.ensureGroup().pipe(ignoreElements()), step$).pipe(
      expand(() => step$, 1),
      mergeAll(),
    );

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

    const main = loop$.subscribe({
      next: (m) => subscriber.next(m),
      error: (e: unknown) => {
        void stop();
        subscriber.error(e);
      },
      complete: () => void stop().then(() => subscriber.complete()),
    });
    return () => {
      main.unsubscribe();
      void stop();
    };
  });
