/**
 * The cache's arguments and reply mapping against a fake client (what it sends, where, and how
 * replies and failures become values). The real round trips are in test/integration/cache.
 */
import { EventEmitter } from 'node:events';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import { BehaviorSubject, EMPTY, of, throwError } from 'rxjs';
import { Cache, CommandError, type ConnectionStatus, type RedisClient } from '../../../src';
import type { PortEvents, PubSubPort } from '../../../src/internal/pubsubPort';
import { provideRegistry, SubscriptionRegistry } from '../../../src/internal/subscriptions';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

const fakeClient = (status: ConnectionStatus = 'ready') => {
  const calls: unknown[][] = [];
  const store = new Map<string, string>();
  const record =
    <R>(name: string, reply: (...args: any[]) => R) =>
    async (...args: any[]) => (calls.push([name, ...args]), reply(...args));
  const redis = {
    get: record('get', (k: string) => store.get(k) ?? null),
    set: record('set', (k: string, v: string) => (store.set(k, v), 'OK')),
    publish: record('publish', () => 0),
    del: record('del', (k: string) => (store.delete(k) ? 1 : 0)),
    exists: record('exists', (k: string) => (store.has(k) ? 1 : 0)),
    pttl: record('pttl', (k: string) =>
      k.endsWith('missing') ? -2 : k.endsWith('forever') ? -1 : 1234,
    ),
    incr: record('incr', () => 1),
    mget: record('mget', (ks: string[]) => ks.map((k) => store.get(k) ?? null)),
    /** The cache sends its reads as `Command`s (past the auto-pipeline): to the methods above. */
    sendCommand: (command: { name: string; args: string[] }) => {
      const method = (redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
        command.name
      ]!;
      return command.name === 'mget' ? method(command.args) : method(...command.args);
    },
  };
  const sub = Object.assign(new EventEmitter(), {
    status: 'ready',
    subscribe: async () => 1,
    unsubscribe: async () => 0,
  });
  const status$ = new BehaviorSubject<ConnectionStatus>(status);
  const client = {
    redis,
    status,
    status$,
    subscriber: () => sub,
    onClose: () => () => undefined,
    key: (name: string) => `app:${name}`,
    options: { commandTimeoutMs: 1000 },
    metrics: { increment() {} },
    logger: silent,
  } as unknown as RedisClient;
  return { client, calls, store, sub };
};

describe('Cache (pure: arguments and replies)', () => {
  it('keys are <instance><namespace>:<generation>:<key>; SET carries PX; writes announce the key', async () => {
    const { client, calls } = fakeClient();
    const c = Cache.make({ client, codec: t.string, namespace: 'ns', ttlMs: 9_000 });
    expect(await c.set('k', 'v', 500)()).toEqual(E.right(undefined));
    expect(await c.set('d', 'w')()).toEqual(E.right(undefined));
    expect(calls[0]).toEqual(['get', 'app:ns:gen']);
    expect(calls[1]).toEqual(['set', 'app:ns:0:k', '"v"', 'PX', 500]);
    expect(calls[2]?.[0]).toBe('publish');
    expect(calls[2]?.[1]).toBe('app:ns:invalidate');
    expect(JSON.parse(calls[2]?.[2] as string)).toEqual({
      o: expect.any(String),
      k: ['app:ns:0:k'],
    });
    expect(calls[3]).toEqual(['set', 'app:ns:0:d', '"w"', 'PX', 9_000]);
    await c.close();
  });

  it('maps PTTL: -2 is none, -1 is Infinity, else the milliseconds', async () => {
    const { client } = fakeClient();
    const c = Cache.make({ client, codec: t.string, namespace: 'ns' });
    expect(await c.ttl('missing')()).toEqual(E.right(O.none));
    expect(await c.ttl('forever')()).toEqual(E.right(O.some(Infinity)));
    expect(await c.ttl('k')()).toEqual(E.right(O.some(1234)));
    await c.close();
  });

  it('reads the generation once and follows clear()', async () => {
    const { client, calls, store } = fakeClient();
    store.set('app:ns:gen', '7');
    const c = Cache.make({ client, codec: t.string, namespace: 'ns' });
    await c.get('a')();
    await c.get('b')();
    expect(calls.filter(([name]) => name === 'get')).toEqual([
      ['get', 'app:ns:gen'],
      ['get', 'app:ns:7:a'],
      ['get', 'app:ns:7:b'],
    ]);
    await c.close();
  });

  it('answers ConnectionError at once while the client is reconnecting, without sending anything', async () => {
    const { client, calls } = fakeClient('reconnecting');
    const c = Cache.make({ client, codec: t.string, namespace: 'ns' });
    const r = await c.get('k')();
    expect(E.isLeft(r) && r.left._tag).toBe('ConnectionError');
    expect(calls).toEqual([]);
    await c.close();
  });

  it('gives a call no longer than its own timeoutMs', async () => {
    const { client } = fakeClient();
    const c = Cache.make({ client, codec: t.string, namespace: 'ns', timeoutMs: 20 });
    await c.get('warm')();
    (client.redis as unknown as { get: () => Promise<never> }).get = () => new Promise(() => {});
    const r = await c.get('k')();
    expect(E.isLeft(r) && r.left._tag).toBe('TimeoutError');
    await c.close();
  });

  it('a closed cache answers ConnectionError(closed)', async () => {
    const { client } = fakeClient();
    const c = Cache.make({ client, codec: t.string, namespace: 'ns' });
    await c.close();
    const r = await c.get('k')();
    expect(E.isLeft(r) && r.left._tag === 'ConnectionError' && r.left.reason).toBe('closed');
  });

  it('throws TypeError for invalid options and arguments at call time', () => {
    const { client } = fakeClient();
    const base = { client, codec: t.string, namespace: 'ns' };
    expect(() => Cache.make({ ...base, namespace: '' })).toThrow(TypeError);
    expect(() => Cache.make({ ...base, ttlMs: 0 })).toThrow('ttlMs');
    expect(() => Cache.make({ ...base, staleIfError: { graceMs: 1 } })).toThrow('needs memory');
    expect(() => Cache.make({ ...base, lock: { ttlMs: -5 } })).toThrow('lock.ttlMs');
    const c = Cache.make(base);
    expect(() => c.set('k', 'v', 1.5)).toThrow(TypeError);
    expect(() => c.getOrSet('k', async () => E.right('v'), -1)).toThrow(TypeError);
  });
});

