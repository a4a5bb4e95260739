import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import type { TaskEither } from 'fp-ts/TaskEither';
import { DecodeError, Session, type RedisClient } from '../../../../src';
import { opsOf } from '../../../../src/cache/sessionInternals';

const Cart = t.type({ items: t.array(t.string) });

/**
 * A client whose connection answers scripts from `replies` and records every call; commands
 * sent with `sendCommand` (the batched MGET and session-touch) are answered by `replies.<name>`
 * with the command's arguments (`evalsha`: without the sha).
 */
const fakeClient = (replies: Record<string, (...args: unknown[]) => unknown> = {}) => {
  const touched: string[] = [];
  const calls: Array<[string, unknown[]]> = [];
  const counters: Record<string, number> = {};
  const target: Record<string, unknown> = {
    defineCommand: (name: string) => {
      target[name] = (...args: unknown[]) => {
        calls.push([name, args]);
        const reply = replies[name.replace('mameySession_', '')];
        return Promise.resolve(reply === undefined ? null : reply(...args));
      };
    },
    sendCommand: (command: { name: string; args: unknown[] }) => {
      const args = command.name === 'evalsha' ? command.args.slice(1) : command.args;
      calls.push([command.name, args]);
      const reply = replies[command.name];
      return Promise.resolve(reply === undefined ? null : reply(...args));
    },
  };
  const redis = new Proxy(target, {
    get: (obj, prop) => {
      touched.push(String(prop));
      return obj[prop as string];
    },
  });
  const client = {
    redis,
    key: (k: string) => `App:${k}`,
    metrics: { increment: (c: string, by = 1) => void (counters[c] = (counters[c] ?? 0) + by) },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  } as unknown as RedisClient;
  return { client, touched, calls, counters, redis: target };
};

const run = <E, A>(task: TaskEither<E, A>) => task();

describe('Session.make', () => {
  it('throws a TypeError for lifetimes or caps that are not positive integers', () => {
    const { client } = fakeClient();
    for (const bad of [0, -1, 1.5, NaN, Infinity]) {
      expect(() => Session.make({ client, codec: Cart, ttlMs: bad })).toThrow(TypeError);
      expect(() => Session.make({ client, codec: Cart, ttlMs: 1, absoluteTtlMs: bad })).toThrow(
        /absoluteTtlMs/,
      );
      expect(() => Session.make({ client, codec: Cart, ttlMs: 1, maxPerUser: bad })).toThrow(
        /maxPerUser/,
      );
    }
  });

  it('does nothing until a function runs', () => {
    const { client, touched } = fakeClient();
    const store = Session.make({ client, codec: Cart, ttlMs: 1000 });
    store.get('A'.repeat(26));
    store.create({ items: [] });
    expect(touched).toEqual([]);
  });
});

describe('bad input is refused without touching Redis', () => {
  const bad = [
    '',
    'abc',
    'A'.repeat(129),
    `${'A'.repeat(24)}/=`,
    `${'A'.repeat(25)} `,
    'é'.repeat(26),
  ];

  it.each(bad.map((id) => [JSON.stringify(id).slice(0, 30), id]))('id %s', async (_, id) => {
    const { client, touched, counters } = fakeClient();
    const store = Session.make({ client, codec: Cart, ttlMs: 1000 });
    const results = await Promise.all([
      run(store.get(id)),
      run(store.touch(id)),
      run(store.destroy(id)),
      run(store.update(id, { items: [] }, 1)),
      run(store.modify(id, (c) => c)),
      run(store.regenerate(id)),
      run(store.regenerate(id, { userId: 'ada' })),
    ]);
    for (const r of results) {
      expect(E.isLeft(r) && r.left).toBeInstanceOf(Session.InvalidSessionInput);
      expect(E.isLeft(r) && r.left._tag).toBe('InvalidSessionInput');
    }
    expect(touched).toEqual([]);
    expect(counters['session.rejected']).toBe(results.length);
  });

  it('empty or over-long user ids', async () => {
    const { client, touched } = fakeClient();
    const store = Session.make({ client, codec: Cart, ttlMs: 1000 });
    for (const userId of ['', 'u'.repeat(1025)]) {
      for (const task of [
        store.create({ items: [] }, { userId }),
        store.listForUser(userId),
        store.revokeAll(userId),
      ]) {
        const r = await run<unknown, unknown>(task);
        expect(E.isLeft(r) && r.left).toMatchObject({
          _tag: 'InvalidSessionInput',
          field: 'userId',
        });
      }
    }
    expect(touched).toEqual([]);
  });
});

