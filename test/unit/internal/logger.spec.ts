import { repeatLimiter } from '../../../src/internal/logger';

describe('repeatLimiter', () => {
  it('logs a message once per window and counts the repeats left out', () => {
    const take = repeatLimiter(1000);
    expect(take('refused', 0)).toBe(0);
    expect(take('refused', 5)).toBeUndefined();
    expect(take('refused', 999)).toBeUndefined();
    // the window is over: logged again, with the two left out
    expect(take('refused', 1000)).toBe(2);
    expect(take('refused', 1001)).toBeUndefined();
  });

  it('logs another message at once, carrying the count of the previous one', () => {
    const take = repeatLimiter(1000);
    expect(take('refused', 0)).toBe(0);
    expect(take('refused', 1)).toBeUndefined();
    expect(take('closed', 2)).toBe(1);
    expect(take('refused', 3)).toBe(0);
  });
});
