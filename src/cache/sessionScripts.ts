/**
 * The session store's Lua scripts (src/lua/session-*.lua), registered on a connection with
 * ioredis' `defineCommand` (EVALSHA, falling back to EVAL once per connection), and typed.
 * Each script's header names its KEYS and ARGV.
 *
 * @internal
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Commands } from '../connection/RedisClient';

/** A stored session as the scripts return it: d, v, c, a, u (u null when anonymous). */
export type RawSession = [string, string, string, string, string | null];

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
  ): Promise<[number, number, number, number] | null>;
  get(session: string, idleMs: number): Promise<RawSession | null>;
  /** Variadic: `touch(n, ...keys, ...idleMs)`. */
  touch(numKeys: number, ...args: Array<string | number>): Promise<number[]>;
  /** Variadic: `expire(n, ...keys, ...idleMs)`. */
  expire(numKeys: number, ...args: Array<string | number>): Promise<number[]>;
  /** Variadic: `peek(n, ...keys)` → `[now, d1, a1, …]`. */
  peek(numKeys: number, ...keys: string[]): Promise<Array<string | number | null>>;
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
  destroy(
    session: string,
    marker: string,
    id: string,
    markerGraceMs: number,
    slotBase: string,
  ): Promise<RawSession | null>;
  regenerate(
    oldSession: string,
    oldMarker: string,
    newSession: string,
    newMarker: string,
    oldId: string,
    newId: string,
    idleMs: number,
    slotBase: string,
  ): Promise<[1, ...RawSession] | [0] | [-1]>;
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
  expire: 'session-expire-n',
  peek: 'session-peek-n',
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
    const name = commandName(method);
    if (typeof target[name] !== 'function') {
      const keys = file.slice(file.lastIndexOf('-') + 1);
      redis.defineCommand(name, {
        ...(keys === 'n' ? {} : { numberOfKeys: Number(keys) }),
        lua: lua[file]!,
      });
    }
    scripts[method] = (...args) => target[name]!.apply(redis, args);
  }
  const typed = scripts as unknown as SessionScripts;
  registered.set(redis, typed);
  return typed;
};
