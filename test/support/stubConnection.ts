/**
 * A single ioredis connection without a server, for unit tests of code that sends batches with
 * `sendBatch`: it records the commands each batch hands to `sendCommand` (in one synchronous
 * loop, with the batch's own stream object) as `[name, ...args]`, and settles them with what the test's `answer` gives — one
 * `[error, value]` per command, as a pipeline's `exec()` resolves — or rejects them all with the
 * error of a round trip that failed as a whole.
 */
import type { Command } from 'ioredis';

export type Replies = ReadonlyArray<readonly [Error | null, unknown]>;

export const stubConnection = (answer: (calls: unknown[][]) => Promise<Replies>) => {
  const batches: unknown[][][] = [];
  let batch: Command[] = [];
  let current: unknown;
  const redis = {
    stream: { write: () => true },
    sendCommand(command: Command, stream: unknown) {
      if (stream !== current) {
        current = stream;
        const commands: Command[] = (batch = []);
        queueMicrotask(() => {
          const calls = commands.map((c) => [c.name, ...c.args]);
          batches.push(calls);
          answer(calls).then(
            (replies) =>
              commands.forEach((c, i) => {
                const [error, value] = replies[i]!;
                if (error) c.reject(error);
                else c.resolve(value);
              }),
            (error: unknown) => commands.forEach((c) => c.reject(error as Error)),
          );
        });
      }
      batch.push(command);
    },
  };
  return { batches, redis };
};
