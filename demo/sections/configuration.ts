import { inspect } from 'node:util';
import * as E from 'fp-ts/Either';
import { loadRedisOptions, parseRedisOptions, redisOptions, type RedisClient } from '../../src';
import { say } from '../print';

const show = (
  label: string,
  r: E.Either<
    Error,
    { mode: string; endpoints: unknown; password?: unknown; database: number; instance: string }
  >,
) =>
  say(
    `${label.padEnd(22)} → ${E.isLeft(r) ? r.left.message : inspect({ mode: r.right.mode, endpoints: r.right.endpoints, password: r.right.password, database: r.right.database, instance: r.right.instance }, { breakLength: Infinity, depth: 3 })}`,
  );

/** The same settings from each input form; passwords print as [redacted]. */
export const configurationDemo = async (_client: RedisClient): Promise<void> => {
  show('redis:// URL', parseRedisOptions('redis://app:s3cret@cache.local:6380/2?instance=Shop:'));
  show(
    'StackExchange string',
    parseRedisOptions('cache.local:6380,password=s3cret,defaultDatabase=2,ssl=false,name=shop'),
  );
  show(
    'JSON section',
    loadRedisOptions({
      config: {
        redis: {
          connectionString: 'cache.local:6380,password=s3cret',
          database: 2,
          instance: 'Shop:',
        },
      },
    }),
  );
  show(
    'builder',
    redisOptions()
      .withConnectionString('cache.local:6380')
      .withPassword('s3cret')
      .withDatabase(2)
      .withInstance('Shop:')
      .build(),
  );
  show('bad input', parseRedisOptions({ port: 70000, database: -1, colour: 'blue' } as never));
};
