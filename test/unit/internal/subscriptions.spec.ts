import { EMPTY, Subject, VirtualTimeScheduler } from 'rxjs';
import type { PortEvents, PubSubPort, SubscriptionKind } from '../../../src/internal/pubsubPort';
import {
  SubscriptionRegistry,
  type SubscriptionListener,
  type SubscriptionStatus,
} from '../../../src/internal/subscriptions';

/** A port whose SUBSCRIBEs are confirmed (or failed) by the test. */
const fakePort = () => {
  const calls: string[] = [];
  const pending: Array<Subject<unknown>> = [];
  let events: PortEvents | undefined;
  const port: PubSubPort = {
    subscribe: (kind, names) => {
      calls.push(`+${kind} ${names.join(',')}`);
      const s = new Subject<unknown>();
      pending.push(s);
      return s;
    },
    unsubscribe: (kind, names) => {
      calls.push(`-${kind} ${names.join(',')}`);
      return EMPTY;
    },
    listen: (e) => {
      events = e;
      return () => (events = undefined);
    },
  };
  return {
    port,
    calls,
    /** Confirms the `i`-th SUBSCRIBE sent (default: the last). */
    confirm: (i = pending.length - 1) => pending[i]!.complete(),
    fail: (error: unknown, i = pending.length - 1) => pending[i]!.error(error),
    message: (kind: SubscriptionKind, name: string, channel = name, message = 'm') =>
      events?.message(kind, name, channel, message),
    down: () => events?.down(['channel', 'pattern', 'sharded']),
    up: () => events?.up(['channel', 'pattern', 'sharded']),
    end: () => events?.end(),
    get listening() {
      return events !== undefined;
    },
  };
};

const listener = () => {
  const log: string[] = [];
  const statuses: SubscriptionStatus[] = [];
  const l: SubscriptionListener = {
    message: (channel, message, pattern) =>
      log.push(`${channel}:${message}${pattern ? ` (${pattern})` : ''}`),
    status: (s) => statuses.push(s),
    error: (e) => log.push(`error ${e._tag}: ${e.message}`),
    closed: () => log.push('closed'),
  };
  return { l, log, statuses };
};

const replyError = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

