/**
 * `fromChannel`: messages of pub/sub channels as a hot Observable.
 *
 * @since 0.1.0
 */
import type * as t from 'io-ts';
import type { Observable } from 'rxjs';
import type { RedisClient } from '../connection/RedisClient';
import type { DecodeError } from '../errors';
import { checkDecodeOptions, pubsubSource } from '../internal/pubsubSource';
import type { SubscriptionStatus as Status } from '../internal/subscriptions';

/**
 * Where a source's server subscriptions are: `subscribing` until the server confirmed them (only
 * then are messages delivered), `subscribed`, and `reconnecting` from a connection drop until the
 * server confirmed them again. Messages published while `reconnecting` are lost: pub/sub is
 * at-most-once.
 *
 * @since 0.1.0
 */
export type SubscriptionStatus = Status;

/**
 * A message received on a channel. `channel` is without the client's `instance` prefix.
 *
 * @since 0.1.0
 */
export interface ChannelMessage<A> {
  readonly channel: string;
  readonly message: A;
}

/**
 * Options of {@link fromChannel}.
 *
 * @since 0.1.0
 */
export interface FromChannelConfig<A = string> {
  /**
   * Decodes each message (the wire form is a string). Without it messages are emitted as
   * received.
   */
  readonly codec?: t.Type<A, string, unknown>;
  /**
   * SSUBSCRIBE instead of SUBSCRIBE (Redis 7 sharded pub/sub). On a Cluster each channel is
   * served by the master owning its slot, through one connection per shard; publish with
   * `publishTo(…, { sharded: true })`.
   * @defaultValue false
   */
  readonly sharded?: boolean;
  /**
   * What a message that fails to decode does: `skip` it (it is logged, counted as
   * `pubsub.decodeErrors` in `client.metrics` and passed to `onDecodeError`), or `fail` this
   * subscriber's stream with the `DecodeError`. Other subscribers of the channel are unaffected
   * either way.
   * @defaultValue 'skip'
   */
  readonly decodeErrors?: 'skip' | 'fail';
  /** Called with each message that failed to decode, before it is skipped or fails the stream. */
  readonly onDecodeError?: (error: DecodeError, raw: ChannelMessage<string>) => void;
  /**
   * Called with this subscriber's {@link SubscriptionStatus}: first `subscribing` (or
   * `subscribed` at once when the channels are already subscribed by another source), then
   * `subscribed` once the server confirmed; `reconnecting` … `subscribed` around every
   * connection drop. Wait for `subscribed` before publishing what must not be missed.
   */
  readonly onStatus?: (status: SubscriptionStatus) => void;
}

/**
 * Messages published on one or more channels, as a hot Observable: subscribers receive what is
 * published while they are subscribed, nothing before. All sources of a client share its one
 * subscriber connection; a channel is subscribed on the server when its first subscriber arrives
 * and unsubscribed when its last one leaves. Messages are delivered only after the server
 * confirmed the subscription (`onStatus` says when). After a connection drop the channels are
 * subscribed again; the stream does not complete or fail because of it. It completes when the
 * client is closed, and fails with a `RedisError` when the server refuses the subscription
 * (e.g. an ACL without access to the channel).
 *
 * ```text
 * server     -a-b-x---d---     a comes before the confirmation: not delivered
 * SUBSCRIBE  ^-!  ^-!          sent at 0 and again at the drop; confirmed 2 frames later
 * emitted    ---b-----d---
 * status     s-S--R-S          subscribing, subscribed, reconnecting, subscribed
 * ```
 *
 * (`x` is a connection drop; the diagram is the first case of its marble suite.)
 *
 * @param client the client whose subscriber connection to use
 * @param channels a channel name or several (without the `instance` prefix, which is applied)
 * @param config see {@link FromChannelConfig}
 * @returns a hot Observable of {@link ChannelMessage}s, in the order the server sent them
 * @throws TypeError when `channels` is empty or holds a non-string or empty name
 * @example
 * ```ts
 * import * as t from 'io-ts';
 * import { fromChannel, wire } from '@mamey/persistence-redis';
 *
 * const Order = t.type({ id: t.string, total: t.number }, 'Order');
 * const sub = fromChannel(client, 'orders', {
 *   codec: wire(Order), // JSON on the wire
 *   onStatus: (s) => console.log('orders:', s), // subscribing, subscribed, reconnecting, …
 * }).subscribe(({ channel, message }) => console.log(channel, message.id, message.total));
 * // later: the last subscriber leaving UNSUBSCRIBEs
 * sub.unsubscribe();
 * ```
 * @see fromPattern for glob patterns, publishTo to publish
 * @since 0.1.0
 */
export function fromChannel(
  client: RedisClient,
  channels: string | ReadonlyArray<string>,
  config?: FromChannelConfig<string> & { readonly codec?: undefined },
): Observable<ChannelMessage<string>>;
export function fromChannel<A>(
  client: RedisClient,
  channels: string | ReadonlyArray<string>,
  config: FromChannelConfig<A> & { readonly codec: t.Type<A, string, unknown> },
): Observable<ChannelMessage<A>>;
export function fromChannel<A>(
  client: RedisClient,
  channels: string | ReadonlyArray<string>,
  config: FromChannelConfig<A> = {},
): Observable<ChannelMessage<A>> {
  const { sharded = false } = config;
  const names = typeof channels === 'string' ? [channels] : [...channels];
  if (names.length === 0) throw new TypeError('fromChannel: give at least one channel');
  for (const n of names)
    if (typeof n !== 'string' || n === '')
      throw new TypeError('fromChannel: channel names must be non-empty strings');
  checkDecodeOptions('fromChannel', config);
  return pubsubSource<A, ChannelMessage<A>>(
    client,
    sharded ? 'sharded' : 'channel',
    names.map((n) => client.key(n)),
    config,
    (channel, message) => ({ channel, message }),
  );
}
