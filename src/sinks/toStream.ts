import { Observable, asapScheduler, from, type OperatorFunction } from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { BatchOverflowError, toRedisError } from '../errors';
import {
  DATA_FIELD,
  encodeData,
  encodeEntry,
  type FieldInput,
  type StreamCodec,
} from '../internal/streamWire';
import { sendPerNode } from '../internal/pipelinePerNode';
import type { BatchCommand, PipelineRunner } from '../operators/batchPipeline';

/**
 * Options of {@link toStream}.
 *
 * @since 0.1.0
 */
export interface ToStreamConfig<A> {
  /**
   * Writes `value` as one field `data` holding `JSON.stringify(codec.encode(value))`.
   * @defaultValue none: the value must be a field map (`Record<string, string | number>`)
   */
  readonly codec?: StreamCodec<A>;
  /** Trims to about this many entries on every XADD (`MAXLEN ~ n`). Not with `minId`. */
  readonly maxLen?: number;
  /** Evicts entries with smaller ids on every XADD (`MINID ~ id`). Not with `maxLen`. */
  readonly minId?: string;
  /**
   * `~` (trim whole macro nodes, much cheaper) instead of `=` (exact).
   * @defaultValue true
   */
  readonly approximate?: boolean;
  /** With `approximate`: at most this many entries evicted per XADD (`LIMIT`). */
  readonly limit?: number;
  /** @defaultValue 500 — XADDs per pipeline */
  readonly batch?: number;
  /** @defaultValue 2 — pipelines in flight at once */
  readonly concurrency?: number;
  /**
   * Most values held waiting while `concurrency` pipelines are on their way. One more fails the
   * output with a {@link BatchOverflowError} (after the ids of the writes already sent) instead of
   * growing without bound; the values still waiting are not written. Raise it for a large
   * synchronous source (`from(array)` pushes the whole array at once).
   * @defaultValue 10000
   */
  readonly maxBuffered?: number;
}

/** A pipeline on its way (or back): its ids, and the error that ends the output after them. */
interface Slot {
  done: boolean;
  readonly ids: string[];
  error?: unknown;
  /** Stops listening for the replies (a fake's observable; a real pipeline is just ignored). */
  cancel?: () => void;
}

/**
 * Writes each value to a stream (XADD) and emits the entry ids, in input order.
 *
 * Values that arrive while pipelines are on their way are collected and sent together (up to
 * `batch` XADDs per pipeline, `concurrency` pipelines in flight), so a fast source costs few
 * round trips and a slow one adds no delay: the values of one synchronous run go in one
 * pipeline. Values are encoded as their pipeline is built, so a fast source holds values, not
 * encoded entries. A failed write (or a value that cannot be encoded) errors the output with a
 * `RedisError` (or `EncodeError`); the ids of the writes before it are emitted first, and no
 * pipeline is sent after it. Completes after the last write is confirmed.
 *
 * ```text
 * values:  --a--b--c---|
 * ids:     ---1--2--3--|     (an id once its XADD is confirmed)
 * ```
 *
 * @example
 * ```ts
 * import * as t from 'io-ts';
 * import { from } from 'rxjs';
 * import { createRedis, toStream } from '@mamey/persistence-redis';
 *
 * const Event = t.type({ kind: t.string, n: t.number }, 'Event');
 * const client = createRedis(process.env.REDIS_URL);
 * from([{ kind: 'signup', n: 1 }])
 *   .pipe(toStream(client, 'events', { codec: Event, maxLen: 100_000 }))
 *   .subscribe((id) => console.log('written', id));
 * ```
 * @param client the client (or a {@link PipelineRunner} such as the testing kit's fake)
 * @param stream the stream (without the client's `instance` prefix)
 * @param config see {@link ToStreamConfig}
 * @returns an operator from values to entry ids
 * @throws TypeError at call time for an invalid config
 * @see fromStreamGroup
 * @since 0.1.0
 */
