/**
 * What `fromChannel` and `fromPattern` share: a lease on the client's subscription registry per
 * subscriber, the instance prefix, decoding with a codec and reporting what fails to decode.
 *
 * @internal
 */
import * as E from 'fp-ts/Either';
import type * as t from 'io-ts';
import { Observable, type Subscriber } from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import { DecodeError } from '../errors';
import type { SubscriptionKind } from './pubsubPort';
import { registryFor, type SubscriptionStatus } from './subscriptions';

/** The decoding part of the sources' configs. */
export interface DecodeOptions<A> {
  readonly codec?: t.Type<A, string, unknown>;
  readonly decodeErrors?: 'skip' | 'fail';
  readonly onDecodeError?: (error: DecodeError, raw: { channel: string; message: string }) => void;
  readonly onStatus?: (status: SubscriptionStatus) => void;
}

/** Counter of messages that failed to decode (in `client.metrics`). */
export const DECODE_ERRORS_COUNTER = 'pubsub.decodeErrors';

/** Escapes glob metacharacters, so a prefix is matched literally inside a pattern. */
export const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');

/** Checks the decoding options at call time. */
export const checkDecodeOptions = <A>(fn: string, o: DecodeOptions<A>): void => {
  if (o.decodeErrors !== undefined && o.decodeErrors !== 'skip' && o.decodeErrors !== 'fail')
    throw new TypeError(`${fn}: decodeErrors must be 'skip' or 'fail'`);
  if (o.codec !== undefined && typeof o.codec.decode !== 'function')
    throw new TypeError(`${fn}: codec must be an io-ts Type`);
};

const decode = <A>(codec: t.Type<A, string, unknown>, channel: string, raw: string) => {
  try {
    const r = codec.decode(raw);
    return E.isRight(r) ? r : E.left(new DecodeError(channel, r.left));
  } catch (cause) {
    return E.left(
      new DecodeError(channel, [], {
        cause,
        message: `Cannot decode message on ${channel}: the codec threw`,
      }),
    );
  }
};

/** Runs a user callback; a throw fails only this subscriber's stream. */
const guarded = (subscriber: Subscriber<unknown>, f: () => void): void => {
  try {
    f();
  } catch (e) {
    subscriber.error(e);
  }
};

/**
 * A hot source over `names` (full names, prefix applied) of `kind`. `build` makes the emitted
 * value from the unprefixed channel, the decoded message and the matching pattern's name.
 */
export const pubsubSource = <A, T>(
  client: RedisClient,
  kind: SubscriptionKind,
  names: ReadonlyArray<string>,
  options: DecodeOptions<A>,
  build: (channel: string, message: A, pattern: string | undefined) => T,
): Observable<T> => {
  const { codec, decodeErrors = 'skip', onDecodeError, onStatus } = options;
  return new Observable<T>((subscriber) => {
    let registry;
    try {
      registry = registryFor(client);
    } catch (e) {
      subscriber.error(e);
      return;
    }
    // Most sources see one channel over and over: strip the prefix once, not per message.
    let lastFull: string | undefined;
    let lastChannel = '';
    return registry.acquire(kind, names, {
      message: (fullChannel, raw, pattern) => {
        if (fullChannel !== lastFull) {
          lastFull = fullChannel;
          lastChannel = client.unkey(fullChannel) ?? fullChannel;
        }
        const channel = lastChannel;
        if (codec === undefined) {
          subscriber.next(build(channel, raw as A, pattern));
          return;
        }
        const decoded = decode(codec, channel, raw);
        if (E.isRight(decoded)) {
          subscriber.next(build(channel, decoded.right, pattern));
          return;
        }
        const error = decoded.left;
        client.metrics.increment(DECODE_ERRORS_COUNTER);
        client.logger.warn(
          { channel, error: error.message, action: decodeErrors },
          'pub/sub message failed to decode',
        );
        if (onDecodeError !== undefined)
          guarded(subscriber, () => onDecodeError(error, { channel, message: raw }));
        if (decodeErrors === 'fail') subscriber.error(error);
      },
      status: (status) => {
        if (onStatus !== undefined) guarded(subscriber, () => onStatus(status));
      },
      error: (e) => subscriber.error(e),
      closed: () => subscriber.complete(),
    });
  });
};
