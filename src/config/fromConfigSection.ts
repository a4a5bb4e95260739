/**
 * Options from a JSON configuration section, read the way .NET's configuration binder reads
 * `appsettings.json`: section names nest with `:`, keys match case-insensitively, and numbers and
 * booleans may be written as strings (as environment-variable providers produce them).
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import type { ConfigIssue } from '../errors';
import type { RedisOptionsInput } from './types';
import { Draft, type Layer } from './draft';
import { INPUT_FIELDS, type InputField } from './fieldRules';
import { mergeInputs } from './mergeInputs';
import { parseConnectionStringAt } from './parseConnectionString';
import { isRecord, parseBooleanText, parseIntegerText } from './rules';

/** Section keys that hold a connection string: Mamey's, StackExchange's cache options', a URL. */
const STRING_KEYS = ['connectionstring', 'configuration', 'url'];

/** Every other key, by lower-cased name. `InstanceName` is what AddStackExchangeRedisCache uses. */
const FIELD_BY_KEY: Record<string, InputField> = {
  ...Object.fromEntries(INPUT_FIELDS.map((f) => [f.toLowerCase(), f])),
  instancename: 'instance',
};

const NUMBERS = ['port', 'database', 'connectTimeoutMs', 'commandTimeoutMs', 'keepAliveMs'];
const MORE_NUMBERS = ['maxRetriesPerRequest', 'reconnectMaxDelayMs', 'protocol'];
const BOOLEANS = [
  'abortConnect',
  'autoPipelining',
  'metrics',
  'cluster',
  'tls',
  'rejectUnauthorized',
];

/** Per nested object, the names its keys are matched against. */
const NESTED: Record<string, ReadonlyArray<string>> = {
  tls: ['ca', 'cert', 'key', 'servername', 'rejectUnauthorized'],
  sentinel: ['masterName', 'sentinels', 'username', 'password', 'role'],
  endpoint: ['host', 'port'],
};

const findKey = (o: Record<string, unknown>, name: string): string | undefined =>
  Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());

/** A value as the binder would hand it over: string numbers and booleans converted, keys named. */
const bind = (name: string, u: unknown): unknown => {
  if (typeof u === 'string' && [...NUMBERS, ...MORE_NUMBERS].includes(name)) {
    return parseIntegerText(u) ?? u;
  }
  if (typeof u === 'string' && BOOLEANS.includes(name)) return parseBooleanText(u) ?? u;
  if (typeof u === 'string' && name === 'role') return u.toLowerCase();
  if (Array.isArray(u)) return u.map((e) => bind('endpoint', e));
  const names = NESTED[name];
  if (names === undefined || !isRecord(u)) return u;
  return Object.fromEntries(
    Object.entries(u).map(([k, v]) => {
      const key = names.find((n) => n.toLowerCase() === k.toLowerCase()) ?? k;
      return [key, bind(key, v)];
    }),
  );
};

/**
 * Reads section `section` (`Redis`, `Caching:Redis`) of `config`. Problems are named by the
 * section path and the key as written: `Redis.Database`, `Caching.Redis.ConnectionString.port`.
 */
export const fromConfigSection = (config: unknown, section: string): Layer => {
  const path = section.split(':').map((s) => s.trim());
  const dotted = path.join('.');
  const missing = (problem: string): Layer => ({
    input: {},
    issues: [{ field: dotted, problem, allowed: `a "${section}" object in the configuration` }],
  });
  if (!isRecord(config))
    return { input: {}, issues: [{ field: 'config', problem: 'must be an object' }] };
  let node: unknown = config;
  for (const name of path) {
    const key = isRecord(node) ? findKey(node, name) : undefined;
    if (key === undefined || !isRecord(node)) return missing('section not found');
    node = node[key];
  }
  if (!isRecord(node)) return missing('must be an object');

  const d = new Draft(dotted);
  const issues: ConfigIssue[] = [];
  let fromString: RedisOptionsInput = {};
  let stringKey: string | undefined;
  for (const [key, value] of Object.entries(node)) {
    // The binder treats null as "not set"; so does an unset environment-provided key.
    if (value === null || value === undefined) continue;
    const lower = key.toLowerCase();
    if (STRING_KEYS.includes(lower)) {
      if (stringKey !== undefined) {
        d.problem(key, `cannot be combined with ${stringKey}`);
        continue;
      }
      stringKey = key;
      const parsed = parseConnectionStringAt(value, d.field(key));
      if (E.isLeft(parsed)) issues.push(...parsed.left);
      else fromString = parsed.right;
      continue;
    }
    const field = FIELD_BY_KEY[lower];
    if (field === undefined) {
      d.problem(
        key,
        'unknown option',
        [...INPUT_FIELDS, 'configuration', 'instanceName'].join(', '),
      );
    } else {
      d.set(field, bind(field, value) as RedisOptionsInput[InputField], key);
    }
  }
  const own = d.layer();
  return { input: mergeInputs(fromString, own.input), issues: [...issues, ...own.issues] };
};