export function toStream(
  client: RedisClient | PipelineRunner,
  stream: string,
  config?: ToStreamConfig<FieldInput> & { readonly codec?: undefined },
): OperatorFunction<FieldInput, string>;
export function toStream<A>(
  client: RedisClient | PipelineRunner,
  stream: string,
  config: ToStreamConfig<A> & { readonly codec: StreamCodec<A> },
): OperatorFunction<A, string>;
export function toStream<A>(
  client: RedisClient | PipelineRunner,
  stream: string,
  config: ToStreamConfig<A> = {},
): OperatorFunction<A, string> {
  const {
    codec,
    maxLen,
    minId,
    approximate = true,
    limit,
    batch = 500,
    concurrency = 2,
    maxBuffered = 10_000,
  } = config;
  if (typeof client !== 'object' || client === null)
    throw new TypeError('toStream: client must be a RedisClient or a PipelineRunner');
  if (typeof stream !== 'string' || stream === '')
    throw new TypeError('toStream: stream must be a non-empty string');
  if (maxLen !== undefined && minId !== undefined)
    throw new TypeError('toStream: give maxLen or minId, not both');
  if (maxLen !== undefined && !(Number.isInteger(maxLen) && maxLen >= 0))
    throw new TypeError(`toStream: maxLen must be an integer ≥ 0, got ${maxLen}`);
  if (limit !== undefined && (!approximate || !(Number.isInteger(limit) && limit > 0)))
    throw new TypeError('toStream: limit must be a positive integer, and needs approximate');
  if (!(Number.isInteger(batch) && batch > 0))
    throw new TypeError(`toStream: batch must be a positive integer, got ${batch}`);
  if (!(Number.isInteger(concurrency) && concurrency > 0))
    throw new TypeError(`toStream: concurrency must be a positive integer, got ${concurrency}`);
  if (maxBuffered !== Infinity && !(Number.isInteger(maxBuffered) && maxBuffered > 0))
    throw new TypeError(
      `toStream: maxBuffered must be a positive integer or Infinity, got ${maxBuffered}`,
    );

  // what goes between the key and the fields: XADD key [MAXLEN|MINID ~|= n [LIMIT l]] * …
  const head: string[] = [];
  if (maxLen !== undefined || minId !== undefined) {
    head.push(maxLen !== undefined ? 'MAXLEN' : 'MINID', approximate ? '~' : '=');
    head.push(maxLen !== undefined ? String(maxLen) : minId!);
    if (limit !== undefined) head.push('LIMIT', String(limit));
  }
  head.push('*');

  // the fake's keys are unprefixed; the client's key is prefixed once, not per batch
  const key = 'runPipeline' in client ? stream : client.key(stream);
  // the common entry (`XADD key * data <json>`) without an intermediate field array
  const entryOf: (value: A) => BatchCommand =
    codec !== undefined && head.length === 1
      ? (value) => ['xadd', key, '*', DATA_FIELD, encodeData(stream, value, codec)]
      : (value) => ['xadd', key, ...head, ...encodeEntry(stream, value, codec)];
  const send = 'runPipeline' in client ? sendToRunner(client) : sendToRedis(client);

  return (source) =>
    new Observable<string>((subscriber) => {
      // a FIFO with a moving head: Array#splice(0, n) would copy what is left each time
      let queue: Array<A | undefined> = [];
      let next = 0;
      const inFlight: Slot[] = [];
      let sourceDone = false;
      let failed = false;
      let scheduled = false;

      const emitReady = (): void => {
        while (inFlight[0]?.done) {
          const slot = inFlight.shift()!;
          for (const id of slot.ids) subscriber.next(id);
          if (slot.error !== undefined) return subscriber.error(slot.error);
        }
        if (sourceDone && inFlight.length === 0 && next === queue.length) subscriber.complete();
      };

      /** Encodes up to `batch` queued values into XADDs; stops at one that cannot be encoded. */
      const take = (slot: Slot, into: BatchCommand[]): void => {
        const end = Math.min(queue.length, next + batch);
        while (next < end) {
          const value = queue[next] as A;
          queue[next++] = undefined;
          try {
            into.push(entryOf(value));
          } catch (e) {
            slot.error = e;
            failed = true;
            break;
          }
        }
        if (next === queue.length) {
          queue = [];
          next = 0;
        }
      };

      const flush = (): void => {
        scheduled = false;
        while (
          next < queue.length &&
          inFlight.length < concurrency &&
          !failed &&
          !subscriber.closed
        ) {
          const slot: Slot = { done: false, ids: [] };
          inFlight.push(slot);
          const commands: BatchCommand[] = [];
          take(slot, commands);
          if (commands.length === 0) {
            slot.done = true;
            emitReady();
            continue;
          }
          send(commands, slot, () => {
            if (slot.done) return;
            slot.done = true;
            if (slot.error !== undefined) failed = true;
            emitReady();
            flush();
          });
        }
      };

      const sub = source.subscribe({
        next: (value) => {
          if (failed) return; // the output ends with an error already on its way
          if (inFlight.length >= concurrency && queue.length - next >= maxBuffered) {
            // the source outruns Redis: end after the writes already sent, drop what waits
            failed = true;
            queue = [];
            next = 0;
            inFlight.push({
              done: true,
              ids: [],
              error: new BatchOverflowError(maxBuffered, 'toStream'),
            });
            return emitReady();
          }
          queue.push(value);
          if (inFlight.length >= concurrency) return; // sent when a pipeline comes back
          // a full batch goes at once, so Redis works while a fast source is still emitting
          if (queue.length - next >= batch) flush();
          else if (!scheduled) {
            scheduled = true;
            // the values of one synchronous run go in one pipeline (virtual time under a
            // TestScheduler's run, so marble tests see the same batching)
            asapScheduler.schedule(flush);
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          emitReady();
        },
      });
      return () => {
        sub.unsubscribe();
        for (const slot of inFlight) slot.cancel?.();
      };
    });
}

/**
 * Sends a batch's XADDs and settles its slot once: the ids in order, up to the error of the first
 * XADD that failed.
 */
type Send = (commands: ReadonlyArray<BatchCommand>, slot: Slot, settle: () => void) => void;

/**
 * On the client's command connection (see {@link sendPerNode}): one write on a single
 * connection; on a Cluster, on the own connection of the master of the stream's slot.
 */
const sendToRedis =
  (client: RedisClient): Send =>
  (commands, slot, settle) =>
    sendPerNode(client.redis, commands, undefined, client.options.commandTimeoutMs, (replies) => {
      for (let i = 0; i < commands.length; i++) {
        const reply = replies[i];
        const error = reply === undefined ? new Error('no reply for this XADD') : reply[0];
        if (error) {
          // it comes before any value of the batch that could not be encoded
          slot.error = toRedisError(error, 'XADD');
          break;
        }
        slot.ids.push(reply![1] as string);
      }
      settle();
    });

/** Through a {@link PipelineRunner} such as the testing kit's fake, whose replies are observables. */
const sendToRunner =
  (runner: PipelineRunner): Send =>
  (commands, slot, settle) => {
    const sub = from(runner.runPipeline(commands)).subscribe({
      next: (results) => {
        for (const r of results) {
          if (!r.ok) {
            slot.error = r.error;
            break;
          }
          slot.ids.push(String(r.value));
        }
      },
      error: (e: unknown) => {
        slot.error = toRedisError(e, 'XADD');
        settle();
      },
      complete: settle,
    });
    if (!sub.closed) slot.cancel = () => sub.unsubscribe();
  };
