import { pipe } from 'fp-ts/function';
import { delaysOf, exponential, fixed, jittered, upTo } from '../../../src/operators/backoff';

describe('backoff policies, as delay sequences', () => {
  const half = () => 0.5;

  it('fixed: the same delay every time', () => {
    expect(delaysOf(fixed(250), 4)).toEqual([250, 250, 250, 250]);
    expect(delaysOf(fixed(0), 2)).toEqual([0, 0]);
  });

  it('exponential: multiplies by the factor each retry', () => {
    expect(delaysOf(exponential({ initialMs: 100 }), 5)).toEqual([100, 200, 400, 800, 1600]);
    expect(delaysOf(exponential({ initialMs: 100, factor: 1.5 }), 4)).toEqual([100, 150, 225, 338]);
    expect(delaysOf(exponential({ initialMs: 10, factor: 1 }), 3)).toEqual([10, 10, 10]);
  });

  it('upTo: caps every delay', () => {
    expect(delaysOf(pipe(exponential({ initialMs: 100 }), upTo(300)), 5)).toEqual([
      100, 200, 300, 300, 300,
    ]);
    // a large attempt number stays finite and capped
    expect(pipe(exponential({ initialMs: 100 }), upTo(30_000))(5000, half)).toBe(30_000);
  });

  it('jittered full: uniform in [0, delay], drawn from the random source', () => {
    const policy = pipe(exponential({ initialMs: 100 }), upTo(1000), jittered('full'));
    expect(delaysOf(policy, 5, half)).toEqual([50, 100, 200, 400, 500]);
    expect(delaysOf(policy, 3, () => 0)).toEqual([0, 0, 0]);
    expect(delaysOf(policy, 3, () => 0.999999)).toEqual([100, 200, 400]);
  });

  it('jittered equal: keeps at least half of the delay', () => {
    const policy = pipe(exponential({ initialMs: 100 }), jittered('equal'));
    expect(delaysOf(policy, 3, () => 0)).toEqual([50, 100, 200]);
    expect(delaysOf(policy, 3, half)).toEqual([75, 150, 300]);
  });

  it('jittered none and a custom jitter', () => {
    expect(delaysOf(pipe(fixed(100), jittered('none')), 2, half)).toEqual([100, 100]);
    const plusUpTo50 = jittered((d, random) => d + Math.floor(50 * random()));
    expect(delaysOf(pipe(fixed(100), plusUpTo50), 2, half)).toEqual([125, 125]);
  });

  it('a misbehaving random source never gives a negative delay or one above the range', () => {
    const policy = pipe(fixed(100), jittered('full'));
    expect(delaysOf(policy, 1, () => -3)).toEqual([0]);
    expect(delaysOf(policy, 1, () => 7)).toEqual([100]);
    expect(delaysOf(policy, 1, () => NaN)).toEqual([0]);
  });

  it('is pure: the same random answers give the same sequence', () => {
    const policy = pipe(exponential({ initialMs: 10 }), upTo(1000), jittered('full'));
    const seeded = () => {
      let s = 42;
      return () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
    };
    expect(delaysOf(policy, 10, seeded())).toEqual(delaysOf(policy, 10, seeded()));
  });

  it('rejects invalid parameters with a TypeError when built', () => {
    expect(() => fixed(-1)).toThrow(TypeError);
    expect(() => fixed(NaN)).toThrow(TypeError);
    expect(() => exponential({ initialMs: -5 })).toThrow(TypeError);
    expect(() => exponential({ initialMs: 5, factor: 0.5 })).toThrow(/factor/);
    expect(() => exponential({ initialMs: 5, factor: Infinity })).toThrow(TypeError);
    expect(() => upTo(-1)).toThrow(TypeError);
    expect(() => jittered('half' as never)).toThrow(/jitter/);
  });
});
