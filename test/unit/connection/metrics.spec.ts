import dc from 'node:diagnostics_channel';
import { MetricsRecorder } from '../../../src/connection/metrics';

const command = dc.tracingChannel('ioredis:command');

/** Emits what ioredis emits for one command to `address`, settling after `ms`. */
const trace = (address: string, name: string, ms: number, fail = false): Promise<unknown> => {
  const [host, port] = address.split(':');
  const ctx = {
    command: name,
    args: [],
    database: 0,
    serverAddress: host,
    serverPort: Number(port),
  };
  return command
    .tracePromise(
      () =>
        new Promise((resolve, reject) =>
          setTimeout(() => (fail ? reject(new Error('ERR x')) : resolve('OK')), ms),
        ),
      ctx,
    )
    .catch(() => undefined);
};

describe('MetricsRecorder', () => {
  const recorders: MetricsRecorder[] = [];
  const make = (enabled = true) => {
    const m = new MetricsRecorder(enabled);
    recorders.push(m);
    return m;
  };
  afterEach(() => recorders.splice(0).forEach((m) => m.dispose()));

  it('counts commands, errors and latency per command from the tracing channel', async () => {
    const m = make();
    m.watchAddress('127.0.0.1:7001');
    await Promise.all([
      trace('127.0.0.1:7001', 'get', 5),
      trace('127.0.0.1:7001', 'get', 20),
      trace('127.0.0.1:7001', 'set', 1, true),
    ]);
    const s = m.snapshot();
    expect(s.totalCommands).toBe(3);
    expect(s.totalErrors).toBe(1);
    expect(s.commands.get!.count).toBe(2);
    expect(s.commands.get!.errors).toBe(0);
    expect(s.commands.set!.errors).toBe(1);
    expect(s.commands.get!.p50Ms).toBeGreaterThanOrEqual(4);
    expect(s.commands.get!.p99Ms).toBeGreaterThanOrEqual(s.commands.get!.p50Ms);
    expect(s.commands.get!.maxMs).toBeGreaterThanOrEqual(19);
  });

  it('only counts commands sent to its own servers', async () => {
    const a = make();
    const b = make();
    a.watchAddress('127.0.0.1:7001');
    b.watchAddress('127.0.0.1:7002');
    await Promise.all([trace('127.0.0.1:7001', 'get', 1), trace('127.0.0.1:7002', 'del', 1)]);
    expect(Object.keys(a.snapshot().commands)).toEqual(['get']);
    expect(Object.keys(b.snapshot().commands)).toEqual(['del']);
  });

  it('takes no command figures when disabled or disposed, but keeps counters', async () => {
    const off = make(false);
    off.watchAddress('127.0.0.1:7001');
    const gone = make();
    gone.watchAddress('127.0.0.1:7001');
    gone.dispose();
    off.increment('stream.acked', 3);
    off.increment('stream.acked');
    await trace('127.0.0.1:7001', 'get', 1);
    expect(off.snapshot().totalCommands).toBe(0);
    expect(gone.snapshot().totalCommands).toBe(0);
    expect(off.snapshot().counters).toEqual({ 'stream.acked': 4 });
  });

  it('p50 and p99 follow the distribution within bucket resolution', () => {
    const m = make();
    for (let i = 1; i <= 100; i++) m.onCommand('get', i, false);
    const s = m.snapshot().commands.get!;
    expect(s.p50Ms).toBeGreaterThanOrEqual(50);
    expect(s.p50Ms).toBeLessThanOrEqual(50 * 1.1);
    expect(s.p99Ms).toBeGreaterThanOrEqual(99);
    expect(s.p99Ms).toBeLessThanOrEqual(100);
    expect(s.meanMs).toBeCloseTo(50.5, 5);
  });

  it('reset clears every figure', () => {
    const m = make();
    m.onCommand('get', 1, false);
    m.increment('x');
    m.reset();
    expect(m.snapshot()).toEqual({ commands: {}, totalCommands: 0, totalErrors: 0, counters: {} });
  });
});