describe('SubscriptionRegistry', () => {
  it('subscribes each name once, batching new names, and unsubscribes only what nobody holds', () => {
    const f = fakePort();
    const r = new SubscriptionRegistry(f.port);
    const a = listener();
    const b = listener();
    const releaseA = r.acquire('channel', ['a', 'b', 'a'], a.l);
    const releaseB = r.acquire('channel', ['b', 'c'], b.l);
    const releaseP = r.acquire('pattern', ['a*'], listener().l);
    expect(f.calls).toEqual(['+channel a,b', '+channel c', '+pattern a*']);
    expect(r.count('channel')).toBe(3);

    releaseA();
    expect(f.calls.at(-1)).toBe('-channel a');
    releaseA(); // idempotent
    releaseB();
    expect(f.calls.slice(3)).toEqual(['-channel a', '-channel b,c']);
    expect(r.count('channel')).toBe(0);
    expect(r.count('pattern')).toBe(1); // a pattern is its own subscription
    releaseP();
    expect(f.calls.at(-1)).toBe('-pattern a*');
  });

  it('reports subscribing until the server confirmed every name, and delivers only after that', () => {
    const f = fakePort();
    const r = new SubscriptionRegistry(f.port);
    const a = listener();
    r.acquire('channel', ['a', 'b'], a.l);
    f.message('channel', 'a', 'a', 'early'); // a leftover of an earlier subscription
    expect(a.statuses).toEqual(['subscribing']);
    f.confirm();
    expect(a.statuses).toEqual(['subscribing', 'subscribed']);
    f.message('channel', 'a', 'a', 'one');
    f.message('channel', 'zzz', 'zzz', 'not ours');
    expect(a.log).toEqual(['a:one']);

    // a second listener of a confirmed name is subscribed at once, without a round trip
    const b = listener();
    r.acquire('channel', ['a'], b.l);
    expect(b.statuses).toEqual(['subscribed']);
    expect(f.calls).toEqual(['+channel a,b']);
  });

  it('passes the pattern that matched to pattern listeners', () => {
    const f = fakePort();
    const r = new SubscriptionRegistry(f.port);
    const a = listener();
    r.acquire('pattern', ['orders.*'], a.l);
    f.confirm();
    f.message('pattern', 'orders.*', 'orders.eu', 'x');
    expect(a.log).toEqual(['orders.eu:x (orders.*)']);
  });

  it('renews every subscription after a drop and shows the gap as reconnecting', () => {
    const f = fakePort();
    const r = new SubscriptionRegistry(f.port);
    const a = listener();
    r.acquire('channel', ['a'], a.l);
    r.acquire('sharded', ['s'], listener().l);
    f.confirm(0);
    f.down();
    expect(a.statuses).toEqual(['subscribing', 'subscribed', 'reconnecting']);
    f.confirm(1); // the reply of a SUBSCRIBE sent before the drop means nothing now
    f.up();
    expect(f.calls).toEqual(['+channel a', '+sharded s', '+channel a', '+sharded s']);
    f.message('channel', 'a', 'a', 'during'); // ioredis re-subscribed on its own already
    f.confirm(2);
    expect(a.statuses).toEqual(['subscribing', 'subscribed', 'reconnecting', 'subscribed']);
    expect(a.log).toEqual(['a:during']);
  });

  it('retries a SUBSCRIBE that failed transiently, with growing delays', () => {
    const f = fakePort();
    const scheduler = new VirtualTimeScheduler();
    const r = new SubscriptionRegistry(f.port, { scheduler, retryDelayMs: 100 });
    const a = listener();
    r.acquire('channel', ['a'], a.l);
    f.fail(new Error('Connection is closed.'));
    expect(f.calls).toEqual(['+channel a']);
    scheduler.flush();
    expect(f.calls).toEqual(['+channel a', '+channel a']);
    f.fail(new Error('Connection is closed.'));
    scheduler.flush();
    expect(scheduler.now()).toBe(300); // 100, then 200
    f.confirm();
    expect(a.statuses).toEqual(['subscribing', 'subscribed']);
    expect(a.log).toEqual([]);
  });

  it('fails the listeners of a subscription the server refuses, and forgets it', () => {
    const f = fakePort();
    const r = new SubscriptionRegistry(f.port);
    const a = listener();
    const other = listener();
    r.acquire('channel', ['secret', 'open'], a.l);
    r.acquire('channel', ['elsewhere'], other.l);
    f.fail(replyError('NOPERM this user has no permissions to access one of the channels'), 0);
    expect(a.log).toEqual([
      'error CommandError: Redis replied with an error (SUBSCRIBE): NOPERM this user has no permissions to access one of the channels',
    ]);
    expect(f.calls.at(-1)).toBe('-channel secret,open');
    expect(r.count('channel')).toBe(1);
    f.confirm(1);
    expect(other.statuses.at(-1)).toBe('subscribed');
    r.acquire('channel', ['secret'], listener().l); // tried again by the next one
    expect(f.calls.at(-1)).toBe('+channel secret');
  });

  it('completes every listener when closed, without unsubscribing, and refuses new ones', () => {
    const f = fakePort();
    const r = new SubscriptionRegistry(f.port);
    const a = listener();
    const release = r.acquire('channel', ['a'], a.l);
    f.confirm();
    r.close();
    expect(a.log).toEqual(['closed']);
    expect(f.listening).toBe(false);
    release();
    expect(f.calls).toEqual(['+channel a']);
    const late = listener();
    r.acquire('channel', ['a'], late.l);
    expect(late.log).toEqual(['error ConnectionError: Redis client is closed']);
  });

  it('fails every listener when the connection ends for good', () => {
    const f = fakePort();
    const r = new SubscriptionRegistry(f.port);
    const a = listener();
    r.acquire('pattern', ['*'], a.l);
    f.end();
    expect(a.log).toEqual(['error ConnectionError: Redis subscriber connection ended']);
    expect(r.count('pattern')).toBe(0);
  });
});
