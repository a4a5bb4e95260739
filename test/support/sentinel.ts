/**
 * Spawns a minimal Sentinel setup for integration and fault tests: one master, one replica and
 * one sentinel (quorum 1), all on 127.0.0.1.
 *
 * The sentinel is started only after the replica's link is up, so the sentinel's very first
 * INFO of the master already lists the replica (otherwise discovery waits for the next INFO,
 * up to 10 s later), and the handle is returned once the sentinel names the master and knows
 * the replica.
 *
 * @packageDocumentation
 */
import { spawnRedis, type RedisServer } from './redisProcess';
import { parseInfo, RespError, sendCommand, sendForText, type RespReply } from './resp';
import type { HostPort } from './cluster';

const HOST = '127.0.0.1';

/** Options of {@link spawnSentinel}. */
export interface SpawnSentinelOptions {
  /**
   * The monitored master's name (ioredis' `name` option).
   * @defaultValue 'mymaster'
   */
  readonly masterName?: string;
  /**
   * `sentinel down-after-milliseconds`: how long the master may be unreachable before the
   * sentinel fails over (short, so failover tests are quick).
   * @defaultValue 1000
   */
  readonly downAfterMs?: number;
  /**
   * `sentinel failover-timeout`.
   * @defaultValue 5000
   */
  readonly failoverTimeoutMs?: number;
  /**
   * How long to wait for the setup to be ready.
   * @defaultValue 30000
   */
  readonly startTimeoutMs?: number;
}

/** A running Sentinel setup spawned by {@link spawnSentinel}. */
export interface RedisSentinel {
  readonly masterName: string;
  /** The sentinels, for ioredis' `{ sentinels, name }`. */
  readonly sentinels: readonly HostPort[];
  /** The server that was master at startup. */
  readonly master: RedisServer;
  /** The server that was replica at startup. */
  readonly replica: RedisServer;
  /** The sentinel process itself (to kill or restart it). */
  readonly sentinel: RedisServer;
  /** The master's address as the sentinel reports it now (changes after a failover). */
  masterAddress(): Promise<HostPort>;
  /** Stop all three processes and remove their folders. */
  stop(): Promise<void>;
}

function asStrings(reply: RespReply): string[] | undefined {
  return Array.isArray(reply) && reply.every((r) => typeof r === 'string')
    ? (reply as string[])
    : undefined;
}

async function poll<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Sentinel setup: ${what} not reached within ${timeoutMs}ms (${last})`);
}

/**
 * Starts a master, a replica of it and a sentinel monitoring it, and waits until the sentinel
 * answers `SENTINEL get-master-addr-by-name` and knows the replica.
 *
 * @example
 * ```ts
 * const setup = await spawnSentinel({ masterName: 'mymaster' });
 * const redis = new Redis({ sentinels: [...setup.sentinels], name: setup.masterName });
 * ```
 *
 * @param options - see {@link SpawnSentinelOptions}
 * @returns a handle; call `stop()` in `afterAll`
 */
export async function spawnSentinel(options: SpawnSentinelOptions = {}): Promise<RedisSentinel> {
  const {
    masterName = 'mymaster',
    downAfterMs = 1000,
    failoverTimeoutMs = 5000,
    startTimeoutMs = 30_000,
  } = options;
  const started: RedisServer[] = [];
  const stopAll = (): Promise<unknown> => Promise.all(started.map((s) => s.stop()));
  try {
    const master = await spawnRedis({ name: 'sentinel-master' });
    started.push(master);
    const replica = await spawnRedis({
      name: 'sentinel-replica',
      args: ['--replicaof', HOST, String(master.port)],
    });
    started.push(replica);
    await poll('replica link up', startTimeoutMs, async () => {
      const info = parseInfo(await sendForText(replica, ['INFO', 'replication']));
      return info['master_link_status'] === 'up' ? true : undefined;
    });

    const sentinel = await spawnRedis({
      name: 'sentinel',
      sentinel: true,
      config: [
        `sentinel monitor ${masterName} ${HOST} ${master.port} 1`,
        `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
        `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
        '',
      ].join('\n'),
    });
    started.push(sentinel);

    const masterAddress = async (): Promise<HostPort> => {
      const reply = await sendCommand(sentinel, [
        'SENTINEL',
        'get-master-addr-by-name',
        masterName,
      ]);
      const [host, port] = asStrings(reply) ?? [];
      if (host === undefined || port === undefined)
        throw new Error(
          `sentinel does not know ${masterName}: ${reply instanceof RespError ? reply.message : JSON.stringify(reply)}`,
        );
      return { host, port: Number(port) };
    };
    await poll('master address and replica known', startTimeoutMs, async () => {
      await masterAddress();
      const replicas = await sendCommand(sentinel, ['SENTINEL', 'replicas', masterName]);
      return Array.isArray(replicas) && replicas.length > 0 ? true : undefined;
    });

    return {
      masterName,
      sentinels: [{ host: HOST, port: sentinel.port }],
      master,
      replica,
      sentinel,
      masterAddress,
      stop: async () => {
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
