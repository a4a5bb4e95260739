/**
 * A cache whose invalidation channel is lost for good, on a server of its own: revoking the
 * user's channel permissions makes Redis drop its subscriber connection, and the SUBSCRIBE
 * renewed after the reconnect is refused (NOPERM). From then on the cache cannot hear other
 * instances' writes, so it forgets its memory tier (a value changed meanwhile is read afresh, not
 * served from memory) and logs it; once permitted again, its next use subscribes again and
 * invalidations flow.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import type * as TE from 'fp-ts/TaskEither';
import { Redis } from 'ioredis';
import { Cache, createRedis, type RedisClient } from '../../../src';
import { recordingLogger } from '../../../src/testing';
import { waitFor } from '../../support/env';
import { spawnRedis, type RedisServer } from '../../support/redisProcess';

const right = async <A>(te: TE.TaskEither<unknown, A>): Promise<A> => {
  const r = await te();
  if (E.isLeft(r)) throw new Error(`expected a Right, got ${String(r.left)}`);
  return r.right;
};

describe('Cache whose invalidation channel is lost', () => {
  const user = { name: 'app', password: 'app-secret' };
  let server: RedisServer;
  let admin: Redis;
  const clients: RedisClient[] = [];
  const open = (extra: object = {}): RedisClient => {
    const c = createRedis({
      url: server.url,
      instance: 'lost:',
      reconnectMaxDelayMs: 100,
      ...extra,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await spawnRedis({ name: 'cache-bus-lost', aclUsers: [user] });
    admin = new Redis(server.url);
  }, 30_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ timeoutMs: 1000 })));
    admin?.disconnect();
    await server?.stop();
  });

  it('forgets its memory tier and says so, then subscribes again once it may', async () => {
    const logger = recordingLogger();
    const app = open({ username: user.name, password: user.password, logger });
    const other = open(); // the default user: another instance of the same namespace
    const memory = { maxEntries: 100, ttlMs: 60_000 };
    const here = Cache.make({ client: app, codec: t.string, namespace: 'ns', memory });
    const there = Cache.make({ client: other, codec: t.string, namespace: 'ns', memory });

    await right(here.set('k', 'v1'));
    expect(await right(here.get('k'))).toEqual(O.some('v1')); // now in its memory tier

    await admin.call('ACL', 'SETUSER', user.name, 'resetchannels');
    await waitFor(() => logger.lines.some((l) => l.msg === 'cache lost its invalidation channel'), {
      message: 'the cache reports the lost channel',
    });
    const warning = logger.lines.find((l) => l.msg === 'cache lost its invalidation channel')!;
    expect(warning.level).toBe('warn');
    expect(warning.obj).toMatchObject({ namespace: 'ns' });
    expect(logger.text()).not.toContain(user.password);

    // written while `here` hears nothing (so no invalidation reaches it): read from Redis, not
    // from the memory tier it forgot
    await admin.set('lost:ns:0:k', JSON.stringify('v2'));
    await admin.call('ACL', 'SETUSER', user.name, 'allchannels');
    expect(await right(here.get('k'))).toEqual(O.some('v2'));

    // subscribed again: another instance's write evicts its memory copy
    await right(there.set('k', 'v3'));
    await waitFor(async () => O.getOrElse(() => '')(await right(here.get('k'))) === 'v3', {
      message: 'the write of the other instance reached this one',
    });
    await Promise.all([here.close(), there.close()]);
  });
});
