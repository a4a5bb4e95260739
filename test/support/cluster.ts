/**
 * Spawns a real Redis Cluster (masters with replicas, all on 127.0.0.1) for integration and
 * fault tests.
 *
 * The nodes start in parallel, `redis-cli --cluster create` joins them, and the handle is
 * returned only once every node agrees the cluster is healthy: `cluster_state:ok`, all 16384
 * slots served, every node knows every other, and each replica's link to its master is up.
 * Gossip is slow to converge on a loaded 2-core machine, so timeouts are generous and a failed
 * `--cluster create` is retried after resetting the nodes.
 *
 * @packageDocumentation
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { spawnRedis, type RedisServer } from './redisProcess';
import { parseInfo, sendForText } from './resp';

const run = promisify(execFile);

/** The redis-cli binary: `REDIS_CLI_BIN` when set, else `redis-cli` from PATH. */
export const REDIS_CLI_BIN = process.env['REDIS_CLI_BIN'] ?? 'redis-cli';

const HOST = '127.0.0.1';
const SLOTS = 16384;
const CREATE_ATTEMPTS = 3;

/** A host and port, the shape ioredis' `Cluster` takes as startup nodes. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** A node and the role it had when the cluster became healthy. */
export interface ClusterNodeInfo extends HostPort {
  readonly role: 'master' | 'replica';
}

/** Options of {@link spawnCluster}. */
export interface SpawnClusterOptions {
  /** @defaultValue 3 */
  readonly masters?: number;
  /** @defaultValue 1 */
  readonly replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a node may be unreachable before it counts as failing
   * (and its replica is promoted).
   * @defaultValue 2000
   */
  readonly nodeTimeoutMs?: number;
  /** Extra redis-server arguments for every node. */
  readonly args?: readonly string[];
  /**
   * How long to wait for a healthy cluster after each `--cluster create`.
   * @defaultValue 60000
   */
  readonly startTimeoutMs?: number;
}

/** Options of {@link RedisCluster.waitForHealthy}. */
export interface WaitHealthyOptions {
  /** @defaultValue 30000 */
  readonly timeoutMs?: number;
}

/** A running Cluster spawned by {@link spawnCluster}. */
export interface RedisCluster {
  /** Every node with its role at startup (roles change after a failover: see `masters()`). */
  readonly nodes: readonly ClusterNodeInfo[];
  /** Every node's address, for `new Cluster(cluster.startupNodes)`. */
  readonly startupNodes: readonly HostPort[];
  /** The server handle of the node on `port`. */
  server(port: number): RedisServer;
  /** The current masters (asked from a running node, so failovers show). */
  masters(): Promise<HostPort[]>;
  /**
   * Waits until the running nodes agree the cluster is healthy: state ok, all slots served by
   * the expected number of masters, replica links up (and, when every node runs, each master has
   * its replicas).
   */
  waitForHealthy(options?: WaitHealthyOptions): Promise<void>;
  /** SIGKILL (or `signal`) the node on `port` and wait for its exit. */
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  /** Restart the node on `port` with its data folder, so it rejoins with its `nodes.conf`. */
  restart(port: number): Promise<void>;
  /** Stop every node and remove their folders. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// reading the cluster's view of itself

interface NodeLine {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  readonly masterId: string | undefined;
  readonly slots: number;
}

/** Parses `CLUSTER NODES` (`<id> <ip:port@bus> <flags> <master> … <slot ranges>`). */
function parseClusterNodes(text: string): NodeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', addr = '', flags = '', master = '-', ...rest] = line.trim().split(' ');
      let slots = 0;
      // after ping-sent, pong-recv, config-epoch, link-state come the slot ranges ("0-5460", "42")
      for (const range of rest.slice(4)) {
        if (range.startsWith('[')) continue; // a slot being migrated
        const [from, to = from] = range.split('-').map(Number);
        if (from !== undefined && to !== undefined) slots += to - from + 1;
      }
      return {
        id,
        port: Number(addr.split('@')[0]?.split(':').pop()),
        flags: flags.split(','),
        masterId: master === '-' ? undefined : master,
        slots,
      };
    });
}

