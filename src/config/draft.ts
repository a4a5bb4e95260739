/**
 * A {@link RedisOptionsInput} being assembled from text (a URL, a StackExchange string, env vars,
 * a config section). Every value is judged by its field rule as it is set, under the name the
 * user wrote (`db`, `REDIS_PORT`, `Redis.Database`), and every problem is kept, so one pass over
 * the text reports all of them.
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import type { ConfigIssue } from '../errors';
import type { RedisOptionsInput } from './types';
import { checkField, type InputField } from './fieldRules';
import { at, parseBooleanText, parseIntegerText, type Issues } from './rules';

export type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

/** One source of input: what it holds that is valid, and what was wrong with the rest. */
export interface Layer {
  readonly input: RedisOptionsInput;
  readonly issues: Issues;
}

export class Draft {
  readonly #issues: ConfigIssue[] = [];
  readonly #value: Mutable<RedisOptionsInput> = {};

  /** @param prefix path put before every name, e.g. `url` or `Redis` (empty for none). */
  constructor(readonly prefix: string) {}

  /** The dotted path of a name as the user wrote it. */
  field(name: string): string {
    return at(this.prefix, name);
  }

  problem(name: string, problem: string, allowed?: string): void {
    this.#issues.push({
      field: this.field(name),
      ...(allowed ? { problem, allowed } : { problem }),
    });
  }

  addIssues(issues: Issues): void {
    this.#issues.push(...issues);
  }

  get issues(): Issues {
    return [...this.#issues];
  }

  has(key: InputField): boolean {
    return this.#value[key] !== undefined;
  }

  /** Sets `key` when `value` passes the field's rule; else records why, under `name`. */
  set<K extends InputField>(key: K, value: RedisOptionsInput[K], name: string = key): void {
    const checked = checkField(key, value, this.field(name));
    if (E.isLeft(checked)) this.addIssues(checked.left);
    else this.#value[key] = value;
  }

  /** Sets an integer field from decimal text. */
  setInteger(key: InputField, text: string, name: string, scale = 1): void {
    const n = parseIntegerText(text);
    if (n === undefined) this.problem(name, 'must be an integer');
    else this.set(key, n * scale, name);
  }

  /** Sets a boolean field from `true`/`false`/`1`/`0` text. */
  setBoolean(key: InputField, text: string, name: string): void {
    const b = this.boolean(text, name);
    if (b !== undefined) this.set(key, b, name);
  }

  /** Reads `true`/`false`/`1`/`0` text, recording a problem under `name` when it is neither. */
  boolean(text: string, name: string): boolean | undefined {
    const b = parseBooleanText(text);
    if (b === undefined) this.problem(name, 'must be a boolean', 'true, false, 1, 0');
    return b;
  }

  /** Sets a value that was already judged (endpoints parsed from text, for instance). */
  put<K extends InputField>(key: K, value: RedisOptionsInput[K]): void {
    this.#value[key] = value;
  }

  get<K extends InputField>(key: K): RedisOptionsInput[K] | undefined {
    return this.#value[key];
  }

  result(): E.Either<Issues, RedisOptionsInput> {
    return this.#issues.length > 0 ? E.left(this.issues) : E.right(this.partial());
  }

  /** What was set, whatever problems were found (to go on judging the rest of an input). */
  partial(): RedisOptionsInput {
    return { ...this.#value };
  }

  /** The valid part and every problem, for sources that are merged with others before judging. */
  layer(): Layer {
    return { input: this.partial(), issues: this.issues };
  }
}
