import * as api from '../../src';
import * as testing from '../../src/testing';

/**
 * Pins the public runtime API. A change here is a change of the package's contract: update the
 * list on purpose, with the README.
 */
describe('public API', () => {
  it('exports exactly these names from the main entry', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        // Connection
        'createRedis',
        // Configuration
        'loadRedisOptions',
        'parseRedisOptions',
        'redisOptions',
        'parseConnectionString',
        'redactUrl',
        'RedisOptionsCodec',
        'Secret',
        // Sources
        'fromStream',
        'readStreamRange',
        'fromStreamGroup',
        'streamGroupStats',
        'fromChannel',
        'fromPattern',
        'fromKeyspace',
        // Operators
        'ackAfter',
        'retryWithBackoff',
        'exponential',
        'fixed',
        'jittered',
        'upTo',
        'delaysOf',
        'batchPipeline',
        'BatchOverflowError',
        'decodeWith',
        'deadLetter',
        // Sinks
        'toStream',
        'publishTo',
        // Cache
        'Cache',
        'JsonSerializer',
        'wire',
        'DateFromISOString',
        'BigIntFromString',
        'mapFromEntries',
        // Sessions
        'Session',
        'Conflict',
        'SessionNotFound',
        'InvalidSessionInput',
        'expressSessionStore',
        'ExpressSessionData',
        // Errors
        'ConfigError',
        'ConnectionError',
        'TimeoutError',
        'CommandError',
        'ClusterError',
        'DecodeError',
        'EncodeError',
        'isTransient',
        'toRedisError',
      ].sort(),
    );
  });

  it('exports exactly these names from /testing', () => {
    expect(Object.keys(testing).sort()).toEqual(
      [
        'createTestScheduler',
        'recordingLogger',
        'testMessage',
        'scriptedGroup',
        'recordingStream',
        'fakePipeline',
      ].sort(),
    );
  });
});
