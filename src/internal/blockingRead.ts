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
import { ConnectionError } from '../errors';

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