/** One turn of the event loop: the reads queued in this tick have been sent as their batch. */
const sent = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * GETs and MGETs that read the store when sent (as a server would) and answer when released;
 * `sent` lists them as `GET k` / `MGET a b …`.
 */
const gatedReads = (client: RedisClient, store: Map<string, string>) => {
  const lines: string[] = [];
  const pending: Array<{ ok: () => void; fail: (e: Error) => void }> = [];
  const gate = <T>(line: string, value: T): Promise<T> => {
    lines.push(line);
    return new Promise((resolve, reject) =>
      pending.push({ ok: () => resolve(value), fail: reject }),
    );
  };
  const redis = client.redis as unknown as Record<string, unknown>;
  redis['get'] = (k: string) => gate(`GET ${k}`, store.get(k) ?? null);
  redis['mget'] = (ks: string[]) =>
    gate(
      `MGET ${ks.join(' ')}`,
      ks.map((k) => store.get(k) ?? null),
    );
  return {
    sent: lines,
    release: () => pending.splice(0).forEach((p) => p.ok()),
    fail: (e: Error) => pending.splice(0).forEach((p) => p.fail(e)),
  };
};

const N = t.type({ n: t.number }, 'N');

/** A cache whose generation is already known, so every read after this is a value's. */
const warm = async (options: Partial<Cache.CacheOptions<{ n: number }>> = {}) => {
  const { client, store, sub } = fakeClient();
  const c = Cache.make({ client, codec: N, namespace: 'ns', ...options });
  await c.get('warm-up')();
  store.set('app:ns:0:k', '{"n":1}');
  return { c, client, store, sub, gets: gatedReads(client, store) };
};

/** The read in flight has settled: the next get of `k` sends a GET of its own (the second). */
const expectOwnGet = async (
  c: Cache.Cache<{ n: number }>,
  gets: Awaited<ReturnType<typeof warm>>['gets'],
): Promise<void> => {
  const next = c.get('k')();
  await sent();
  expect(gets.sent).toHaveLength(2);
  gets.release();
  expect(await next).toEqual(E.right(O.some({ n: 1 })));
};