const BAD_FLAGS = ['fail', 'fail?', 'handshake', 'noaddr'];

/**
 * Checks one round of health of the running nodes.
 *
 * @returns `undefined` when healthy, else what is still wrong (quoted in timeout errors)
 */
async function healthProblem(
  running: readonly RedisServer[],
  total: number,
  masters: number,
  replicasPerMaster: number,
): Promise<string | undefined> {
  const runningPorts = new Set(running.map((s) => s.port));
  for (const server of running) {
    const target = { host: HOST, port: server.port };
    const info = parseInfo(await sendForText(target, ['CLUSTER', 'INFO']));
    if (info['cluster_state'] !== 'ok')
      return `${server.port}: cluster_state:${info['cluster_state']}`;
    if (Number(info['cluster_slots_ok']) !== SLOTS)
      return `${server.port}: cluster_slots_ok:${info['cluster_slots_ok']}`;
    if (Number(info['cluster_known_nodes']) !== total)
      return `${server.port}: cluster_known_nodes:${info['cluster_known_nodes']} of ${total}`;

    const lines = parseClusterNodes(await sendForText(target, ['CLUSTER', 'NODES']));
    const liveLines = lines.filter((l) => runningPorts.has(l.port));
    const flagged = liveLines.find((l) => l.flags.some((f) => BAD_FLAGS.includes(f)));
    if (flagged) return `${server.port} sees ${flagged.port} as ${flagged.flags.join(',')}`;
    const servingMasters = lines.filter(
      (l) => l.flags.includes('master') && l.slots > 0 && !l.flags.includes('fail'),
    );
    if (servingMasters.length !== masters)
      return `${server.port} sees ${servingMasters.length} serving masters, expected ${masters}`;
    if (running.length === total) {
      for (const master of servingMasters) {
        const replicas = lines.filter((l) => l.masterId === master.id).length;
        if (replicas !== replicasPerMaster)
          return `${server.port} sees ${replicas} replicas of ${master.port}, expected ${replicasPerMaster}`;
      }
    }
    const me = lines.find((l) => l.flags.includes('myself'));
    if (me?.flags.includes('slave')) {
      const repl = parseInfo(await sendForText(target, ['INFO', 'replication']));
      if (repl['master_link_status'] !== 'up')
        return `replica ${server.port}: master_link_status:${repl['master_link_status']}`;
    }
  }
  return undefined;
}

