/**
 * readStreamRange against real Redis, on the standalone server and on the Cluster, over entries
 * written raw by redis-cli: an entry that fails to decode fails the read only after every entry
 * before it was emitted, whichever page it is in.
 */
import * as t from 'io-ts';
import { lastValueFrom, materialize, toArray, type Observable } from 'rxjs';
import { readStreamRange, type RedisClient } from '../../../src';
import { deleteKeys, uniquePrefix } from '../../support/env';
import { redisCli, targets } from './helpers';

const Event = t.type({ n: t.number, kind: t.string }, 'Event');

/** Everything the Observable emitted, then the error it ended with (if it did). */
const settle = <A>(entries$: Observable<A>) =>
  lastValueFrom(entries$.pipe(materialize(), toArray())).then((ns) => ({
    got: ns.flatMap((n) => (n.kind === 'N' ? [n.value] : [])),
    error: ns.find((n) => n.kind === 'E')?.error as unknown,
  }));

describe.each(targets)('readStreamRange (%s)', (kind, make) => {
  const prefix = uniquePrefix(`range-${kind}`);
  let client: RedisClient;
  /** The ids redis-cli gave the entries of `mixed`, in order; the fourth is malformed. */
  const ids: string[] = [];
  beforeAll(async () => {
    client = make({ instance: prefix });
    await client.ready()();
    const key = client.key('mixed');
    const data = [
      '{"n":1,"kind":"a"}',
      '{"n":2,"kind":"b"}',
      '{"n":3,"kind":"c"}',
      '{"n":4,', // cut short by whoever wrote it
      '{"n":5,"kind":"e"}',
      '{"n":6,"kind":"f"}',
    ];
    for (const d of data) ids.push((await redisCli(kind, ['XADD', key, '*', 'data', d])).trim());
  });
  afterAll(async () => {
    await deleteKeys(client.redis, prefix);
    await client.close();
  });

  it("with onDecodeError 'error', emits every entry before the malformed one, in order, then a DecodeError naming it", async () => {
    const { got, error } = await settle(
      readStreamRange(client, 'mixed', { codec: Event, onDecodeError: 'error' }),
    );
    expect(got).toEqual([
      { stream: 'mixed', id: ids[0], value: { n: 1, kind: 'a' } },
      { stream: 'mixed', id: ids[1], value: { n: 2, kind: 'b' } },
      { stream: 'mixed', id: ids[2], value: { n: 3, kind: 'c' } },
    ]);
    expect(error).toMatchObject({ _tag: 'DecodeError', key: 'mixed' });
    expect((error as Error).message).toContain(`entry ${ids[3]} of mixed`);
  });

  it('does the same when the malformed entry is in a later page, forwards and backwards', async () => {
    const forwards = await settle(readStreamRange(client, 'mixed', { codec: Event, pageSize: 2 }));
    expect(forwards.got.map((e) => e.value.n)).toEqual([1, 2, 3]);
    expect((forwards.error as Error).message).toContain(ids[3]);
    const backwards = await settle(
      readStreamRange(client, 'mixed', { codec: Event, pageSize: 3, reverse: true }),
    );
    expect(backwards.got.map((e) => e.value.n)).toEqual([6, 5]);
    expect((backwards.error as Error).message).toContain(ids[3]);
  });
});
