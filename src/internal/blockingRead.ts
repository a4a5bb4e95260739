/**
 * A command on a dedicated blocking connection that settles even when the connection drops.
 *
 * Blocking connections do not resend unfulfilled commands after a reconnect (the source
 * decides what to read next), and ioredis then drops such a command without settling its
 * promise. This rejects it with a `ConnectionError('closed')` as soon as the connection
 * closes, so the source's retry issues the read again once the connection is back.
 *
 * @internal
 */
import type { Redis } from 'ioredis';
import { defer, from, type Observable } from 'rxjs';
import type { DedicatedConnection, RedisClient } from '../connection/RedisClient';
import { ConnectionError, toRedisError } from '../errors';

/** The dedicated connection of one stream reader (see {@link readerConnection}). */
export interface ReaderConnection {
  /**
   * The connection: itself once open, so a read goes out synchronously (not a microtask later),
   * else the promise of it, opened on first use.
   *
   * @throws ConnectionError('closed') once `close` was called
   */
  get(): DedicatedConnection | Promise<DedicatedConnection>;
  /** Interrupts a blocking read at once and closes the connection. Idempotent. */
  close(): void;
}

/** A reader's dedicated connection to the node owning `key`, opened on first use. */
export const readerConnection = (
  client: RedisClient,
  key: string,
  stream: string,
): ReaderConnection => {
  let conn: Promise<DedicatedConnection> | undefined;
  let opened: DedicatedConnection | undefined;
  let closed = false;
  return {
    get: () => {
      if (closed) throw new ConnectionError('closed', `stream ${stream}: reader stopped`);
      return opened ?? (conn ??= client.dedicated(key).then((c) => (opened = c)));
    },
    close: () => {
      closed = true;
      void conn?.then(
        (c) => c.close(),
        () => undefined,
      );
    },
  };
};

/**
 * A Redis call as a cold Observable: `f` runs on each subscription, and a failure becomes the
 * library's typed error naming `command` (what the stream ports' retry loops classify).
 */
export const redisCall = <T>(command: string, f: () => Promise<T>): Observable<T> =>
  defer(() =>
    from(
      f().catch((e: unknown) => {
        throw toRedisError(e, command);
      }),
    ),
  );

export const blockingCall = <T>(redis: Redis, what: string, send: () => Promise<T>): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const onClose = (): void =>
      reject(new ConnectionError('closed', `the connection closed during ${what}`));
    redis.once('close', onClose);
    send().then(
      (v) => {
        redis.off('close', onClose);
        resolve(v);
      },
      (e: unknown) => {
        redis.off('close', onClose);
        reject(e);
      },
    );
  });
