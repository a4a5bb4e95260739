import { randomBytes } from 'node:crypto';
import type { SessionData, Store } from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { ExpressSessionData, Session, createRedis, expressSessionStore } from '../../src';
import type { BenchCase } from '../harness';
import type { BenchContext } from '../index';

/**
 * Sessions at the express-session `Store` level, against connect-redis 9 on a node-redis 5
 * client: the same Redis, the same session, the same concurrency, in the same run, over 1000
 * sessions read round-robin. Ours sends the gets of one tick as one MGET and the touches as one
 * session-touch script call (a PEXPIRE a session, capped by its absolute deadline); connect-redis
 * sends a GET (EXPIRE) each. Connections and sessions are set up on the first run, so
 * filtered-out runs cost nothing.
 */
export const sessionCases = async (ctx: BenchContext): Promise<BenchCase[]> => {
  // The same session in both: express-session's cookie plus a little application data.
  const session = {
    cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/', sameSite: 'lax' },
    user: { id: 'u-1042', name: 'Ada Lovelace', roles: ['reader', 'editor'] },
    cart: ['book-1', 'book-7', 'pen-3'],
    csrf: randomBytes(18).toString('base64url'),
  } as unknown as SessionData;
  // express-session's own id format
  const sids = Array.from({ length: 1000 }, () => randomBytes(24).toString('base64url'));
  const promised = (f: (cb: (e?: unknown) => void) => void) =>
    new Promise<void>((resolve, reject) => f((e) => (e ? reject(e) : resolve())));

  let stores: Promise<{ ours: Store; theirs: Store }> | undefined;
  const setUp = () =>
    (stores ??= (async () => {
      const client = createRedis({ url: ctx.url, instance: 'bench:' });
      const nodeRedis = createClient({ url: ctx.url });
      await nodeRedis.connect();
      const ours = expressSessionStore(
        Session.make({ client, codec: ExpressSessionData, prefix: 'sess:', ttlMs: 30 * 60_000 }),
      );
      const theirs = new RedisStore({ client: nodeRedis, prefix: 'bench:connect-redis:' });
      ctx.onTeardown(async () => {
        await promised((cb) => ours.clear!(cb));
        await theirs.clear();
        await client.close();
        await nodeRedis.quit();
      });
      for (const sid of sids) {
        await promised((cb) => ours.set(sid, session, cb));
        await theirs.set(sid, session);
      }
      return { ours, theirs: theirs as unknown as Store };
    })());
  let next = 0;

  const call = (store: Store, method: 'get' | 'touch') =>
    new Promise<void>((resolve, reject) => {
      const sid = sids[next++ % sids.length]!;
      const done = (e?: unknown, found?: unknown) =>
        e ? reject(e) : method === 'get' && !found ? reject(new Error('no session')) : resolve();
      if (method === 'get') store.get(sid, done);
      else store.touch!(sid, session, done);
    });
  const concurrency = 100;
  const batches = async (ops: number, one: () => Promise<void>) => {
    for (let done = 0; done < ops; done += concurrency) {
      await Promise.all(Array.from({ length: Math.min(concurrency, ops - done) }, one));
    }
  };

  return (['get', 'touch'] as const).map((method): BenchCase => ({
    name: `session ${method}, ${concurrency} concurrent (express-session Store API)`,
    ops: 20_000,
    ours: {
      name: `expressSessionStore.${method}`,
      run: async (ops) => {
        const { ours } = await setUp();
        await batches(ops, () => call(ours, method));
      },
    },
    others: [
      {
        name: 'connect-redis 9 (node-redis 5)',
        run: async (ops) => {
          const { theirs } = await setUp();
          await batches(ops, () => call(theirs, method));
        },
        target: 1.0,
      },
    ],
  }));
};
