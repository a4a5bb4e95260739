import { fixed } from '../../../src/operators/backoff';
import { retryWithBackoff } from '../../../src/operators/retryWithBackoff';

describe('retryWithBackoff configuration', () => {
  it.each([
    [{ maxRetries: -1 }, /maxRetries/],
    [{ maxRetries: 1.5 }, /maxRetries/],
    [{ initialDelayMs: -1 }, /initialDelayMs/],
    [{ initialDelayMs: Infinity }, /initialDelayMs/],
    [{ maxDelayMs: NaN }, /maxDelayMs/],
    [{ factor: 0.5 }, /factor/],
    [{ jitter: 'half' }, /jitter/],
    [{ shouldRetry: 'yes' }, /shouldRetry/],
    [{ random: 0.5 }, /random/],
    [{ policy: 100 }, /policy/],
    [{ policy: fixed(10), initialDelayMs: 5 }, /either policy or initialDelayMs/],
    [{ policy: fixed(10), jitter: 'full' }, /jitter/],
  ])('throws a TypeError at call time for %p', (config, message) => {
    expect(() => retryWithBackoff(config as never)).toThrow(TypeError);
    expect(() => retryWithBackoff(config as never)).toThrow(message);
  });

  it('accepts the defaults, an unlimited budget and a custom policy', () => {
    expect(() => retryWithBackoff()).not.toThrow();
    expect(() => retryWithBackoff({ maxRetries: Infinity })).not.toThrow();
    expect(() => retryWithBackoff({ policy: fixed(10), maxRetries: 3 })).not.toThrow();
  });
});
