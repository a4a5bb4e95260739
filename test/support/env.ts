/**
 * Helpers for integration tests: where the run's Redis servers are, per-test key prefixes,
 * cleanup of a test's own keys, and polling for conditions that have no event.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';

import type { HostPort } from './cluster';

/** Env var with the standalone server's URL (set by globalSetup). */
export const TEST_REDIS_URL_ENV = 'MAMEY_TEST_REDIS_URL';
/** Env var with the Cluster's nodes, `host:port,host:port,…` (set by globalSetup). */
export const TEST_CLUSTER_NODES_ENV = 'MAMEY_TEST_CLUSTER_NODES';

const NOT_SET_HELP =
  'run integration tests through the jest "integration" project, whose globalSetup ' +
  '(test/support/globalSetup.ts) starts Redis or passes on REDIS_URL / REDIS_CLUSTER_NODES';

/**
 * The standalone server of this run.
 *
 * @returns a `redis://` URL (`MAMEY_TEST_REDIS_URL`)
 * @throws Error when the harness did not set it up
 */
export function testRedisUrl(): string {
  const url = process.env[TEST_REDIS_URL_ENV];
  if (url === undefined || url === '')
    throw new Error(`${TEST_REDIS_URL_ENV} is not set: ${NOT_SET_HELP}`);
  return url;
}

/**
 * Parses `host:port,host:port,…`.
 *
 * @param list - comma-separated addresses
 * @returns the addresses
 * @throws Error naming the entry that is not `host:port`
 */
export function parseHostPorts(list: string): HostPort[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const colon = entry.lastIndexOf(':');
      const port = Number(entry.slice(colon + 1));
      if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535)
        throw new Error(`not a host:port address: ${JSON.stringify(entry)}`);
      return { host: entry.slice(0, colon), port };
    });
}

/**
 * The Cluster nodes of this run, for `new Cluster(testClusterNodes())`.
 *
 * @returns every node (`MAMEY_TEST_CLUSTER_NODES`)
 * @throws Error when the harness did not set it up
 */
export function testClusterNodes(): HostPort[] {
  const list = process.env[TEST_CLUSTER_NODES_ENV];
  if (list === undefined || list === '')
    throw new Error(`${TEST_CLUSTER_NODES_ENV} is not set: ${NOT_SET_HELP}`);
  return parseHostPorts(list);
}

/**
 * A random key prefix for one test, so tests sharing a server never see each other's keys.
 *
 * @param name - the test's name (kept readable in the keys)
 * @param options - `hashTag: true` wraps the random part in `{…}` so every key under the prefix
 *   hashes to one Cluster slot (multi-key commands, MULTI, Lua)
 * @returns `t:<name>:<random>:` or `t:<name>:{<random>}:`
 */
export function uniquePrefix(name: string, options: { hashTag?: boolean } = {}): string {
  const random = randomBytes(6).toString('hex');
  return `t:${name}:${options.hashTag ? `{${random}}` : random}:`;
}

/** Escapes glob metacharacters so SCAN MATCH reads `prefix` literally. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

async function deleteOnNode(node: Redis, pattern: string, perKey: boolean): Promise<number> {
  if (node.options.keyPrefix)
    // ioredis would prefix the scanned (already full) names again and delete nothing
    throw new TypeError('deleteKeys: pass a client without keyPrefix');
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    if (perKey) {
      // a Cluster node refuses multi-key commands across slots, even slots it owns
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.unlink(key);
      const results = (await pipeline.exec()) ?? [];
      for (const [err, count] of results) {
        if (err) throw err;
        deleted += Number(count);
      }
    } else {
      deleted += await node.unlink(...keys);
    }
  } while (cursor !== '0');
  return deleted;
}

/**
 * Deletes the keys starting with `prefix`, and only those (SCAN, on every master of a Cluster).
 *
 * @example
 * ```ts
 * afterEach(() => deleteKeys(redis, prefix));
 * ```
 *
 * @param client - an ioredis `Redis` or `Cluster` without `keyPrefix`
 * @param prefix - usually from {@link uniquePrefix}; never empty
 * @returns how many keys were deleted
 */
export async function deleteKeys(client: Redis | Cluster, prefix: string): Promise<number> {
  if (prefix === '') throw new TypeError('deleteKeys: an empty prefix would delete every key');
  const pattern = `${escapeGlob(prefix)}*`;
  if (!(client instanceof Cluster)) return deleteOnNode(client, pattern, false);
  // nodes('master') lists only what the client has discovered: make sure it has the slot map
  if (client.status !== 'ready') await client.ping();
  const counts = await Promise.all(
    client.nodes('master').map((node) => deleteOnNode(node, pattern, true)),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** @defaultValue 10000 */
  readonly timeoutMs?: number;
  /** @defaultValue 50 */
  readonly intervalMs?: number;
  /** What is being waited for, in the timeout error. */
  readonly message?: string;
}

/**
 * Polls `probe` until it returns a truthy value, for conditions that emit no event (a key
 * expiring on the server, a replica catching up). A throwing probe counts as "not yet"; its last
 * error is quoted in the timeout error.
 *
 * @example
 * ```ts
 * await waitFor(async () => (await redis.exists(key)) === 0, { message: `${key} expired` });
 * ```
 *
 * @param probe - the condition
 * @param options - see {@link WaitForOptions}
 * @returns the first truthy value of `probe`
 * @throws Error after `timeoutMs`
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`waitFor: ${message} not met within ${timeoutMs}ms${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
