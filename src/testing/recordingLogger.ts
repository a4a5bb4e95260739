import type { Logger } from '../config/types';

/** One line a {@link recordingLogger} received. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string | undefined;
}

/** A logger that keeps what it is told, for tests that check what a flow logs. */
export interface RecordingLogger extends Logger {
  readonly lines: ReadonlyArray<LogLine>;
  /** Every line as one JSON text, to search for things that must never be logged. */
  text(): string;
}

/**
 * Creates a {@link RecordingLogger}: pass it as the `logger` option, then inspect `lines`.
 *
 * @example
 * ```ts
 * const logger = recordingLogger();
 * const client = createRedis({ url: process.env.REDIS_URL, logger });
 * // …
 * expect(logger.text()).not.toContain('my-password');
 * ```
 * @since 0.1.0
 */
export const recordingLogger = (): RecordingLogger => {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => lines.map((l) => JSON.stringify(l)).join('\n'),
  };
};
