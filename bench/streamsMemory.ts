/**
 * Consumes an existing stream backlog with fromStreamGroup + ackAfter in a process of its own,
 * so the RSS it prints is this consumer's alone (not the bench runner's, which holds every
 * other case's garbage). Run by bench/cases/streams.ts:
 *   node -r ts-node/register/transpile-only bench/streamsMemory.ts <url> <stream> <group> <count>
 * Prints one JSON line: { beforeMb, peakMb, consumed }.
 */
import * as t from 'io-ts';
import { lastValueFrom, of, take } from 'rxjs';
import { ackAfter, createRedis, fromStreamGroup } from '../src';

const Event = t.type({ n: t.number, kind: t.string, at: t.string }, 'Event');

const main = async (): Promise<void> => {
  const [url, stream, group, count] = process.argv.slice(2);
  const total = Number(count);
  const client = createRedis({ url: url!, instance: 'bench:' });
  const mb = () => process.memoryUsage().rss / 2 ** 20;
  const beforeMb = mb();
  let peakMb = beforeMb;
  const sampler = setInterval(() => (peakMb = Math.max(peakMb, mb())), 50);
  let consumed = 0;
  await lastValueFrom(
    fromStreamGroup(client, {
      stream: stream!,
      group: group!,
      consumer: 'mem',
      codec: Event,
      count: 100,
    }).pipe(
      ackAfter((m) => of(m.value.n)),
      take(total),
    ),
  ).then(() => (consumed = total));
  clearInterval(sampler);
  peakMb = Math.max(peakMb, mb());
  await client.close();
  console.log(
    JSON.stringify({ beforeMb: Math.round(beforeMb), peakMb: Math.round(peakMb), consumed }),
  );
};

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
