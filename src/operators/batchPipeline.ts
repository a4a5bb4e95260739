import {
  asyncScheduler,
  defer,
  from,
  Observable,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
  throwError,
} from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { BatchOverflowError, toRedisError, type RedisError } from '../errors';
/** Re-exported where it is thrown, for imports written against the operator. */
export { BatchOverflowError };
import { sendPerNode, type KeyedCommand } from '../internal/pipelinePerNode';
import type { Reply } from '../internal/sendBatch';

/**
 * One command: its name, the key it works on, then its other arguments, e.g.
 * `['set', 'user:1', json]`, `['hset', 'user:1', 'name', 'Ada']`, `['xadd', 'events', '*', 'data', json]`.
 * The key gets the client's `instance` prefix and routes the command on a Cluster, so the
 * command's first argument must be its (only) key.
 *
 * @since 0.1.0
 */
export type BatchCommand = KeyedCommand;

/**
 * The reply to one command: its value, or its own error.
 *
 * @since 0.1.0
 */
export type CommandResult<R = unknown> =
  { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: RedisError };

/**
 * What {@link batchPipeline} emits per item: the item with its command's reply or its own error.
 *
 * @since 0.1.0
 */
export type BatchOutcome<T, R = unknown> = CommandResult<R> & { readonly item: T };

/**
 * Sends commands as pipelines. A {@link RedisClient} is turned into one (one pipeline per node,
 * keys prefixed); the testing kit's `fakePipeline` is another, whose replies are observables, so
 * flows marble-test in virtual time.
 *
 * @since 0.1.0
 */
export interface PipelineRunner {
  /** One result per command, in the order of `commands`. Keys are not prefixed yet. */
  runPipeline(commands: ReadonlyArray<BatchCommand>): ObservableInput<ReadonlyArray<CommandResult>>;
}

/**
 * Sends `commands` as one pipeline per node (one pipeline on a standalone server) and returns one
 * result per command in input order. The command name of each item names its errors.
 *
 * @internal
 */
export const pipelineRunnerOf = (client: RedisClient | PipelineRunner): PipelineRunner =>
  'runPipeline' in client
    ? client
    : {
        runPipeline: (commands) =>
          defer(
            () =>
              new Promise<CommandResult[]>((resolve) =>
                sendClient(client, commands, (replies) =>
                  resolve(
                    commands.map((_, i): CommandResult => {
                      const error = errorOf(replies[i], commands, i);
                      return error ? { ok: false, error } : { ok: true, value: replies[i]![1] };
                    }),
                  ),
                ),
              ),
          ),
      };

/** The error of the `i`th command, named after it, or `undefined` when it succeeded. */
const errorOf = (
  reply: Reply,
  commands: ReadonlyArray<BatchCommand>,
  i: number,
): RedisError | undefined => {
  const error = reply === undefined ? new Error('no reply for this command') : reply[0];
  return error ? toRedisError(error, commands[i]![0].toUpperCase()) : undefined;
};

/**
 * {@link sendPerNode} on the client's command connection, the keys with the client's `instance`
 * prefix; ioredis' replies kept as they are (no object per item, and on a standalone server not
 * even a copy of the array) and a callback rather than promise chains, so a batch costs less
 * than a hand-written `await pipeline.exec()`.
 */
const sendClient = (
  client: RedisClient,
  commands: ReadonlyArray<BatchCommand>,
  done: (replies: ReadonlyArray<Reply>) => void,
): void =>
  sendPerNode(
    client.redis,
    commands,
    client.options.instance === '' ? undefined : commands.map((c) => client.key(c[1])),
    client.options.commandTimeoutMs,
    done,
  );

/**
 * Configuration of {@link batchPipeline}.
 *
 * @since 0.1.0
 */
