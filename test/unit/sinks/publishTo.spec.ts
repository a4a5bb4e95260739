import * as t from 'io-ts';
import { firstValueFrom, from, Subject, toArray } from 'rxjs';
import type { RedisClient } from '../../../src/connection/RedisClient';
import { publishTo } from '../../../src/sinks/publishTo';

/** A client whose PUBLISH/SPUBLISH the test settles, in any order. */
const fakeClient = () => {
  const sent: Array<{
    cmd: string;
    channel: string;
    message: string;
    settle: (n: number | Error) => void;
  }> = [];
  const call = (cmd: string) => (channel: string, message: string) =>
    new Promise<number>((resolve, reject) =>
      sent.push({
        cmd,
        channel,
        message,
        settle: (n) => (n instanceof Error ? reject(n) : resolve(n)),
      }),
    );
  const client = {
    key: (n: string) => `app:${n}`,
    redis: { publish: call('PUBLISH'), spublish: call('SPUBLISH') },
  } as unknown as RedisClient;
  return { client, sent };
};

const tick = () => new Promise((r) => setImmediate(r));

describe('publishTo', () => {
  it('emits receiver counts in input order whatever order the replies come in', async () => {
    const f = fakeClient();
    const result = firstValueFrom(from(['a', 'b', 'c']).pipe(publishTo(f.client, 'ch'), toArray()));
    await tick();
    expect(f.sent.map((s) => [s.cmd, s.channel, s.message])).toEqual([
      ['PUBLISH', 'app:ch', 'a'],
      ['PUBLISH', 'app:ch', 'b'],
      ['PUBLISH', 'app:ch', 'c'],
    ]);
    f.sent[2]!.settle(3);
    f.sent[0]!.settle(1);
    f.sent[1]!.settle(2);
    expect(await result).toEqual([1, 2, 3]);
  });

  it('encodes with the codec, SPUBLISHes when sharded, and keeps at most `concurrency` in flight', async () => {
    const f = fakeClient();
    const source = new Subject<{ n: number }>();
    const codec = new t.Type<{ n: number }, string, unknown>(
      'N',
      (u): u is { n: number } => true,
      () => t.failure(0, []),
      (a) => `n=${a.n}`,
    );
    const got: number[] = [];
    source
      .pipe(publishTo(f.client, 'ch', { codec, sharded: true, concurrency: 2 }))
      .subscribe((n) => got.push(n));
    [1, 2, 3].forEach((n) => source.next({ n }));
    await tick();
    expect(f.sent.map((s) => `${s.cmd} ${s.message}`)).toEqual(['SPUBLISH n=1', 'SPUBLISH n=2']);
    f.sent[0]!.settle(0);
    await tick();
    expect(f.sent).toHaveLength(3);
    expect(got).toEqual([0]);
  });

  it('fails with a RedisError when a PUBLISH fails, and an EncodeError when the codec throws', async () => {
    const f = fakeClient();
    const failing = firstValueFrom(from(['a']).pipe(publishTo(f.client, 'ch'))).catch((e) => e);
    await tick();
    f.sent[0]!.settle(Object.assign(new Error('NOPERM no access'), { name: 'ReplyError' }));
    expect(await failing).toMatchObject({
      _tag: 'CommandError',
      code: 'NOPERM',
      command: 'PUBLISH',
    });

    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const json = new t.Type<unknown, string, unknown>(
      'Json',
      (u): u is unknown => true,
      t.success,
      (a) => JSON.stringify(a),
    );
    const e = await firstValueFrom(
      from([cyclic]).pipe(publishTo(f.client, 'ch', { codec: json })),
    ).catch((x) => x);
    expect(e).toMatchObject({ _tag: 'EncodeError', key: 'ch' });
  });

  it('rejects bad arguments at call time', () => {
    const f = fakeClient();
    expect(() => publishTo(f.client, '')).toThrow(TypeError);
    expect(() => publishTo(f.client, 'ch', { concurrency: 0 })).toThrow('concurrency');
    expect(() => publishTo(f.client, 'ch', { maxBuffered: 0 })).toThrow('maxBuffered');
    expect(() => publishTo(f.client, 'ch', { maxBuffered: 1.5 })).toThrow(TypeError);
    expect(() => publishTo(f.client, 'ch', { maxBuffered: Infinity })).not.toThrow();
  });
});
