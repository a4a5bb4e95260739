import { firstValueFrom, filter, Subject, take, timeout, toArray } from 'rxjs';
import { fromKeyspace, type KeyspaceEvent, type RedisClient } from '../../src';
import { say, table } from '../print';
import { listen } from './pubsub';

/** Watching sessions being written, deleted and expiring, through keyspace notifications. */
export const keyspaceDemo = async (client: RedisClient): Promise<void> => {
  const started = Date.now();
  const rows: Array<[number, string, string, number]> = [];
  const events = new Subject<KeyspaceEvent>();
  const expiries = firstValueFrom(
    events.pipe(
      filter((e) => e.event === 'expired'),
      take(2),
      toArray(),
      timeout(5000),
    ),
  );
  const sub = await listen(
    (onStatus) =>
      fromKeyspace(client, {
        pattern: 'session:*',
        events: ['set', 'del', 'expired'],
        configure: true, // adds K$gx to notify-keyspace-events, keeping what is there
        onStatus,
      }),
    (e) => {
      rows.push([Date.now() - started, e.key, e.event, e.db]);
      events.next(e);
    },
  );
  if (client.mode !== 'cluster') {
    const [, flags] = (await client.redis.config('GET', 'notify-keyspace-events')) as [
      string,
      string,
    ];
    say(`fromKeyspace subscribed; notify-keyspace-events is now "${flags}"`);
  }

  await client.redis.set(client.key('session:ada'), 'x', 'PX', 300);
  await client.redis.set(client.key('session:bob'), 'x', 'PX', 600);
  await client.redis.set(client.key('session:eve'), 'x');
  await client.redis.del(client.key('session:eve'));
  await client.redis.set(client.key('cart:ada'), 'x'); // not a session: not emitted
  say('ada expires in 300 ms, bob in 600 ms, eve is deleted; watching them expire…');
  await expiries;
  sub.unsubscribe();
  await client.redis.del(client.key('cart:ada'));
  table(['after ms', 'key', 'event', 'db'], rows);
  say(
    '(expired comes when Redis notices: on access or in its background sweep, 10 times a second)',
  );
};
