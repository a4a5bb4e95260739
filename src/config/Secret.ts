import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A string that must never be printed: `toString`, `JSON.stringify`, `util.inspect` and template
 * literals all show `[redacted]`. Read the real value with {@link Secret.reveal}, only where it is
 * handed to the connection.
 *
 * @since 0.1.0
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The secret value itself. Call it only to hand the value to a connection. */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
  [Symbol.toPrimitive](): string {
    return REDACTED;
  }
}

/** Wraps a string as a {@link Secret}; `undefined` stays `undefined`. */
export const secret = (value: string | undefined): Secret | undefined =>
  value === undefined ? undefined : new Secret(value);

/** @internal */
export const REDACTED_TEXT = REDACTED;
