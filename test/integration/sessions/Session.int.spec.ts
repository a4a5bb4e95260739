import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import { Session, type RedisClient, type SessionConfig } from '../../../src';
import { sessionKeys } from '../../../src/cache/sessionIds';
import { opsOf } from '../../../src/cache/sessionInternals';
import { deleteKeys, uniquePrefix, waitFor } from '../../support/env';
import { left, right, targets } from './support';

const Cart = t.type({ user: t.string, items: t.array(t.string) }, 'Cart');
type Cart = t.TypeOf<typeof Cart>;
const cart = (user: string, ...items: string[]): Cart => ({ user, items });

describe.each(targets)('Session (%s)', (kind, connect) => {
  const prefix = uniquePrefix(`sess-${kind}`);
  let client: RedisClient;
  let n = 0;
  /** A store under its own prefix (below the suite's), so tests never see each other's keys. */
  const store = <A = Cart>(
    overrides: Partial<SessionConfig<A>> = {},
  ): { sessions: Session.SessionStore<A>; keys: ReturnType<typeof sessionKeys> } => {
    const p = `${prefix}${++n}:`;
    const sessions = Session.make<A>({
      client,
      codec: Cart as unknown as t.Type<A, unknown, unknown>,
      ttlMs: 10_000,
      absoluteTtlMs: 60_000,
      prefix: p,
      ...overrides,
    });
    return { sessions, keys: sessionKeys(client.key(p)) };
  };
  const serverNow = async () => {
    const [s, us] = await client.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  beforeAll(async () => {
    client = connect();
    await client.ready()();
  });
  afterAll(async () => {
    await deleteKeys(client.redis, prefix);
    await client.close();
  });

  it('creates and reads a typed session under a fresh 26-character URL-safe id', async () => {
    const { sessions } = store();
    const a = await right(sessions.create(cart('ada', 'book')));
    const b = await right(sessions.create(cart('bob')));
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{26}$/);
    expect(b.id).not.toBe(a.id);
    expect(a).toMatchObject({ data: cart('ada', 'book'), version: 1 });
    expect(a.expiresAt - a.createdAt).toBe(60_000);
    const read = await right(sessions.get(a.id));
    expect(read).toEqual(O.some({ ...a }));
    expect(await right(sessions.get(b.id.replace(/.$/, b.id.endsWith('A') ? 'B' : 'A')))).toEqual(
      O.none,
    );
  });

  it('idle expiry: a session nobody uses ends after ttlMs', async () => {
    const { sessions } = store({ ttlMs: 400, sliding: false });
    const s = await right(sessions.create(cart('ada')));
    expect(O.isSome(await right(sessions.get(s.id)))).toBe(true);
    await waitFor(async () => O.isNone(await right(sessions.get(s.id))), {
      timeoutMs: 5000,
      message: 'idle expiry',
    });
  });

  it('sliding get pushes back the idle expiry in the same round trip; a plain get does not', async () => {
    const sliding = store({ ttlMs: 1500, sliding: true });
    const plain = store({ ttlMs: 1500, sliding: false });
    const s1 = await right(sliding.sessions.create(cart('ada')));
    const s2 = await right(plain.sessions.create(cart('bob')));
    const pttl = (key: string) => client.redis.pttl(key);
    await waitFor(async () => (await pttl(sliding.keys.session(s1.id))) < 1000, {
      message: 'time passing',
    });
    await waitFor(async () => (await pttl(plain.keys.session(s2.id))) < 1000);
    const before = client.metrics.snapshot().totalCommands;
    expect(O.isSome(await right(sliding.sessions.get(s1.id)))).toBe(true);
    expect(client.metrics.snapshot().totalCommands - before).toBe(1); // one round trip
    expect(O.isSome(await right(plain.sessions.get(s2.id)))).toBe(true);
    expect(await pttl(sliding.keys.session(s1.id))).toBeGreaterThan(1000);
    expect(await pttl(plain.keys.session(s2.id))).toBeLessThan(1000);
    // touch pushes back a plain store's session too
    expect(await right(plain.sessions.touch(s2.id))).toBe(true);
    expect(await pttl(plain.keys.session(s2.id))).toBeGreaterThan(1000);
  });

  it('absolute expiry holds however often the session is touched and read', async () => {
    const { sessions, keys } = store({ ttlMs: 1000, absoluteTtlMs: 1500, sliding: true });
    const s = await right(sessions.create(cart('ada')));
    // Keep it busy: every round pushes back the idle expiry; only the deadline can end it.
    await waitFor(
      async () => {
        const alive = await right(sessions.touch(s.id));
        const read = await right(sessions.get(s.id));
        const ttl = await client.redis.pttl(keys.session(s.id));
        if (alive && ttl > 0) {
          // the key's TTL never reaches past the absolute deadline
          expect(ttl).toBeLessThanOrEqual(s.expiresAt - (await serverNow()) + 50);
        }
        return !alive && O.isNone(read);
      },
      { timeoutMs: 6000, intervalMs: 100, message: 'absolute expiry' },
    );
    expect(await serverNow()).toBeGreaterThanOrEqual(s.expiresAt - 5);
  });

  it('a touch never passes the deadline, even when this process misjudges the server’s clock', async () => {
    // The local clock jumps back an hour before every touch, each time after the store learned
    // the server's: by its own reckoning the deadline is always far off, so it asks for bare
    // PEXPIREs; the script checks that against the server's clock and reads the deadline.
    let skewMs = 0;
    const { sessions, keys } = store({
      ttlMs: 1000,
      absoluteTtlMs: 1500,
      sliding: false,
      now: () => Date.now() - skewMs,
    });
    const s = await right(sessions.create(cart('ada')));
    await waitFor(
      async () => {
        skewMs += 3_600_000;
        const alive = await right(sessions.touch(s.id));
        const ttl = await client.redis.pttl(keys.session(s.id));
        if (alive && ttl > 0) {
          expect(ttl).toBeLessThanOrEqual(s.expiresAt - (await serverNow()) + 50);
        }
        return !alive;
      },
      { timeoutMs: 6000, intervalMs: 100, message: 'absolute expiry' },
    );
    expect(await serverNow()).toBeGreaterThanOrEqual(s.expiresAt - 5);
  });

  it('regenerate moves the session to a new id atomically: the old id is gone at once', async () => {
    const { sessions, keys } = store();
    const s = await right(sessions.create(cart('ada', 'pen'), { userId: 'ada' }));
    const moved = await right(sessions.regenerate(s.id));
    expect(moved.id).not.toBe(s.id);
    expect(moved).toMatchObject({
      data: s.data,
      version: s.version,
      userId: 'ada',
      createdAt: s.createdAt,
      expiresAt: s.expiresAt,
    });
    expect(await right(sessions.get(s.id))).toEqual(O.none);
    expect(O.isSome(await right(sessions.get(moved.id)))).toBe(true);
    expect(await right(sessions.touch(s.id))).toBe(false);
    expect((await left(sessions.update(s.id, cart('eve'), 1)))._tag).toBe('SessionNotFound');
    expect((await right(sessions.listForUser('ada'))).map((x) => x.id)).toEqual([moved.id]);
    expect(await client.redis.exists(keys.session(s.id))).toBe(0);

    // Concurrent regenerations of one id: exactly one wins, so the session is never duplicated.
    const results = await Promise.all(
      Array.from({ length: 8 }, () => sessions.regenerate(moved.id)()),
    );
    const won = results.filter(E.isRight);
    expect(won).toHaveLength(1);
    expect(results.filter(E.isLeft).map((r) => E.isLeft(r) && r.left._tag)).toEqual(
      Array(7).fill('SessionNotFound'),
    );
    const winner = won[0]!.right.id;
    expect(await right(sessions.ids())).toEqual([winner]);
    expect((await right(sessions.listForUser('ada'))).map((x) => x.id)).toEqual([winner]);
  });

  it('regenerate with a user id: an anonymous session becomes the user’s under a new id', async () => {
    const { sessions } = store();
    const anon = await right(sessions.create(cart('guest', 'mug')));
    const signedIn = await right(sessions.regenerate(anon.id, { userId: 'ada' }));
    expect(signedIn).toMatchObject({ data: anon.data, userId: 'ada', expiresAt: anon.expiresAt });
    expect(await right(sessions.get(anon.id))).toEqual(O.none);
    expect((await right(sessions.listForUser('ada'))).map((x) => x.id)).toEqual([signedIn.id]);
  });

  it('revokeAll ends every session of a user at once and none comes back', async () => {
    const { sessions } = store();
    const ada = await Promise.all(
      [1, 2, 3].map((i) => right(sessions.create(cart('ada', `d${i}`), { userId: 'ada' }))),
    );
    const bob = await right(sessions.create(cart('bob'), { userId: 'bob' }));
    expect(await right(sessions.listForUser('ada'))).toHaveLength(3);
    expect(await right(sessions.revokeAll('ada'))).toBe(3);
    for (const s of ada) {
      expect(await right(sessions.get(s.id))).toEqual(O.none);
      expect((await left(sessions.update(s.id, cart('ada', 'late'), 1)))._tag).toBe(
        'SessionNotFound',
      );
      // express-session's late upsert cannot revive it either
      expect(await right(opsOf<Cart>(sessions)!.put(s.id, cart('ada', 'late'), 10_000))).toBe(
        'ended',
      );
    }
    expect(await right(sessions.get(ada[0]!.id))).toEqual(O.none);
    expect(await right(sessions.listForUser('ada'))).toEqual([]);
    expect(O.isSome(await right(sessions.get(bob.id)))).toBe(true);
    expect(await right(sessions.revokeAll('nobody'))).toBe(0);
  });

  it('per-user cap: creating one more session revokes the oldest', async () => {
    const { sessions } = store({ maxPerUser: 2 });
    const first = await right(sessions.create(cart('ada', '1'), { userId: 'ada' }));
    const second = await right(sessions.create(cart('ada', '2'), { userId: 'ada' }));
    const third = await right(sessions.create(cart('ada', '3'), { userId: 'ada' }));
    expect(await right(sessions.get(first.id))).toEqual(O.none);
    expect(O.isSome(await right(sessions.get(second.id)))).toBe(true);
    expect(O.isSome(await right(sessions.get(third.id)))).toBe(true);
    expect((await right(sessions.listForUser('ada'))).map((s) => s.id)).toEqual([
      second.id,
      third.id,
    ]);
    // other users are not affected
    const bob = await right(sessions.create(cart('bob'), { userId: 'bob' }));
    expect(O.isSome(await right(sessions.get(bob.id)))).toBe(true);
    expect(client.metrics.snapshot().counters['session.evicted']).toBeGreaterThanOrEqual(1);
  });

  it('the user index drops sessions that expired on their own, without notifications', async () => {
    const { sessions, keys } = store({ ttlMs: 300 });
    await right(sessions.create(cart('ada', '1'), { userId: 'ada' }));
    await right(sessions.create(cart('ada', '2'), { userId: 'ada' }));
    await waitFor(async () => (await right(sessions.listForUser('ada'))).length === 0, {
      timeoutMs: 5000,
    });
    expect(await client.redis.zcard(keys.userIndex('ada'))).toBe(0);
  });

  it('concurrent updates: one wins, the others get a typed Conflict; modify retries', async () => {
    const { sessions } = store();
    const s = await right(sessions.create(cart('ada')));
    const attempts = await Promise.all(
      Array.from({ length: 10 }, (_, i) => sessions.update(s.id, cart('ada', `w${i}`), 1)()),
    );
    const won = attempts.filter(E.isRight);
    const lost = attempts.flatMap((r) => (E.isLeft(r) ? [r.left] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    for (const e of lost) {
      expect(e).toBeInstanceOf(Session.Conflict);
      expect(e).toMatchObject({ _tag: 'Conflict', expected: 1, actual: 2 });
      expect(e.message).not.toContain(s.id);
    }
    const stored = await right(sessions.get(s.id));
    expect(O.isSome(stored) && stored.value.data).toEqual(won[0]!.right.data);

    // read-modify-write with retries: no increment is lost
    const counter = store<{ n: number }>({ codec: t.type({ n: t.number }) });
    const c = await right(counter.sessions.create({ n: 0 }));
    await Promise.all(
      Array.from({ length: 10 }, () =>
        right(counter.sessions.modify(c.id, ({ n }) => ({ n: n + 1 }), { maxAttempts: 50 })),
      ),
    );
    const final = await right(counter.sessions.get(c.id));
    expect(O.isSome(final) && final.value).toMatchObject({ data: { n: 10 }, version: 11 });
  });

  it('a destroyed session is never resurrected by a late write', async () => {
    const { sessions } = store();
    const s = await right(sessions.create(cart('ada')));
    expect(await right(sessions.destroy(s.id))).toBe(true);
    expect(await right(sessions.destroy(s.id))).toBe(false);
    expect((await left(sessions.update(s.id, cart('ada', 'late'), s.version)))._tag).toBe(
      'SessionNotFound',
    );
    expect(await right(sessions.touch(s.id))).toBe(false);
    expect(await right(opsOf<Cart>(sessions)!.put(s.id, cart('ada', 'late'), 10_000))).toBe(
      'ended',
    );
    expect((await left(sessions.regenerate(s.id)))._tag).toBe('SessionNotFound');
    expect(await right(sessions.get(s.id))).toEqual(O.none);
  });

  it('a session written with an older shape is a typed DecodeError that does not leak the id', async () => {
    const V1 = t.type({ user: t.string });
    const V2 = t.type({ user: t.string, email: t.string }, 'UserV2');
    const p = `${prefix}shape:`;
    const v1 = Session.make({ client, codec: V1, ttlMs: 10_000, prefix: p });
    const v2 = Session.make({ client, codec: V2, ttlMs: 10_000, prefix: p });
    const s = await right(v1.create({ user: 'ada' }));
    const e = await left(v2.get(s.id));
    expect(e._tag).toBe('DecodeError');
    if (e._tag !== 'DecodeError') return;
    expect(e.message).toContain('email');
    expect(e.key).toContain(client.key(p));
    expect(e.key).not.toContain(s.id);
    expect(e.message).not.toContain(s.id);
    expect(e.message).not.toContain('ada');
  });

  it('refuses malformed, over-long and non-URL-safe ids without sending a command', async () => {
    const { sessions } = store();
    const real = await right(sessions.create(cart('ada')));
    const bad = [
      '',
      'Zq9',
      'A'.repeat(129),
      `${real.id.slice(0, 20)}/+==`,
      `${real.id} `,
      `${real.id.slice(0, 25)}é`,
      `${real.id}\r\nDEL *`,
      '../../etc/passwd-aaaaaaaaaaaaaaaaa',
    ];
    const before = client.metrics.snapshot().totalCommands;
    for (const id of bad) {
      for (const task of [
        sessions.get(id),
        sessions.touch(id),
        sessions.destroy(id),
        sessions.update(id, cart('x'), 1),
        sessions.regenerate(id),
      ]) {
        const e = await left<unknown, unknown>(task);
        expect(e).toBeInstanceOf(Session.InvalidSessionInput);
        expect((e as Error).message).not.toContain(id === '' ? '\0' : id);
      }
    }
    expect(client.metrics.snapshot().totalCommands).toBe(before);
    // an unknown id of the right shape is one read that finds nothing
    expect(await right(sessions.get('A'.repeat(26)))).toEqual(O.none);
  });

  it('ids() lists every session and clear() removes the store’s keys', async () => {
    const { sessions, keys } = store();
    const made = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        right(sessions.create(cart(`u${i}`), { userId: `u${i}` })),
      ),
    );
    expect([...(await right(sessions.ids()))].sort()).toEqual(made.map((s) => s.id).sort());
    expect(await right(sessions.clear())).toBeGreaterThanOrEqual(5);
    expect(await right(sessions.ids())).toEqual([]);
    expect(await client.redis.exists(keys.marker(made[0]!.id))).toBe(0);
  });

  it('expired$ emits the ids of sessions that expired (keyspace notifications)', async () => {
    const { sessions } = store({ ttlMs: 300 });
    const heard: string[] = [];
    const sub = sessions.expired$.subscribe((id) => heard.push(id));
    try {
      const destroyed = await right(sessions.create(cart('bob')));
      await right(sessions.destroy(destroyed.id));
      // The subscription is confirmed asynchronously: keep creating short-lived sessions until
      // the expiry of one of them is heard.
      const created = new Set<string>();
      await waitFor(
        async () => {
          created.add((await right(sessions.create(cart('ada')))).id);
          return heard.some((id) => created.has(id));
        },
        { timeoutMs: 15_000, intervalMs: 400, message: 'an expired$ event' },
      );
      expect(heard.every((id) => created.has(id))).toBe(true);
      expect(heard).not.toContain(destroyed.id);
    } finally {
      sub.unsubscribe();
    }
  });
});
