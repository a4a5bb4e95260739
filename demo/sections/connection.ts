import { inspect } from 'node:util';
import * as E from 'fp-ts/Either';
import type { RedisClient } from '../../src';
import { say, table } from '../print';

/** Configuration in use (password redacted), a ping, a few commands and the command metrics. */
export const connectionDemo = async (client: RedisClient): Promise<void> => {
  say('Configuration in use (secrets are redacted wherever they are printed):');
  console.log(
    inspect(
      { ...client.options, logger: '(silent)' },
      { depth: 4, colors: process.stdout.isTTY, breakLength: 100 },
    ),
  );

  const rtt = await client.ping()();
  say(
    E.isRight(rtt)
      ? `PING round trip: ${rtt.right.toFixed(2)} ms`
      : `PING failed: ${rtt.left.message}`,
  );

  const key = client.key('demo:counter');
  await Promise.all(Array.from({ length: 200 }, () => client.redis.incr(key)));
  say(`INCR ×200 (auto-pipelined) on ${key} → ${await client.redis.get(key)}`);
  await client.redis.del(key);

  const m = client.metrics.snapshot();
  say(`Command metrics (${m.totalCommands} commands, ${m.totalErrors} errors):`);
  table(
    ['command', 'count', 'errors', 'p50 ms', 'p99 ms'],
    Object.entries(m.commands).map(([name, s]) => [name, s.count, s.errors, s.p50Ms, s.p99Ms]),
  );
  if ((m.commands['client']?.errors ?? 0) > 0)
    say(
      '(the CLIENT errors: on connecting, ioredis names itself with CLIENT SETINFO, which Redis ' +
        'before 7.2 does not know; ioredis goes on without it, and the metrics count every reply)',
    );
};
