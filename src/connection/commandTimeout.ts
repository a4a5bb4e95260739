/**
 * Command timeouts without a timer per command.
 *
 * ioredis' own `commandTimeout` arms a `setTimeout` for every command and clears it (with a
 * `delete`, which turns the command object into a slow dictionary) when the reply comes: about a
 * microsecond per command, 10–15% of a pipelined write. The command connection instead records
 * each command and the time it was issued in a queue, in issue order. Since every command has the
 * same timeout, the oldest unanswered one always expires first: one timer, armed for the head of
 * the queue, rejects what expired (with ioredis' own "Command timed out", which `toRedisError`
 * maps to a `TimeoutError`) and re-arms for the next. Answered commands are dropped from the head
 * as new ones are issued, so the queue holds about what is in flight.
 *
 * Time is `performance.now()`, monotonic: a step of the wall clock (NTP, a resumed VM) neither
 * stops commands from timing out nor expires them all at once. As with ioredis' timer, the clock
 * starts when the command is issued (also while it waits in the offline queue) and runs across
 * Cluster redirections; a reply arriving after the timeout is ignored.
 *
 * @internal
 */
import type { Command } from 'ioredis';
import type { Commands } from './RedisClient';

/**
 * The error of a command not answered in time: ioredis' own message, which `toRedisError` maps
 * to a `TimeoutError` naming the command. Also for callers that time a round trip themselves.
 */
export const commandTimedOut = (): Error => new Error('Command timed out');

/** The fields of an ioredis Command this relies on (public in ioredis' typings). */
type Tracked = Pick<Command, 'isSettled' | 'reject'>;

/** ioredis' `sendCommand(command, stream?, node?)`, on a Redis connection and on a Cluster. */
type SendCommand = (command: Command, stream?: unknown, node?: unknown) => unknown;

/**
 * Makes `connection` fail every command not answered within `timeoutMs`.
 *
 * @returns a function that clears the pending timer (for close)
 */
export const installCommandTimeout = (
  connection: Commands,
  timeoutMs: number,
  now: () => number = () => performance.now(),
): (() => void) => {
  let commands: Array<Tracked | undefined> = [];
  let issued: number[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | undefined;

  /** Drops answered commands from the head; compacts once the dropped part dominates. */
  const prune = (): void => {
    while (head < commands.length && commands[head]!.isSettled) commands[head++] = undefined;
    if (head === commands.length) {
      commands = [];
      issued = [];
      head = 0;
    } else if (head > 1024 && head * 2 > commands.length) {
      commands = commands.slice(head);
      issued = issued.slice(head);
      head = 0;
    }
  };

  const arm = (): void => {
    if (timer !== undefined || head === commands.length) return;
    timer = setTimeout(expire, Math.max(0, issued[head]! + timeoutMs - now()));
    // a pending command keeps the process alive through its connection, not through this timer
    timer.unref();
  };

  const expire = (): void => {
    timer = undefined;
    const t = now();
    while (head < commands.length && issued[head]! + timeoutMs <= t) {
      const c = commands[head]!;
      commands[head++] = undefined;
      if (!c.isSettled) c.reject(commandTimedOut());
    }
    prune();
    arm();
  };

  // ioredis hands over the commands of a pipeline one after another in one synchronous loop
  // (execPipeline, or the flush of the offline queue), each with the pipeline's `stream` object
  // and its `pipelineIndex`: a command that continues the one just recorded shares its issue
  // time, so the clock is read once per pipeline rather than once per command.
  let lastStream: unknown;
  let lastIndex = -1;
  let lastIssued = 0;

  const target = connection as unknown as { sendCommand: SendCommand };
  const send = target.sendCommand;
  // fixed parameters, not `...rest`: no array per command (ioredis treats a missing stream or
  // node and an undefined one alike)
  target.sendCommand = function (
    this: unknown,
    command: Command,
    stream?: unknown,
    node?: unknown,
  ) {
    const reply = send.call(this, command, stream, node);
    // A command re-sent from an offline queue is recorded again: harmless, the first entry
    // (issued earlier) expires first and the second finds it settled.
    if (command.isSettled) {
      lastStream = undefined;
      return reply;
    }
    const index = command.pipelineIndex ?? -1;
    if (stream !== undefined && stream === lastStream && index === lastIndex + 1) {
      // the next command of the pipeline just recorded: its time, and the timer armed for it
      commands.push(command);
      issued.push(lastIssued);
    } else {
      prune();
      commands.push(command);
      issued.push((lastIssued = now()));
      arm();
    }
    lastStream = stream;
    lastIndex = index;
    return reply;
  };
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
};
