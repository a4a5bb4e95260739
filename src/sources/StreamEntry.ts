/**
 * The values stream sources emit: {@link StreamEntry} from `fromStream` and `readStreamRange`,
 * {@link StreamMessage} (an entry with its consumer-group bookkeeping and `ack()`) from
 * `fromStreamGroup`.
 *
 * @since 0.1.0
 */
export type { StreamFields } from '../internal/streamReplies';
export type { StreamCodec, FieldInput } from '../internal/streamWire';

/**
 * One stream entry. `stream` is the name as you passed it (without the client's `instance`
 * prefix); `id` is the entry id Redis gave it (`<ms>-<seq>`). Without a codec `value` is the
 * entry's field map (`Record<string, string>`).
 *
 * @since 0.1.0
 */
export interface StreamEntry<A> {
  readonly stream: string;
  readonly id: string;
  readonly value: A;
}

/**
 * An entry delivered to a consumer of a group. It stays pending (in the group's PEL) until
 * {@link StreamMessage.ack} succeeds; until then it holds one of the source's `maxInFlight` slots.
 *
 * @since 0.1.0
 */
export interface StreamMessage<A> extends StreamEntry<A> {
  readonly group: string;
  readonly consumer: string;
  /** How many times the group delivered this entry, this delivery included (1 = first time). */
  readonly deliveries: number;
  /**
   * Acknowledges the entry (XACK, batched with other acks of the source into one round trip)
   * and frees its slot. Resolves when Redis confirmed; rejects with a `RedisError` when the
   * XACK failed (the entry stays pending and is delivered again). Calling it again is a no-op.
   */
  ack(): Promise<void>;
  /**
   * Gives the entry up without acknowledging it: it frees its slot and stays pending, so the
   * group delivers it again once it has been idle for `claimIdleMs` (to this consumer or
   * another). Pass the failure as `reason` to count it in `stream.failed` and log it.
   * No-op after `ack()`.
   */
  release(reason?: unknown): void;
}

/**
 * What `fromStreamGroup` writes to the dead-letter stream (all fields are strings on the wire;
 * read it with `fromStream` or `readStreamRange` without a codec).
 *
 * @since 0.1.0
 */
export interface DeadLetterFields {
  /** The stream the entry came from (unprefixed). */
  readonly stream: string;
  /** The entry's id in that stream. */
  readonly id: string;
  readonly group: string;
  readonly consumer: string;
  /** Delivery count when it was dead-lettered. */
  readonly deliveries: string;
  /** `decode: …` or `maxDeliveries: …`. */
  readonly reason: string;
  /** The original field map as JSON. */
  readonly fields: string;
}
