import * as t from 'io-ts';
import { of } from 'rxjs';
import type { DecodeError } from '../../../src/errors';
import { fromChannel, type ChannelMessage } from '../../../src/sources/fromChannel';
import { fromPattern } from '../../../src/sources/fromPattern';
import { fakeClient } from './fakeClient';

/** A number sent as text. */
const NumberText = new t.Type<number, string, unknown>(
  'NumberText',
  (u): u is number => typeof u === 'number',
  (u, c) => (typeof u === 'string' && /^\d+$/.test(u) ? t.success(Number(u)) : t.failure(u, c)),
  String,
);

const confirmed = () => of(undefined);

describe('fromChannel', () => {
  it('does nothing until subscribed, applies the prefix and strips it from messages', () => {
    const f = fakeClient({ confirm: confirmed });
    const source = fromChannel(f.client, ['a', 'b']);
    expect(f.calls).toEqual([]);
    const got: ChannelMessage<string>[] = [];
    const sub = source.subscribe((m) => got.push(m));
    expect(f.calls).toEqual(['+channel app:a,app:b']);
    f.publish('channel', 'app:b', 'app:b', 'hi');
    expect(got).toEqual([{ channel: 'b', message: 'hi' }]);
    sub.unsubscribe();
    expect(f.calls).toEqual(['+channel app:a,app:b', '-channel app:a,app:b']);
  });

  it('sharded: true uses sharded subscriptions', () => {
    const f = fakeClient({ confirm: confirmed });
    fromChannel(f.client, 'a', { sharded: true }).subscribe();
    expect(f.calls).toEqual(['+sharded app:a']);
  });

  it('skips and reports what fails to decode; other messages and subscribers go on', () => {
    const f = fakeClient({ confirm: confirmed });
    const errors: Array<[DecodeError, ChannelMessage<string>]> = [];
    const got: number[] = [];
    const plain: string[] = [];
    fromChannel(f.client, 'n', {
      codec: NumberText,
      onDecodeError: (e, raw) => errors.push([e, raw]),
    }).subscribe((m) => got.push(m.message));
    fromChannel(f.client, 'n').subscribe((m) => plain.push(m.message));
    for (const m of ['1', 'x', '2']) f.publish('channel', 'app:n', 'app:n', m);
    expect(got).toEqual([1, 2]);
    expect(plain).toEqual(['1', 'x', '2']);
    expect(errors).toHaveLength(1);
    expect(errors[0]![0]).toMatchObject({ _tag: 'DecodeError', key: 'n' });
    expect(errors[0]![1]).toEqual({ channel: 'n', message: 'x' });
    expect(f.counters.get('pubsub.decodeErrors')).toBe(1);
    expect(f.logger.lines).toEqual([
      {
        level: 'warn',
        obj: {
          channel: 'n',
          error: expect.stringContaining('Cannot decode value at n'),
          action: 'skip',
        },
        msg: 'pub/sub message failed to decode',
      },
    ]);
    expect(f.logger.text()).not.toContain('"x"');
  });

  it("decodeErrors: 'fail' fails only that subscriber's stream", () => {
    const f = fakeClient({ confirm: confirmed });
    let failed: unknown;
    const other: number[] = [];
    fromChannel(f.client, 'n', { codec: NumberText, decodeErrors: 'fail' }).subscribe({
      error: (e) => (failed = e),
    });
    fromChannel(f.client, 'n', { codec: NumberText }).subscribe((m) => other.push(m.message));
    f.publish('channel', 'app:n', 'app:n', 'bad');
    f.publish('channel', 'app:n', 'app:n', '7');
    expect((failed as DecodeError)._tag).toBe('DecodeError');
    expect(other).toEqual([7]);
    expect(f.calls).toEqual(['+channel app:n']); // the other still holds the subscription
  });

  it('a codec or callback that throws fails only its own stream', () => {
    const f = fakeClient({ confirm: confirmed });
    const throwing = new t.Type<number, string, unknown>(
      'Throwing',
      t.number.is,
      () => {
        throw new Error('boom');
      },
      String,
    );
    const seen: string[] = [];
    fromChannel(f.client, 'n', {
      codec: throwing,
      onDecodeError: () => {
        throw new Error('callback failed');
      },
    }).subscribe({ error: (e: Error) => seen.push(e.message) });
    fromChannel(f.client, 'n').subscribe((m) => seen.push(m.message));
    f.publish('channel', 'app:n', 'app:n', '1');
    expect(seen).toEqual(['callback failed', '1']);
  });

  it('completes when the client closes', async () => {
    const f = fakeClient({ confirm: confirmed });
    let completed = false;
    fromChannel(f.client, 'a').subscribe({ complete: () => (completed = true) });
    await f.close();
    expect(completed).toBe(true);
  });

  it('rejects bad arguments at call time', () => {
    const f = fakeClient({ confirm: confirmed });
    expect(() => fromChannel(f.client, [])).toThrow(TypeError);
    expect(() => fromChannel(f.client, ['a', ''])).toThrow('non-empty strings');
    expect(() => fromChannel(f.client, 'a', { decodeErrors: 'ignore' as 'skip' })).toThrow(
      "decodeErrors must be 'skip' or 'fail'",
    );
    expect(() => fromPattern(f.client, '')).toThrow(TypeError);
  });
});

describe('fromPattern', () => {
  it('puts the escaped prefix in front of the pattern and reports the pattern as given', () => {
    const f = fakeClient({ confirm: confirmed, instance: 'shop[1]:' });
    const got: unknown[] = [];
    fromPattern(f.client, 'orders.*').subscribe((m) => got.push(m));
    expect(f.calls).toEqual(['+pattern shop\\[1\\]:orders.*']);
    f.publish('pattern', 'shop\\[1\\]:orders.*', 'shop[1]:orders.eu', 'x');
    expect(got).toEqual([{ channel: 'orders.eu', pattern: 'orders.*', message: 'x' }]);
  });
});