export interface BatchPipelineConfig {
  /**
   * Most items per pipeline: a full batch is sent at once.
   * @defaultValue 100
   */
  readonly maxSize?: number;
  /**
   * Longest time the first item of a partial batch waits for more items before the batch is sent
   * (when a send slot is free).
   * @defaultValue 10
   */
  readonly maxWaitMs?: number;
  /**
   * Pipelines sent at the same time; the next batch waits for a free slot. Results are emitted in
   * input order whatever order the pipelines finish in.
   * @defaultValue 1
   */
  readonly maxInFlight?: number;
  /**
   * Most items held waiting for a send slot. A source that keeps pushing faster than Redis
   * answers fills this; one more item fails the operator with a {@link BatchOverflowError}
   * (after the items already taken are sent) instead of growing without bound. Raise it for a
   * large synchronous source (`from(array)` pushes the whole array at once).
   * @defaultValue 10000
   */
  readonly maxBuffered?: number;
  /**
   * Scheduler of the `maxWaitMs` timer.
   * @defaultValue asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
}

const positiveInteger = (name: string, value: number, allowInfinity = false): void => {
  if (!(Number.isInteger(value) && value >= 1) && !(allowInfinity && value === Infinity))
    throw new TypeError(`batchPipeline: ${name} must be an integer ≥ 1, got ${String(value)}`);
};

/** A batch: waiting for a send slot, then on its way, then answered. */
interface Batch<T> {
  readonly items: T[];
  readonly commands: BatchCommand[];
  /** The replies of a {@link RedisClient}: ioredis' tuples. */
  replies: ReadonlyArray<Reply> | undefined;
  /** The results of a {@link PipelineRunner}. */
  results: ReadonlyArray<CommandResult> | undefined;
}

const batchOf = <T>(items: T[], commands: BatchCommand[]): Batch<T> => ({
  items,
  commands,
  replies: undefined,
  results: undefined,
});

/**
 * Writes each item with one command, many items per round trip: collects items until `maxSize`
 * or `maxWaitMs`, sends each batch as one pipeline (one per node on a Cluster, in parallel), and
 * emits one {@link BatchOutcome} per item, in input order, with that item's reply or its own
 * error — a failing command does not fail the others, nor the stream.
 *
 * At most `maxInFlight` pipelines are out at once. Items that arrive meanwhile wait (full
 * batches are sent as soon as a slot frees), up to `maxBuffered` items; a source that is faster
 * than Redis for longer gets a {@link BatchOverflowError} rather than unbounded memory. A
 * consumer-group source bounded by its `maxInFlight` never gets there.
 *
 * When the source completes (or errors) the items already taken are still sent and their outcomes
 * emitted; then the completion (or the error) is passed on. Unsubscribing drops them.
 *
 * ```
 * maxSize: 2, maxWaitMs: 5, Redis answering at once
 * source:    -a-b------c--------d|
 * result:    ---(AB)--------C----(D|)
 *               │           │    └ completion flushes the last batch
 *               │           └ c waited maxWaitMs: a partial batch
 *               └ a full batch is sent at once
 * ```
 *
 * @example
 * ```ts
 * import { batchPipeline } from '@mamey/persistence-redis';
 *
 * users$.pipe(
 *   batchPipeline(client, (u: User) => ['set', `user:${u.id}`, JSON.stringify(u)], { maxSize: 500 }),
 *   filter((o) => !o.ok),
 * ).subscribe((o) => log.warn({ id: o.item.id, error: o.error.message }, 'not saved'));
 * ```
 * @param client - the client (or a {@link PipelineRunner} such as the testing kit's fake)
 * @param build - the command for an item; its key gets the `instance` prefix
 * @param config - see {@link BatchPipelineConfig}
 * @returns an operator from items to their outcomes
 * @throws TypeError when the configuration is invalid
 * @since 0.1.0
 */
export const batchPipeline = <T, R = unknown>(
  client: RedisClient | PipelineRunner,
  build: (item: T) => BatchCommand,
  config: Readonly<BatchPipelineConfig> = {},
): OperatorFunction<T, BatchOutcome<T, R>> => {
  const {
    maxSize = 100,
    maxWaitMs = 10,
    maxInFlight = 1,
    maxBuffered = 10_000,
    scheduler = asyncScheduler,
  } = config;
  if (typeof client !== 'object' || client === null)
    throw new TypeError('batchPipeline: client must be a RedisClient or a PipelineRunner');
  if (typeof build !== 'function') throw new TypeError('batchPipeline: build must be a function');
  positiveInteger('maxSize', maxSize);
  positiveInteger('maxInFlight', maxInFlight);
  positiveInteger('maxBuffered', maxBuffered, true);
  if (typeof maxWaitMs !== 'number' || !Number.isFinite(maxWaitMs) || maxWaitMs < 0)
    throw new TypeError(`batchPipeline: maxWaitMs must be a number ≥ 0, got ${String(maxWaitMs)}`);
  if (maxBuffered < maxSize)
    throw new TypeError(
      `batchPipeline: maxBuffered (${maxBuffered}) must be ≥ maxSize (${maxSize})`,
    );

  return (source) =>
    new Observable<BatchOutcome<T, R>>((subscriber) => {
      // a RedisClient is driven directly (ioredis' reply tuples, no intermediate objects)
      const runner = 'runPipeline' in client ? client : undefined;
      // the batch being filled; full batches wait in `ready` (oldest first) for a send slot
      let items: T[] = [];
      let commands: BatchCommand[] = [];
      const ready: Array<Batch<T>> = [];
      let buffered = 0; // items taken and not sent yet
      const sending: Array<Batch<T>> = []; // in send order, emitted in that order
      let inFlight = 0;
      // The batch being filled is due at `dueAt` (its first item came maxWaitMs before). One
      // timer serves many batches: one that fires early (its batch left full) waits again for
      // the rest of the current batch's time, instead of a timer set and cleared per batch.
      let dueAt = 0;
      let due = false;
      let timer: Subscription | undefined;
      let ended: { error: unknown } | 'complete' | undefined;
      let draining = false;
      let again = false;

      const onTimer = (): void => {
        timer = undefined;
        if (items.length === 0 || ended !== undefined) return;
        const left = dueAt - scheduler.now();
        if (left > 0) timer = scheduler.schedule(onTimer, left);
        else {
          due = true;
          drain();
        }
      };

      const emitDone = (): void => {
        while (sending.length > 0 && !subscriber.closed) {
          const { items: batch, commands, replies, results } = sending[0]!;
          if (replies !== undefined) {
            sending.shift();
            for (let i = 0; i < batch.length; i++) {
              const reply = replies[i];
              const item = batch[i]!;
              // built field by field: object spread costs more than the rest of the per-item work
              const outcome =
                reply !== undefined && !reply[0]
                  ? { ok: true, value: reply[1], item }
                  : { ok: false, error: errorOf(reply, commands, i), item };
              subscriber.next(outcome as BatchOutcome<T, R>);
            }
          } else if (results !== undefined) {
            sending.shift();
            for (let i = 0; i < batch.length; i++) {
              const r = results[i];
              const item = batch[i]!;
              subscriber.next(
                (r === undefined
                  ? { ok: false, error: toRedisError(new Error('no reply for this command')), item }
                  : r.ok
                    ? { ok: true, value: r.value, item }
                    : { ok: false, error: r.error, item }) as BatchOutcome<T, R>,
              );
            }
          } else return;
        }
      };

      const finish = (): void => {
        inFlight--;
        emitDone();
        drain();
      };

      const send = (batch: Batch<T>): void => {
        sending.push(batch);
        inFlight++;
        if (runner === undefined) {
          sendClient(client as RedisClient, batch.commands, (replies) => {
            if (subscriber.closed) return;
            batch.replies = replies;
            finish();
          });
          return;
        }
        let results: ReadonlyArray<CommandResult> | undefined;
        const failAll = (error: RedisError): ReadonlyArray<CommandResult> =>
          batch.items.map(() => ({ ok: false, error }));
        let answer: ObservableInput<ReadonlyArray<CommandResult>>;
        try {
          answer = runner.runPipeline(batch.commands);
        } catch (e) {
          answer = throwError(() => e); // as a failed round trip: each item gets the error
        }
        subscriber.add(
          from(answer).subscribe({
            next: (r) => (results = r),
            error: (e: unknown) => {
              batch.results = failAll(toRedisError(e));
              finish();
            },
            complete: () => {
              batch.results =
                results ?? failAll(toRedisError(new Error('the pipeline gave no replies')));
              finish();
            },
          }),
        );
      };

      const drain = (): void => {
        if (draining) {
          again = true;
          return;
        }
        draining = true;
        do {
          again = false;
          while (inFlight < maxInFlight) {
            let batch = ready.shift();
            if (batch === undefined) {
              if (items.length === 0 || !(due || ended !== undefined)) break;
              batch = batchOf(items, commands);
              items = [];
              commands = [];
              due = false;
            }
            buffered -= batch.items.length;
            send(batch);
          }
        } while (again);
        draining = false;
        if (ended !== undefined && buffered === 0 && inFlight === 0 && sending.length === 0) {
          if (ended === 'complete') subscriber.complete();
          else subscriber.error(ended.error);
        }
      };

      const end = (how: typeof ended): void => {
        if (ended !== undefined) return;
        ended = how;
        upstream?.unsubscribe();
        timer?.unsubscribe();
        timer = undefined;
        drain();
      };

      let upstream: Subscription | undefined;
      upstream = source.subscribe({
        next: (item) => {
          if (ended !== undefined) return;
          if (buffered >= maxBuffered) return end({ error: new BatchOverflowError(maxBuffered) });
          let command: BatchCommand;
          try {
            command = build(item);
          } catch (e) {
            return end({ error: e }); // as in `map`: a throwing project fails the stream
          }
          if (
            !Array.isArray(command) ||
            typeof command[0] !== 'string' ||
            typeof command[1] !== 'string'
          )
            return end({
              error: new TypeError('batchPipeline: build must return [command, key, ...args]'),
            });
          buffered++;
          const size = items.push(item);
          commands.push(command);
          if (size >= maxSize) {
            ready.push(batchOf(items, commands));
            items = [];
            commands = [];
            due = false;
            drain();
          } else if (size === 1) {
            dueAt = scheduler.now() + maxWaitMs;
            timer ??= scheduler.schedule(onTimer, maxWaitMs);
          }
        },
        error: (error: unknown) => end({ error }),
        complete: () => end('complete'),
      });
      if (ended !== undefined) upstream.unsubscribe();

      return () => {
        upstream?.unsubscribe();
        timer?.unsubscribe();
      };
    });
};
