import { firstValueFrom, from, lastValueFrom, of, toArray } from 'rxjs';
import { CommandError } from '../../../src/errors';
import { fakePipeline, recordingStream, scriptedGroup, testMessage } from '../../../src/testing';

describe('testing kit', () => {
  it('testMessage has the StreamMessage shape, with defaults', () => {
    const m = testMessage({ total: 3 });
    expect(m).toMatchObject({
      stream: 'test-stream',
      id: '1-0',
      value: { total: 3 },
      group: 'test-group',
      consumer: 'test-consumer',
      deliveries: 1,
      acked: false,
    });
  });

  it('testMessage ack() resolves, or rejects with ackError after recording the call', async () => {
    await expect(testMessage(1).ack()).resolves.toBeUndefined();
    const failing = testMessage(1, { ackError: new Error('XACK failed') });
    await expect(failing.ack()).rejects.toThrow('XACK failed');
    expect(failing.ackTimes).toHaveLength(1);
  });

  it('recordingStream fails the writes failWith chooses', async () => {
    const out = recordingStream<number>('out', {
      failWith: (v) => (v === 2 ? new Error('OOM') : undefined),
    });
    await expect(lastValueFrom(of(1, 2, 3).pipe(out.write(), toArray()))).rejects.toThrow('OOM');
    expect(out.entries.map((e) => [e.id, e.value])).toEqual([['1-0', 1]]);
  });

  it('fakePipeline answers each command, giving a throwing reply its own error', async () => {
    const wrongType = new CommandError('GET', 'WRONGTYPE', 'WRONGTYPE');
    const redis = fakePipeline({
      reply: ([cmd, key]) => {
        if (key === 'bad') throw wrongType;
        return `${cmd}:${key}`;
      },
    });
    const results = await firstValueFrom(
      from(
        redis.runPipeline([
          ['get', 'a'],
          ['get', 'bad'],
        ]),
      ),
    );
    expect(results).toEqual([
      { ok: true, value: 'get:a' },
      { ok: false, error: wrongType },
    ]);
  });

  it('scriptedGroup rejects invalid configuration', () => {
    expect(() => scriptedGroup({ entries: 1 as never })).toThrow(TypeError);
    expect(() => scriptedGroup({ entries: of(1), claimIdleMs: 0 })).toThrow(/claimIdleMs/);
    expect(() => scriptedGroup({ entries: of(1), maxDeliveries: 0 })).toThrow(/maxDeliveries/);
  });
});
