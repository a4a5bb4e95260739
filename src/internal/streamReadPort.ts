/**
 * The Redis side of a plain stream reader (`fromStream`), as its read loop sees it: every
 * method is a cold Observable, so the loop's timing (one blocking read after another, resuming
 * from the last id, retry after a lost connection, stop at once) can be marble-tested with a fake
 * port. The blocking XREAD goes to a dedicated connection to the node owning the stream key;
 * the one-off XREVRANGE that pins `'$'` goes to the shared command connection.
 *
 * @internal
 */
import type { Observable } from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { blockingCall, readerConnection, redisCall } from './blockingRead';
import { parseEntries, parseReadOne, type RawEntry } from './streamReplies';

export interface StreamReadPort {
  /**
   * The id of the stream's newest entry (XREVRANGE + - COUNT 1); `undefined` when it is empty.
   * Fails with the library's typed error (while Redis is unreachable: a `ConnectionError` or
   * `TimeoutError`, which the read loop retries).
   */
  newest(): Observable<string | undefined>;
  /**
   * XREAD COUNT `count` BLOCK `blockMs` of the entries after `after`; `[]` when the block timed
   * out. Fails with a `ConnectionError` when the connection drops during the read.
   */
  read(after: string, count: number, blockMs: number): Observable<RawEntry[]>;
  /** Interrupts a blocking read at once and closes the dedicated connection. */
  close(): void;
}

/** The Redis port of one subscription of `fromStream`. */
export const redisStreamReadPort = (client: RedisClient, stream: string): StreamReadPort => {
  const key = client.key(stream);
  const reader = readerConnection(client, key, stream);

  return {
    newest: () =>
      redisCall(
        'XREVRANGE',
        async () => parseEntries(await client.redis.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.id,
      ),
    read: (after, count, blockMs) =>
      redisCall('XREAD', async () => {
        const c = await reader.get();
        const reply = await blockingCall(c.redis, 'XREAD', () =>
          c.redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', key, after),
        );
        return parseReadOne(reply, key);
      }),
    close: reader.close,
  };
};
