/**
 * The cross-process stampede lock of `getOrSet`: `SET key token NX PX ttl` to take it, a Lua
 * compare-and-delete (src/lua/cache-release-1.lua) to release it, so only its owner can.
 * The PX bounds how long a crashed owner blocks the others.
 *
 * @internal
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Commands } from '../connection/RedisClient';

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * Options of the cross-process lock of `getOrSet`.
 *
 * @since 0.2.0
 */
export interface LockOptions {
  /**
   * How long a taken lock lives if its owner never releases it (a crash). Should exceed the
   * slowest `load`: past it, another process may load too.
   * @defaultValue 10000
   */
  readonly ttlMs?: number;
  /**
   * How long a process that did not get the lock waits for the owner's value before giving up
   * with a `TimeoutError`.
   * @defaultValue 10000
   */
  readonly waitMs?: number;
  /**
   * How often a waiting process looks for the value (it is also woken by the owner's
   * invalidation message).
   * @defaultValue 25
   */
  readonly pollMs?: number;
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/** A random owner token. */
export const token = (): string => randomBytes(16).toString('hex');

let releaseScript: string | undefined;
const release = (): string =>
  (releaseScript ??= readFileSync(join(__dirname, '..', 'lua', 'cache-release-1.lua'), 'utf8'));

// -------------------------------------------------------------------------------------
// destructors
// -------------------------------------------------------------------------------------

/** Takes the lock: resolves true when this caller now owns it. */
export const acquire = async (
  redis: Commands,
  key: string,
  owner: string,
  ttlMs: number,
): Promise<boolean> => (await redis.set(key, owner, 'PX', ttlMs, 'NX')) === 'OK';

/** Releases the lock if `owner` still holds it: resolves true when it did. */
export const releaseLock = async (redis: Commands, key: string, owner: string): Promise<boolean> =>
  Number(await redis.eval(release(), 1, key, owner)) === 1;
