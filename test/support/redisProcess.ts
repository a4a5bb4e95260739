/**
 * Spawns real `redis-server` processes for integration and fault tests.
 *
 * Each server gets a free port on 127.0.0.1, a fresh data folder, no persistence unless asked,
 * and a log file (`redis.log`, stdout and stderr) whose tail is quoted in every start error.
 * Every pid is recorded in the pid registry (see `registry.ts`) and killed on process exit, so a
 * test that forgets its server cannot leave it running past the jest run.
 *
 * @packageDocumentation
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

import { findFreePort } from './ports';
import { forgetPid, recordPid, runDir } from './registry';
import { RespError, sendCommand } from './resp';
import { generateTlsMaterial, type TlsMaterial } from './tlsMaterial';

export type { TlsMaterial } from './tlsMaterial';

/** The redis-server binary: `REDIS_SERVER_BIN` when set, else `redis-server` from PATH. */
export const REDIS_SERVER_BIN = process.env['REDIS_SERVER_BIN'] ?? 'redis-server';

/** A user created at startup with `--user <name> on ><password> <rules…>`. */
export interface AclUser {
  readonly name: string;
  readonly password: string;
  /**
   * ACL rules after the password.
   * @defaultValue `['~*', '&*', '+@all']` (every key, channel and command)
   */
  readonly rules?: readonly string[];
}

/** Options of {@link spawnRedis}. */
export interface SpawnRedisOptions {
  /**
   * Port to listen on (the TLS port with `tls`). A fixed port is not retried when taken.
   * @defaultValue a free port
   */
  readonly port?: number;
  /**
   * Enable AOF persistence (with `appendfsync always`, so an acknowledged write survives a
   * SIGKILL deterministically). Without it the server persists nothing.
   * @defaultValue false
   */
  readonly appendonly?: boolean;
  /**
   * Serve TLS only: generates a CA and a server certificate with openssl in the data folder
   * and starts with `--tls-port <port> --port 0 --tls-auth-clients no`.
   * @defaultValue false
   */
  readonly tls?: boolean;
  /** `--requirepass` (the password of the `default` user). */
  readonly password?: string;
  /** Users created at startup (`--user` lines). */
  readonly aclUsers?: readonly AclUser[];
  /** Extra redis-server arguments, appended last (so they override the defaults). */
  readonly args?: readonly string[];
  /**
   * Config file text, written to the data folder and passed as the first argument (needed for
   * Sentinel, which rewrites its config file).
   */
  readonly config?: string;
  /**
   * Start in Sentinel mode (`--sentinel`; persistence arguments are left out). Needs `config`.
   * @defaultValue false
   */
  readonly sentinel?: boolean;
  /**
   * The server will run with `--cluster-enabled yes`: a free port must also have a free
   * cluster bus port (port + 10000).
   * @defaultValue false
   */
  readonly clusterBus?: boolean;
  /**
   * Label used in the data folder's name and in error messages.
   * @defaultValue 'redis'
   */
  readonly name?: string;
  /**
   * How long to wait for the first PONG (and for a restart's).
   * @defaultValue 20000
   */
  readonly startTimeoutMs?: number;
}

/** A running (or stopped) redis-server spawned by {@link spawnRedis}. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` (`rediss://` with TLS); credentials are not included. */
  readonly url: string;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  /** The data folder (also the working directory). */
  readonly dir: string;
  /** Path of the log (stdout and stderr of every start). */
  readonly logPath: string;
  /** The redis-server arguments. */
  readonly args: readonly string[];
  /** The `password` option, for clients. */
  readonly password: string | undefined;
  /** True between a successful start and the process exit. */
  readonly running: boolean;
  /** Last lines of the log, for assertion messages. */
  logTail(lines?: number): string;
  /**
   * SIGTERM (graceful shutdown: AOF is flushed), wait for exit, then remove the data folder.
   * Idempotent.
   *
   * @param options - `keepDir: true` keeps the data folder for a later {@link RedisServer.restart}
   */
  stop(options?: { keepDir?: boolean }): Promise<void>;
  /**
   * Send `signal` (default SIGKILL: a crash, nothing flushed) and wait for the exit.
   * SIGSTOP/SIGCONT only pause/resume the server (a hung server) and return at once.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start again on the same port, folder and arguments (stops first if running). */
  restart(): Promise<void>;
}

/** Handle of a TLS server: also the generated CA and certificate. */
export type TlsRedisServer = RedisServer & TlsMaterial;

const HOST = '127.0.0.1';
const DEFAULT_ACL_RULES = ['~*', '&*', '+@all'] as const;
const PORT_RETRIES = 5;
const STOP_GRACE_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// children of this process, killed when it exits

const liveChildren = new Set<ChildProcess>();

