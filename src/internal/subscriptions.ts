/**
 * The reference-counted subscription registry: one per subscriber connection, shared by every
 * pub/sub and keyspace source of a client. A channel, pattern or sharded channel is subscribed
 * on the server when its first listener arrives and unsubscribed when its last one leaves;
 * channels and patterns are counted apart (a channel `a` and a pattern `a*` are two server
 * subscriptions, each with its own listeners), as are several sources naming the same channel.
 *
 * Messages reach a listener only after the server confirmed its subscription. After the
 * connection drops, every live subscription is renewed and each listener sees `reconnecting`
 * until the server confirmed it again: the gap in which messages may have been missed.
 *
 * @internal
 */
import { asyncScheduler, timer, type SchedulerLike, type Subscription } from 'rxjs';
import type { Logger } from '../config/types';
import type { RedisClient } from '../connection/RedisClient';
import { ConnectionError, isTransient, toRedisError, type RedisError } from '../errors';
import { silentLogger } from './logger';
import { portFor, SUBSCRIBE_COMMAND, type PubSubPort, type SubscriptionKind } from './pubsubPort';

/**
 * Where a source's server subscriptions are: `subscribing` until the server confirmed all of
 * them, then `subscribed`; `reconnecting` from a connection drop until all are confirmed again
 * (messages published in between are not delivered).
 */
export type SubscriptionStatus = 'subscribing' | 'subscribed' | 'reconnecting';

/** What a source gives the registry. */
export interface SubscriptionListener {
  /** A message; `pattern` is set for pattern subscriptions. Names are as on the server. */
  message(channel: string, message: string, pattern: string | undefined): void;
  status(status: SubscriptionStatus): void;
  /** A subscription failed for a reason retrying will not fix (ACL, connection ended). */
  error(error: RedisError): void;
  /** The client was closed. */
  closed(): void;
}

interface Entry {
  readonly kind: SubscriptionKind;
  readonly name: string;
  readonly leases: Set<Lease>;
  state: 'subscribing' | 'subscribed' | 'resubscribing';
  /** Bumped by every (re)subscribe, drop and release: replies of older attempts are ignored. */
  epoch: number;
}

interface Lease {
  readonly kind: SubscriptionKind;
  readonly listener: SubscriptionListener;
  readonly entries: Entry[];
  status: SubscriptionStatus | undefined;
  released: boolean;
}

export interface RegistryOptions {
  readonly logger?: Logger;
  /** Drives retry delays. @defaultValue asyncScheduler */
  readonly scheduler?: SchedulerLike;
  /** First delay before a SUBSCRIBE that failed transiently is sent again; doubles up to 2 s. @defaultValue 100 */
  readonly retryDelayMs?: number;
}

const MAX_RETRY_DELAY_MS = 2000;

