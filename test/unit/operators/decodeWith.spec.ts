import * as t from 'io-ts';
import { lastValueFrom, of, toArray } from 'rxjs';
import { DecodeError } from '../../../src/errors';
import { decodeWith } from '../../../src/operators/decodeWith';

describe('decodeWith', () => {
  const Order = t.type({ id: t.number }, 'Order');

  it('rejects invalid configuration with a TypeError at call time', () => {
    expect(() => decodeWith({} as never)).toThrow(/codec/);
    expect(() => decodeWith(Order, { onError: 'ignore' } as never)).toThrow(/onError/);
    expect(() => decodeWith(Order, { onError: 'drop' } as never)).toThrow(/report/);
    expect(() => decodeWith(Order, { at: 'key' } as never)).toThrow(/at/);
  });

  it('names where the value came from and the failing path, never the value', async () => {
    const secret = 'card-4111-1111';
    const error = await lastValueFrom(
      of({ id: secret }).pipe(
        decodeWith(Order, { onError: 'either', at: () => 'orders 7-0' }),
        toArray(),
      ),
    ).then(([e]) => (e?._tag === 'Left' ? e.left : undefined));
    expect(error).toBeInstanceOf(DecodeError);
    expect(error?.key).toBe('orders 7-0');
    expect(error?.message).toContain('orders 7-0');
    expect(error?.message).toContain('id');
    expect(error?.message).not.toContain(secret);
  });

  it('fails the stream when the report callback throws (nothing is dropped silently)', async () => {
    const boom = new Error('logger down');
    const run = lastValueFrom(
      of({ id: 'x' }).pipe(
        decodeWith(Order, {
          onError: 'drop',
          report: () => {
            throw boom;
          },
        }),
        toArray(),
      ),
    );
    await expect(run).rejects.toBe(boom);
  });
});
