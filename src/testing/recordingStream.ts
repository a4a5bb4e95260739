import { asyncScheduler, map, type OperatorFunction, type SchedulerLike } from 'rxjs';

/** One entry a {@link RecordingStream} received. */
export interface RecordedEntry<A> {
  readonly id: string;
  readonly value: A;
  /** Virtual time of the write. */
  readonly time: number;
}

/** Options of {@link recordingStream}. */
export interface RecordingStreamOptions<A> {
  /**
   * Makes a write fail: return an error for the values that should fail (the `n`th write, from
   * 0, counting failed ones), `undefined` for the others.
   * @defaultValue every write succeeds
   */
  readonly failWith?: (value: A, n: number) => unknown;
  /**
   * Clock of the recorded times. Inside `TestScheduler.run` the default reads virtual time.
   * @defaultValue asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
}

/**
 * A stream that only records what is written to it, in place of `toStream(client, name)`.
 *
 * @since 0.1.0
 */
export interface RecordingStream<A> {
  readonly name: string;
  /** What was written, in order. */
  readonly entries: ReadonlyArray<RecordedEntry<A>>;
  /**
   * The sink: like `toStream`, an operator that writes each value and emits its entry id
   * (`1-0`, `2-0`, …), synchronously.
   */
  write(): OperatorFunction<A, string>;
}

/**
 * Creates a {@link RecordingStream}, the test double of `toStream` for marble tests.
 *
 * @example
 * ```ts
 * const out = recordingStream<Receipt>('receipts');
 * expectObservable(receipts$.pipe(out.write())).toBe('--a-b', { a: '1-0', b: '2-0' });
 * // after run: expect(out.entries.map((e) => e.value)).toEqual([r1, r2])
 * ```
 * @param name - the stream's name
 * @param options - see {@link RecordingStreamOptions}
 * @returns the stream; its `write()` stands in for `toStream(client, name)`
 * @since 0.1.0
 */
export const recordingStream = <A>(
  name: string,
  options: RecordingStreamOptions<A> = {},
): RecordingStream<A> => {
  const { failWith, scheduler = asyncScheduler } = options;
  const entries: Array<RecordedEntry<A>> = [];
  let writes = 0;
  return {
    name,
    entries,
    write: () =>
      map((value: A) => {
        const error = failWith?.(value, writes++);
        if (error !== undefined) throw error;
        const id = `${entries.length + 1}-0`;
        entries.push({ id, value, time: scheduler.now() });
        return id;
      }),
  };
};
