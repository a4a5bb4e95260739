import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import * as t from 'io-ts';
import { ConfigError, type ConfigIssue } from '../errors';
import type { Endpoint, RedisOptions, RedisOptionsInput } from './types';
import { DEFAULT_PORT } from './endpoint';
import {
  INPUT_FIELDS,
  INPUT_RULES,
  checkField,
  type InputField,
  type Normalised,
} from './fieldRules';
import { expandInput } from './mergeInputs';
import { fail, isRecord, unknownKeys, type Issues } from './rules';
import { Secret } from './Secret';
import { silentLogger } from '../internal/logger';

const hasAddress = (i: RedisOptionsInput) => i.host !== undefined || i.port !== undefined;

/** Contradictions between address fields; each names the field that should go. */
const addressConflicts = (i: RedisOptionsInput): ConfigIssue[] => {
  const issues: ConfigIssue[] = [];
  if (i.endpoints !== undefined && hasAddress(i)) {
    issues.push({
      field: i.host !== undefined ? 'host' : 'port',
      problem: 'cannot be combined with endpoints',
    });
  }
  if (Array.isArray(i.cluster) && (i.endpoints !== undefined || hasAddress(i))) {
    issues.push({
      field: 'cluster',
      problem: 'lists nodes, so host, port and endpoints must be left out',
      allowed: 'cluster: true with endpoints, or cluster: [nodes]',
    });
  }
  if (i.sentinel !== undefined) {
    if (i.cluster !== undefined && i.cluster !== false) {
      issues.push({ field: 'cluster', problem: 'cannot be combined with sentinel' });
    }
    if (i.endpoints !== undefined || hasAddress(i)) {
      issues.push({
        field: 'sentinel',
        problem: 'cannot be combined with host, port or endpoints: the sentinels name the master',
      });
    }
  }
  return issues;
};

