import type { Logger } from '../config/types';

const noop = (): void => undefined;

/** The default logger: says nothing. @internal */
export const silentLogger: Logger = Object.freeze({
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
});
