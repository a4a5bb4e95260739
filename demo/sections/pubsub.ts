import * as t from 'io-ts';
import { firstValueFrom, from, toArray, type Observable, type Subscription } from 'rxjs';
import {
  fromChannel,
  fromPattern,
  publishTo,
  wire,
  type RedisClient,
  type SubscriptionStatus,
} from '../../src';
import { say, table } from '../print';

const Order = t.type({ id: t.string, total: t.number }, 'Order');
const OrderWire = wire(Order);

/** Subscribes and resolves once the server confirmed the subscription. */
export const listen = async <T>(
  make: (onStatus: (s: SubscriptionStatus) => void) => Observable<T>,
  next: (value: T) => void,
): Promise<Subscription> => {
  let confirmed!: () => void;
  const ready = new Promise<void>((resolve) => (confirmed = resolve));
  const sub = make((s) => s === 'subscribed' && confirmed()).subscribe(next);
  await ready;
  return sub;
};

/** How many server subscriptions a channel has (a Cluster counts per node). */
const numsub = async (client: RedisClient, channel: string): Promise<string> => {
  if (client.mode === 'cluster') return '(counted per node on a Cluster)';
  const [, n] = (await client.redis.call('PUBSUB', 'NUMSUB', client.key(channel))) as [
    string,
    number,
  ];
  return String(n);
};

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/** Two subscribers share one SUBSCRIBE; a typed channel with a bad message; a pattern; publishTo. */
export const pubsubDemo = async (client: RedisClient): Promise<void> => {
  const seen: Array<[string, string, string]> = [];
  const subs = await Promise.all(
    [1, 2].map((i) =>
      listen(
        (onStatus) => fromChannel(client, 'orders', { codec: OrderWire, onStatus }),
        ({ channel, message }) =>
          seen.push([`subscriber ${i}`, channel, `${message.id}: ${message.total}`]),
      ),
    ),
  );
  say(
    `two fromChannel subscribers of 'orders'; server subscriptions (PUBSUB NUMSUB): ${await numsub(client, 'orders')}`,
  );

  const receivers = await firstValueFrom(
    from([
      { id: 'o-1', total: 12.5 },
      { id: 'o-2', total: 99 },
    ]).pipe(publishTo(client, 'orders', { codec: OrderWire }), toArray()),
  );
  say(`publishTo emitted receiver counts ${JSON.stringify(receivers)} (one connection receives)`);
  await client.redis.publish(client.key('orders'), '{"id": 3}'); // fails the codec: skipped
  await client.redis.publish(client.key('orders'), JSON.stringify({ id: 'o-4', total: 1 }));
  await settle();
  table(['who', 'channel', 'order'], seen);
  const failed = client.metrics.snapshot().counters['pubsub.decodeErrors'] ?? 0;
  say(
    `'{"id": 3}' failed the codec: skipped and counted (pubsub.decodeErrors = ${failed}, one per subscriber)`,
  );
  subs.forEach((s) => s.unsubscribe());
  await settle();
  say(`after both left, server subscriptions: ${await numsub(client, 'orders')}`);

  const regional: Array<[string, string, string]> = [];
  const sub = await listen(
    (onStatus) => fromPattern(client, 'orders.*', { onStatus }),
    (m) => regional.push([m.pattern, m.channel, m.message]),
  );
  for (const [channel, text] of [
    ['orders.eu', 'from Lisbon'],
    ['payments', 'not matched'],
    ['orders.us', 'from Austin'],
  ] as const)
    await client.redis.publish(client.key(channel), text);
  await settle();
  sub.unsubscribe();
  say("fromPattern(client, 'orders.*'):");
  table(['pattern', 'channel', 'message'], regional);
};
