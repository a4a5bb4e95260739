import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import * as TE from 'fp-ts/TaskEither';
import { pipe } from 'fp-ts/function';
import { performance } from 'node:perf_hooks';
import { Cache, DateFromISOString, type RedisClient } from '../../src';
import { say, table } from '../print';

const User = t.type({ id: t.string, name: t.string, since: DateFromISOString }, 'User');
type User = t.TypeOf<typeof User>;

/**
 * The seed's layered `GetUserAsync` (memory → Redis → database, then cache in both) as one
 * `pipe(…)`, then a memory-tier hit against a Redis hit.
 */
export const cacheDemo = async (client: RedisClient): Promise<void> => {
  let dbReads = 0;
  const loadUserFromDatabase = (id: string): TE.TaskEither<Error, User> =>
    TE.fromTask(
      async () => (dbReads++, { id, name: 'Ada Lovelace', since: new Date('2015-12-10') }),
    );

  const users = Cache.make({
    client,
    codec: User,
    namespace: 'demo:user',
    ttlMs: 60 * 60_000, // Redis: 1 hour
    memory: { maxEntries: 10_000, ttlMs: 5 * 60_000 }, // memory: 5 minutes
  });
  const redisOnly = Cache.make({ client, codec: User, namespace: 'demo:user' });

  // GetUserAsync: memory, then Redis (both inside users.get), else the database, cached in both.
  const getUser = (id: string): TE.TaskEither<Cache.CacheError | Error, User> =>
    pipe(
      users.get(id),
      TE.flatMap(
        O.match(
          () =>
            pipe(
              loadUserFromDatabase(id),
              TE.tap((user) => users.set(id, user)),
            ),
          (user) => TE.right(user),
        ),
      ),
    );

  try {
    for (const attempt of [1, 2]) {
      const r = await getUser('42')();
      say(
        `getUser('42') #${attempt}: ${E.isRight(r) ? `${r.right.name}, since ${r.right.since.toISOString().slice(0, 10)}` : r.left.message} (database reads so far: ${dbReads})`,
      );
    }
    const r = await users.getOrSet('43', loadUserFromDatabase('43'))();
    say(
      `the same in one call, users.getOrSet('43', load): ${E.isRight(r) ? r.right.name : r.left.message}`,
    );

    const time = async (label: string, c: Cache.Cache<User>): Promise<[string, string, string]> => {
      const n = 2_000;
      const meta = await c.getWithMeta('42')();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await c.get('42')();
      const us = ((performance.now() - t0) * 1000) / n;
      const source = E.isRight(meta) && O.isSome(meta.right) ? meta.right.value.source : '?';
      return [label, source, `${us.toFixed(1)} µs`];
    };
    say('One get, sequential (the memory tier never touches Redis; both decode with the codec):');
    table(
      ['cache', 'served from', 'per get'],
      [await time('with a memory tier', users), await time('Redis only', redisOnly)],
    );
    await users.clear()();
    say(`after users.clear(): get('42') → ${JSON.stringify(await users.get('42')())}`);
  } finally {
    await users.close();
    await redisOnly.close();
  }
};