/** @internal */
export class SubscriptionRegistry {
  readonly #maps: Record<SubscriptionKind, Map<string, Entry>> = {
    channel: new Map(),
    pattern: new Map(),
    sharded: new Map(),
  };
  readonly #port: PubSubPort;
  readonly #logger: Logger;
  readonly #scheduler: SchedulerLike;
  readonly #retryDelayMs: number;
  readonly #timers = new Set<Subscription>();
  readonly #stop: () => void;
  #closed = false;

  constructor(port: PubSubPort, options: RegistryOptions = {}) {
    const { logger = silentLogger, scheduler = asyncScheduler, retryDelayMs = 100 } = options;
    this.#port = port;
    this.#logger = logger;
    this.#scheduler = scheduler;
    this.#retryDelayMs = retryDelayMs;
    this.#stop = port.listen({
      message: (kind, name, channel, message) => {
        const entry = this.#maps[kind].get(name);
        // Before the first confirmation a message can only be a leftover of an earlier
        // subscription to the same name: the listener was promised none of those.
        if (entry === undefined || entry.state === 'subscribing') return;
        const pattern = kind === 'pattern' ? name : undefined;
        for (const lease of entry.leases) lease.listener.message(channel, message, pattern);
      },
      down: (kinds) => this.#down(kinds),
      up: (kinds) => this.#up(kinds),
      end: () => this.#end(),
    });
  }

  /** Number of server subscriptions of `kind` held (for tests and metrics). */
  count(kind: SubscriptionKind): number {
    return this.#maps[kind].size;
  }

  /**
   * Adds `listener` to the subscriptions of `names`, subscribing the ones nobody holds yet.
   *
   * @returns the release: removes the listener and unsubscribes names nobody holds any more.
   */
  acquire(
    kind: SubscriptionKind,
    names: ReadonlyArray<string>,
    listener: SubscriptionListener,
  ): () => void {
    if (this.#closed) {
      listener.error(new ConnectionError('closed', 'Redis client is closed'));
      return () => undefined;
    }
    const lease: Lease = { kind, listener, entries: [], status: undefined, released: false };
    const fresh: Entry[] = [];
    const map = this.#maps[kind];
    for (const name of new Set(names)) {
      let entry = map.get(name);
      if (entry === undefined) {
        entry = { kind, name, leases: new Set(), state: 'subscribing', epoch: 0 };
        map.set(name, entry);
        fresh.push(entry);
      }
      entry.leases.add(lease);
      lease.entries.push(entry);
    }
    this.#report(lease);
    if (fresh.length > 0) this.#subscribe(kind, fresh, this.#retryDelayMs);
    return () => this.#release(lease);
  }

  /** Completes every listener (the client is closing); sends nothing more. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop();
    for (const t of this.#timers) t.unsubscribe();
    for (const lease of this.#allLeases()) {
      lease.released = true;
      lease.listener.closed();
    }
    for (const map of Object.values(this.#maps)) map.clear();
  }

  #allLeases(kinds: ReadonlyArray<SubscriptionKind> = ['channel', 'pattern', 'sharded']) {
    const leases = new Set<Lease>();
    for (const kind of kinds)
      for (const entry of this.#maps[kind].values()) for (const l of entry.leases) leases.add(l);
    return leases;
  }

  #isCurrent(entry: Entry, epoch: number): boolean {
    return entry.epoch === epoch && this.#maps[entry.kind].get(entry.name) === entry;
  }

  #subscribe(kind: SubscriptionKind, entries: ReadonlyArray<Entry>, retryDelayMs: number): void {
    const attempt = entries.map((e) => ({ entry: e, epoch: ++e.epoch }));
    const current = () => attempt.filter((a) => this.#isCurrent(a.entry, a.epoch));
    this.#port
      .subscribe(
        kind,
        attempt.map((a) => a.entry.name),
      )
      .subscribe({
        error: (e: unknown) => {
          if (this.#closed) return;
          const live = current();
          if (live.length === 0) return;
          const error = toRedisError(e, SUBSCRIBE_COMMAND[kind]);
          if (!isTransient(error)) {
            this.#logger.error(
              { kind, count: live.length, error: error.message },
              'redis subscription failed',
            );
            const leases = new Set(live.flatMap((a) => [...a.entry.leases]));
            for (const lease of leases) this.#fail(lease, error);
            return;
          }
          this.#logger.warn(
            { kind, count: live.length, error: error.message, retryInMs: retryDelayMs },
            'redis subscription failed; retrying',
          );
          const t = timer(retryDelayMs, this.#scheduler).subscribe(() => {
            this.#timers.delete(t);
            const still = current().map((a) => a.entry);
            if (still.length > 0)
              this.#subscribe(kind, still, Math.min(retryDelayMs * 2, MAX_RETRY_DELAY_MS));
          });
          this.#timers.add(t);
        },
        complete: () => {
          const leases = new Set<Lease>();
          for (const { entry } of current()) {
            if (entry.state === 'resubscribing')
              this.#logger.info({ kind }, 'redis subscription renewed after reconnect');
            entry.state = 'subscribed';
            for (const l of entry.leases) leases.add(l);
          }
          for (const lease of leases) this.#report(lease);
        },
      });
  }

  #down(kinds: ReadonlyArray<SubscriptionKind>): void {
    if (this.#closed) return;
    for (const kind of kinds)
      for (const entry of this.#maps[kind].values()) {
        entry.epoch += 1;
        if (entry.state === 'subscribed') entry.state = 'resubscribing';
      }
    for (const lease of this.#allLeases(kinds)) this.#report(lease);
  }

  #up(kinds: ReadonlyArray<SubscriptionKind>): void {
    if (this.#closed) return;
    for (const kind of kinds) {
      const pending = [...this.#maps[kind].values()].filter((e) => e.state !== 'subscribed');
      if (pending.length > 0) this.#subscribe(kind, pending, this.#retryDelayMs);
    }
  }

  #end(): void {
    if (this.#closed) return;
    const error = new ConnectionError('closed', 'Redis subscriber connection ended');
    for (const lease of this.#allLeases()) this.#fail(lease, error);
  }

  #statusOf(lease: Lease): SubscriptionStatus {
    let subscribing = false;
    for (const e of lease.entries) {
      if (e.state === 'resubscribing') return 'reconnecting';
      if (e.state === 'subscribing') subscribing = true;
    }
    return subscribing ? 'subscribing' : 'subscribed';
  }

  #report(lease: Lease): void {
    if (lease.released) return;
    const status = this.#statusOf(lease);
    if (status === lease.status) return;
    lease.status = status;
    lease.listener.status(status);
  }

  #fail(lease: Lease, error: RedisError): void {
    if (lease.released) return;
    this.#release(lease);
    lease.listener.error(error);
  }

  #release(lease: Lease): void {
    if (lease.released) return;
    lease.released = true;
    const map = this.#maps[lease.kind];
    const gone: string[] = [];
    for (const entry of lease.entries) {
      entry.leases.delete(lease);
      if (entry.leases.size === 0 && map.get(entry.name) === entry) {
        map.delete(entry.name);
        entry.epoch += 1;
        gone.push(entry.name);
      }
    }
    if (gone.length === 0 || this.#closed) return;
    this.#port.unsubscribe(lease.kind, gone).subscribe({
      error: (e: unknown) =>
        this.#logger.warn(
          { kind: lease.kind, count: gone.length, error: toRedisError(e).message },
          'redis unsubscribe failed',
        ),
    });
  }
}

const registries = new WeakMap<RedisClient, SubscriptionRegistry>();

/**
 * The registry of `client`'s shared subscriber connection, created (with the connection) on
 * first use and closed, completing its sources, when the client closes.
 *
 * @throws ConnectionError when the client is closed
 */
export const registryFor = (client: RedisClient): SubscriptionRegistry => {
  const existing = registries.get(client);
  if (existing !== undefined) return existing;
  const registry = new SubscriptionRegistry(portFor(client.subscriber()), {
    logger: client.logger,
  });
  return provideRegistry(client, registry);
};

/** Makes `registry` the one of `client` (tests give a registry over a fake port). */
export const provideRegistry = (
  client: RedisClient,
  registry: SubscriptionRegistry,
): SubscriptionRegistry => {
  registries.set(client, registry);
  client.onClose(async () => registry.close());
  return registry;
};