/**
 * The real `process`. Inside a jest test file `process` is a sandbox copy with its own event
 * listeners that never sees `exit`; `vm.runInThisContext` evaluates in Node's main context,
 * where `process` is the real one.
 */
const realProcess = vm.runInThisContext('process') as NodeJS.Process;

/**
 * Kills this process's servers synchronously: `exit` listeners cannot wait. Jest workers
 * exit normally at the end of a run, so a test that never stopped its server does not leave it
 * behind; teardown's registry sweep covers workers that were killed instead.
 */
function killChildrenOnExit(): void {
  for (const child of liveChildren) {
    if (child.pid === undefined) continue;
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    forgetPid(child.pid);
  }
}

// registered only while children live: each jest test file loads its own copy of this module,
// and permanent listeners would pile up past Node's MaxListeners warning
function track(child: ChildProcess): void {
  if (liveChildren.size === 0) realProcess.on('exit', killChildrenOnExit);
  liveChildren.add(child);
}

function untrack(child: ChildProcess): void {
  if (liveChildren.delete(child) && liveChildren.size === 0)
    realProcess.off('exit', killChildrenOnExit);
}

// ---------------------------------------------------------------------------------------------
// helpers

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

function readTail(logPath: string, lines: number): string {
  try {
    return fs.readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The arguments for `port`; a function because a taken port is replaced on retry. */
function buildArgs(
  opts: SpawnRedisOptions,
  dir: string,
  port: number,
  configPath: string | undefined,
  tls: TlsMaterial | undefined,
): string[] {
  const args: string[] = [];
  if (configPath !== undefined) args.push(configPath);
  if (opts.sentinel) args.push('--sentinel');
  if (tls) {
    args.push('--port', '0', '--tls-port', String(port));
    args.push('--tls-cert-file', tls.certPath, '--tls-key-file', tls.keyPath);
    args.push('--tls-ca-cert-file', tls.caPath, '--tls-auth-clients', 'no');
  } else {
    args.push('--port', String(port));
  }
  args.push('--bind', HOST, '--protected-mode', 'no', '--dir', dir);
  if (!opts.sentinel) {
    args.push('--save', '');
    if (opts.appendonly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
    else args.push('--appendonly', 'no');
    // replicas (Cluster, Sentinel) sync at once instead of after the default 5 s batching delay
    args.push('--repl-diskless-sync-delay', '0');
  }
  if (opts.password !== undefined) args.push('--requirepass', opts.password);
  for (const user of opts.aclUsers ?? [])
    args.push('--user', user.name, 'on', `>${user.password}`, ...(user.rules ?? DEFAULT_ACL_RULES));
  args.push(...(opts.args ?? []));
  return args;
}

// ---------------------------------------------------------------------------------------------
// starting

class StartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

/** Spawns the process and resolves once it answers PING (any reply but -LOADING). */
async function launch(
  args: readonly string[],
  port: number,
  dir: string,
  logPath: string,
  label: string,
  tlsCa: string | undefined,
  timeoutMs: number,
): Promise<ChildProcess> {
  // the log is a file, not a pipe: no stream handles to drain or leak, and it survives a crash
  const logFd = fs.openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(REDIS_SERVER_BIN, args, { cwd: dir, stdio: ['ignore', logFd, logFd] });
  } finally {
    fs.closeSync(logFd);
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new Error(`${REDIS_SERVER_BIN} not found on PATH: ${MISSING_REDIS_HELP}`)
          : err,
      ),
    );
  });
  const pid = child.pid as number;
  track(child);
  recordPid({ pid, port, dir, startedAt: new Date().toISOString() });
  child.once('exit', () => {
    untrack(child);
    forgetPid(pid);
  });

  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (hasExited(child)) {
      const tail = readTail(logPath, 30);
      throw new StartError(
        `${label} on ${HOST}:${port} exited during startup (code ${child.exitCode}, signal ${child.signalCode}). Log ${logPath}:\n${tail}`,
        /Address already in use/i.test(tail),
      );
    }
    try {
      const reply = await sendCommand({ host: HOST, port, tlsCa, timeoutMs: 1000 }, ['PING']);
      // -NOAUTH also proves the server is up; -LOADING means the AOF is still being replayed
      if (!(reply instanceof RespError && reply.message.startsWith('LOADING'))) return child;
      lastProblem = reply.message;
    } catch (err) {
      lastProblem = (err as Error).message;
    }
    await sleep(25);
  }
  child.kill('SIGKILL');
  await waitForExit(child, STOP_GRACE_MS);
  throw new StartError(
    `${label} on ${HOST}:${port} did not answer PING within ${timeoutMs}ms (${lastProblem}). Log ${logPath}:\n${readTail(logPath, 30)}`,
    false,
  );
}

