/**
 * `InvalidationMessage`: what caches of one namespace tell each other on their pub/sub channel.
 *
 * @internal
 */
import * as t from 'io-ts';

/**
 * `{ o, k }`: the instance `o` wrote or deleted the Redis keys `k`, evict them.
 * `{ o, g }`: the instance `o` cleared the namespace; its generation is now `g`.
 */
export const InvalidationMessage = t.union(
  [
    t.type({ o: t.string, k: t.array(t.string) }, 'Evict'),
    t.type({ o: t.string, g: t.number }, 'Clear'),
  ],
  'InvalidationMessage',
);
export type InvalidationMessage = t.TypeOf<typeof InvalidationMessage>;
