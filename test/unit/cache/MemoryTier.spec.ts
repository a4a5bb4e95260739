import * as Memory from '../../../src/cache/MemoryTier';

describe('MemoryTier', () => {
  let now = 1_000_000; // lru-cache reads a start time of 0 as "no TTL"
  const clock = { now: () => now };

  it('serves fresh entries, then stale ones within the grace period, then nothing', () => {
    const tier = Memory.make<string>({ maxEntries: 10, ttlMs: 100 }, 1_000, clock);
    tier.set('k', 'v', 3);
    expect(tier.get('k')).toMatchObject({ value: 'v', stale: false });
    now += 150;
    expect(tier.get('k')).toEqual({ value: 'v', stale: true });
    now += 1_000;
    expect(tier.get('k')).toBeUndefined();
  });

  it('keeps an entry fresh no longer than the TTL it was written with', () => {
    const tier = Memory.make<string>({ maxEntries: 10, ttlMs: 10_000 }, 0, clock);
    tier.set('k', 'v', 1, 50);
    now += 49;
    expect(tier.get('k')).toMatchObject({ value: 'v', stale: false });
    now += 2;
    // without a grace period the entry is gone once its freshness ended (lru-cache's own TTL,
    // to its millisecond), never served stale
    expect(tier.get('k')).toBeUndefined();
  });

  it('evicts the least recently used beyond maxEntries, and by size beyond maxBytes', () => {
    const byCount = Memory.make<number>({ maxEntries: 2, ttlMs: 1_000 }, 0, clock);
    byCount.set('a', 1, 1);
    byCount.set('b', 2, 1);
    byCount.get('a');
    byCount.set('c', 3, 1);
    expect([byCount.get('a')?.value, byCount.get('b'), byCount.get('c')?.value]).toEqual([
      1,
      undefined,
      3,
    ]);

    const bySize = Memory.make<number>({ maxBytes: 100, ttlMs: 1_000 }, 0, clock);
    bySize.set('a', 1, 60);
    bySize.set('b', 2, 60);
    expect(bySize.get('a')).toBeUndefined();
    bySize.set('huge', 3, 101); // larger than the whole tier: not stored
    expect(bySize.get('huge')).toBeUndefined();
    expect(bySize.get('b')?.value).toBe(2);
  });

  it('deep-freezes objects and arrays unless told not to', () => {
    const frozen = Memory.make<{ a: { b: number[] } }>({ maxEntries: 2, ttlMs: 1_000 }, 0, clock);
    frozen.set('k', { a: { b: [1] } }, 1);
    const v = frozen.get('k')!.value;
    expect(Object.isFrozen(v) && Object.isFrozen(v.a) && Object.isFrozen(v.a.b)).toBe(true);
    const loose = Memory.make<{ a: number }>(
      { maxEntries: 2, ttlMs: 1_000, freeze: false },
      0,
      clock,
    );
    loose.set('k', { a: 1 }, 1);
    expect(Object.isFrozen(loose.get('k')!.value)).toBe(false);
  });

  it('refuses an unbounded or invalid configuration', () => {
    expect(() => Memory.make({ ttlMs: 1_000 }, 0)).toThrow(TypeError);
    expect(() => Memory.make({ maxEntries: 0, ttlMs: 1_000 }, 0)).toThrow('maxEntries');
    expect(() => Memory.make({ maxEntries: 1, ttlMs: -1 }, 0)).toThrow('ttlMs');
  });
});
