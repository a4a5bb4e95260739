import * as t from 'io-ts';
import { inspect } from 'node:util';
import {
  BatchOverflowError,
  ClusterError,
  CommandError,
  ConfigError,
  ConnectionError,
  DecodeError,
  TimeoutError,
  isTransient,
  toRedisError,
} from '../../src/errors';

const replyError = (message: string, command?: { name: string; args: unknown[] }) => {
  const e = new Error(message);
  e.name = 'ReplyError';
  if (command) Object.assign(e, { command });
  return e;
};
const sysError = (code: string) =>
  Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });

describe('toRedisError', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ECONNRESET', 'closed'],
    ['ENOTFOUND', 'dns'],
    ['ETIMEDOUT', 'unavailable'],
  ])('maps %s to ConnectionError(%s)', (code, reason) => {
    const e = toRedisError(sysError(code), 'GET');
    expect(e).toBeInstanceOf(ConnectionError);
    expect((e as ConnectionError).reason).toBe(reason);
    expect(e.message).toContain('GET');
  });

  it('maps ioredis command timeouts to TimeoutError', () => {
    expect(toRedisError(new Error('Command timed out'), 'GET')).toBeInstanceOf(TimeoutError);
  });

  it('maps a closed connection to ConnectionError(closed)', () => {
    const e = toRedisError(new Error('Connection is closed.'));
    expect(e).toBeInstanceOf(ConnectionError);
    expect((e as ConnectionError).reason).toBe('closed');
  });

  it('maps MaxRetriesPerRequestError to ConnectionError(unavailable)', () => {
    const e = new Error('Reached the max retries per request limit (which is 3).');
    e.name = 'MaxRetriesPerRequestError';
    expect((toRedisError(e) as ConnectionError).reason).toBe('unavailable');
  });

  it('maps WRONGPASS to ConnectionError(auth) and drops the AUTH arguments', () => {
    const e = toRedisError(
      replyError('WRONGPASS invalid username-password pair or user is disabled.', {
        name: 'auth',
        args: ['alice', 'S3cr3t-P@ss'],
      }),
    );
    expect(e).toBeInstanceOf(ConnectionError);
    expect((e as ConnectionError).reason).toBe('auth');
    expect(inspect(e, { depth: 10 })).not.toContain('S3cr3t-P@ss');
    expect(JSON.stringify(e)).not.toContain('S3cr3t-P@ss');
  });

  it('maps READONLY to a transient CommandError', () => {
    const e = toRedisError(
      replyError("READONLY You can't write against a read only replica."),
      'SET',
    );
    expect(e).toBeInstanceOf(CommandError);
    expect((e as CommandError).code).toBe('READONLY');
    expect(isTransient(e)).toBe(true);
  });

  it('maps WRONGTYPE to a permanent CommandError and keeps no argument values', () => {
    const e = toRedisError(
      replyError('WRONGTYPE Operation against a key holding the wrong kind of value', {
        name: 'set',
        args: ['k', 'a value that must not leak'],
      }),
      'SET',
    );
    expect((e as CommandError).code).toBe('WRONGTYPE');
    expect(isTransient(e)).toBe(false);
    expect(inspect(e, { depth: 10 })).not.toContain('must not leak');
  });

  it.each([
    'Too many Cluster redirections. Last error: MOVED 1 127.0.0.1:7000',
    'CLUSTERDOWN The cluster is down',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'Failed to refresh slots cache.',
  ])('maps "%s" to ClusterError', (message) => {
    const e = toRedisError(replyError(message));
    expect(e).toBeInstanceOf(ClusterError);
    expect(isTransient(e)).toBe(true);
  });

  it('maps script errors to CommandError(SCRIPT)', () => {
    const e = toRedisError(
      replyError('ERR Error running script (call to f_abc): @user_script:1: oops'),
      'EVALSHA',
    );
    expect((e as CommandError).code).toBe('SCRIPT');
    const noscript = toRedisError(replyError('NOSCRIPT No matching script.'), 'EVALSHA');
    expect((noscript as CommandError).code).toBe('NOSCRIPT');
  });

  it('maps LOADING to a transient ConnectionError', () => {
    const e = toRedisError(replyError('LOADING Redis is loading the dataset in memory'));
    expect((e as ConnectionError).reason).toBe('loading');
    expect(isTransient(e)).toBe(true);
  });

  it('passes library errors through unchanged, so wrapping happens once', () => {
    const e = new TimeoutError('x', 5);
    expect(toRedisError(e)).toBe(e);
  });

  it('treats non-Redis throwables as permanent client errors', () => {
    const e = toRedisError(new TypeError('bad argument'));
    expect(e).toBeInstanceOf(CommandError);
    expect(isTransient(e)).toBe(false);
    expect(toRedisError('a string')).toBeInstanceOf(CommandError);
  });
});

describe('error classes', () => {
  it('carry a literal _tag usable in an exhaustive switch', () => {
    const errors = [
      new ConfigError([{ field: 'port', problem: 'must be an integer' }]),
      new ConnectionError('refused', 'x'),
      new TimeoutError('x'),
      new CommandError('GET', 'ERR', 'x'),
      new ClusterError('x'),
      new BatchOverflowError(10),
    ];
    const tags = errors.map((e) => {
      switch (e._tag) {
        case 'ConfigError':
        case 'ConnectionError':
        case 'TimeoutError':
        case 'CommandError':
        case 'ClusterError':
        case 'BatchOverflowError':
          return e._tag;
      }
    });
    expect(tags).toEqual([
      'ConfigError',
      'ConnectionError',
      'TimeoutError',
      'CommandError',
      'ClusterError',
      'BatchOverflowError',
    ]);
    errors.forEach((e) => expect(e).toBeInstanceOf(Error));
    // a source outrunning Redis is not cured by trying again at once
    expect(isTransient(new BatchOverflowError(10))).toBe(false);
  });

  it('DecodeError names the key and the io-ts path, not the value', () => {
    const User = t.type({ id: t.number, name: t.string }, 'User');
    const result = User.decode({ id: 'secret-value-123', name: 'x' });
    if (result._tag === 'Right') throw new Error('expected a decode failure');
    const e = new DecodeError('user:1', result.left);
    expect(e.message).toContain('user:1');
    expect(e.message).toContain('id');
    expect(e.message).not.toContain('secret-value-123');
  });

  it('ConfigError lists every issue with what is allowed', () => {
    const e = new ConfigError([
      { field: 'port', problem: 'must be an integer', allowed: '1–65535' },
      { field: 'database', problem: 'must not be negative' },
    ]);
    expect(e.message).toMatch(/port: must be an integer \(allowed: 1–65535\)/);
    expect(e.message).toMatch(/database: must not be negative/);
  });
});
