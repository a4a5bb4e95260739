/**
 * Free TCP ports on 127.0.0.1 for the redis-server processes the test harness spawns.
 *
 * A port counts as free when binding it succeeds; the probe socket is closed at once. Ports are
 * picked below the kernel's ephemeral range when it is known: a server that a fault test kills
 * and restarts on the same port must find that port unused, but while it is down, outgoing
 * connections (a client reconnecting to it, in the worst case to itself through TCP
 * self-connect) may be given exactly that number from the ephemeral range. Elsewhere the kernel
 * chooses (bind port 0). Between the probe and redis-server's own bind another process may
 * still take the port, so callers that did not ask for a fixed port retry on "Address already
 * in use" (see `spawnRedis`).
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

/** Options of {@link findFreePort}. */
export interface FindFreePortOptions {
  /**
   * Also require `port + 10000` to be free: a Cluster node listens there for its cluster bus.
   * @defaultValue false
   */
  readonly clusterBus?: boolean;
  /**
   * Attempts before giving up.
   * @defaultValue 50
   */
  readonly attempts?: number;
}

const HOST = '127.0.0.1';
const CLUSTER_BUS_OFFSET = 10000;
const MAX_PORT = 65535;
/** Lowest port picked: clear of the well-known services a developer machine runs. */
const LOWEST_PORT = 10000;

/**
 * Ports already handed out by this process, so that servers spawned in parallel (the Cluster
 * nodes) never get the same port before any of them has bound it.
 */
const handedOut = new Set<number>();

/**
 * Binds `port` on 127.0.0.1 and closes it again.
 *
 * @param port - the port to try; 0 lets the kernel choose
 * @returns the bound port, or `undefined` when it is in use
 */
export function tryBind(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(undefined);
      else reject(err);
    });
    server.listen({ host: HOST, port }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** First port of the kernel's ephemeral range (Linux), or `undefined` when unknown. */
function ephemeralRangeStart(): number | undefined {
  try {
    const [start] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/);
    const port = Number(start);
    return Number.isInteger(port) && port > 0 ? port : undefined;
  } catch {
    return undefined;
  }
}

/** A candidate port: random below the ephemeral range when there is room, else kernel-chosen. */
async function candidate(clusterBus: boolean): Promise<number | undefined> {
  const start = ephemeralRangeStart();
  // the bus port must stay below the ephemeral range too
  const highest = start === undefined ? 0 : start - 1 - (clusterBus ? CLUSTER_BUS_OFFSET : 0);
  if (highest - LOWEST_PORT < 1000) return tryBind(0);
  const port = LOWEST_PORT + Math.floor(Math.random() * (highest - LOWEST_PORT + 1));
  return tryBind(port);
}

/**
 * Finds a TCP port on 127.0.0.1 that is free right now (and whose cluster bus port is free too,
 * when asked).
 *
 * @param options - see {@link FindFreePortOptions}
 * @returns a port no other call in this process has returned
 * @throws Error when no port was found within `attempts`
 */
export async function findFreePort(options: FindFreePortOptions = {}): Promise<number> {
  const { clusterBus = false, attempts = 50 } = options;
  for (let i = 0; i < attempts; i++) {
    const port = await candidate(clusterBus);
    if (port === undefined || handedOut.has(port)) continue;
    if (clusterBus) {
      const bus = port + CLUSTER_BUS_OFFSET;
      if (bus > MAX_PORT || handedOut.has(bus) || (await tryBind(bus)) === undefined) continue;
      handedOut.add(bus);
    }
    handedOut.add(port);
    return port;
  }
  throw new Error(
    `findFreePort: no free port on ${HOST}${clusterBus ? ' with a free cluster bus port (+10000)' : ''} after ${attempts} attempts`,
  );
}
