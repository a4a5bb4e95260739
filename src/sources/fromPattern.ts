/**
 * `fromPattern`: messages of every channel matching a glob pattern, as a hot Observable.
 *
 * @since 0.1.0
 */
import type * as t from 'io-ts';
import type { Observable } from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import type { DecodeError } from '../errors';
import { checkDecodeOptions, escapeGlob, pubsubSource } from '../internal/pubsubSource';
import type { ChannelMessage, SubscriptionStatus } from './fromChannel';

/**
 * A message received through a pattern subscription: the channel it was published on (without
 * the `instance` prefix) and the pattern, as given to {@link fromPattern}, that matched it.
 *
 * @since 0.1.0
 */
export interface PatternMessage<A> extends ChannelMessage<A> {
  readonly pattern: string;
}

/**
 * Options of {@link fromPattern}.
 *
 * @since 0.1.0
 */
export interface FromPatternConfig<A = string> {
  /** Decodes each message (the wire form is a string). */
  readonly codec?: t.Type<A, string, unknown>;
  /**
   * `skip` a message that fails to decode (logged, counted as `pubsub.decodeErrors`, passed to
   * `onDecodeError`) or `fail` this subscriber's stream with the `DecodeError`.
   * @defaultValue 'skip'
   */
  readonly decodeErrors?: 'skip' | 'fail';
  /** Called with each message that failed to decode. */
  readonly onDecodeError?: (error: DecodeError, raw: ChannelMessage<string>) => void;
  /**
   * Called with this subscriber's status: `subscribing`, `subscribed` once the server confirmed,
   * `reconnecting` … `subscribed` around every connection drop.
   */
  readonly onStatus?: (status: SubscriptionStatus) => void;
}

/**
 * Messages of every channel matching a glob pattern (`*`, `?`, `[…]`; PSUBSCRIBE), as a hot
 * Observable shared like {@link fromChannel}'s: one server subscription per pattern per client,
 * reference-counted, renewed after a reconnect, messages only after the server's confirmation.
 * The client's `instance` prefix is put in front of the pattern (matched literally), so only the
 * instance's channels match. A channel matched both by a pattern and by a channel subscription is
 * delivered to both sources.
 *
 * ```text
 * fromPattern(client, 'orders.*')
 * server    -a-b---x---d--    a, b on orders.eu, d on orders.us; x a connection drop
 * status    s-S----R-S----    subscribing, subscribed, reconnecting, subscribed
 * emitted   ---B-------D--    B = { channel: 'orders.eu', pattern: 'orders.*', message: 'b' }
 * ```
 *
 * `a` comes before the server confirmed the PSUBSCRIBE and is not delivered; after the drop the
 * pattern is subscribed again, and what is published until the server confirmed it is lost.
 *
 * @param client the client whose subscriber connection to use
 * @param pattern a glob pattern over channel names without the `instance` prefix
 * @param config see {@link FromPatternConfig}
 * @returns a hot Observable of {@link PatternMessage}s
 * @throws TypeError when the pattern is empty
 * @example
 * ```ts
 * fromPattern(client, 'orders.*', { onStatus: (s) => console.log(s) }).subscribe(
 *   ({ channel, message }) => console.log(`${channel}: ${message}`),
 * );
 * ```
 * @see fromChannel
 * @since 0.1.0
 */
export function fromPattern(
  client: RedisClient,
  pattern: string,
  config?: FromPatternConfig<string> & { readonly codec?: undefined },
): Observable<PatternMessage<string>>;
export function fromPattern<A>(
  client: RedisClient,
  pattern: string,
  config: FromPatternConfig<A> & { readonly codec: t.Type<A, string, unknown> },
): Observable<PatternMessage<A>>;
export function fromPattern<A>(
  client: RedisClient,
  pattern: string,
  config: FromPatternConfig<A> = {},
): Observable<PatternMessage<A>> {
  if (typeof pattern !== 'string' || pattern === '')
    throw new TypeError('fromPattern: the pattern must be a non-empty string');
  checkDecodeOptions('fromPattern', config);
  return pubsubSource<A, PatternMessage<A>>(
    client,
    'pattern',
    [escapeGlob(client.key('')) + pattern],
    config,
    (channel, message) => ({ channel, pattern, message }),
  );
}
