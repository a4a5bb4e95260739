/**
 * The read loop behind `fromStream`, written against a {@link StreamReadPort} so its timing runs
 * in virtual time with a fake port.
 *
 * `'$'` is first pinned to the id of the newest entry (XREVRANGE), since XREAD `$` each time
 * would skip what is added between two reads. Then one blocking read after another (`expand`,
 * one at a time), each from the last id seen. A call that fails transiently (the connection
 * dropped, the server is restarting) — the pin as well as a read, so a subscription made while
 * Redis is briefly unreachable waits for it — is issued again (a read from the same id) after a
 * backoff of 50 ms doubling up to 2 s, reset by a call that succeeds; any other error fails the
 * Observable.
 * Unsubscribing, or the client's `close()` (which completes it), closes the port at once.
 *
 * @internal
 */
import {
  EMPTY,
  Observable,
  concat,
  defer,
  expand,
  ignoreElements,
  mergeMap,
  retry,
  tap,
  timer,
  type SchedulerLike,
} from 'rxjs';
import type { Logger } from '../config/types';
import { isTransient, toRedisError } from '../errors';
import type { StreamEntry } from '../sources/StreamEntry';
import type { StreamReadPort } from './streamReadPort';
import { decodeEntries, type OnDecodeError, type StreamCodec } from './streamWire';

export interface ReadLoopConfig<A> {
  readonly stream: string;
  /** `'$'`, `'0'` or an id (exclusive). */
  readonly from: string;
  readonly count: number;
  readonly blockMs: number;
  readonly codec: StreamCodec<A> | undefined;
  readonly onDecodeError: OnDecodeError;
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  readonly increment: (counter: string) => void;
  /** Registers the stop with the client's close(); returns an unregister. */
  readonly onClose: (hook: () => Promise<void>) => () => void;
}

/** The delay before retry `attempt` (1, 2, …) of a failed pin or read. */
const retryDelay = (attempt: number): number => Math.min(50 * 2 ** (attempt - 1), 2000);

/** Tails a stream through `port`; see `fromStream` for the contract. */
export const tailStream = <A>(
  port: StreamReadPort,
  cfg: ReadLoopConfig<A>,
): Observable<StreamEntry<A>> =>
  new Observable<StreamEntry<A>>((subscriber) => {
    const { stream, count, blockMs, scheduler, logger } = cfg;
    let stopped = false;
    let last = cfg.from;

    /** `call` on each subscription, issued again after a transient failure (see above). */
    const retrying = <T>(command: string, call: () => Observable<T>): Observable<T> =>
      defer(call).pipe(
        retry({
          resetOnSuccess: true,
          delay: (e: unknown, attempt) => {
            if (stopped) return EMPTY;
            const error = toRedisError(e, command);
            if (!isTransient(error)) throw error;
            logger.warn({ stream, error: error.message, attempt }, `${command} failed; retrying`);
            return timer(retryDelay(attempt), scheduler);
          },
        }),
      );
    const start$ = defer(() =>
      last !== '$'
        ? EMPTY
        : retrying('XREVRANGE', () => port.newest()).pipe(
            tap((newest) => (last = newest ?? '0-0')),
            ignoreElements(),
          ),
    );
    const step$ = retrying('XREAD', () => port.read(last, count, blockMs)).pipe(
      tap((entries) => {
        if (entries.length > 0) last = entries[entries.length - 1]!.id;
      }),
    );
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      port.close();
    };
    const unregister = cfg.onClose(async () => {
      stop();
      subscriber.complete();
    });
    const sub = concat(start$, step$)
      .pipe(
        expand(() => (stopped ? EMPTY : step$), 1),
        // entry by entry, so an entry that fails to decode fails the Observable after the
        // entries before it were emitted, in stream order
        mergeMap((entries) => entries),
        mergeMap((entry) =>
          decodeEntries(stream, [entry], cfg.codec, cfg.onDecodeError, (id, e) => {
            cfg.increment('stream.skipped');
            logger.warn({ stream, id, error: e.message }, 'stream entry skipped');
          }),
        ),
      )
      .subscribe(subscriber);
    return () => {
      unregister();
      sub.unsubscribe();
      stop();
    };
  });
