import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { RedisClient } from '../../../src/connection/RedisClient';
import {
  batchPipeline,
  BatchOverflowError,
  type BatchCommand,
} from '../../../src/operators/batchPipeline';
import { fakePipeline } from '../../../src/testing';
import { stubConnection } from '../../support/stubConnection';

describe('batchPipeline configuration', () => {
  const redis = fakePipeline();
  const set = (x: string) => ['set', x, 'v'] as const;

  it.each([
    [{ maxSize: 0 }, /maxSize/],
    [{ maxSize: 1.5 }, /maxSize/],
    [{ maxInFlight: 0 }, /maxInFlight/],
    [{ maxWaitMs: -1 }, /maxWaitMs/],
    [{ maxWaitMs: Infinity }, /maxWaitMs/],
    [{ maxBuffered: 0 }, /maxBuffered/],
    [{ maxSize: 100, maxBuffered: 50 }, /maxBuffered \(50\) must be ≥ maxSize \(100\)/],
  ])('throws a TypeError at call time for %p', (config, message) => {
    expect(() => batchPipeline(redis, set, config)).toThrow(TypeError);
    expect(() => batchPipeline(redis, set, config)).toThrow(message);
  });

  it('needs a client and a build function', () => {
    expect(() => batchPipeline(undefined as never, set)).toThrow(/client/);
    expect(() => batchPipeline(redis, 'set' as never)).toThrow(/build/);
  });

  it('sends nothing before it is subscribed', () => {
    batchPipeline(redis, set);
    expect(redis.sent).toEqual([]);
  });

  it('BatchOverflowError is a tagged library error naming the limit', () => {
    const e = new BatchOverflowError(10_000);
    expect(e).toBeInstanceOf(Error);
    expect(e._tag).toBe('BatchOverflowError');
    expect(e.message).toContain('10000');
  });
});

/**
 * The RedisClient path without a server. A stub single connection records each batch its
 * `sendCommand` is handed (in one synchronous loop) and settles the commands with what a test
 * gives; a stub Cluster's `pipeline()` records each pipeline and answers with what ioredis'
 * `exec()` would resolve to, or its rejection.
 */
