import * as Coalesce from '../../../src/cache/cacheCoalesce';

describe('cacheCoalesce', () => {
  it('offers a read to later callers until it settles, then forgets it', () => {
    const reads = Coalesce.make<string>();
    const read = Promise.resolve('v');
    expect(reads.get('k')).toBeUndefined();
    reads.add('k', read);
    expect(reads.get('k')).toBe(read);
    expect(reads.get('other')).toBeUndefined();
    expect(reads.size).toBe(1);
    reads.settle('k', read);
    expect(reads.get('k')).toBeUndefined();
    expect(reads.size).toBe(0);
  });

  it('a detached read is not offered any more, and its settling leaves a newer read in place', () => {
    const reads = Coalesce.make<string>();
    const older = Promise.resolve('old');
    const newer = Promise.resolve('new');
    reads.add('k', older);
    reads.detach('k');
    expect(reads.get('k')).toBeUndefined();
    reads.add('k', newer);
    reads.settle('k', older);
    expect(reads.get('k')).toBe(newer);
  });

  it('detachAll detaches every key', () => {
    const reads = Coalesce.make<string>();
    reads.add('a', Promise.resolve('a'));
    reads.add('b', Promise.resolve('b'));
    reads.detachAll();
    expect([reads.get('a'), reads.get('b'), reads.size]).toEqual([undefined, undefined, 0]);
  });
});
