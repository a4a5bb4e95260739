import * as t from 'io-ts';
import { firstValueFrom, from, lastValueFrom, tap, toArray } from 'rxjs';
import type { RedisClient } from '../../../src/connection/RedisClient';
import { toStream } from '../../../src/sinks/toStream';
import { stubConnection, type Replies } from '../../support/stubConnection';

/** A standalone client whose batches record their XADDs' arguments and answer with `exec`. */
const fakeClient = (exec: (commands: string[][]) => Promise<unknown>) => {
  const { batches, redis } = stubConnection(
    (calls) => exec(calls.map((c) => c.slice(1) as string[])) as Promise<Replies>,
  );
  const client = {
    key: (n: string) => `app:${n}`,
    redis,
    options: { commandTimeoutMs: 5000 },
  } as unknown as RedisClient;
  return { client, pipelines: () => batches.map((calls) => calls.map((c) => c.slice(1))) };
};
/** An error as ioredis gives a server's error reply. */
const replyError = (message: string): Error =>
  Object.assign(new Error(message), { name: 'ReplyError' });
const ids = (commands: string[][]) =>
  Promise.resolve(commands.map((_, i) => [null, `${i + 1}-0`] as const));

describe('toStream (with a client)', () => {
  const Item = t.type({ v: t.number }, 'Item');

  it('sends prefixed XADDs with the trim options, `batch` per pipeline, and emits the ids in order', async () => {
    const f = fakeClient(ids);
    const out = await lastValueFrom(
      from([1, 2, 3].map((v) => ({ v }))).pipe(
        toStream(f.client, 'events', { codec: Item, batch: 2, minId: '5-0', approximate: false }),
        toArray(),
      ),
    );
    expect(out).toEqual(['1-0', '2-0', '1-0']);
    expect(f.pipelines()).toEqual([
      [
        ['app:events', 'MINID', '=', '5-0', '*', 'data', '{"v":1}'],
        ['app:events', 'MINID', '=', '5-0', '*', 'data', '{"v":2}'],
      ],
      [['app:events', 'MINID', '=', '5-0', '*', 'data', '{"v":3}']],
    ]);
  });

  it('gives the error of the first XADD that failed, after the ids before it', async () => {
    const f = fakeClient((commands) =>
      Promise.resolve(
        commands.map((_, i) =>
          i === 1 ? [replyError('WRONGTYPE Operation against a key'), null] : [null, `${i + 1}-0`],
        ),
      ),
    );
    const seen: string[] = [];
    const done = lastValueFrom(
      from([{ a: '1' }, { a: '2' }, { a: '3' }]).pipe(
        toStream(f.client, 'events'),
        tap((id) => seen.push(id)),
      ),
    );
    await expect(done).rejects.toMatchObject({ _tag: 'CommandError', code: 'WRONGTYPE' });
    expect(seen).toEqual(['1-0']);
  });

  it('gives every item the error of a round trip that failed as a whole (connection lost)', async () => {
    const f = fakeClient(() => Promise.reject(new Error('Connection is closed.')));
    await expect(
      firstValueFrom(from([{ a: '1' }]).pipe(toStream(f.client, 'events'))),
    ).rejects.toMatchObject({ _tag: 'ConnectionError' });
  });

  it('rejects an invalid configuration at call time', () => {
    const f = fakeClient(ids);
    expect(() => toStream(f.client, '')).toThrow(TypeError);
    expect(() => toStream(f.client, 's', { maxLen: 10, minId: '1-0' })).toThrow(TypeError);
    expect(() => toStream(f.client, 's', { batch: 0 })).toThrow(TypeError);
    expect(() => toStream(f.client, 's', { concurrency: 1.5 })).toThrow(TypeError);
    expect(() => toStream(f.client, 's', { limit: 10, approximate: false })).toThrow(TypeError);
    expect(() => toStream(f.client, 's', { maxBuffered: 0 })).toThrow('maxBuffered');
    expect(() => toStream(f.client, 's', { maxBuffered: Infinity })).not.toThrow();
    expect(() => toStream(null as unknown as RedisClient, 's')).toThrow(TypeError);
  });
});
