import * as E from 'fp-ts/Either';
import type { ConfigError } from '../errors';
import type { Endpoint, Logger, RedisOptions, RedisOptionsInput } from './types';
import type { Secret } from './Secret';
import { decodeLayers } from './loadRedisOptions';
import { expandInput } from './mergeInputs';

/**
 * A fluent, immutable way to assemble {@link RedisOptions} (the .NET `IRedisOptionsBuilder`).
 * Every `withX` returns a new builder and leaves the one it was called on unchanged. Later calls
 * win field by field; a call that names an address (a connection string with a host, `withCluster`
 * with nodes, `withSentinel`) replaces the address set before it. Nothing is checked until
 * `build`, which reports every problem at once.
 *
 * @since 0.1.0
 */
export interface RedisOptionsBuilder {
  /** A `redis://` URL or StackExchange string; fields it sets can be overridden by later calls. */
  withConnectionString(connectionString: string): RedisOptionsBuilder;
  /** Key prefix for every key the library touches. */
  withInstance(instance: string): RedisOptionsBuilder;
  /** Logical database; must stay 0 with a Cluster. */
  withDatabase(database: number): RedisOptionsBuilder;
  /** Cluster mode; with `nodes` they are the seeds, without them the endpoints already given are. */
  withCluster(nodes?: ReadonlyArray<string | Endpoint>): RedisOptionsBuilder;
  /** Sentinel discovery: the master's name and the sentinels to ask (default port 26379). */
  withSentinel(
    masterName: string,
    sentinels: ReadonlyArray<string | Endpoint>,
  ): RedisOptionsBuilder;
  /** A string is wrapped as a {@link Secret}, so the built options never print it. */
  withPassword(password: string | Secret): RedisOptionsBuilder;
  /** ACL user name (Redis 6+). */
  withUsername(username: string): RedisOptionsBuilder;
  /** TLS; without an argument, TLS with the system's certificate authorities. */
  withTls(tls?: RedisOptionsInput['tls']): RedisOptionsBuilder;
  /** Connection name shown by CLIENT LIST. */
  withClientName(clientName: string): RedisOptionsBuilder;
  /** Client-side deadline for each command, in milliseconds. */
  withCommandTimeout(ms: number): RedisOptionsBuilder;
  /** Deadline for establishing a connection, in milliseconds. */
  withConnectTimeout(ms: number): RedisOptionsBuilder;
  /** Where the library logs (pino-compatible); silent by default. */
  withLogger(logger: Logger): RedisOptionsBuilder;
  /** Collect command metrics; on by default. */
  withMetrics(enabled: boolean): RedisOptionsBuilder;
  /** Any other input fields (keep-alive, retries, protocol…), merged like the calls above. */
  withOptions(input: RedisOptionsInput): RedisOptionsBuilder;
  /** Validates everything set so far. */
  build(): E.Either<ConfigError, RedisOptions>;
  /** Like `build`, but throws the `ConfigError`. */
  buildOrThrow(): RedisOptions;
}

const builder = (layers: ReadonlyArray<RedisOptionsInput>): RedisOptionsBuilder => {
  const add = (input: RedisOptionsInput) => builder([...layers, input]);
  const build = () => decodeLayers(layers.map((input) => expandInput(input, '')));
  return Object.freeze({
    withConnectionString: (connectionString: string) => add({ connectionString }),
    withInstance: (instance: string) => add({ instance }),
    withDatabase: (database: number) => add({ database }),
    withCluster: (nodes?: ReadonlyArray<string | Endpoint>) => add({ cluster: nodes ?? true }),
    withSentinel: (masterName: string, sentinels: ReadonlyArray<string | Endpoint>) =>
      add({ sentinel: { masterName, sentinels } }),
    withPassword: (password: string | Secret) => add({ password }),
    withUsername: (username: string) => add({ username }),
    withTls: (tls?: RedisOptionsInput['tls']) => add({ tls: tls ?? true }),
    withClientName: (clientName: string) => add({ clientName }),
    withCommandTimeout: (commandTimeoutMs: number) => add({ commandTimeoutMs }),
    withConnectTimeout: (connectTimeoutMs: number) => add({ connectTimeoutMs }),
    withLogger: (logger: Logger) => add({ logger }),
    withMetrics: (metrics: boolean) => add({ metrics }),
    withOptions: (input: RedisOptionsInput) => add(input),
    build,
    buildOrThrow: () => {
      const built = build();
      if (E.isLeft(built)) throw built.left;
      return built.right;
    },
  });
};

/**
 * Starts an empty options builder; `build()` on it gives the defaults (`localhost:6379`).
 *
 * @returns a builder with nothing set
 * @example
 * ```ts
 * const options = redisOptions()
 *   .withConnectionString('localhost:6379,password=secret')
 *   .withDatabase(2)
 *   .withInstance('MyApp:')
 *   .buildOrThrow();
 * ```
 * @since 0.1.0
 */
export const redisOptions = (): RedisOptionsBuilder => builder([]);
