import { batcher, type Done } from '../../../src/internal/batcher';

/** A batched function as a promise per item. */
const promised =
  <I, R>(f: (item: I, done: Done<R>) => void) =>
  (item: I): Promise<R> =>
    new Promise((resolve, reject) =>
      f(item, (e, r) => (e !== undefined ? reject(e) : resolve(r!))),
    );

describe('batcher', () => {
  it('sends the calls of one tick together, one call per group, results in order', async () => {
    const calls: string[][] = [];
    const upper = promised(
      batcher<string, string>(
        async (items) => {
          calls.push([...items]);
          return items.map((s) => s.toUpperCase());
        },
        (s) => s[0]!,
        10,
      ),
    );
    const results = await Promise.all(['a1', 'b1', 'a2', 'a3', 'b2'].map(upper));
    expect(results).toEqual(['A1', 'B1', 'A2', 'A3', 'B2']);
    expect(calls).toEqual([
      ['a1', 'a2', 'a3'],
      ['b1', 'b2'],
    ]);
    await upper('c'); // a later tick is a new batch
    expect(calls).toHaveLength(3);
  });

  it('splits a group larger than maxSize', async () => {
    const sizes: number[] = [];
    const id = promised(
      batcher<number, number>(
        async (items) => {
          sizes.push(items.length);
          return items;
        },
        undefined,
        4,
      ),
    );
    expect(await Promise.all([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(id))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('a failed call fails every item of its batch, and only those', async () => {
    const run = promised(
      batcher<string, string>(
        async (items) => {
          if (items[0] === 'bad') throw new Error('boom');
          return items;
        },
        (s) => s,
        10,
      ),
    );
    const results = await Promise.allSettled(['bad', 'ok', 'bad'].map(run));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
  });

  it('a reply shorter than the batch fails the items without a result', async () => {
    const short = promised(
      batcher<string, string>(
        async () => ['only one'],
        () => '',
        10,
      ),
    );
    const results = await Promise.allSettled(['a', 'b'].map(short));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
  });

  it('a callback that throws does not keep the other items of its batch from their answers', async () => {
    const thrown: unknown[] = [];
    const echo = batcher<string, string>(
      async (items) => items,
      undefined,
      10,
      (e) => thrown.push(e),
    );
    const answered: string[] = [];
    echo('a', () => {
      throw new Error('a callback bug');
    });
    await new Promise<void>((resolve) =>
      echo('b', (_, r) => {
        answered.push(r!);
        resolve();
      }),
    );
    expect(answered).toEqual(['b']);
    expect(thrown).toEqual([new Error('a callback bug')]);
  });
});