async function waitHealthy(
  servers: readonly RedisServer[],
  masters: number,
  replicasPerMaster: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let problem: string | undefined = 'not checked yet';
  while (Date.now() < deadline) {
    try {
      const running = servers.filter((s) => s.running);
      problem = await healthProblem(running, servers.length, masters, replicasPerMaster);
      if (problem === undefined) return;
    } catch (err) {
      problem = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Redis Cluster not healthy within ${timeoutMs}ms: ${problem}`);
}

// ---------------------------------------------------------------------------------------------
// creating

/** Forgets a half-made cluster so `--cluster create` can run again on empty nodes. */
async function resetNodes(servers: readonly RedisServer[]): Promise<void> {
  await Promise.all(
    servers.map(async (s) => {
      const target = { host: HOST, port: s.port };
      // a master must be empty to be reset; a replica refuses FLUSHALL, and RESET empties it
      await sendForText(target, ['FLUSHALL']).catch(() => undefined);
      await sendForText(target, ['CLUSTER', 'RESET', 'HARD']);
    }),
  );
}

async function createCluster(
  servers: readonly RedisServer[],
  replicasPerMaster: number,
): Promise<void> {
  const args = ['--cluster', 'create', ...servers.map((s) => `${HOST}:${s.port}`)];
  args.push('--cluster-replicas', String(replicasPerMaster), '--cluster-yes');
  try {
    // --cluster create sleeps and polls in whole seconds while gossip converges: ~2 s here
    await run(REDIS_CLI_BIN, args, { timeout: 120_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string };
    if (e.code === 'ENOENT')
      throw new Error(`${REDIS_CLI_BIN} not found on PATH (it ships with redis-server)`);
    throw new Error(`redis-cli --cluster create failed: ${e.message}\n${e.stdout ?? ''}`);
  }
}

/**
 * Starts a Redis Cluster on free ports and waits until it is healthy.
 *
 * @example
 * ```ts
 * const cluster = await spawnCluster();
 * const client = new Cluster([...cluster.startupNodes]);
 * await client.set('{user:1}:name', 'Ada');
 * ```
 *
 * @param options - see {@link SpawnClusterOptions}
 * @returns a handle; call `stop()` in `afterAll`
 * @throws Error naming what was still unhealthy when the cluster does not form
 */
export async function spawnCluster(options: SpawnClusterOptions = {}): Promise<RedisCluster> {
  const {
    masters = 3,
    replicasPerMaster = 1,
    nodeTimeoutMs = 2000,
    args = [],
    startTimeoutMs = 60_000,
  } = options;
  if (masters < 3)
    throw new TypeError('spawnCluster: redis-cli --cluster create needs 3 masters or more');
  const count = masters * (1 + replicasPerMaster);
  const nodeArgs = [
    ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    ...['--cluster-node-timeout', String(nodeTimeoutMs)],
    ...args,
  ];

  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      spawnRedis({ name: `cluster${i}`, clusterBus: true, args: nodeArgs }),
    ),
  );
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stopAll = (): Promise<unknown> => Promise.all(servers.map((s) => s.stop()));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopAll();
    throw failed.reason;
  }

  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await createCluster(servers, replicasPerMaster);
        await waitHealthy(servers, masters, replicasPerMaster, startTimeoutMs);
        break;
      } catch (err) {
        if (attempt >= CREATE_ATTEMPTS) throw err;
        await resetNodes(servers);
      }
    }
  } catch (err) {
    const logs = servers.map((s) => `--- ${s.port}:\n${s.logTail(8)}`).join('\n');
    await stopAll();
    throw new Error(`${(err as Error).message}\nNode log tails:\n${logs}`);
  }

  const lines = parseClusterNodes(
    await sendForText({ host: HOST, port: servers[0]!.port }, ['CLUSTER', 'NODES']),
  );
  const nodes = servers.map((s): ClusterNodeInfo => ({
    host: HOST,
    port: s.port,
    role: lines.find((l) => l.port === s.port)?.flags.includes('master') ? 'master' : 'replica',
  }));
  return makeHandle(servers, nodes, masters, replicasPerMaster);
}

function makeHandle(
  servers: readonly RedisServer[],
  nodes: readonly ClusterNodeInfo[],
  masterCount: number,
  replicasPerMaster: number,
): RedisCluster {
  const server = (port: number): RedisServer => {
    const found = servers.find((s) => s.port === port);
    if (!found) throw new Error(`no cluster node on port ${port}`);
    return found;
  };
  return {
    nodes,
    startupNodes: nodes.map(({ host, port }) => ({ host, port })),
    server,
    async masters() {
      const up = servers.find((s) => s.running);
      if (!up) throw new Error('no cluster node is running');
      const lines = parseClusterNodes(
        await sendForText({ host: HOST, port: up.port }, ['CLUSTER', 'NODES']),
      );
      return lines
        .filter((l) => l.flags.includes('master') && !l.flags.includes('fail'))
        .map((l) => ({ host: HOST, port: l.port }));
    },
    waitForHealthy: ({ timeoutMs = 30_000 } = {}) =>
      waitHealthy(servers, masterCount, replicasPerMaster, timeoutMs),
    kill: (port, signal) => server(port).kill(signal),
    restart: (port) => server(port).restart(),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