/** Judges a whole input: every field, every contradiction, every problem. @internal */
export const decodeInput = (u: unknown): E.Either<Issues, RedisOptions> => {
  if (!isRecord(u)) return fail('options', 'must be an object', 'RedisOptionsInput');
  const expanded = expandInput(u as RedisOptionsInput, '');
  const input = expanded.input;
  const issues: ConfigIssue[] = [...unknownKeys(u, INPUT_FIELDS, ''), ...expanded.issues];
  const judge = <K extends InputField>(key: K): Normalised[K] | undefined => {
    if (input[key] === undefined) return undefined;
    const r = checkField(key, input[key], key);
    if (E.isLeft(r)) issues.push(...r.left);
    return E.isRight(r) ? r.right : undefined;
  };
  const [host, port, endpoints, cluster, sentinel] = [
    judge('host'),
    judge('port'),
    judge('endpoints'),
    judge('cluster'),
    judge('sentinel'),
  ] as const;
  issues.push(...addressConflicts(input));

  // Several endpoints without a Sentinel are Cluster seed nodes, as StackExchange.Redis users
  // write them (`node1:6379,node2:6379`); ioredis cannot fail over between standalone servers.
  const mode: RedisOptions['mode'] =
    input.sentinel !== undefined
      ? 'sentinel'
      : input.cluster === true || Array.isArray(input.cluster) || (endpoints?.length ?? 0) > 1
        ? 'cluster'
        : 'standalone';
  const database = judge('database') ?? 0;
  if (mode === 'cluster' && database !== 0) {
    issues.push({
      field: 'database',
      problem: 'must be 0 with cluster',
      allowed: '0 (a Redis Cluster has only database 0)',
    });
  }
  const standalone: Endpoint[] = endpoints ?? [
    { host: host ?? 'localhost', port: port ?? DEFAULT_PORT },
  ];
  const username = judge('username');
  const password = judge('password');
  const tls = judge('tls');
  const clientName = judge('clientName');
  const options: RedisOptions = {
    mode,
    endpoints: mode === 'sentinel' ? [] : Array.isArray(cluster) ? cluster : standalone,
    ...(sentinel !== undefined ? { sentinel } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    database,
    ...(tls !== undefined ? { tls } : {}),
    instance: judge('instance') ?? '',
    ...(clientName !== undefined ? { clientName } : {}),
    connectTimeoutMs: judge('connectTimeoutMs') ?? 10_000,
    commandTimeoutMs: judge('commandTimeoutMs') ?? 5_000,
    abortConnect: judge('abortConnect') ?? false,
    keepAliveMs: judge('keepAliveMs') ?? 30_000,
    autoPipelining: judge('autoPipelining') ?? true,
    maxRetriesPerRequest: judge('maxRetriesPerRequest') ?? 3,
    reconnectMaxDelayMs: judge('reconnectMaxDelayMs') ?? 2_000,
    protocol: judge('protocol') ?? 2,
    metrics: judge('metrics') ?? true,
    logger: judge('logger') ?? silentLogger,
  };
  return issues.length > 0 ? E.left(issues) : E.right(options);
};

const isEndpoint = (e: unknown): boolean =>
  isRecord(e) && typeof e.host === 'string' && typeof e.port === 'number';

const isRedisOptions = (u: unknown): u is RedisOptions =>
  isRecord(u) &&
  (u.mode === 'standalone' || u.mode === 'cluster' || u.mode === 'sentinel') &&
  Array.isArray(u.endpoints) &&
  u.endpoints.every(isEndpoint) &&
  typeof u.instance === 'string' &&
  (u.password === undefined || u.password instanceof Secret) &&
  (
    [
      'database',
      'connectTimeoutMs',
      'commandTimeoutMs',
      'keepAliveMs',
      'maxRetriesPerRequest',
      'reconnectMaxDelayMs',
    ] as const
  ).every((k) => typeof u[k] === 'number') &&
  (['abortConnect', 'autoPipelining', 'metrics'] as const).every(
    (k) => typeof u[k] === 'boolean',
  ) &&
  (u.protocol === 2 || u.protocol === 3) &&
  E.isRight(INPUT_RULES.logger(u.logger, 'logger'));

/** Back to input form; passwords stay {@link Secret}s, so encoding never reveals them. */
const encode = ({ mode, endpoints, ...rest }: RedisOptions): RedisOptionsInput => ({
  ...rest,
  ...(mode === 'cluster' ? { cluster: endpoints } : mode === 'standalone' ? { endpoints } : {}),
});

/** An io-ts error that still carries the issue it was made from, so nothing is lost on the way back. */
interface IssueError extends t.ValidationError {
  readonly issue: ConfigIssue;
}

const toValidationError =
  (context: t.Context) =>
  (issue: ConfigIssue): IssueError => ({
    // Never the offending value: it may be a password, and PathReporter would print it. The
    // context io-ts hands in holds the whole input as `actual`, so drop that too.
    value: undefined,
    context: [
      ...context.map((c) => ({ ...c, actual: undefined })),
      ...issue.field.split('.').map((key) => ({ key, type: t.unknown, actual: undefined })),
    ],
    message: `${issue.field}: ${issue.problem}${issue.allowed ? ` (allowed: ${issue.allowed})` : ''}`,
    issue,
  });

/**
 * Turns the codec's errors into a {@link ConfigError}; errors from other codecs keep their path.
 *
 * @internal
 */
export const toConfigError = (errors: t.Errors): ConfigError =>
  new ConfigError(
    errors.map((e) =>
      'issue' in e
        ? (e as IssueError).issue
        : {
            field: e.context
              .map((c) => c.key)
              .filter((k) => k !== '')
              .join('.'),
            problem: e.message ?? 'is invalid',
          },
    ),
  );

/**
 * The `RedisOptions` codec: validates what a user passes ({@link RedisOptionsInput}) and produces
 * normalised {@link RedisOptions} with every default filled in.
 *
 * Decoding expands `url` / `connectionString` (explicit fields win over what the string says),
 * turns passwords into {@link Secret}s, checks every field and every contradiction (a database
 * other than 0 with `cluster`, `sentinel` with a host...) and reports all problems at once. Each
 * io-ts error carries a message `field: problem (allowed: …)` and never the offending value.
 * Encoding gives back an input that decodes to the same options (passwords stay Secrets).
 *
 * @example
 * ```ts
 * import { isRight } from 'fp-ts/Either';
 * const r = RedisOptionsCodec.decode({ url: 'redis://cache:6380/1', instance: 'shop:' });
 * if (isRight(r)) r.right.endpoints; // [{ host: 'cache', port: 6380 }]
 * ```
 * @see parseRedisOptions for the same with a `ConfigError` on the left
 * @since 0.1.0
 */
export const RedisOptionsCodec: t.Type<RedisOptions, RedisOptionsInput, unknown> = new t.Type<
  RedisOptions,
  RedisOptionsInput,
  unknown
>(
  'RedisOptions',
  isRedisOptions,
  (u, c) =>
    pipe(
      decodeInput(u),
      E.match(
        (issues) => t.failures<RedisOptions>(issues.map(toValidationError(c))),
        (options) => t.success(options),
      ),
    ),
  encode,
);
