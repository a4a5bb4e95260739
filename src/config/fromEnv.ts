/**
 * Options from environment variables. Problems are named after the variable (`REDIS_PORT`), since
 * that is what the operator has to fix.
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import type { ConfigIssue } from '../errors';
import { Draft, type Layer } from './draft';
import { SENTINEL_PORT, parseHostPortList } from './endpoint';
import { mergeInputs } from './mergeInputs';
import { parseConnectionStringAt } from './parseConnectionString';
import { token } from './rules';
import { Secret } from './Secret';

/** Every variable read, in the order they are documented. */
export const ENV_VARS = [
  'REDIS_URL',
  'REDIS_HOST',
  'REDIS_PORT',
  'REDIS_USERNAME',
  'REDIS_PASSWORD',
  'REDIS_DB',
  'REDIS_TLS',
  'REDIS_INSTANCE',
  'REDIS_CLUSTER_NODES',
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_MASTER',
  'REDIS_CONNECT_TIMEOUT_MS',
  'REDIS_COMMAND_TIMEOUT_MS',
  'REDIS_CLIENT_NAME',
] as const;

export type EnvVar = (typeof ENV_VARS)[number];

/** Ways to name the server; an environment may use only one of them. */
const ADDRESS_GROUPS: ReadonlyArray<ReadonlyArray<EnvVar>> = [
  ['REDIS_HOST', 'REDIS_PORT'],
  ['REDIS_CLUSTER_NODES'],
  ['REDIS_SENTINELS', 'REDIS_SENTINEL_MASTER'],
];

/**
 * Reads the `REDIS_*` variables. An empty variable counts as unset, as docker-compose and CI
 * systems often define every variable and leave the unused ones blank. The single variables win
 * over what `REDIS_URL` says, except that a cluster or sentinel list replaces its host.
 */
export const fromEnv = (env: Readonly<Record<string, string | undefined>>): Layer => {
  // Passwords may start or end with spaces on purpose; every other value is trimmed.
  const raw = (name: EnvVar): string | undefined => (env[name]?.trim() ? env[name] : undefined);
  const read = (name: EnvVar): string | undefined => raw(name)?.trim();
  const d = new Draft('');
  const issues: ConfigIssue[] = [];

  const url = read('REDIS_URL');
  const parsed = url === undefined ? E.right({}) : parseConnectionStringAt(url, 'REDIS_URL');
  if (E.isLeft(parsed)) issues.push(...parsed.left);

  // Only the first way of naming the server is used; the others are reported, not half-applied.
  const present = ADDRESS_GROUPS.filter((g) => g.some((v) => read(v) !== undefined));
  const ignored = new Set(present.slice(1).flat());
  for (const group of present.slice(1)) {
    const name = group.find((v) => read(v) !== undefined)!;
    d.problem(name, `cannot be combined with ${present[0]!.find((v) => read(v) !== undefined)}`);
  }

  const ifSet = (name: EnvVar, apply: (value: string) => void) => {
    const v = read(name);
    if (v !== undefined && !ignored.has(name)) apply(v);
  };
  ifSet('REDIS_HOST', (v) => d.set('host', v, 'REDIS_HOST'));
  ifSet('REDIS_PORT', (v) => d.setInteger('port', v, 'REDIS_PORT'));
  ifSet('REDIS_USERNAME', (v) => d.set('username', v, 'REDIS_USERNAME'));
  const password = raw('REDIS_PASSWORD');
  if (password !== undefined) d.put('password', new Secret(password));
  ifSet('REDIS_DB', (v) => d.setInteger('database', v, 'REDIS_DB'));
  ifSet('REDIS_TLS', (v) => d.setBoolean('tls', v, 'REDIS_TLS'));
  ifSet('REDIS_INSTANCE', (v) => d.set('instance', v, 'REDIS_INSTANCE'));
  ifSet('REDIS_CLUSTER_NODES', (v) => {
    const nodes = parseHostPortList(v, 'REDIS_CLUSTER_NODES');
    if (E.isLeft(nodes)) d.addIssues(nodes.left);
    else d.put('cluster', nodes.right);
  });
  if (!ignored.has('REDIS_SENTINELS')) {
    readSentinel(d, read('REDIS_SENTINELS'), read('REDIS_SENTINEL_MASTER'));
  }
  ifSet('REDIS_CONNECT_TIMEOUT_MS', (v) =>
    d.setInteger('connectTimeoutMs', v, 'REDIS_CONNECT_TIMEOUT_MS'),
  );
  ifSet('REDIS_COMMAND_TIMEOUT_MS', (v) =>
    d.setInteger('commandTimeoutMs', v, 'REDIS_COMMAND_TIMEOUT_MS'),
  );
  ifSet('REDIS_CLIENT_NAME', (v) => d.set('clientName', v, 'REDIS_CLIENT_NAME'));

  const own = d.layer();
  const base = E.isRight(parsed) ? parsed.right : {};
  return { input: mergeInputs(base, own.input), issues: [...issues, ...own.issues] };
};

const readSentinel = (d: Draft, list: string | undefined, master: string | undefined): void => {
  if (list === undefined && master === undefined) return;
  if (list === undefined)
    return d.problem('REDIS_SENTINELS', 'is required when REDIS_SENTINEL_MASTER is set');
  if (master === undefined)
    return d.problem('REDIS_SENTINEL_MASTER', 'is required when REDIS_SENTINELS is set');
  const sentinels = parseHostPortList(list, 'REDIS_SENTINELS', SENTINEL_PORT);
  const masterName = token(false)(master, 'REDIS_SENTINEL_MASTER');
  if (E.isLeft(sentinels)) d.addIssues(sentinels.left);
  if (E.isLeft(masterName)) d.addIssues(masterName.left);
  if (E.isRight(sentinels) && E.isRight(masterName)) {
    d.put('sentinel', { masterName: masterName.right, sentinels: sentinels.right });
  }
};
