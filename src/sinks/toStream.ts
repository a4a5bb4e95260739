import { Observable, type OperatorFunction } from 'rxjs';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../connection/RedisClient';
import { pipelinePerNode } from '../internal/pipelinePerNode';
import { encodeEntry, type FieldInput, type StreamCodec } from '../internal/streamWire';

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
}

/**
 * Writes each value to a stream (XADD) and emits the entry ids, in input order.
 *
 * Values that arrive while pipelines are on their way are collected and sent together (up to
 * `batch` XADDs per pipeline, `concurrency` pipelines in flight), so a fast source costs few
 * round trips and a slow one adds no delay. A failed write (or a value that cannot be encoded)
 * errors the output with a `RedisError` (or `EncodeError`); ids of the writes before it are
 * emitted first. Completes after the last write is confirmed.
 *
 * ```text
 * values:  --a--b--c----|
 * ids:     ---1---2--3---|     (each id after its XADD is confirmed)
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
 * @param client the client
 * @param stream the stream (without the client's `instance` prefix)
 * @param config see {@link ToStreamConfig}
 * @returns an operator from values to entry ids
 * @throws TypeError at call time for an invalid config
 * @see fromStreamGroup
 * @since 0.1.0
 */
export function toStream(
  client: RedisClient,
  stream: string,
  config?: ToStreamConfig<FieldInput> & { readonly codec?: undefined },
): OperatorFunction<FieldInput, string>;
export function toStream<A>(
  client: RedisClient,
  stream: string,
  config: ToStreamConfig<A> & { readonly codec: StreamCodec<A> },
): OperatorFunction<A, string>;
export function toStream<A>(
  client: RedisClient,
  stream: string,
  config: ToStreamConfig<A> = {},
): OperatorFunction<A, string> {
  const { codec, maxLen, minId, approximate = true, limit, batch = 500, concurrency = 2 } = config;
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

  const trim: string[] = [];
  if (maxLen !== undefined || minId !== undefined) {
    trim.push(maxLen !== undefined ? 'MAXLEN' : 'MINID', approximate ? '~' : '=');
    trim.push(maxLen !== undefined ? String(maxLen) : minId!);
    if (limit !== undefined) trim.push('LIMIT', String(limit));
  }

  return (source) =>
    new Observable<string>((subscriber) => {
      const key = client.key(stream);
      const queue: string[][] = [];
      const inFlight: Array<{ done: boolean; ids: string[]; error?: unknown }> = [];
      let sourceDone = false;
      let scheduled = false;

      const emitReady = (): void => {
        while (inFlight[0]?.done) {
          const b = inFlight.shift()!;
          for (const id of b.ids) subscriber.next(id);
          if (b.error !== undefined) return subscriber.error(b.error);
        }
        if (sourceDone && inFlight.length === 0 && queue.length === 0) subscriber.complete();
      };
      const flush = (): void => {
        scheduled = false;
        while (queue.length > 0 && inFlight.length < concurrency && !subscriber.closed) {
          const items = queue.splice(0, batch);
          const slot: { done: boolean; ids: string[]; error?: unknown } = { done: false, ids: [] };
          inFlight.push(slot);
          void pipelinePerNode(
            client.redis,
            items,
            () => key,
            (p: ChainableCommander, args) =>
              (p.xadd as unknown as (...a: string[]) => unknown)(key, ...trim, '*', ...args),
            'XADD',
          ).then((results) => {
            for (const r of results) {
              if (!r.ok) {
                slot.error = r.error;
                break;
              }
              slot.ids.push(String(r.value));
            }
            slot.done = true;
            emitReady();
            flush();
          });
        }
      };

      const sub = source.subscribe({
        next: (value) => {
          try {
            queue.push(encodeEntry(stream, value, codec));
          } catch (e) {
            return subscriber.error(e);
          }
          if (!scheduled && inFlight.length < concurrency) {
            scheduled = true;
            // values emitted in the same tick go in one pipeline
            queueMicrotask(flush);
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          emitReady();
        },
      });
      return () => sub.unsubscribe();
    });
}
