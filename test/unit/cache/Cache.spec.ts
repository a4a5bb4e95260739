/**
 * The cache's arguments and reply mapping against a fake client (what it sends, where, and how
 * replies and failures become values). The real round trips are in test/integration/cache.
 */
import { EventEmitter } from 'node:events';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import { BehaviorSubject } from 'rxjs';
import { Cache, type ConnectionStatus, type RedisClient } from '../../../src';

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
