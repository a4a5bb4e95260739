import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { promisify } from 'node:util';
import type { SessionData, Store } from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import type { RedisClient } from '../../../src';
import { deleteKeys, testRedisUrl, uniquePrefix, waitFor } from '../../support/env';
import { makeApp, sessionStore } from './app';
import { targets } from './support';

/** An HTTP client of one running app, with the cookie jar a browser would keep. */
const browser = (base: string) => {
  let cookie: string | undefined;
  const call = async (method: string, path: string, body?: unknown, as?: string) => {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...((as ?? cookie) !== undefined ? { cookie: as ?? cookie! } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : null,
    });
    const set = res.headers.get('set-cookie');
    if (set !== null) cookie = set.split(';')[0];
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  return {
    login: (user: string) => call('POST', '/login', { user }),
    me: (as?: string) => call('GET', '/me', undefined, as),
    logout: () => call('POST', '/logout'),
    get cookie() {
      return cookie;
    },
  };
};

/** The session id inside express-session's signed cookie (`connect.sid=s%3A<id>.<signature>`). */
const sidOf = (cookie: string): string => {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  return value.slice(2, value.lastIndexOf('.'));
};

const listen = async (store: Store): Promise<{ server: Server; base: string }> => {
  const server = makeApp(store).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** express-session's callback API as promises. */
const api = (store: Store) => ({
  get: promisify(store.get.bind(store)) as (sid: string) => Promise<SessionData | null>,
  set: promisify(store.set.bind(store)) as (sid: string, s: SessionData) => Promise<void>,
  touch: promisify(store.touch!.bind(store)) as (sid: string, s: SessionData) => Promise<void>,
  destroy: promisify(store.destroy.bind(store)) as (sid: string) => Promise<void>,
  all: promisify(store.all!.bind(store)) as () => Promise<SessionData[]>,
  length: promisify(store.length!.bind(store)) as () => Promise<number>,
  clear: promisify(store.clear!.bind(store)) as () => Promise<void>,
  ids: promisify(
    (store as unknown as { ids: (cb: (e: unknown, ids: string[]) => void) => void }).ids.bind(
      store,
    ),
  ) as () => Promise<string[]>,
});

describe.each(targets)(
  'Express 5 + express-session with expressSessionStore (%s)',
  (kind, connect) => {
    const prefix = uniquePrefix(`sess-express-${kind}`);
    let client: RedisClient;
    const servers: Server[] = [];
    let n = 0;
    const start = async (options: { ttlMs?: number; absoluteTtlMs?: number } = {}) => {
      const store = sessionStore(client, { prefix: `${prefix}${++n}:`, ...options });
      const { server, base } = await listen(store);
      servers.push(server);
      return { store, base, ...api(store) };
    };

    beforeAll(async () => {
      client = connect();
      await client.ready()();
    });
    afterAll(async () => {
      await Promise.all(servers.map(close));
      await deleteKeys(client.redis, prefix);
      await client.close();
    });

    it('login sets a session, the next request sees it, logout destroys it for good', async () => {
      const app = await start();
      const ada = browser(app.base);
      expect((await ada.me()).status).toBe(401);
      expect(await ada.login('ada')).toEqual({ status: 200, body: { user: 'ada' } });
      const signedIn = ada.cookie!;
      expect(await ada.me()).toEqual({ status: 200, body: { user: 'ada' } });
      expect(await app.ids()).toEqual([sidOf(signedIn)]);

      expect((await ada.logout()).status).toBe(204);
      expect((await ada.me(signedIn)).status).toBe(401);
      expect(await app.get(sidOf(signedIn))).toBeNull();
      // a request still in flight that writes the session afterwards does not bring it back
      await app.set(sidOf(signedIn), {
        cookie: { originalMaxAge: null },
        user: 'ada',
      } as SessionData);
      expect(await app.get(sidOf(signedIn))).toBeNull();
      expect((await ada.me(signedIn)).status).toBe(401);
    });

    it('a regenerated session’s old cookie no longer works', async () => {
      const app = await start();
      const ada = browser(app.base);
      await ada.login('guest');
      const before = ada.cookie!;
      await ada.login('ada'); // regenerates
      const after = ada.cookie!;
      expect(sidOf(after)).not.toBe(sidOf(before));
      expect((await ada.me(before)).status).toBe(401);
      expect(await ada.me(after)).toEqual({ status: 200, body: { user: 'ada' } });
    });

    it('an idle session expires; requests keep it alive (touch)', async () => {
      const app = await start({ ttlMs: 1200 });
      const ada = browser(app.base);
      await ada.login('ada');
      const cookie = ada.cookie!;
      // A request at least every 300 ms keeps it for longer than the idle lifetime…
      const started = Date.now();
      while (Date.now() - started < 1500) {
        expect((await ada.me(cookie)).status).toBe(200);
        await new Promise((r) => setTimeout(r, 150));
      }
      // …and without requests it expires (watched through the store: a request would touch it).
      await waitFor(async () => (await app.get(sidOf(cookie))) === null, {
        timeoutMs: 6000,
        message: 'idle expiry',
      });
      expect((await ada.me(cookie)).status).toBe(401);
    });

    it('the absolute lifetime ends a busy session', async () => {
      const app = await start({ ttlMs: 5000, absoluteTtlMs: 800 });
      const ada = browser(app.base);
      await ada.login('ada');
      const cookie = ada.cookie!;
      await waitFor(async () => (await ada.me(cookie)).status === 401, {
        timeoutMs: 6000,
        intervalMs: 100,
        message: 'absolute expiry over HTTP',
      });
    });

    it('implements the rest of the Store API: touch, all, length, ids, clear', async () => {
      const app = await start();
      const ada = browser(app.base);
      const bob = browser(app.base);
      await ada.login('ada');
      await bob.login('bob');
      expect(await app.length()).toBe(2);
      expect((await app.ids()).sort()).toEqual([sidOf(ada.cookie!), sidOf(bob.cookie!)].sort());
      const all = await app.all();
      expect(all.map((s) => (s as SessionData & { user: string }).user).sort()).toEqual([
        'ada',
        'bob',
      ]);
      expect(all.map((s) => (s as SessionData & { id: string }).id).sort()).toEqual(
        (await app.ids()).sort(),
      );
      await app.touch(sidOf(ada.cookie!), { cookie: { originalMaxAge: null } } as SessionData);
      await app.clear();
      expect(await app.length()).toBe(0);
      expect((await ada.me()).status).toBe(401);
    });

    it('bad session ids are "no session" without a command sent', async () => {
      const app = await start();
      const before = client.metrics.snapshot().totalCommands;
      for (const sid of ['', 'x', 'A'.repeat(300), 'abc/def+ghi=jkl.mno;pqr', 'ü'.repeat(30)]) {
        expect(await app.get(sid)).toBeNull();
        await app.destroy(sid);
        await app.touch(sid, { cookie: { originalMaxAge: null } } as SessionData);
      }
      expect(client.metrics.snapshot().totalCommands).toBe(before);
    });
  },
);

describe('the same app on connect-redis (the line the switch changes)', () => {
  const prefix = uniquePrefix('sess-connect-redis');
  const redis = createClient({ url: testRedisUrl() });
  let server: Server;
  beforeAll(async () => {
    await redis.connect();
  });
  afterAll(async () => {
    if (server !== undefined) await close(server);
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` }))
      if (keys.length > 0) await redis.del(keys);
    await redis.quit();
  });

  it('behaves the same over HTTP', async () => {
    const started = await listen(new RedisStore({ client: redis, prefix }));
    server = started.server;
    const ada = browser(started.base);
    await ada.login('ada');
    const cookie = ada.cookie!;
    expect(await ada.me()).toEqual({ status: 200, body: { user: 'ada' } });
    expect((await ada.logout()).status).toBe(204);
    expect((await ada.me(cookie)).status).toBe(401);
  });
});
