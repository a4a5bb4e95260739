import { deadLetter } from '../../../src/operators/deadLetter';
import { fakePipeline } from '../../../src/testing';

describe('deadLetter configuration', () => {
  const redis = fakePipeline();
  const handler = (x: number) => [x];

  it.each([
    [{ stream: '' }, /stream/],
    [{ stream: 'dead', concurrency: 0 }, /concurrency/],
    [{ stream: 'dead', maxLen: 0 }, /maxLen/],
  ])('throws a TypeError at call time for %p', (config, message) => {
    expect(() => deadLetter(redis, handler, config)).toThrow(TypeError);
    expect(() => deadLetter(redis, handler, config)).toThrow(message);
  });

  it('needs a client and a handler', () => {
    expect(() => deadLetter(null as never, handler, { stream: 'dead' })).toThrow(/client/);
    expect(() => deadLetter(redis, 1 as never, { stream: 'dead' })).toThrow(/handler/);
  });
});