describe('Cache (pure: read coalescing)', () => {
  it('concurrent gets of one key share one GET; each caller decodes a value of its own', async () => {
    const { c, gets } = await warm();
    const pending = Array.from({ length: 5 }, () => c.get('k')());
    await sent();
    expect(gets.sent).toEqual(['GET app:ns:0:k']);
    gets.release();
    const results = await Promise.all(pending);
    for (const r of results) expect(r).toEqual(E.right(O.some({ n: 1 })));
    const values = results.map((r) => (E.isRight(r) && O.isSome(r.right) ? r.right.value : null));
    expect(new Set(values).size).toBe(5); // not one shared object
    values[0]!.n = 99;
    expect(values[1]).toEqual({ n: 1 });
    await expectOwnGet(c, gets);
    await c.close();
  });

  it('getWithMeta and getOrSet share the GET in flight of get', async () => {
    const { c, gets } = await warm();
    const load = jest.fn(async () => E.right({ n: 2 }));
    const pending = Promise.all([c.get('k')(), c.getWithMeta('k')(), c.getOrSet('k', load)()]);
    await sent();
    expect(gets.sent).toEqual(['GET app:ns:0:k']);
    gets.release();
    expect(await pending).toEqual([
      E.right(O.some({ n: 1 })),
      E.right(O.some({ value: { n: 1 }, source: 'redis', stale: false })),
      E.right({ n: 1 }),
    ]);
    expect(load).not.toHaveBeenCalled();
    await c.close();
  });

  it('a set while a GET is in flight: later callers read afresh and see it, earlier ones keep their read', async () => {
    const { c, gets } = await warm();
    const before = c.get('k')();
    await sent();
    expect(await c.set('k', { n: 2 })()).toEqual(E.right(undefined));
    const after = c.get('k')();
    await sent();
    expect(gets.sent).toEqual(['GET app:ns:0:k', 'GET app:ns:0:k']);
    gets.release();
    expect(await before).toEqual(E.right(O.some({ n: 1 })));
    expect(await after).toEqual(E.right(O.some({ n: 2 })));
    await c.close();
  });

  it('a delete, an invalidation from another instance and clear() detach the read too', async () => {
    const { c, gets, sub } = await warm();
    const first = c.get('k')();
    await sent();
    expect(await c.delete('k')()).toEqual(E.right(true));
    const afterDelete = c.get('k')();
    await sent();
    expect(gets.sent).toHaveLength(2);

    sub.emit('message', 'app:ns:invalidate', JSON.stringify({ o: 'another', k: ['app:ns:0:k'] }));
    const afterMessage = c.get('k')();
    await sent();
    expect(gets.sent).toHaveLength(3);

    expect(await c.clear()()).toEqual(E.right(undefined));
    const afterClear = c.get('k')();
    await sent();
    expect(gets.sent).toEqual([
      'GET app:ns:0:k',
      'GET app:ns:0:k',
      'GET app:ns:0:k',
      'GET app:ns:1:k',
    ]);
    gets.release();
    expect(await first).toEqual(E.right(O.some({ n: 1 })));
    for (const r of await Promise.all([afterDelete, afterMessage, afterClear]))
      expect(r).toEqual(E.right(O.none));
    await c.close();
  });

  it('a failed GET fails every caller that shared it; the next caller reads afresh', async () => {
    const { c, gets } = await warm();
    const pending = Promise.all([c.get('k')(), c.get('k')(), c.get('k')()]);
    await sent();
    gets.fail(new Error('connection lost'));
    const results = await pending;
    for (const r of results) {
      expect(E.isLeft(r)).toBe(true);
      expect(E.isLeft(r) && r.left.message).toContain('connection lost');
    }
    await expectOwnGet(c, gets);
    await c.close();
  });

  it('with coalesce: false every get sends its own GET, unbatched', async () => {
    const { c, gets } = await warm({ coalesce: false });
    const pending = Promise.all([c.get('k')(), c.get('k')(), c.get('other')()]);
    expect(gets.sent).toEqual(['GET app:ns:0:k', 'GET app:ns:0:k', 'GET app:ns:0:other']);
    gets.release();
    expect(await pending).toEqual([
      E.right(O.some({ n: 1 })),
      E.right(O.some({ n: 1 })),
      E.right(O.none),
    ]);
    await c.close();
  });

  it('with a memory tier, the shared read fills the tier once the value is back', async () => {
    const { c, gets } = await warm({ memory: { maxEntries: 10, ttlMs: 60_000 } });
    const pending = Promise.all([c.get('k')(), c.get('k')()]);
    await sent();
    expect(gets.sent).toHaveLength(1);
    gets.release();
    for (const r of await pending) expect(r).toEqual(E.right(O.some({ n: 1 })));
    expect(await c.getWithMeta('k')()).toEqual(
      E.right(O.some({ value: { n: 1 }, source: 'memory', stale: false })),
    );
    expect(gets.sent).toHaveLength(1);
    // memory hits share one frozen answer: nobody can change what the next caller gets
    const [x, y] = [await c.get('k')(), await c.get('k')()];
    expect(x).toEqual(E.right(O.some({ n: 1 })));
    expect(y).toBe(x);
    expect(Object.isFrozen(x) && E.isRight(x) && Object.isFrozen(x.right)).toBe(true);
    expect(E.isRight(x) && O.isSome(x.right) && Object.isFrozen(x.right.value)).toBe(true);
    await c.close();
  });
});

