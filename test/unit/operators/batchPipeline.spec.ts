import { batchPipeline, BatchOverflowError } from '../../../src/operators/batchPipeline';
import { fakePipeline } from '../../../src/testing';

describe('batchPipeline configuration', () => {
  const redis = fakePipeline();
  const set = (x: string) => ['set', x, 'v'] as const;

  it.each([
    [{ maxSize: 0 }, /maxSize/],
    [{ maxSize: 1.5 }, /maxSize/],
    [{ maxInFlight: 0 }, /maxInFlight/],
    [{ maxWaitMs: -1 }, /maxWaitMs/],
    [{ maxWaitMs: Infinity }, /maxWaitMs/],
    [{ maxBuffered: 0 }, /maxBuffered/],
    [{ maxSize: 100, maxBuffered: 50 }, /maxBuffered \(50\) must be ≥ maxSize \(100\)/],
  ])('throws a TypeError at call time for %p', (config, message) => {
    expect(() => batchPipeline(redis, set, config)).toThrow(TypeError);
    expect(() => batchPipeline(redis, set, config)).toThrow(message);
  });

  it('needs a client and a build function', () => {
    expect(() => batchPipeline(undefined as never, set)).toThrow(/client/);
    expect(() => batchPipeline(redis, 'set' as never)).toThrow(/build/);
  });

  it('sends nothing before it is subscribed', () => {
    batchPipeline(redis, set);
    expect(redis.sent).toEqual([]);
  });

  it('BatchOverflowError is a tagged library error naming the limit', () => {
    const e = new BatchOverflowError(10_000);
    expect(e).toBeInstanceOf(Error);
    expect(e._tag).toBe('BatchOverflowError');
    expect(e.message).toContain('10000');
  });
});