/** What to do when no redis-server binary is found. */
export const MISSING_REDIS_HELP =
  'install Redis (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis), ' +
  'set REDIS_SERVER_BIN to the binary, or point the tests at running servers with ' +
  'REDIS_URL=redis://host:port and REDIS_CLUSTER_NODES=host:port,host:port,…';

/**
 * Starts a redis-server on 127.0.0.1 and waits until it answers PING.
 *
 * @example
 * ```ts
 * const server = await spawnRedis({ appendonly: true });
 * const redis = new Redis(server.url);
 * await redis.set('k', 'v');
 * await server.kill();     // SIGKILL
 * await server.restart();  // same port, same data folder
 * ```
 *
 * @param options - see {@link SpawnRedisOptions}
 * @returns a handle; call `stop()` in `afterAll`
 * @throws Error naming the port and quoting the log tail when the server does not come up
 */
export function spawnRedis(
  options: SpawnRedisOptions & { readonly tls: true },
): Promise<TlsRedisServer>;
export function spawnRedis(options?: SpawnRedisOptions): Promise<RedisServer>;
export async function spawnRedis(options: SpawnRedisOptions = {}): Promise<RedisServer> {
  const label = options.name ?? (options.sentinel ? 'sentinel' : 'redis');
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  if (options.sentinel && options.config === undefined)
    throw new TypeError('spawnRedis: sentinel mode needs a config file (options.config)');

  const dir = fs.mkdtempSync(path.join(runDir(), `${label}-`));
  const logPath = path.join(dir, 'redis.log');
  try {
    const tls = options.tls ? await generateTlsMaterial(dir) : undefined;
    let configPath: string | undefined;
    if (options.config !== undefined) {
      configPath = path.join(dir, options.sentinel ? 'sentinel.conf' : 'redis.conf');
      fs.writeFileSync(configPath, options.config);
    }

    let port = options.port ?? (await findFreePort({ clusterBus: options.clusterBus ?? false }));
    let args = buildArgs(options, dir, port, configPath, tls);
    let child: ChildProcess | undefined;
    for (let attempt = 1; child === undefined; attempt++) {
      try {
        child = await launch(args, port, dir, logPath, label, tls?.caPem, timeoutMs);
      } catch (err) {
        // another process took the port between findFreePort and redis-server's bind
        const retry = err instanceof StartError && err.portInUse;
        if (!retry || options.port !== undefined || attempt >= PORT_RETRIES) throw err;
        port = await findFreePort({ clusterBus: options.clusterBus ?? false });
        args = buildArgs(options, dir, port, configPath, tls);
        // so the next attempt's failure is not mistaken for this one's
        fs.truncateSync(logPath);
      }
    }
    return makeHandle(child, { port, dir, logPath, args, label, tls, timeoutMs, options });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// the handle

interface HandleState {
  readonly port: number;
  readonly dir: string;
  readonly logPath: string;
  readonly args: string[];
  readonly label: string;
  readonly tls: TlsMaterial | undefined;
  readonly timeoutMs: number;
  readonly options: SpawnRedisOptions;
}

function makeHandle(first: ChildProcess, s: HandleState): RedisServer {
  let child = first;
  const { port, dir, logPath, args, label, tls, timeoutMs } = s;

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    if (hasExited(child)) return;
    // a server paused with kill('SIGSTOP') acts on SIGTERM only once continued
    child.kill('SIGCONT');
    child.kill(signal);
    if (!(await waitForExit(child, STOP_GRACE_MS))) {
      // a graceful shutdown that hangs must not hang the test run
      child.kill('SIGKILL');
      await waitForExit(child, STOP_GRACE_MS);
    }
  };

  const handle: RedisServer = {
    host: HOST,
    port,
    url: `${tls ? 'rediss' : 'redis'}://${HOST}:${port}`,
    get pid() {
      return child.pid as number;
    },
    dir,
    logPath,
    args,
    password: s.options.password,
    get running() {
      return !hasExited(child);
    },
    logTail: (lines = 30) => readTail(logPath, lines),
    async stop(stopOptions = {}) {
      await terminate('SIGTERM');
      if (!stopOptions.keepDir) fs.rmSync(dir, { recursive: true, force: true });
    },
    async kill(signal = 'SIGKILL') {
      if (signal === 'SIGSTOP' || signal === 'SIGCONT' || signal === 'SIGTSTP') {
        if (!hasExited(child)) child.kill(signal);
        return;
      }
      if (hasExited(child)) return;
      child.kill(signal);
      await waitForExit(child, STOP_GRACE_MS);
    },
    async restart() {
      await terminate('SIGTERM');
      if (!fs.existsSync(dir))
        throw new Error(`${label}:${port} cannot restart: its folder was removed by stop()`);
      child = await launch(args, port, dir, logPath, label, tls?.caPem, timeoutMs);
    },
  };
  return tls ? Object.assign(handle, tls) : handle;
}