describe('script arguments and reply mapping', () => {
  const id = 'Ab' + 'x'.repeat(24);

  it('update: written, conflict, gone', async () => {
    let reply: unknown = [1, 4, '100', '900', 'ada'];
    const { client, calls } = fakeClient({ update: () => reply });
    const store = Session.make({ client, codec: Cart, ttlMs: 1000, prefix: 's:' });
    expect(await run(store.update(id, { items: ['a'] }, 3))).toEqual(
      E.right({
        id,
        data: { items: ['a'] },
        version: 4,
        userId: 'ada',
        createdAt: 100,
        expiresAt: 900,
      }),
    );
    expect(calls[0]).toEqual([
      'mameySession_update',
      [`App:s:{Ab}s:${id}`, '{"items":["a"]}', 3, 1000],
    ]);
    reply = [-1, 5];
    const conflict = await run(store.update(id, { items: [] }, 3));
    expect(E.isLeft(conflict) && conflict.left).toMatchObject({
      _tag: 'Conflict',
      expected: 3,
      actual: 5,
    });
    expect(E.isLeft(conflict) && conflict.left).toBeInstanceOf(Error);
    reply = [0];
    const gone = await run(store.update(id, { items: [] }, 3));
    expect(E.isLeft(gone) && gone.left._tag).toBe('SessionNotFound');
  });

  it('get: a missing session is none, a stored one is decoded; a bad one is a DecodeError', async () => {
    let reply: unknown = [1000];
    const { client, calls } = fakeClient({ get: () => reply });
    const store = Session.make({ client, codec: Cart, ttlMs: 1000 });
    expect(await run(store.get(id))).toEqual(E.right(O.none));
    expect(calls[0]).toEqual(['mameySession_get', [`App:sess:{Ab}s:${id}`, 1000]]);
    reply = [1000, '2:10:20:0:{"items":["x"]}'];
    expect(await run(store.get(id))).toEqual(
      E.right(O.some({ id, data: { items: ['x'] }, version: 2, createdAt: 10, expiresAt: 20 })),
    );
    reply = [1000, '3:10:20:4:adé{"items":[]}']; // the user id's length is in UTF-8 bytes
    expect(await run(store.get(id))).toEqual(
      E.right(
        O.some({
          id,
          data: { items: [] },
          version: 3,
          userId: 'adé',
          createdAt: 10,
          expiresAt: 20,
        }),
      ),
    );
    reply = [1000, '2:10:20:0:{"items":"x"}'];
    const bad = await run(store.get(id));
    expect(E.isLeft(bad) && bad.left._tag).toBe('DecodeError');
    expect(E.isLeft(bad) && bad.left.message).not.toContain(id);
    reply = [1000, '{"items":["x"]}']; // not a value this store wrote
    const foreign = await run(store.get(id));
    expect(E.isLeft(foreign) && foreign.left._tag).toBe('DecodeError');
  });

  it('sliding get: a bare GETEX while the deadline is far off, the script when it is near', async () => {
    let serverNow = 1_000_000;
    const deadline = serverNow + 60_000;
    const getex: unknown[][] = [];
    const { client, calls, redis } = fakeClient({
      get: () => [serverNow, `1:${serverNow}:${deadline}:0:{"items":[]}`],
    });
    redis['getex'] = (...args: unknown[]) => {
      getex.push(args);
      return Promise.resolve(`1:${serverNow}:${deadline}:0:{"items":["y"]}`);
    };
    let localNow = 5_000; // the local clock is far behind the server's: only offsets count
    const store = Session.make({ client, codec: Cart, ttlMs: 10_000, now: () => localNow });
    // first read: the deadline is unknown, so the script reads it and caps the expiry
    expect(O.isSome(E.getOrElseW(() => O.none)(await run(store.get(id))))).toBe(true);
    expect(calls).toHaveLength(1);
    // now known to be 60 s off: a bare GETEX pushes the expiry back
    expect(await run(store.get(id))).toMatchObject(E.right(O.some({ data: { items: ['y'] } })));
    // to a time on the server's clock: its now as last reported, plus ttlMs
    expect(getex).toEqual([[`App:sess:{Ab}s:${id}`, 'PXAT', serverNow + 10_000]]);
    // 51 s later the new expiry would come within a second of the deadline: the script again
    localNow += 51_000;
    serverNow += 51_000;
    await run(store.get(id));
    expect(calls).toHaveLength(2);
    expect(getex).toHaveLength(1);
  });

  it('create: the user’s bucket, the cap and the lifetimes reach the script', async () => {
    const { client, calls, counters } = fakeClient({ create: () => [1, 100, 600, 2, 100] });
    const store = Session.make({
      client,
      codec: Cart,
      ttlMs: 50,
      absoluteTtlMs: 500,
      maxPerUser: 3,
      prefix: 's:',
    });
    const made = await run(store.create({ items: [] }, { userId: 'ada' }));
    expect(E.isRight(made) && made.right).toMatchObject({
      version: 1,
      userId: 'ada',
      createdAt: 100,
      expiresAt: 600,
    });
    const newId = E.isRight(made) ? made.right.id : '';
    const [name, args] = calls[0]!;
    expect(name).toBe('mameySession_create');
    const bucket = newId.slice(0, 2);
    expect(args).toEqual([
      `App:s:{${bucket}}s:${newId}`,
      `App:s:{${bucket}}g:${newId}`,
      `App:s:{${bucket}}u:ada`,
      newId,
      '{"items":[]}',
      50,
      'ada',
      3,
      `App:s:{${bucket}}`,
      500,
      '',
    ]);
    expect(counters['session.evicted']).toBe(2);
  });

  it('create retries with a new id when the id is taken', async () => {
    let n = 0;
    const { client, calls } = fakeClient({ create: () => (++n < 2 ? null : [1, 1, 2, 0, 1]) });
    const store = Session.make({ client, codec: Cart, ttlMs: 50 });
    const made = await run(store.create({ items: [] }));
    expect(E.isRight(made)).toBe(true);
    expect(calls).toHaveLength(2);
    expect(calls[0]![1][3]).not.toBe(calls[1]![1][3]);
  });

  it('an unencodable value is an EncodeError, before any command', async () => {
    const { client, touched } = fakeClient();
    const Big = t.type({ n: t.bigint as unknown as t.Type<bigint, bigint> });
    const store = Session.make({ client, codec: Big, ttlMs: 50 });
    const r = await run(store.create({ n: 1n }));
    expect(E.isLeft(r) && r.left._tag).toBe('EncodeError');
    expect(touched).toEqual([]);
  });

  it('listForUser maps the flat reply, µs scores to ms', async () => {
    const { client } = fakeClient({
      list: () => ['id1', '1700000000000123', 500, 'id2', '1700000000001000', 900],
    });
    const store = Session.make({ client, codec: Cart, ttlMs: 50 });
    expect(await run(store.listForUser('ada'))).toEqual(
      E.right([
        { id: 'id1', createdAt: 1700000000000, idleMs: 500 },
        { id: 'id2', createdAt: 1700000000001, idleMs: 900 },
      ]),
    );
  });

  it('touch: one script call a tick, a bare PEXPIRE for far deadlines, the others read', async () => {
    const farId = 'Cd' + 'y'.repeat(24);
    const serverNow = 1_000_000;
    const { client, calls } = fakeClient({
      // create reports the server's time and the deadline (60 s off)
      create: () => [1, serverNow, serverNow + 60_000, 0, serverNow],
      // session-touch: [server time, positions (from 1) of keys that are no session]
      evalsha: () => [serverNow, 1],
    });
    const store = Session.make({ client, codec: Cart, ttlMs: 10_000, now: () => 5_000 });
    const made = await run(store.create({ items: [] }));
    const known = E.isRight(made) ? made.right.id : '';
    calls.length = 0;
    // `id` and `farId` were never read here: the script reads their deadlines; `known`'s is far
    const [a, b, c] = await Promise.all([
      run(store.touch(id)),
      run(store.touch(known)),
      run(store.touch(farId)),
    ]);
    expect([a, b, c]).toEqual([E.right(false), E.right(true), E.right(true)]);
    const key = (i: string) => `App:sess:{${i.slice(0, 2)}}s:${i}`;
    expect(calls).toEqual([
      // numkeys, the keys (the ones to read first), how many to read, the earliest deadline of
      // the others less their longest idle time, the shared idle ms
      ['evalsha', ['3', key(id), key(farId), key(known), '2', String(serverNow + 50_000), '10000']],
    ]);
  });

  it('express-session reads: one MGET a tick, read as bytes, each value decoded on its own', async () => {
    const other = 'Cd' + 'y'.repeat(24);
    const { client, calls } = fakeClient({
      mget: () => [
        Buffer.from('1:10:99999:0:{"items":["x"]}'),
        null,
        Buffer.from('1:10:99999:0:{"items":"x"}'),
      ],
    });
    const store = Session.make({ client, codec: Cart, ttlMs: 1000 });
    const ops = opsOf<{ items: string[] }>(store)!;
    const peek = (sid: string) =>
      new Promise<unknown>((resolve) => ops.peek(sid, (e, data) => resolve(e ?? data)));
    const bad = 'Ef' + 'z'.repeat(24);
    const [found, missing, refused] = await Promise.all([peek(id), peek(other), peek(bad)]);
    expect(found).toEqual({ items: ['x'] });
    expect(missing).toBeNull();
    expect(refused).toBeInstanceOf(DecodeError);
    expect(calls).toEqual([
      ['mget', [`App:sess:{Ab}s:${id}`, `App:sess:{Cd}s:${other}`, `App:sess:{Ef}s:${bad}`]],
    ]);
  });
});
