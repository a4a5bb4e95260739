import {
  catchError,
  defer,
  EMPTY,
  from,
  mergeMap,
  throwError,
  type ObservableInput,
  type ObservedValueOf,
  type OperatorFunction,
} from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { EncodeError, isTransient } from '../errors';
import { pipelineRunnerOf, type BatchCommand, type PipelineRunner } from './batchPipeline';

/**
 * Configuration of {@link deadLetter}.
 *
 * @since 0.1.0
 */
export interface DeadLetterConfig<T> {
  /** The dead-letter stream (gets the client's `instance` prefix). */
  readonly stream: string;
  /**
   * Which failures are dead-lettered; the others fail the stream, so an outer
   * `retryWithBackoff` can try again.
   * @defaultValue every error except transient ones (`isTransient`: Redis unreachable, timeouts)
   */
  readonly shouldDeadLetter?: (error: unknown, item: T) => boolean;
  /**
   * The `item` field of the dead-letter entry.
   * @defaultValue `JSON.stringify`
   */
  readonly encode?: (item: T) => string;
  /**
   * Trims the dead-letter stream to about this many entries (`XADD MAXLEN ~`).
   * @defaultValue no trimming
   */
  readonly maxLen?: number;
  /**
   * Items handled at the same time; above 1, results may come out of input order.
   * @defaultValue 1
   */
  readonly concurrency?: number;
  /** Called after an item was written to the dead-letter stream, with the entry's id. */
  readonly onDeadLettered?: (item: T, error: unknown, entryId: string) => void;
}

const errorName = (error: unknown): string =>
  error instanceof Error ? ('_tag' in error ? String(error._tag) : error.name) : typeof error;

const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/**
 * Runs `handler` for each item and emits its results; when the handler fails for an item, writes
 * the item and the reason to a dead-letter stream (XADD) and goes on with the next item — one bad
 * item does not stop the flow, and is not lost. For consumer-group messages use
 * `fromStreamGroup`'s own `deadLetter` option, which also acknowledges; this one works on any
 * observable. If the XADD itself fails, the stream fails (the item would be lost otherwise).
 *
 * An entry has the fields `item` (encoded), `error` (the error's `_tag` or name) and `reason`
 * (its message).
 *
 * ```
 * source:          -a-b-c-|
 * handler:          a → A, b → error, c → C
 * XADD dead:       ---b                 (item b, error, reason)
 * result:          -A---C-|
 * ```
 *
 * @example
 * ```ts
 * import { deadLetter } from '@mamey/persistence-redis';
 *
 * webhooks$.pipe(
 *   deadLetter(client, (hook: Webhook) => deliver(hook), { stream: 'webhooks:dead' }),
 * ).subscribe();
 * ```
 * @param client - the client (or a {@link PipelineRunner} such as the testing kit's fake)
 * @param handler - the work per item; it fails by throwing or by erroring
 * @param config - see {@link DeadLetterConfig}
 * @returns an operator from items to the handler's results
 * @throws TypeError when the configuration is invalid
 * @since 0.1.0
 */
export const deadLetter = <T, O extends ObservableInput<unknown>>(
  client: RedisClient | PipelineRunner,
  handler: (item: T) => O,
  config: Readonly<DeadLetterConfig<T>>,
): OperatorFunction<T, ObservedValueOf<O>> => {
  const {
    stream,
    shouldDeadLetter = (error: unknown) => !isTransient(error),
    encode = (item: T) => JSON.stringify(item) ?? String(item),
    maxLen,
    concurrency = 1,
    onDeadLettered,
  } = config;
  if (typeof client !== 'object' || client === null)
    throw new TypeError('deadLetter: client must be a RedisClient or a PipelineRunner');
  if (typeof handler !== 'function') throw new TypeError('deadLetter: handler must be a function');
  if (typeof stream !== 'string' || stream === '')
    throw new TypeError('deadLetter: stream must be a non-empty string');
  if (!(Number.isInteger(concurrency) && concurrency >= 1) && concurrency !== Infinity)
    throw new TypeError(
      `deadLetter: concurrency must be an integer ≥ 1, got ${String(concurrency)}`,
    );
  if (maxLen !== undefined && !(Number.isInteger(maxLen) && maxLen >= 1))
    throw new TypeError(`deadLetter: maxLen must be an integer ≥ 1, got ${String(maxLen)}`);

  const trim = maxLen === undefined ? [] : ['MAXLEN', '~', maxLen];
  const write = (runner: PipelineRunner, item: T, error: unknown): ObservableInput<never> =>
    defer(() => {
      let encoded: string;
      try {
        encoded = encode(item);
      } catch (e) {
        throw new EncodeError(stream, errorMessage(e), { cause: e });
      }
      const xadd: BatchCommand = [
        'xadd',
        stream,
        ...trim,
        '*',
        'item',
        encoded,
        'error',
        errorName(error),
        'reason',
        errorMessage(error),
      ];
      return from(runner.runPipeline([xadd]));
    }).pipe(
      mergeMap(([result]) => {
        if (result === undefined || !result.ok)
          return throwError(() => result?.error ?? new Error('XADD gave no reply'));
        if ('metrics' in client) client.metrics.increment('deadLettered');
        onDeadLettered?.(item, error, String(result.value));
        return EMPTY;
      }),
    );

  return (source) =>
    defer(() => {
      const runner = pipelineRunnerOf(client);
      return source.pipe(
        mergeMap(
          (item) =>
            defer(() => from(handler(item) as ObservableInput<ObservedValueOf<O>>)).pipe(
              catchError((error: unknown) =>
                shouldDeadLetter(error, item)
                  ? write(runner, item, error)
                  : throwError(() => error),
              ),
            ),
          concurrency,
        ),
      );
    });
};
