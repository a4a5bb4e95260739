/**
 * The consumer the crash test runs in a child process and kills with SIGKILL:
 * `node -r ts-node/register/transpile-only test/integration/streams/crashConsumer.ts`
 * with URL, PREFIX and CONSUMER in the environment. Each handled entry is pushed to the
 * `processed` list and counted in `count:<consumer>` before it is acked.
 */
import * as t from 'io-ts';
import { ackAfter, createRedis, fromStreamGroup } from '../../../src';

const Event = t.type({ n: t.number, kind: t.string }, 'Event');
const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set`);
  return v;
};

const consumer = env('CONSUMER');
const client = createRedis({ url: env('URL'), instance: env('PREFIX') });
const MAX_IN_FLIGHT = 50;

fromStreamGroup(client, {
  stream: 'crash',
  group: 'g',
  consumer,
  codec: Event,
  maxInFlight: MAX_IN_FLIGHT,
  count: 50,
  claimIdleMs: 1000,
  claimIntervalMs: 200,
  blockMs: 200,
})
  .pipe(
    ackAfter(
      async (m) => {
        await Promise.all([
          client.redis.rpush(client.key('processed'), String(m.value.n)),
          client.redis.incr(client.key(`count:${consumer}`)),
        ]);
        await new Promise((r) => setTimeout(r, 1));
      },
      { concurrency: 5 },
    ),
  )
  .subscribe({
    error: (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  });
console.log('started');
