/**
 * `npm run demo`: shows the library working against a real Redis. Uses `REDIS_URL` when set;
 * otherwise starts a throwaway redis-server on a free port and stops it at the end.
 */
import * as E from 'fp-ts/Either';
import { createRedis, loadRedisOptions, redactUrl, type RedisClient } from '../src';
import { spawnRedis, type RedisServer } from '../test/support/redisProcess';
import { configurationDemo } from './sections/configuration';
import { connectionDemo } from './sections/connection';
import { cacheDemo } from './sections/cache';
import { pubsubDemo } from './sections/pubsub';
import { keyspaceDemo } from './sections/keyspace';
import { streamsDemo } from './sections/streams';
import { sessionsDemo } from './sections/sessions';
import { say, title } from './print';

/** Each capability adds its part here. */
const sections: ReadonlyArray<[string, (client: RedisClient) => Promise<void>]> = [
  ['Configuration: one set of settings, every input form', configurationDemo],
  ['Connection and command metrics', connectionDemo],
  ['Cache: typed TaskEithers, memory tier over Redis', cacheDemo],
  ['Pub/sub: hot, shared, typed channels and patterns', pubsubDemo],
  ['Keyspace notifications: watching sessions expire', keyspaceDemo],
  ['Streams: a consumer group with acks and a dead-letter stream', streamsDemo],
  ['Sessions: typed, expiring, per user, conflict-safe (the seed’s SessionService)', sessionsDemo],
];

const main = async (): Promise<void> => {
  let server: RedisServer | undefined;
  const fromEnv = process.env['REDIS_URL'];
  if (fromEnv === undefined || fromEnv === '') {
    title('Starting a throwaway redis-server (REDIS_URL is not set)');
    server = await spawnRedis({ name: 'demo' });
    say(`redis-server pid ${server.pid} on ${server.url}`);
  } else {
    title(`Using REDIS_URL=${redactUrl(fromEnv)}`);
  }
  const url = fromEnv || server!.url;
  const options = loadRedisOptions({
    env: { ...process.env, REDIS_URL: url },
    overrides: { instance: 'mamey-demo:', clientName: 'mamey-demo' },
  });
  if (E.isLeft(options)) throw options.left;
  const client = createRedis(options.right);
  try {
    const ready = await client.ready()();
    if (E.isLeft(ready)) throw ready.left;
    for (const [name, run] of sections) {
      title(name);
      await run(client);
    }
  } finally {
    title('Shutting down');
    await client.close();
    say(`client ${client.status}`);
    if (server !== undefined) {
      await server.stop();
      say(`redis-server pid ${server.pid} stopped`);
    }
  }
};

main().catch((e: unknown) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
