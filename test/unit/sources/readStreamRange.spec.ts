import * as t from 'io-ts';
import { lastValueFrom, materialize, toArray, type Observable } from 'rxjs';
import type { RedisClient } from '../../../src/connection/RedisClient';
import { DecodeError } from '../../../src/errors';
import { readStreamRange } from '../../../src/sources/readStreamRange';
import { recordingLogger } from '../../../src/testing';

/** Entries as XRANGE replies them: `[id, [field, value, …]]`, ids `1-0`, `2-0`, … */
type Reply = Array<[string, string[]]>;

/**
 * A client whose XRANGE / XREVRANGE serve `stream` (in id order) the way Redis does for ids
 * `<n>-0`: inclusive bounds, `(` for exclusive, `-`/`+` for the ends, at most COUNT entries.
 */
const fakeClient = (stream: Reply) => {
  const calls: string[][] = [];
  const seq = (id: string): number => Number(id.replace(/^\(/, '').split('-')[0]);
  const within = (id: string, lo: string, hi: string): boolean => {
    const n = seq(id);
    const above = lo === '-' || (lo.startsWith('(') ? n > seq(lo) : n >= seq(lo));
    const below = hi === '+' || (hi.startsWith('(') ? n < seq(hi) : n <= seq(hi));
    return above && below;
  };
  const logger = recordingLogger();
  const counters: Record<string, number> = {};
  const client = {
    logger,
    key: (n: string) => `app:${n}`,
    metrics: { increment: (c: string) => void (counters[c] = (counters[c] ?? 0) + 1) },
    redis: {
      xrange: async (key: string, start: string, end: string, _: 'COUNT', n: number) => {
        calls.push(['XRANGE', key, start, end, String(n)]);
        return stream.filter(([id]) => within(id, start, end)).slice(0, n);
      },
      xrevrange: async (key: string, end: string, start: string, _: 'COUNT', n: number) => {
        calls.push(['XREVRANGE', key, end, start, String(n)]);
        return [...stream]
          .reverse()
          .filter(([id]) => within(id, start, end))
          .slice(0, n);
      },
    },
  } as unknown as RedisClient;
  return { client, calls, logger, counters };
};

const N = t.type({ n: t.number }, 'N');
const good = (n: number): [string, string[]] => [`${n}-0`, ['data', JSON.stringify({ n })]];
const bad = (n: number): [string, string[]] => [`${n}-0`, ['data', '{not json']];
const entry = (n: number) => ({ stream: 'audit', id: `${n}-0`, value: { n } });

/** Everything the Observable emitted, then the error it ended with (if it did). */
const settle = <A>(entries$: Observable<A>) =>
  lastValueFrom(entries$.pipe(materialize(), toArray())).then((ns) => ({
    got: ns.flatMap((n) => (n.kind === 'N' ? [n.value] : [])),
    error: ns.find((n) => n.kind === 'E')?.error as unknown,
  }));

describe('readStreamRange', () => {
  it('reads page by page, each from after the last id of the one before, up to the limit', async () => {
    const f = fakeClient([1, 2, 3, 4, 5, 6, 7].map(good));
    const all = await lastValueFrom(
      readStreamRange(f.client, 'audit', { codec: N, pageSize: 3, limit: 5 }).pipe(toArray()),
    );
    expect(all).toEqual([1, 2, 3, 4, 5].map(entry));
    expect(f.calls).toEqual([
      ['XRANGE', 'app:audit', '-', '+', '3'],
      ['XRANGE', 'app:audit', '(3-0', '+', '2'],
    ]);
  });

  describe("onDecodeError: 'error'", () => {
    it('emits every entry of the page before the undecodable one, in order, then fails with a DecodeError naming it', async () => {
      const f = fakeClient([good(1), good(2), bad(3), good(4)]);
      const { got, error } = await settle(readStreamRange(f.client, 'audit', { codec: N }));
      expect(got).toEqual([entry(1), entry(2)]);
      expect(error).toBeInstanceOf(DecodeError);
      expect(error).toMatchObject({ _tag: 'DecodeError', key: 'audit' });
      expect((error as Error).message).toContain('entry 3-0 of audit');
    });

    it('emits the pages before and the start of the failing page, forwards and backwards', async () => {
      const stream = [good(1), good(2), good(3), good(4), good(5), bad(6), good(7), good(8)];
      const forwards = await settle(
        readStreamRange(fakeClient(stream).client, 'audit', { codec: N, pageSize: 4 }),
      );
      expect(forwards.got).toEqual([1, 2, 3, 4, 5].map(entry));
      expect((forwards.error as Error).message).toContain('entry 6-0');
      const backwards = await settle(
        readStreamRange(fakeClient(stream).client, 'audit', {
          codec: N,
          pageSize: 3,
          reverse: true,
        }),
      );
      expect(backwards.got).toEqual([8, 7].map(entry));
      expect((backwards.error as Error).message).toContain('entry 6-0');
    });
  });

  it("'skip' leaves the undecodable entry out, counts and logs it, and reads on", async () => {
    const f = fakeClient([good(1), bad(2), good(3)]);
    const all = await lastValueFrom(
      readStreamRange(f.client, 'audit', { codec: N, onDecodeError: 'skip' }).pipe(toArray()),
    );
    expect(all).toEqual([entry(1), entry(3)]);
    expect(f.counters).toEqual({ 'stream.skipped': 1 });
    expect(f.logger.lines).toEqual([
      expect.objectContaining({
        msg: 'stream entry skipped',
        obj: expect.objectContaining({ id: '2-0' }),
      }),
    ]);
  });

  it('rejects a bad config at call time', () => {
    const { client } = fakeClient([]);
    expect(() => readStreamRange(client, '')).toThrow(TypeError);
    expect(() => readStreamRange(client, 'audit', { pageSize: 0 })).toThrow('pageSize');
    expect(() => readStreamRange(client, 'audit', { limit: 0 })).toThrow('limit');
  });
});
