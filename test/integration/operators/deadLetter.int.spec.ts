import { from, lastValueFrom, of, throwError, toArray } from 'rxjs';
import { deadLetter, type RedisClient } from '../../../src';
import { topologies } from '../../support/clients';
import { deleteKeys, uniquePrefix } from '../../support/env';

describe.each(topologies)('deadLetter (%s)', (kind, make) => {
  const prefix = uniquePrefix(`dl-${kind}`);
  let client: RedisClient;
  beforeAll(async () => {
    client = make({ instance: prefix });
    await client.ready()();
  });
  afterAll(async () => {
    await deleteKeys(client.redis, prefix);
    await client.close();
  });

  it('writes each failed item with its reason to the stream and goes on with the rest', async () => {
    const orders = [
      { id: 1, total: 10 },
      { id: 2, total: -5 },
      { id: 3, total: 7 },
    ];
    const ids: string[] = [];
    const billed = await lastValueFrom(
      from(orders).pipe(
        deadLetter(
          client,
          (o) =>
            o.total < 0 ? throwError(() => new RangeError('total must be positive')) : of(o.id),
          { stream: 'orders:dead', onDeadLettered: (_, __, id) => ids.push(id) },
        ),
        toArray(),
      ),
    );

    expect(billed).toEqual([1, 3]);
    const entries = await client.redis.xrange(client.key('orders:dead'), '-', '+');
    expect(entries).toEqual([
      [
        ids[0],
        [
          'item',
          JSON.stringify(orders[1]),
          'error',
          'RangeError',
          'reason',
          'total must be positive',
        ],
      ],
    ]);
    expect(client.metrics.snapshot().counters['deadLettered']).toBe(1);
  });
});