describe('Cache (pure: batched reads)', () => {
  const keysOf = (...ks: string[]) => ks.map((k) => `app:ns:0:${k}`).join(' ');

  it('the gets of one tick are one MGET, keys in call order; each caller gets its own answer', async () => {
    const { c, store, gets } = await warm();
    store.set('app:ns:0:a', '{"n":10}');
    store.set('app:ns:0:b', '{"n":20}');
    const pending = Promise.all(['b', 'absent', 'a', 'k'].map((k) => c.get(k)()));
    await sent();
    expect(gets.sent).toEqual([`MGET ${keysOf('b', 'absent', 'a', 'k')}`]);
    gets.release();
    expect(await pending).toEqual([
      E.right(O.some({ n: 20 })),
      E.right(O.none),
      E.right(O.some({ n: 10 })),
      E.right(O.some({ n: 1 })),
    ]);
    // The next tick's gets are a batch of their own; a lone get is a plain GET.
    const lone = c.get('a')();
    await sent();
    expect(gets.sent).toEqual([`MGET ${keysOf('b', 'absent', 'a', 'k')}`, `GET ${keysOf('a')}`]);
    gets.release();
    expect(await lone).toEqual(E.right(O.some({ n: 10 })));
    await c.close();
  });

  it('a key holds one place in a batch, however many callers share its read', async () => {
    const { c, store, gets } = await warm();
    store.set('app:ns:0:a', '{"n":10}');
    const pending = Promise.all(['a', 'k', 'a', 'k', 'a'].map((k) => c.get(k)()));
    await sent();
    expect(gets.sent).toEqual([`MGET ${keysOf('a', 'k')}`]);
    gets.release();
    const results = await pending;
    expect(results).toEqual([10, 1, 10, 1, 10].map((n) => E.right(O.some({ n }))));
    const values = results.map((r) => (E.isRight(r) && O.isSome(r.right) ? r.right.value : null));
    expect(new Set(values).size).toBe(5); // each caller decoded a value of its own
    await c.close();
  });

  it('one undecodable value fails its caller alone, with a DecodeError naming the key and path', async () => {
    const { c, store, gets } = await warm();
    store.set('app:ns:0:bad', '{"n":"one"}');
    store.set('app:ns:0:text', 'not json');
    const pending = Promise.all([c.get('k')(), c.get('bad')(), c.get('text')()]);
    await sent();
    expect(gets.sent).toHaveLength(1);
    gets.release();
    const [ok, bad, text] = await pending;
    expect(ok).toEqual(E.right(O.some({ n: 1 })));
    expect(E.isLeft(bad) && bad.left._tag).toBe('DecodeError');
    expect(E.isLeft(bad) && bad.left.message).toContain('app:ns:0:bad');
    expect(E.isLeft(bad) && bad.left.message).toContain('N/n: number');
    expect(E.isLeft(text) && text.left._tag).toBe('DecodeError');
    expect(E.isLeft(text) && text.left.message).toContain('app:ns:0:text');
    await c.close();
  });

  it('a failed MGET answers each caller with a typed Left, never a rejection; the next gets read afresh', async () => {
    const { c, gets } = await warm();
    const pending = Promise.all(['k', 'a', 'b'].map((k) => c.get(k)()));
    await sent();
    gets.fail(new Error('READONLY You cannot write against a read only replica.'));
    for (const r of await pending) {
      expect(E.isLeft(r) && r.left._tag).toBe('CommandError');
      expect(E.isLeft(r) && r.left.message).toContain('MGET');
    }
    const again = Promise.all(['k', 'a'].map((k) => c.get(k)()));
    await sent();
    expect(gets.sent).toEqual([`MGET ${keysOf('k', 'a', 'b')}`, `MGET ${keysOf('k', 'a')}`]);
    gets.release();
    expect(await again).toEqual([E.right(O.some({ n: 1 })), E.right(O.none)]);
    await c.close();
  });

  it('a batch that never answers: each caller gets a TimeoutError within its timeoutMs', async () => {
    const { c } = await warm({ timeoutMs: 20 });
    const t0 = performance.now();
    const results = await Promise.all(['k', 'a', 'b'].map((k) => c.get(k)()));
    for (const r of results) expect(E.isLeft(r) && r.left._tag).toBe('TimeoutError');
    expect(performance.now() - t0).toBeLessThan(1000); // the client's deadline is 1000 ms
    await c.close();
  });

  it('more keys than a batch holds go out as several MGETs', async () => {
    const { c, gets } = await warm();
    const keys = Array.from({ length: 300 }, (_, i) => `x${i}`);
    const pending = Promise.all(keys.map((k) => c.get(k)()));
    await sent();
    expect(gets.sent.map((line) => line.split(' ').length - 1)).toEqual([256, 44]);
    gets.release();
    for (const r of await pending) expect(r).toEqual(E.right(O.none));
    await c.close();
  });

  it('counts a Redis hit or a miss per caller, as unbatched gets do', async () => {
    const { c, client, gets } = await warm();
    const counts = new Map<string, number>();
    (client.metrics as { increment: (name: string, by?: number) => void }).increment = (
      name,
      by = 1,
    ) => void counts.set(name, (counts.get(name) ?? 0) + by);
    const pending = Promise.all(['k', 'k', 'a', 'b'].map((k) => c.get(k)()));
    await sent();
    gets.release();
    await pending;
    expect(Object.fromEntries(counts)).toEqual({ 'cache.ns.hit.redis': 2, 'cache.ns.miss': 2 });
    await c.close();
  });

  it('with a memory tier, a set during a batched read is not overwritten by the older value', async () => {
    const { c, gets } = await warm({ memory: { maxEntries: 10, ttlMs: 60_000 } });
    const before = Promise.all(['k', 'a'].map((k) => c.get(k)()));
    await sent();
    expect(gets.sent).toEqual([`MGET ${keysOf('k', 'a')}`]);
    expect(await c.set('k', { n: 2 })()).toEqual(E.right(undefined));
    gets.release();
    expect(await before).toEqual([E.right(O.some({ n: 1 })), E.right(O.none)]);
    expect(await c.getWithMeta('k')()).toEqual(
      E.right(O.some({ value: { n: 2 }, source: 'memory', stale: false })),
    );
    expect(gets.sent).toHaveLength(1);
    await c.close();
  });
});

