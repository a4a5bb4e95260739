/**
 * Layering of inputs: connection strings under explicit fields, env under config section under
 * overrides, builder calls in call order.
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import type { ConfigIssue } from '../errors';
import type { RedisOptionsInput } from './types';
import type { Mutable } from './draft';
import { parseConnectionStringAt } from './parseConnectionString';
import { at, type Issues } from './rules';

const definedOnly = (o: RedisOptionsInput): Mutable<RedisOptionsInput> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/**
 * `over` on top of `base`, field by field, except for the address: a layer that names a host,
 * endpoints, Cluster nodes or sentinels replaces the whole address below it, so a port from one
 * source is never glued to a host from another, nor Sentinel mixed with a Cluster. `cluster:
 * true` alone is a mode switch and keeps the address below it.
 */
export const mergeInputs = (
  base: RedisOptionsInput,
  over: RedisOptionsInput,
): RedisOptionsInput => {
  const top = definedOnly(over);
  const kept = definedOnly(base);
  const newAddress =
    top.host !== undefined ||
    top.endpoints !== undefined ||
    Array.isArray(top.cluster) ||
    top.sentinel !== undefined;
  if (newAddress) {
    delete kept.host;
    delete kept.port;
    delete kept.endpoints;
    delete kept.sentinel;
    if (Array.isArray(kept.cluster) || top.sentinel !== undefined) delete kept.cluster;
  } else if (top.cluster === true) {
    delete kept.sentinel;
  } else if (top.cluster === false && Array.isArray(kept.cluster)) {
    // Switching Cluster off keeps its nodes as plain endpoints rather than losing the address.
    kept.endpoints = kept.cluster;
    delete kept.host;
    delete kept.port;
  }
  return { ...kept, ...top };
};

/**
 * Replaces `url` / `connectionString` by what they hold, under the input's other fields (explicit
 * fields win). Problems in the string are named `<prefix>.url.port` and so on; the rest of the
 * input is still returned so that its own problems can be reported too.
 */
export const expandInput = (
  input: RedisOptionsInput,
  prefix: string,
): { readonly input: RedisOptionsInput; readonly issues: Issues } => {
  const { url, connectionString, ...rest } = input;
  const issues: ConfigIssue[] = [];
  if (url !== undefined && connectionString !== undefined) {
    issues.push({ field: at(prefix, 'connectionString'), problem: 'cannot be combined with url' });
  }
  const [key, text] = url !== undefined ? ['url', url] : ['connectionString', connectionString];
  if (text === undefined) return { input: rest, issues };
  const parsed = parseConnectionStringAt(text, at(prefix, key));
  if (E.isLeft(parsed)) return { input: rest, issues: [...issues, ...parsed.left] };
  return { input: mergeInputs(parsed.right, rest), issues };
};
