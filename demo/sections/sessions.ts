import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import type { TaskEither } from 'fp-ts/TaskEither';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { Session, type RedisClient } from '../../src';
import { say } from '../print';

const UserSession = t.type(
  { userId: t.string, roles: t.array(t.string), cart: t.array(t.string) },
  'UserSession',
);

const run = async <E extends Error, A>(task: TaskEither<E, A>): Promise<A> => {
  const r = await task();
  if (E.isLeft(r)) throw r.left;
  return r.right;
};
const short = (id: string) => `${id.slice(0, 6)}…`;

/** The seed's SessionService, rewritten: typed sessions with expiry, users, conflicts, events. */
export const sessionsDemo = async (client: RedisClient): Promise<void> => {
  const sessions = Session.make({
    client,
    codec: UserSession,
    prefix: 'demo:session:',
    ttlMs: 30 * 60_000,
    absoluteTtlMs: 12 * 60 * 60_000,
    maxPerUser: 3,
  });

  const s = await run(
    sessions.create({ userId: 'ada', roles: ['admin'], cart: [] }, { userId: 'ada' }),
  );
  say(`create → id ${short(s.id)} (${s.id.length} URL-safe chars), version ${s.version}`);
  const read = await run(sessions.get(s.id));
  say(
    `get → ${O.isSome(read) ? JSON.stringify(read.value.data) : 'none'} (idle expiry pushed back)`,
  );

  const first = await sessions.update(s.id, { ...s.data, cart: ['book'] }, s.version)();
  const late = await sessions.update(s.id, { ...s.data, cart: ['pen'] }, s.version)();
  say(`update at v1 → ${E.isRight(first) ? `v${first.right.version}` : first.left._tag}`);
  say(
    `a second update at v1 → ${E.isLeft(late) ? `${late.left._tag}: ${late.left.message}` : 'written?!'}`,
  );
  const merged = await run(sessions.modify(s.id, (d) => ({ ...d, cart: [...d.cart, 'pen'] })));
  say(
    `modify (read, change, retry on Conflict) → cart ${JSON.stringify(merged.data.cart)}, v${merged.version}`,
  );

  const moved = await run(sessions.regenerate(s.id));
  const old = await run(sessions.get(s.id));
  say(
    `regenerate → ${short(moved.id)}; the old id now reads ${O.isNone(old) ? 'none' : 'something?!'}`,
  );

  for (let i = 0; i < 3; i++)
    await run(sessions.create({ userId: 'ada', roles: [], cart: [] }, { userId: 'ada' }));
  const listed = await run(sessions.listForUser('ada'));
  say(
    `4 sessions created for ada with maxPerUser 3 → ${listed.length} listed; the oldest (${short(moved.id)}) ${
      listed.some((x) => x.id === moved.id) ? 'kept?!' : 'was revoked'
    }`,
  );
  say(`revokeAll('ada') → ${await run(sessions.revokeAll('ada'))} sessions ended`);

  const bad = await sessions.get('../../etc/passwd')();
  say(`get('../../etc/passwd') → ${E.isLeft(bad) ? bad.left.message : 'read?!'} (no command sent)`);

  const brief = Session.make({ client, codec: UserSession, prefix: 'demo:session:', ttlMs: 300 });
  const created = new Set<string>();
  // The keyspace subscription is confirmed asynchronously: keep making short-lived sessions
  // until one expiry is heard.
  const heard = firstValueFrom(
    brief.expired$.pipe(
      filter((id) => created.has(id)),
      timeout(10_000),
    ),
  );
  const maker = setInterval(() => {
    void brief
      .create({ userId: 'bob', roles: [], cart: [] })()
      .then((r) => {
        if (E.isRight(r)) created.add(r.right.id);
      });
  }, 250);
  try {
    say(
      `expired$ (keyspace notifications, best-effort) → ${short(await heard)} expired (ttlMs 300)`,
    );
  } finally {
    clearInterval(maker);
  }
  await run(sessions.clear());
};
