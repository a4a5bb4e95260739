import { Cluster, type ChainableCommander } from 'ioredis';
import {
  asyncScheduler,
  defer,
  from,
  Observable,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { BatchOverflowError, toRedisError, type RedisError } from '../errors';
/** Re-exported where it is thrown, for imports written against the operator. */
export { BatchOverflowError };
import { groupByNode } from '../internal/pipelinePerNode';

/**
 * One command: its name, the key it works on, then its other arguments, e.g.
 * `['set', 'user:1', json]`, `['hset', 'user:1', 'name', 'Ada']`, `['xadd', 'events', '*', 'data', json]`.
 * The key gets the client's `instance` prefix and routes the command on a Cluster, so the
 * command's first argument must be its (only) key.
 *
 * @since 0.1.0
 */
export type BatchCommand = readonly [
  command: string,
  key: string,
  ...args: ReadonlyArray<string | number | Buffer>,
];

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
          defer(() => sendPerNode(client, commands).then((replies) => replies.map(toResult))),
      };

/** Queues one command with its key replaced; the common short shapes without an array copy. */
const queue = (pipeline: ChainableCommander, command: BatchCommand, key: string): void => {
  switch (command.length) {
    case 2:
      pipeline.call(command[0], key);
      return;
    case 3:
      pipeline.call(command[0], key, command[2]!);
      return;
    case 4:
      pipeline.call(command[0], key, command[2]!, command[3]!);
      return;
    default:
      pipeline.call(command[0], key, ...command.slice(2));
  }
};

/** One command's reply as ioredis gives it, with its error already mapped. */
type Reply = readonly [error: RedisError | null, value: unknown];

/**
 * `pipelinePerNode`, with the instance prefix applied and each command's own name in its error.
 * Never rejects. It keeps ioredis' reply tuples (an object less per item) and plain promise
 * chains, so a batch costs little more than a hand-written `await pipeline.exec()`.
 */
const sendPerNode = (
  client: RedisClient,
  commands: ReadonlyArray<BatchCommand>,
): Promise<Reply[]> => {
  const redis = client.redis;
  const keys = client.options.instance === '' ? undefined : commands.map((c) => client.key(c[1]));
  const keyAt = (i: number): string => (keys === undefined ? commands[i]![1] : keys[i]!);
  const results = new Array<Reply>(commands.length);
  const nameOf = (i: number): string => commands[i]![0].toUpperCase();
  /** Sends the commands at `indices` (all of them when undefined) as one pipeline. */
  const send = (indices: ReadonlyArray<number> | undefined): Promise<void> => {
    const count = indices?.length ?? commands.length;
    const at = (n: number): number => (indices === undefined ? n : indices[n]!);
    const pipeline = redis.pipeline();
    for (let n = 0; n < count; n++) queue(pipeline, commands[at(n)]!, keyAt(at(n)));
    return pipeline.exec().then(
      (replies) => {
        for (let n = 0; n < count; n++) {
          const i = at(n);
          const reply = replies?.[n];
          results[i] =
            reply === undefined
              ? [toRedisError(new Error('no reply'), nameOf(i)), undefined]
              : reply[0]
                ? [toRedisError(reply[0], nameOf(i)), undefined]
                : (reply as Reply);
        }
      },
      (e: unknown) => {
        // the round trip failed as a whole (connection lost): each of its items gets the error
        for (let n = 0; n < count; n++) {
          const i = at(n);
          results[i] = [toRedisError(e, nameOf(i)), undefined];
        }
      },
    );
  };
  if (!(redis instanceof Cluster)) return send(undefined).then(() => results);
  const groups =
    keys === undefined
      ? groupByNode(redis, commands, (c) => c[1])
      : groupByNode(redis, keys, (k) => k);
  return Promise.all(groups.map(send)).then(() => results);
};

const toResult = ([error, value]: Reply): CommandResult =>
  error ? { ok: false, error } : { ok: true, value };

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

interface Slot<T> {
  readonly items: ReadonlyArray<T>;
  results?: ReadonlyArray<CommandResult | Reply>;
}

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
      // items waiting to be sent, oldest first, with their commands; `head` avoids O(n) shifts
      let items: T[] = [];
      let commands: BatchCommand[] = [];
      let head = 0;
      const sending: Array<Slot<T>> = []; // in send order, emitted in that order
      let inFlight = 0;
      let due = false; // the oldest waiting item has waited maxWaitMs
      let timer: Subscription | undefined;
      let ended: { error: unknown } | 'complete' | undefined;
      let draining = false;
      let again = false;

      const waiting = (): number => items.length - head;

      const startTimer = (): void => {
        timer = scheduler.schedule(() => {
          timer = undefined;
          due = true;
          drain();
        }, maxWaitMs);
      };

      const emitDone = (): void => {
        while (sending[0]?.results !== undefined && !subscriber.closed) {
          const { items: batch, results } = sending.shift()!;
          for (let i = 0; i < batch.length; i++) {
            const item = batch[i]!;
            const r = results![i];
            // built field by field: object spread costs more than the rest of the per-item work
            subscriber.next(
              (r === undefined
                ? { ok: false, error: toRedisError(new Error('no reply for this command')), item }
                : Array.isArray(r)
                  ? r[0]
                    ? { ok: false, error: r[0], item }
                    : { ok: true, value: r[1], item }
                  : (r as CommandResult).ok
                    ? { ok: true, value: (r as { value: unknown }).value, item }
                    : {
                        ok: false,
                        error: (r as { error: RedisError }).error,
                        item,
                      }) as BatchOutcome<T, R>,
            );
          }
        }
      };

      const send = (batchItems: T[], batchCommands: BatchCommand[]): void => {
        const slot: Slot<T> = { items: batchItems };
        sending.push(slot);
        inFlight++;
        let results: ReadonlyArray<CommandResult | Reply> | undefined;
        const finish = (r: ReadonlyArray<CommandResult | Reply>): void => {
          slot.results = r;
          inFlight--;
          emitDone();
          drain();
        };
        subscriber.add(
          from(
            runner === undefined
              ? sendPerNode(client as RedisClient, batchCommands)
              : runner.runPipeline(batchCommands),
          ).subscribe({
            next: (r) => (results = r),
            error: (e: unknown) => {
              const error = toRedisError(e);
              finish(batchItems.map(() => ({ ok: false, error })));
            },
            complete: () =>
              finish(
                results ??
                  batchItems.map(() => ({
                    ok: false,
                    error: toRedisError(new Error('the pipeline gave no replies')),
                  })),
              ),
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
          while (
            inFlight < maxInFlight &&
            waiting() > 0 &&
            (waiting() >= maxSize || due || ended !== undefined)
          ) {
            const end = Math.min(items.length, head + maxSize);
            const batchItems = items.slice(head, end);
            const batchCommands = commands.slice(head, end);
            head = end;
            if (head === items.length) {
              items = [];
              commands = [];
              head = 0;
            } else if (head > 4096 && head * 2 > items.length) {
              items = items.slice(head);
              commands = commands.slice(head);
              head = 0;
            }
            due = false;
            timer?.unsubscribe();
            timer = undefined;
            if (waiting() > 0 && ended === undefined) startTimer();
            send(batchItems, batchCommands);
          }
        } while (again);
        draining = false;
        if (ended !== undefined && waiting() === 0 && inFlight === 0 && sending.length === 0) {
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
          if (waiting() >= maxBuffered) return end({ error: new BatchOverflowError(maxBuffered) });
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
          items.push(item);
          commands.push(command);
          if (waiting() === 1 && timer === undefined) startTimer();
          drain();
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
