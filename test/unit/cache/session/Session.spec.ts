import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as O from 'fp-ts/Option';
import type { TaskEither } from 'fp-ts/TaskEither';
import { Session, type RedisClient } from '../../../../src';

const Cart = t.type({ items: t.array(t.string) });

/** A client whose connection answers scripts from `replies` and records every call. */
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
  return { client, touched, calls, counters };
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
    let reply: unknown = null;
    const { client } = fakeClient({ get: () => reply });
    const store = Session.make({ client, codec: Cart, ttlMs: 1000 });
    expect(await run(store.get(id))).toEqual(E.right(O.none));
    reply = ['{"items":["x"]}', '2', '10', '20', null];
    expect(await run(store.get(id))).toEqual(
      E.right(O.some({ id, data: { items: ['x'] }, version: 2, createdAt: 10, expiresAt: 20 })),
    );
    reply = ['{"items":"x"}', '2', '10', '20', null];
    const bad = await run(store.get(id));
    expect(E.isLeft(bad) && bad.left._tag).toBe('DecodeError');
    expect(E.isLeft(bad) && bad.left.message).not.toContain(id);
  });

  it('create: the user’s bucket, the cap and the lifetimes reach the script', async () => {
    const { client, calls, counters } = fakeClient({ create: () => [1, 100, 600, 2] });
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
    const { client, calls } = fakeClient({ create: () => (++n < 2 ? null : [1, 1, 2, 0]) });
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
});