describe('batchPipeline on a RedisClient (stub connection)', () => {
  type Exec = Array<[Error | null, unknown]>;
  interface Sent {
    readonly node: string;
    readonly calls: unknown[][];
  }

  const replyError = (message: string): Error =>
    Object.assign(new Error(message), { name: 'ReplyError' });

  /** A single connection: its batches as sent from `standalone`. */
  const stubStandalone = (answer: (calls: unknown[][]) => Promise<Exec>) => {
    const { batches, redis } = stubConnection(answer);
    return { redis, sent: (): Sent[] => batches.map((calls) => ({ node: 'standalone', calls })) };
  };

  /**
   * A Cluster's `pipeline()`: each pipeline's node is the one of its first key; `answer` gives
   * its `exec()` result.
   */
  const stubPipelines = (
    nodeOf: (key: string) => string,
    answer: (calls: unknown[][], node: string) => Promise<Exec | null>,
  ) => {
    const sent: Sent[] = [];
    const pipeline = () => {
      const calls: unknown[][] = [];
      const p = {
        call: (...args: unknown[]) => (calls.push(args), p),
        exec: () => {
          const node = nodeOf(String(calls[0]?.[1]));
          sent.push({ node, calls });
          return answer(calls, node);
        },
      };
      return p;
    };
    return { sent, pipeline };
  };

  /** A stub Cluster whose slots below 8192 are served by node-a, the others by node-b. */
  const nodeOf = (key: string) => (calculateSlot(key) < 8192 ? 'node-a' : 'node-b');
  const stubCluster = (pipeline: unknown): object => {
    const slots = Array.from({ length: 16384 }, (_, slot) => [slot < 8192 ? 'node-a' : 'node-b']);
    return Object.assign(Object.create(Cluster.prototype) as object, { slots, pipeline });
  };

  const clientOf = (redis: object, instance = ''): RedisClient =>
    ({ redis, options: { instance }, key: (name: string) => instance + name }) as never;

  const outcomesOf = <T>(items: T[], client: RedisClient, build: (item: T) => BatchCommand) =>
    lastValueFrom(from(items).pipe(batchPipeline(client, build, { maxSize: 10 }), toArray()));

  it('sends each command with its prefixed key; each item gets its own reply or error', async () => {
    const { sent, redis } = stubStandalone(async (calls) =>
      calls.map(([name, key]): [Error | null, unknown] =>
        key === 'app:bad' ? [replyError('WRONGTYPE Operation against a key'), null] : [null, name],
      ),
    );
    const commands: Record<string, BatchCommand> = {
      a: ['get', 'a'],
      b: ['set', 'b', 'v'],
      bad: ['incr', 'bad'],
      c: ['hset', 'c', 'f', 1],
      d: ['xadd', 'd', '*', 'data', Buffer.from('x')],
    };

    const outcomes = await outcomesOf(
      Object.keys(commands),
      clientOf(redis, 'app:'),
      (k) => commands[k]!,
    );

    expect(sent()).toEqual([
      {
        node: 'standalone',
        calls: [
          ['get', 'app:a'],
          ['set', 'app:b', 'v'],
          ['incr', 'app:bad'],
          ['hset', 'app:c', 'f', '1'], // ioredis sends numbers as their decimal strings
          ['xadd', 'app:d', '*', 'data', Buffer.from('x')],
        ],
      },
    ]);
    expect(outcomes.map((o) => [o.item, o.ok ? o.value : o.error])).toEqual([
      ['a', 'get'],
      ['b', 'set'],
      [
        'bad',
        expect.objectContaining({ _tag: 'CommandError', code: 'WRONGTYPE', command: 'INCR' }),
      ],
      ['c', 'hset'],
      ['d', 'xadd'],
    ]);
  });

  it('gives each item of a round trip that failed as a whole the error', async () => {
    let n = 0;
    const { redis } = stubStandalone(async (calls) => {
      n += 1;
      if (n === 1) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return calls.map((): [null, string] => [null, 'OK']);
    });
    const outcomes = await lastValueFrom(
      from(['a', 'b', 'c', 'd']).pipe(
        batchPipeline(clientOf(redis), (k: string): BatchCommand => ['set', k, 'v'], {
          maxSize: 2,
        }),
        toArray(),
      ),
    );
    expect(outcomes.map((o) => (o.ok ? 'ok' : `${o.error._tag}: ${o.error.message}`))).toEqual([
      expect.stringMatching(/^ConnectionError: .*\(SET\)/),
      expect.stringMatching(/^ConnectionError: .*\(SET\)/),
      'ok',
      'ok',
    ]);
  });

  it('gives a command that a Cluster pipeline left without a reply its own error', async () => {
    const { pipeline } = stubPipelines(nodeOf, async () => [[null, 'OK']]); // one reply per part
    const keys = ['a', 'a{a}']; // one slot, one part of two commands
    const outcomes = await outcomesOf(keys, clientOf(stubCluster(pipeline)), (k) => [
      'set',
      k,
      'v',
    ]);
    expect(outcomes.map((o) => (o.ok ? 'ok' : `${o.error._tag}: ${o.error.message}`))).toEqual([
      'ok',
      expect.stringMatching(/^CommandError: .*\(SET\): no reply/),
    ]);
  });

  it('on a Cluster sends one pipeline per master and emits in input order', async () => {
    const keys = Array.from({ length: 10 }, (_, i) => `key${i}`);
    expect(new Set(keys.map(nodeOf))).toEqual(new Set(['node-a', 'node-b']));
    // node-a answers only after node-b has failed: each part gets its own replies anyway
    let nodeBDone!: () => void;
    const nodeBFailed = new Promise<void>((resolve) => (nodeBDone = resolve));
    const { sent, pipeline } = stubPipelines(nodeOf, async (calls, node) => {
      if (node === 'node-b') {
        setImmediate(nodeBDone);
        throw new Error('Connection is closed.');
      }
      await nodeBFailed;
      return calls.map(([, key]): [null, unknown] => [null, `from ${node}: ${String(key)}`]);
    });
    const outcomes = await outcomesOf(keys, clientOf(stubCluster(pipeline)), (k) => ['get', k]);

    expect(sent.map((p) => p.node).sort()).toEqual(['node-a', 'node-b']);
    for (const p of sent)
      expect(new Set(p.calls.map(([, key]) => nodeOf(String(key))))).toEqual(new Set([p.node]));
    expect(outcomes.map((o) => o.item)).toEqual(keys);
    expect(outcomes.map((o) => (o.ok ? o.value : o.error._tag))).toEqual(
      keys.map((k) => (nodeOf(k) === 'node-a' ? `from node-a: ${k}` : 'ConnectionError')),
    );
  });
});
