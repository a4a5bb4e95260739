/**
 * @mamey/persistence-redis — Redis as a reactive and functional data layer.
 *
 * The public list is kept by hand (no `export *`); test/unit/index.spec.ts pins it.
 */

// Connection
export { createRedis } from './connection/createRedis';
export type {
  RedisClient,
  Commands,
  ConnectionStatus,
  DedicatedConnection,
  CloseHook,
  CloseOptions,
} from './connection/RedisClient';
export type { ClientMetrics, CommandStats, MetricsSnapshot } from './connection/metrics';

// Configuration
export { loadRedisOptions, parseRedisOptions } from './config/loadRedisOptions';
export { redisOptions } from './config/builder';
export type { RedisOptionsBuilder } from './config/builder';
export { parseConnectionString, redactUrl } from './config/parseConnectionString';
export { RedisOptionsCodec } from './config/RedisOptions';
export { Secret } from './config/Secret';
export type {
  RedisOptions,
  RedisOptionsInput,
  Endpoint,
  TlsOptions,
  SentinelOptions,
  Logger,
} from './config/types';

// Errors
export {
  ConfigError,
  ConnectionError,
  TimeoutError,
  CommandError,
  ClusterError,
  DecodeError,
  EncodeError,
  isTransient,
  toRedisError,
} from './errors';
export type { ConfigIssue, ConnectionFailure, RedisError, MameyRedisError } from './errors';
