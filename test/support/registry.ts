/**
 * The pid registry: where the harness records every redis-server it spawns, so that a teardown
 * can kill what a crashed test or worker left running.
 *
 * Layout: `<os.tmpdir()>/mamey-redis-test/<runId>/` holds an `owner` file (pid of the process
 * that owns the run: the jest parent, or the spawning process outside jest), one
 * `pids/<pid>.json` per live server (one file each, so that parallel jest workers never
 * rewrite a shared file), and the servers' own data folders. The run id travels to jest
 * workers in `MAMEY_TEST_RUN_ID`.
 *
 * Reaping only ever touches processes recorded here whose command line still reads
 * `redis-server …:<recorded port>` (a recycled pid is left alone), and never a run whose owner
 * is still alive unless it is the caller's own run (another engineer's concurrent run is safe).
 *
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Env var carrying the run id from jest's globalSetup to the workers. */
export const RUN_ID_ENV = 'MAMEY_TEST_RUN_ID';

/** One recorded server. */
export interface PidEntry {
  readonly pid: number;
  readonly port: number;
  readonly dir: string;
  readonly startedAt: string;
}

/** Folder holding all runs. */
export function registryRoot(): string {
  return path.join(os.tmpdir(), 'mamey-redis-test');
}

/** Current run id: the one jest's globalSetup chose, else one private to this process. */
export function currentRunId(): string {
  return process.env[RUN_ID_ENV] ?? `pid-${process.pid}`;
}

/**
 * The current run's folder, created (with its `owner` file) on first use.
 *
 * @returns an absolute path under {@link registryRoot}
 */
export function runDir(): string {
  const dir = path.join(registryRoot(), currentRunId());
  if (!fs.existsSync(path.join(dir, 'owner'))) {
    fs.mkdirSync(path.join(dir, 'pids'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'owner'), String(process.pid));
  }
  return dir;
}

/**
 * Starts a new run owned by this process and publishes its id in `MAMEY_TEST_RUN_ID` (jest's
 * globalSetup calls this, so that every worker records into the same run).
 *
 * @returns the run id
 */
export function beginRun(): string {
  const id = `${Date.now().toString(36)}-${process.pid}`;
  process.env[RUN_ID_ENV] = id;
  runDir();
  return id;
}

/** Records a spawned server. */
export function recordPid(entry: PidEntry): void {
  const file = path.join(runDir(), 'pids', `${entry.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(entry));
}

/** Forgets a server that exited (synchronous: also called from `process.on('exit')`). */
export function forgetPid(pid: number): void {
  fs.rmSync(path.join(registryRoot(), currentRunId(), 'pids', `${pid}.json`), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive but not ours, which a harness-recorded pid can only be after pid reuse
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live process title of `pid`, or `undefined` when it is gone. */
function commandLine(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    try {
      // no procfs (macOS)
      return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  }
}

/** True when `entry.pid` still runs the redis-server that was recorded, not a recycled pid. */
function isRecordedServer(entry: PidEntry): boolean {
  const cmd = commandLine(entry.pid);
  // redis-server retitles itself "redis-server 127.0.0.1:<port> [cluster]" once started
  return cmd !== undefined && cmd.includes('redis-server') && cmd.includes(`:${entry.port}`);
}

function readEntries(run: string): PidEntry[] {
  const pidsDir = path.join(run, 'pids');
  if (!fs.existsSync(pidsDir)) return [];
  const entries: PidEntry[] = [];
  for (const name of fs.readdirSync(pidsDir)) {
    try {
      entries.push(JSON.parse(fs.readFileSync(path.join(pidsDir, name), 'utf8')) as PidEntry);
    } catch {
      // a half-written entry of a crashed writer: nothing to kill
      fs.rmSync(path.join(pidsDir, name), { force: true });
    }
  }
  return entries;
}

/** Result of {@link reapLeftovers}. */
export interface ReapReport {
  /** Pids that were still running and got SIGKILL. */
  readonly killed: number[];
  /** Run folders removed. */
  readonly removedRuns: string[];
}

/**
 * Kills recorded servers that are still running and removes their run folders: those of the
 * current run, and those of earlier runs whose owner process is gone (crashed or killed runs).
 *
 * @param options - `includeCurrentRun` (default true): also reap the caller's own run; the
 *   caller's run folder is removed too, so call this last
 * @returns what was killed and removed
 */
export function reapLeftovers(options: { includeCurrentRun?: boolean } = {}): ReapReport {
  const { includeCurrentRun = true } = options;
  const root = registryRoot();
  const killed: number[] = [];
  const removedRuns: string[] = [];
  if (!fs.existsSync(root)) return { killed, removedRuns };
  const own = currentRunId();
  for (const id of fs.readdirSync(root)) {
    const run = path.join(root, id);
    if (id === own ? !includeCurrentRun : ownerAlive(run)) continue;
    for (const entry of readEntries(run)) {
      if (isAlive(entry.pid) && isRecordedServer(entry)) {
        try {
          process.kill(entry.pid, 'SIGKILL');
          killed.push(entry.pid);
        } catch {
          // exited in between
        }
      }
    }
    fs.rmSync(run, { recursive: true, force: true });
    removedRuns.push(run);
  }
  return { killed, removedRuns };
}

function ownerAlive(run: string): boolean {
  try {
    const owner = Number(fs.readFileSync(path.join(run, 'owner'), 'utf8'));
    return Number.isInteger(owner) && owner > 0 && isAlive(owner);
  } catch {
    // no owner file: a run folder that never got going; only reap it once it is old
    try {
      return Date.now() - fs.statSync(run).mtimeMs < 60_000;
    } catch {
      return false;
    }
  }
}
