import { installCommandTimeout } from '../../../src/connection/commandTimeout';
import type { Commands } from '../../../src/connection/RedisClient';

/** A command as ioredis hands it to sendCommand: settled by a reply or by `reject`. */
const command = (name: string) => {
  const c = {
    name,
    isSettled: false,
    error: undefined as Error | undefined,
    reject: (e: Error) => {
      c.error = e;
      c.isSettled = true;
    },
    answer: () => {
      c.isSettled = true;
    },
  };
  return c;
};

/** A connection whose sendCommand records what reaches it. */
const connection = () => {
  const sent: unknown[][] = [];
  const conn = {
    sendCommand(...args: unknown[]) {
      sent.push(args);
      return `reply of ${(args[0] as { name: string }).name}`;
    },
  };
  return { conn, sent, c: conn as unknown as Commands };
};

type Send = (...args: unknown[]) => unknown;

/** Advances fake time: `c` is still pending 1 ms before `ms`, and times out at `ms`. */
const expectTimeoutAt = (c: ReturnType<typeof command>, ms: number): void => {
  jest.advanceTimersByTime(ms - 1);
  expect(c.isSettled).toBe(false);
  jest.advanceTimersByTime(1);
  expect(c.error?.message).toBe('Command timed out');
};

describe('installCommandTimeout', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('passes each command on unchanged and returns what the connection returns', () => {
    const { conn, sent, c } = connection();
    installCommandTimeout(c, 1000);
    const get = command('get');
    expect((conn.sendCommand as Send)(get, 'stream', 'node')).toBe('reply of get');
    expect(sent).toEqual([[get, 'stream', 'node']]);
  });

  it('rejects a command not answered within the timeout, not a millisecond before', () => {
    const { conn, c } = connection();
    installCommandTimeout(c, 1000);
    const get = command('get');
    (conn.sendCommand as Send)(get);
    expectTimeoutAt(get, 1000);
  });

  it('leaves answered commands alone and times each late one from its own issue time', () => {
    const { conn, c } = connection();
    installCommandTimeout(c, 1000);
    const a = command('a');
    const b = command('b');
    const late = command('late');
    (conn.sendCommand as Send)(a);
    jest.advanceTimersByTime(300);
    (conn.sendCommand as Send)(b);
    (conn.sendCommand as Send)(late);
    a.answer();
    b.answer();
    jest.advanceTimersByTime(699); // a's deadline passes: a was answered, nothing rejected
    expect(a.error).toBeUndefined();
    expect(late.isSettled).toBe(false);
    jest.advanceTimersByTime(300); // 1000 ms after `late` was issued
    expect(late.isSettled).toBe(false);
    jest.advanceTimersByTime(1);
    expect(late.error?.message).toBe('Command timed out');
    expect(b.error).toBeUndefined();
  });

  it('keeps one timer however many commands are in flight, and none once all are settled', () => {
    const { conn, c } = connection();
    installCommandTimeout(c, 1000);
    const commands = Array.from({ length: 5000 }, (_, i) => command(`c${i}`));
    for (const x of commands) (conn.sendCommand as Send)(x);
    expect(jest.getTimerCount()).toBe(1);
    for (const x of commands.slice(0, 4999)) x.answer();
    jest.advanceTimersByTime(1000);
    expect(commands.filter((x) => x.error !== undefined).map((x) => x.name)).toEqual(['c4999']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('does not record a command that is already settled (rejected before it was written)', () => {
    const { conn, c } = connection();
    installCommandTimeout(c, 1000);
    const refused = command('refused');
    refused.isSettled = true;
    (conn.sendCommand as Send)(refused);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a command sent again (offline queue, Cluster redirection) times out once, from its first send', () => {
    const { conn, c } = connection();
    installCommandTimeout(c, 1000);
    const get = command('get');
    let rejections = 0;
    const reject = get.reject;
    get.reject = (e) => {
      rejections += 1;
      reject(e);
    };
    (conn.sendCommand as Send)(get);
    jest.advanceTimersByTime(400);
    (conn.sendCommand as Send)(get);
    jest.advanceTimersByTime(600);
    expect(get.error?.message).toBe('Command timed out');
    jest.advanceTimersByTime(1000);
    expect(rejections).toBe(1);
  });

  it('runs on a monotonic clock: a step of the wall clock back does not stop a timeout', () => {
    const { conn, c } = connection();
    installCommandTimeout(c, 1000);
    const get = command('get');
    (conn.sendCommand as Send)(get);
    jest.setSystemTime(Date.now() - 3_600_000); // NTP, a resumed VM: Date.now() jumps back
    jest.advanceTimersByTime(1000);
    expect(get.error?.message).toBe('Command timed out');
  });

  it('the returned release clears the pending timer', () => {
    const { conn, c } = connection();
    const release = installCommandTimeout(c, 1000);
    const get = command('get');
    (conn.sendCommand as Send)(get);
    release();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('reads the clock once per pipeline: its commands share the first one’s issue time', () => {
    const { conn, c } = connection();
    let clock = 0;
    let reads = 0;
    installCommandTimeout(c, 1000, () => {
      reads += 1;
      return clock;
    });
    const stream = { isPipeline: true };
    const piped = Array.from({ length: 50 }, (_, i) => i).map((i) =>
      Object.assign(command(`p${i}`), { pipelineIndex: i }),
    );
    for (const x of piped) (conn.sendCommand as Send)(x, stream);
    expect(reads).toBe(2); // the issue time, and arming the timer
    clock = 1000;
    jest.advanceTimersByTime(1000);
    expect(piped.map((x) => x.error?.message)).toEqual(Array(50).fill('Command timed out'));
  });

  it('a command that does not continue the pipeline just recorded reads the clock itself', () => {
    const { conn, c } = connection();
    let clock = 0;
    installCommandTimeout(c, 1000, () => clock);
    const stream = { isPipeline: true };
    const first = Object.assign(command('first'), { pipelineIndex: 0 });
    (conn.sendCommand as Send)(first, stream);
    clock = 400;
    // another pipeline's stream; the same stream out of order; no stream at all
    const other = Object.assign(command('other'), { pipelineIndex: 1 });
    const skipped = Object.assign(command('skipped'), { pipelineIndex: 5 });
    const plain = Object.assign(command('plain'), { pipelineIndex: 6 });
    (conn.sendCommand as Send)(other, { isPipeline: true });
    (conn.sendCommand as Send)(skipped, stream);
    (conn.sendCommand as Send)(plain);
    clock = 1000;
    jest.advanceTimersByTime(1000);
    expect(first.error?.message).toBe('Command timed out');
    expect([other, skipped, plain].map((x) => x.isSettled)).toEqual([false, false, false]);
    clock = 1400;
    jest.advanceTimersByTime(400);
    expect([other, skipped, plain].map((x) => x.error?.message)).toEqual(
      Array(3).fill('Command timed out'),
    );
  });
  it('times out only the commands of a pipeline that are not answered', () => {
    const { conn, c } = connection();
    installCommandTimeout(c, 1000);
    const stream = { isPipeline: true };
    const piped = [0, 1, 2].map((i) => Object.assign(command(`p${i}`), { pipelineIndex: i }));
    for (const x of piped) (conn.sendCommand as Send)(x, stream);
    piped[0]!.answer();
    piped[1]!.answer();
    jest.advanceTimersByTime(1000);
    expect(piped.map((x) => x.error?.message)).toEqual([undefined, undefined, 'Command timed out']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('drops an answered pipeline and times out the next command from its own issue time', () => {
    const { conn, c } = connection();
    installCommandTimeout(c, 1000);
    const stream = { isPipeline: true };
    const piped = [0, 1].map((i) => Object.assign(command(`p${i}`), { pipelineIndex: i }));
    for (const x of piped) (conn.sendCommand as Send)(x, stream);
    for (const x of piped) x.answer();
    jest.advanceTimersByTime(500);
    const get = command('get');
    (conn.sendCommand as Send)(get);
    expectTimeoutAt(get, 1000);
    expect(piped.map((x) => x.error)).toEqual([undefined, undefined]);
  });
});
