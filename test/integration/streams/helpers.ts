/**
 * Shared pieces of the stream integration suites: the two topologies, redis-cli, and XPENDING
 * probes.
 */
import { execFile } from 'node:child_process';
import { Cluster } from 'ioredis';
import type { RedisClient, RedisOptionsInput } from '../../../src';
import { parsePendingSummary } from '../../../src/internal/streamReplies';
import { REDIS_CLI_BIN } from '../../support/cluster';
import { topologies } from '../../support/clients';
import { testClusterNodes, testRedisUrl } from '../../support/env';

export type Make = (options?: RedisOptionsInput) => RedisClient;

/** `describe.each` rows: the run's standalone server and its Cluster. */
export const targets = topologies;

/** redis-cli against the server (Cluster: `-c`, following redirections) that serves the run. */
export const redisCli = (kind: string, args: string[]): Promise<string> => {
  const where =
    kind === 'Cluster'
      ? ['-c', '-h', testClusterNodes()[0]!.host, '-p', String(testClusterNodes()[0]!.port)]
      : ['-u', testRedisUrl()];
  return new Promise((resolve, reject) =>
    execFile(REDIS_CLI_BIN, [...where, ...args], { timeout: 10_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
};

/** Pending entries of a group: total and per consumer. */
export const pendingOf = async (
  client: RedisClient,
  stream: string,
  group: string,
): Promise<{ count: number; consumers: Readonly<Record<string, number>> }> =>
  parsePendingSummary(await client.redis.xpending(client.key(stream), group));

/** Connections of `client` named `<clientName>:blocking` that are still open, on every node. */
export const blockingConnections = async (client: RedisClient, name: string): Promise<number> => {
  const nodes = client.redis instanceof Cluster ? client.redis.nodes('master') : [client.redis];
  let n = 0;
  for (const node of nodes) {
    const list = String(await node.client('LIST'));
    n += list.split('\n').filter((l) => l.includes(` name=${name}:blocking `)).length;
  }
  return n;
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