describe('Cache (pure: its invalidation channel)', () => {
  it('a channel refused when it is renewed flushes the memory tier; the next use subscribes again', async () => {
    const { client, store } = fakeClient();
    let events: PortEvents | undefined;
    const subscribes: string[] = [];
    let refuse = false;
    const port: PubSubPort = {
      subscribe: (_kind, names) => {
        subscribes.push(names.join(','));
        return refuse
          ? throwError(() => new CommandError('SUBSCRIBE', 'NOPERM', 'NOPERM no access'))
          : of(1);
      },
      unsubscribe: () => EMPTY,
      listen: (e) => {
        events = e;
        return () => (events = undefined);
      },
    };
    provideRegistry(client, new SubscriptionRegistry(port));
    const memory = { maxEntries: 10, ttlMs: 60_000 };
    const c = Cache.make({ client, codec: N, namespace: 'ns', memory });
    store.set('app:ns:0:k', '{"n":1}');
    expect(await c.get('k')()).toEqual(E.right(O.some({ n: 1 })));
    store.set('app:ns:0:k', '{"n":2}'); // a write this cache will never hear of
    expect(await c.get('k')()).toEqual(E.right(O.some({ n: 1 }))); // from the memory tier

    refuse = true;
    events!.down(['channel', 'pattern', 'sharded']);
    events!.up(['channel', 'pattern', 'sharded']); // the renewal is refused for good
    await new Promise((r) => setImmediate(r));
    // the tier is gone, and the cache will not run without its channel
    const refused = await c.get('k')();
    expect(E.isLeft(refused) && refused.left._tag).toBe('CommandError');

    refuse = false;
    expect(await c.get('k')()).toEqual(E.right(O.some({ n: 2 })));
    expect(subscribes).toEqual(Array(4).fill('app:ns:invalidate'));
    await c.close();
  });
});
