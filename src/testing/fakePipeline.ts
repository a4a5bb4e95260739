import { asyncScheduler, map, of, timer, type ObservableInput, type SchedulerLike } from 'rxjs';
import type { BatchCommand, CommandResult, PipelineRunner } from '../operators/batchPipeline';
import { toRedisError } from '../errors';

/** One pipeline a {@link FakePipeline} received. */
export interface SentPipeline {
  readonly commands: ReadonlyArray<BatchCommand>;
  /** Virtual time it was sent. */
  readonly time: number;
}

/** Options of {@link fakePipeline}. */
export interface FakePipelineOptions {
  /**
   * The reply to one command; throw to give that command an error (mapped by `toRedisError`).
   * @defaultValue `'OK'` for every command
   */
  readonly reply?: (command: BatchCommand) => unknown;
  /**
   * Virtual time a round trip takes; 0 answers synchronously.
   * @defaultValue 0
   */
  readonly latencyMs?: number;
  /**
   * Full control: the answer to the `n`th pipeline (from 0), e.g. a `cold('--(r|)', { r })` or
   * a `cold('--#')` for a round trip that fails as a whole. Replaces `reply` and `latencyMs`.
   */
  readonly respond?: (
    commands: ReadonlyArray<BatchCommand>,
    n: number,
  ) => ObservableInput<ReadonlyArray<CommandResult>>;
  /**
   * Clock and latency timer. Inside `TestScheduler.run` the default runs in virtual time.
   * @defaultValue asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
}

/**
 * A {@link PipelineRunner} without Redis, whose replies are observables, so `batchPipeline` and
 * `deadLetter` run in virtual time.
 *
 * @since 0.1.0
 */
export interface FakePipeline extends PipelineRunner {
  /** Every pipeline sent so far, in order. */
  readonly sent: ReadonlyArray<SentPipeline>;
}

/**
 * Creates a {@link FakePipeline}: pass it where `batchPipeline` or `deadLetter` take a client.
 *
 * @example
 * ```ts
 * const redis = fakePipeline({
 *   latencyMs: 2,
 *   reply: ([cmd, key]) => { if (key === 'bad') throw new Error('WRONGTYPE …'); return 'OK'; },
 * });
 * items$.pipe(batchPipeline(redis, (x) => ['set', x.key, x.value], { maxSize: 10 }));
 * // after run: redis.sent.map((p) => p.commands.length)
 * ```
 * @param options - see {@link FakePipelineOptions}
 * @returns the fake
 * @since 0.1.0
 */
export const fakePipeline = (options: FakePipelineOptions = {}): FakePipeline => {
  const { reply = () => 'OK', latencyMs = 0, respond, scheduler = asyncScheduler } = options;
  const sent: SentPipeline[] = [];
  const answer = (commands: ReadonlyArray<BatchCommand>): ReadonlyArray<CommandResult> =>
    commands.map((command) => {
      try {
        return { ok: true, value: reply(command) };
      } catch (e) {
        return { ok: false, error: toRedisError(e, command[0].toUpperCase()) };
      }
    });
  return {
    sent,
    runPipeline: (commands) => {
      const n = sent.length;
      sent.push({ commands, time: scheduler.now() });
      if (respond !== undefined) return respond(commands, n);
      return latencyMs === 0
        ? of(answer(commands))
        : timer(latencyMs, scheduler).pipe(map(() => answer(commands)));
    },
  };
};
