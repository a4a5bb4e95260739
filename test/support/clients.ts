/**
 * The two topologies every integration suite runs against, as client factories for
 * `describe.each`: the run's standalone server and its Cluster.
 */
import { createRedis, type RedisClient, type RedisOptionsInput } from '../../src';
import { testClusterNodes, testRedisUrl } from './env';

/** `host:port` of every node of the run's Cluster, as `cluster` seeds. */
export const clusterSeeds = (): string[] => testClusterNodes().map((n) => `${n.host}:${n.port}`);

/** `[name, make]` pairs: `make(extra)` opens a client on that topology with extra options. */
export const topologies: Array<[string, (extra?: RedisOptionsInput) => RedisClient]> = [
  ['standalone', (extra = {}) => createRedis({ url: testRedisUrl(), ...extra })],
  ['Cluster', (extra = {}) => createRedis({ cluster: clusterSeeds(), ...extra })],
];
