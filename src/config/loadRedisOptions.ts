import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { ConfigError } from '../errors';
import type { RedisOptions, RedisOptionsInput } from './types';
import type { Layer } from './draft';
import { fromConfigSection } from './fromConfigSection';
import { fromEnv } from './fromEnv';
import { expandInput, mergeInputs } from './mergeInputs';
import { parseConnectionStringAt } from './parseConnectionString';
import { decodeInput } from './RedisOptions';

/** Where {@link loadRedisOptions} reads from. Every part is optional. */
export interface RedisOptionsSource {
  /** Environment variables, usually `process.env` (never read implicitly). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A parsed JSON configuration, e.g. the contents of `appsettings.json`. */
  readonly config?: unknown;
  /** Section of `config` to read; nested names joined with `:`. @defaultValue 'Redis' */
  readonly section?: string;
  /** Options that win over every other source. */
  readonly overrides?: RedisOptionsInput;
}

/**
 * Merges layers (later ones win) and judges the result; the layers' own problems come first.
 *
 * @internal
 */
export const decodeLayers = (layers: ReadonlyArray<Layer>): E.Either<ConfigError, RedisOptions> => {
  const merged = layers.reduce<RedisOptionsInput>((acc, l) => mergeInputs(acc, l.input), {});
  const decoded = decodeInput(merged);
  const issues = [...layers.flatMap((l) => l.issues), ...(E.isLeft(decoded) ? decoded.left : [])];
  return E.isRight(decoded) && issues.length === 0
    ? E.right(decoded.right)
    : E.left(new ConfigError(issues));
};

/**
 * Loads options from the environment, a JSON configuration section and explicit overrides,
 * in that order of increasing precedence; all sources are merged before one validation, so the
 * error lists every problem of every source.
 *
 * Environment variables: `REDIS_URL` (a URL or StackExchange string), `REDIS_HOST`, `REDIS_PORT`,
 * `REDIS_USERNAME`, `REDIS_PASSWORD`, `REDIS_DB`, `REDIS_TLS` (true/false/1/0), `REDIS_INSTANCE`,
 * `REDIS_CLUSTER_NODES` (comma-separated host:port, implies Cluster), `REDIS_SENTINELS` with
 * `REDIS_SENTINEL_MASTER`, `REDIS_CONNECT_TIMEOUT_MS`, `REDIS_COMMAND_TIMEOUT_MS`,
 * `REDIS_CLIENT_NAME`. Empty variables count as unset; the single variables win over `REDIS_URL`.
 *
 * Config section: `ConnectionString` (or `Configuration`, `Url`), `Database`, `Instance` (or
 * `InstanceName`) and every other {@link RedisOptionsInput} field, keys matched case-insensitively.
 *
 * A source that names a host, endpoints, Cluster nodes or sentinels replaces the address of the
 * sources below it as a whole; other fields are merged one by one.
 *
 * @param source the environment, the configuration and its section name, and overrides
 * @returns the validated options, or a `ConfigError` whose issues name each bad field the way its
 *   source spells it (`REDIS_PORT`, `Redis.Database`, `Caching.Redis.ConnectionString.port`)
 * @example
 * ```ts
 * const options = loadRedisOptions({
 *   env: process.env,
 *   config: { Redis: { ConnectionString: 'localhost:6379,password=secret', Instance: 'MyApp:' } },
 *   overrides: { clientName: 'orders-api' },
 * });
 * ```
 * @since 0.1.0
 */
export const loadRedisOptions = (
  source: RedisOptionsSource,
): E.Either<ConfigError, RedisOptions> => {
  const layers: Layer[] = [];
  if (source.env !== undefined) layers.push(fromEnv(source.env));
  if (source.config !== undefined || source.section !== undefined) {
    layers.push(fromConfigSection(source.config, source.section ?? 'Redis'));
  }
  if (source.overrides !== undefined) layers.push(expandInput(source.overrides, ''));
  return decodeLayers(layers);
};

/**
 * Validates options given as a connection string or an options object; what `createRedis` runs
 * on its argument.
 *
 * @param input a `redis://` URL, a StackExchange-style string, or a {@link RedisOptionsInput}
 * @returns the validated options, or a `ConfigError` naming every bad field
 * @example
 * ```ts
 * parseRedisOptions('localhost:6379,defaultDatabase=2'); // Right({ database: 2, … })
 * parseRedisOptions({ host: 'cache', port: 70000 }); // Left(ConfigError: port: is out of range …)
 * ```
 * @see parseConnectionString for the string forms
 * @since 0.1.0
 */
export const parseRedisOptions = (
  input: string | RedisOptionsInput,
): E.Either<ConfigError, RedisOptions> =>
  pipe(
    typeof input === 'string'
      ? pipe(parseConnectionStringAt(input, ''), E.flatMap(decodeInput))
      : decodeInput(input),
    E.mapLeft((issues) => new ConfigError(issues)),
  );
