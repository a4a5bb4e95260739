/**
 * The session store's Lua scripts (src/lua/session-*.lua), typed. A script with a fixed number
 * of keys is registered on the connection with ioredis' `defineCommand` (EVALSHA, falling back
 * to EVAL once per connection); a variadic one (batched: `-n`) is sent with `sendCommand` (see
 * `sendDirect`). Each script's header names its KEYS and ARGV.
 *
 * @internal
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'ioredis';
import type { Commands } from '../connection/RedisClient';

/** The scripts, as functions of one connection. Arguments are in the scripts' KEYS/ARGV order. */
export interface SessionScripts {
  create(
    session: string,
    marker: string,
    index: string,
    id: string,
    data: string,
    idleMs: number,
    userId: string,
    maxPerUser: number,
    slotBase: string,
    absoluteMs: number,
    carried: string,
  ): Promise<[number, number, number, number, number] | null>;
  /** `[server time ms, stored value]`, or `[server time ms]` when there is no session. */
  get(session: string, idleMs: number): Promise<[number, string?]>;
  /**
   * Variadic, its arguments in one array (a batch has hundreds): `[n, ...keys, checked,
   * ...idleMs]` → `[server time ms, ...positions (from 1) of the keys that are no session]`.
   */
  touch(args: ReadonlyArray<string | number>): Promise<number[]>;
  update(
    session: string,
    data: string,
    expectedVersion: number,
    idleMs: number,
  ): Promise<[1, number, string, string, string | null] | [0] | [-1, number]>;
  put(
    session: string,
    marker: string,
    data: string,
    idleMs: number,
    absoluteMs: number,
    markerGraceMs: number,
  ): Promise<[1 | 2, number] | [0]>;
  /** The destroyed session's stored value, or null. */
  destroy(
    session: string,
    marker: string,
    id: string,
    markerGraceMs: number,
    slotBase: string,
  ): Promise<string | null>;
  regenerate(
    oldSession: string,
    oldMarker: string,
    newSession: string,
    newMarker: string,
    oldId: string,
    newId: string,
    idleMs: number,
    slotBase: string,
  ): Promise<[1, string] | [0] | [-1]>;
  list(index: string, slotBase: string): Promise<Array<string | number>>;
  revoke(index: string, slotBase: string, markerGraceMs: number): Promise<number>;
}

/**
 * Script file names (without `.lua`) by method; the suffix is the number of KEYS, `n` for a
 * variadic script (its caller passes the number of keys first).
 */
const FILES: Record<keyof SessionScripts, string> = {
  create: 'session-create-3',
  get: 'session-get-1',
  touch: 'session-touch-n',
  update: 'session-update-1',
  put: 'session-put-2',
  destroy: 'session-destroy-2',
  regenerate: 'session-regenerate-4',
  list: 'session-list-1',
  revoke: 'session-revoke-1',
};

/** Command names on the connection; prefixed so they never clash with other features' scripts. */
const commandName = (method: string): string => `mameySession_${method}`;

let sources: Record<string, string> | undefined;
const loadSources = (): Record<string, string> =>
  (sources ??= Object.fromEntries(
    Object.values(FILES).map((file) => [
      file,
      readFileSync(join(__dirname, '..', 'lua', `${file}.lua`), 'utf8'),
    ]),
  ));

const registered = new WeakMap<Commands, SessionScripts>();

/**
 * Runs a variadic script (the batched ones) with `sendCommand`, past ioredis' auto-pipeline: a
 * batch is already one command per tick, and the auto-pipeline would hold it for a `setImmediate`
 * (one more turn of the event loop per batch, on the path of every request of the batch) and
 * build a `Pipeline` around it. EVALSHA, then EVAL when the server does not know the script yet
 * (NOSCRIPT: first use, or after a restart or SCRIPT FLUSH), as ioredis' own scripts do.
 */
const sendDirect = (redis: Commands, lua: string) => {
  const sha = createHash('sha1').update(lua).digest('hex');
  const send = (name: string, args: ReadonlyArray<unknown>) =>
    redis.sendCommand(new Command(name, args as Array<string | number>)) as Promise<unknown>;
  return (args: unknown): Promise<unknown> => {
    const rest = args as ReadonlyArray<string | number>;
    return send('evalsha', [sha, ...rest]).catch((e: unknown) =>
      e instanceof Error && e.message.includes('NOSCRIPT')
        ? send('eval', [lua, ...rest])
        : Promise.reject(e),
    );
  };
};

/**
 * The scripts of `redis`, registered on first use (no I/O: the server learns a script the first
 * time it runs).
 */
export const sessionScripts = (redis: Commands): SessionScripts => {
  const known = registered.get(redis);
  if (known !== undefined) return known;
  const lua = loadSources();
  const target = redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const scripts = {} as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const [method, file] of Object.entries(FILES)) {
    const keys = file.slice(file.lastIndexOf('-') + 1);
    if (keys === 'n') {
      scripts[method] = sendDirect(redis, lua[file]!);
      continue;
    }
    const name = commandName(method);
    if (typeof target[name] !== 'function')
      redis.defineCommand(name, { numberOfKeys: Number(keys), lua: lua[file]! });
    const run = target[name]!;
    scripts[method] = (...args) => run.apply(redis, args);
  }
  const typed = scripts as unknown as SessionScripts;
  registered.set(redis, typed);
  return typed;
};
