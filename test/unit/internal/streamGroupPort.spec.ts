import { EventEmitter } from 'node:events';
import { firstValueFrom } from 'rxjs';
import type { RedisClient } from '../../../src/connection/RedisClient';
import { redisGroupPort } from '../../../src/internal/streamGroupPort';

/** A client whose dedicated connection records each XREADGROUP and answers it on demand. */
const fakeClient = () => {
  const sent: Array<Array<string | number>> = [];
  const answers: Array<(reply: unknown) => void> = [];
  const connection = Object.assign(new EventEmitter(), {
    xreadgroup: (...args: Array<string | number>) => {
      sent.push(args);
      return new Promise<unknown>((resolve) => answers.push(resolve));
    },
  });
  let opened = 0;
  const client = {
    key: (n: string) => `app:${n}`,
    redis: {},
    dedicated: async () => {
      opened += 1;
      return { redis: connection, close: async () => undefined };
    },
  } as unknown as RedisClient;
  return {
    client,
    sent,
    answer: (i: number, reply: unknown) => answers[i]!(reply),
    opened: () => opened,
  };
};

const names = { stream: 's', group: 'g', consumer: 'c', deadLetter: 's:dlq', startId: '0' };

describe('redisGroupPort.read', () => {
  it('sends XREADGROUP with COUNT, BLOCK for new entries, and maps the reply', async () => {
    const f = fakeClient();
    const port = redisGroupPort(f.client, names);
    const first = firstValueFrom(port.read('>', 10, 2000));
    await new Promise((r) => setImmediate(r));
    expect(f.sent).toEqual([
      ['GROUP', 'g', 'c', 'COUNT', 10, 'BLOCK', 2000, 'STREAMS', 'app:s', '>'],
    ]);
    f.answer(0, [['app:s', [['1-0', ['data', '1']]]]]);
    await expect(first).resolves.toEqual([{ id: '1-0', fields: { data: '1' } }]);
    const history = firstValueFrom(port.read('0', 5, undefined));
    await new Promise((r) => setImmediate(r));
    expect(f.sent[1]).toEqual(['GROUP', 'g', 'c', 'COUNT', 5, 'STREAMS', 'app:s', '0']);
    f.answer(1, null);
    await expect(history).resolves.toEqual([]);
    expect(f.opened()).toBe(1);
  });

  it('writes a read on an open connection during the subscription, before any microtask', async () => {
    // the engine subscribes the next read and then emits the batch just read, synchronously:
    // a read that waited for a microtask would only go out once that whole batch was handled
    const f = fakeClient();
    const port = redisGroupPort(f.client, names);
    const first = firstValueFrom(port.read('>', 10, 2000));
    await new Promise((r) => setImmediate(r));
    f.answer(0, null);
    await first;
    const sub = port.read('>', 10, 2000).subscribe();
    expect(f.sent).toHaveLength(2);
    sub.unsubscribe();
  });
});
