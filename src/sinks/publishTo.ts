/**
 * `publishTo`: a sink that publishes each value on a channel (PUBLISH or SPUBLISH).
 *
 * @since 0.1.0
 */
import type * as t from 'io-ts';
import {
  catchError,
  defer,
  finalize,
  map,
  mergeMap,
  Observable,
  tap,
  throwError,
  type OperatorFunction,
} from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { BatchOverflowError, EncodeError, toRedisError } from '../errors';

/**
 * Options of {@link publishTo}.
 *
 * @since 0.1.0
 */
export interface PublishToConfig<A = string> {
  /** Encodes each value to its wire form. Without it values must be strings. */
  readonly codec?: t.Type<A, string, unknown>;
  /**
   * SPUBLISH instead of PUBLISH (Redis 7 sharded pub/sub; on a Cluster it goes to the master of
   * the channel's slot). Subscribers need `fromChannel(…, { sharded: true })`.
   * @defaultValue false
   */
  readonly sharded?: boolean;
  /**
   * How many PUBLISHes may be in flight at once (ioredis auto-pipelines them when the client's
   * `autoPipelining` is on, the default). The source is not paused at the limit: a value that
   * arrives then waits in an in-memory queue (bounded by `maxBuffered`) until a PUBLISH returns.
   * @defaultValue 100
   */
  readonly concurrency?: number;
  /**
   * Most values held waiting while `concurrency` PUBLISHes are in flight. One more fails the
   * operator with a {@link BatchOverflowError} instead of growing without bound. Raise it for a
   * large synchronous source (`from(array)` pushes the whole array at once).
   * @defaultValue 10000
   */
  readonly maxBuffered?: number;
}

/** Emits `[index, value]` pairs in index order, whatever order they arrive in. */
const inIndexOrder =
  <R>(): OperatorFunction<readonly [number, R], R> =>
  (source) =>
    new Observable<R>((subscriber) => {
      const early = new Map<number, R>();
      let next = 0;
      return source.subscribe({
        next: ([i, r]) => {
          early.set(i, r);
          while (early.has(next)) {
            const v = early.get(next) as R;
            early.delete(next);
            next += 1;
            subscriber.next(v);
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });

/**
 * Publishes every value of the source on `channel` and emits, for each, the number of clients
 * that received it (on a Cluster with plain PUBLISH: the subscribers on the node that took it,
 * as Redis counts them), in input order. Fails with a `RedisError` when a PUBLISH fails and with
 * an `EncodeError` when the codec throws. Pub/sub keeps nothing: a message nobody is subscribed to
 * is gone (the count is 0).
 *
 * What is held in memory: while `concurrency` PUBLISHes are in flight, the values the source
 * emits wait in a queue in arrival order and are encoded and sent one by one as replies come
 * back. The source is read on regardless (an Observable cannot be paused); a source faster
 * than Redis fills the queue, and one value beyond `maxBuffered` fails the operator with a
 * `BatchOverflowError` rather than letting memory grow without bound. Counts that come back early wait for the
 * ones before them (at most `concurrency` − 1). Failing or unsubscribing drops the queue: those
 * values are never published. While the command connection is down, ioredis holds the
 * PUBLISHes in flight (its offline queue) and sends them once it is back; one that was sent but
 * not answered before the drop is sent again, so it may reach subscribers twice. A PUBLISH not
 * answered within `commandTimeoutMs` of being issued, or still waiting after
 * `maxRetriesPerRequest` reconnect attempts, fails with a `TimeoutError` or `ConnectionError`,
 * and so does the operator: it does not retry.
 *
 * ```text
 * source    --a--b----c--|
 * PUBLISH   --^!-^!---^!       one round trip per value, at most `concurrency` in flight
 * emitted   ---1--1----0-|     receivers of a, b, c, in input order
 * ```
 *
 * @param client the client whose command connection publishes
 * @param channel the channel, without the `instance` prefix (which is applied)
 * @param config see {@link PublishToConfig}
 * @returns an operator from values to receiver counts
 * @throws TypeError when the channel is empty, or `concurrency` or `maxBuffered` is not a
 *   positive integer
 * @example
 * ```ts
 * from(['created', 'paid']).pipe(publishTo(client, 'orders')).subscribe((receivers) =>
 *   console.log(`${receivers} subscribers got it`),
 * );
 * ```
 * @see fromChannel
 * @since 0.1.0
 */
export function publishTo(
  client: RedisClient,
  channel: string,
  config?: PublishToConfig<string> & { readonly codec?: undefined },
): OperatorFunction<string, number>;
export function publishTo<A>(
  client: RedisClient,
  channel: string,
  config: PublishToConfig<A> & { readonly codec: t.Type<A, string, unknown> },
): OperatorFunction<A, number>;
export function publishTo<A>(
  client: RedisClient,
  channel: string,
  config: PublishToConfig<A> = {},
): OperatorFunction<A, number> {
  const { codec, sharded = false, concurrency = 100, maxBuffered = 10_000 } = config;
  if (typeof channel !== 'string' || channel === '')
    throw new TypeError('publishTo: the channel must be a non-empty string');
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TypeError('publishTo: concurrency must be a positive integer');
  if (maxBuffered !== Infinity && (!Number.isInteger(maxBuffered) || maxBuffered < 1))
    throw new TypeError('publishTo: maxBuffered must be a positive integer or Infinity');
  const full = client.key(channel);
  const command = sharded ? 'SPUBLISH' : 'PUBLISH';
  const encode = (value: A): string => {
    if (codec === undefined) return value as unknown as string;
    try {
      return codec.encode(value);
    } catch (e) {
      throw new EncodeError(channel, e instanceof Error ? e.message : 'the codec threw', {
        cause: e,
      });
    }
  };
  const send = (message: string): Observable<number> =>
    defer(() =>
      sharded ? client.redis.spublish(full, message) : client.redis.publish(full, message),
    ).pipe(
      map(Number),
      catchError((e: unknown) => throwError(() => toRedisError(e, command))),
    );
  return (source) =>
    defer(() => {
      // mergeMap queues a value when `concurrency` inner PUBLISHes are active; count them to
      // bound that queue.
      let arrived = 0;
      let started = 0;
      let active = 0;
      return source.pipe(
        tap(() => {
          arrived += 1;
          if (active >= concurrency && arrived - started > maxBuffered)
            throw new BatchOverflowError(maxBuffered, 'publishTo');
        }),
        mergeMap((value, i) => {
          started += 1;
          active += 1;
          return defer(() => send(encode(value))).pipe(
            map((n) => [i, n] as const),
            finalize(() => {
              active -= 1;
            }),
          );
        }, concurrency),
        inIndexOrder<number>(),
      );
    });
}
