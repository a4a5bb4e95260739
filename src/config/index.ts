/**
 * Configuration: every way to describe a Redis connection, turned into one validated
 * {@link RedisOptions}. A hand-kept list of the public names; internals stay unexported.
 *
 * @since 0.1.0
 */
export { RedisOptionsCodec } from './RedisOptions';
export { parseConnectionString } from './parseConnectionString';
export { redactUrl } from './redactUrl';
export { loadRedisOptions, parseRedisOptions } from './loadRedisOptions';
export type { RedisOptionsSource } from './loadRedisOptions';
export { redisOptions } from './builder';
export type { RedisOptionsBuilder } from './builder';
export { Secret, secret } from './Secret';
export type {
  Endpoint,
  Logger,
  RedisOptions,
  RedisOptionsInput,
  SentinelOptions,
  TlsOptions,
} from './types';
