/**
 * @mamey/persistence-redis — Redis as a reactive and functional data layer.
 *
 * The public list is kept by hand, name by name; test/unit/index.spec.ts pins it.
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

// Sources
export { fromStream } from './sources/fromStream';
export type { FromStreamConfig } from './sources/fromStream';
export { readStreamRange } from './sources/readStreamRange';
export type { ReadStreamRangeConfig } from './sources/readStreamRange';
export { fromStreamGroup } from './sources/fromStreamGroup';
export type { FromStreamGroupConfig, LostAck } from './sources/fromStreamGroup';
export { streamGroupStats } from './sources/streamGroupStats';
export type { StreamGroupStats, StreamGroupStatsConfig } from './sources/streamGroupStats';
export type {
  StreamEntry,
  StreamMessage,
  StreamFields,
  StreamCodec,
  FieldInput,
  DeadLetterFields,
} from './sources/StreamEntry';
export { fromChannel } from './sources/fromChannel';
export type { ChannelMessage, FromChannelConfig, SubscriptionStatus } from './sources/fromChannel';
export { fromPattern } from './sources/fromPattern';
export type { PatternMessage, FromPatternConfig } from './sources/fromPattern';
export { fromKeyspace } from './sources/fromKeyspace';
export type { KeyspaceEvent, KeyspaceEventName, FromKeyspaceConfig } from './sources/fromKeyspace';

// Operators
export { ackAfter } from './operators/ackAfter';
export type { AckAfterConfig } from './operators/ackAfter';
export { retryWithBackoff } from './operators/retryWithBackoff';
export type { RetryWithBackoffConfig } from './operators/retryWithBackoff';
export { exponential, fixed, jittered, upTo, delaysOf } from './operators/backoff';
export type { BackoffPolicy, Jitter, ExponentialOptions } from './operators/backoff';
export { batchPipeline } from './operators/batchPipeline';
export type {
  BatchPipelineConfig,
  BatchCommand,
  BatchOutcome,
  CommandResult,
  PipelineRunner,
} from './operators/batchPipeline';
export { decodeWith } from './operators/decodeWith';
export type { DecodeWithConfig } from './operators/decodeWith';
export { deadLetter } from './operators/deadLetter';
export type { DeadLetterConfig } from './operators/deadLetter';

// Sinks
export { toStream } from './sinks/toStream';
export type { ToStreamConfig } from './sinks/toStream';
export { publishTo } from './sinks/publishTo';
export type { PublishToConfig } from './sinks/publishTo';

// Cache
import * as Cache from './cache/Cache';
export { Cache };
export type {
  CacheError,
  CacheOptions,
  Lookup,
  StaleIfErrorOptions,
  MemoryOptions,
  LockOptions,
  Clock,
} from './cache/Cache';
export { JsonSerializer } from './cache/Serializer';
export type { Serializer } from './cache/Serializer';
export { wire } from './cache/codecs/wire';
export { DateFromISOString } from './cache/codecs/DateFromISOString';
export { BigIntFromString } from './cache/codecs/BigIntFromString';
export { mapFromEntries } from './cache/codecs/mapFromEntries';

// Sessions
import * as Session from './cache/Session';
export { Session };
export { Conflict, SessionNotFound, InvalidSessionInput } from './cache/Session';
export type {
  SessionConfig,
  SessionError,
  SessionRecord,
  SessionStore,
  UserSession,
} from './cache/Session';
export { expressSessionStore, ExpressSessionData } from './cache/expressSessionStore';
export type { ExpressSessionStoreOptions } from './cache/expressSessionStore';

// Errors
export {
  ConfigError,
  ConnectionError,
  TimeoutError,
  CommandError,
  ClusterError,
  DecodeError,
  EncodeError,
  BatchOverflowError,
  isTransient,
  toRedisError,
} from './errors';
export type { ConfigIssue, ConnectionFailure, RedisError, MameyRedisError } from './errors';
