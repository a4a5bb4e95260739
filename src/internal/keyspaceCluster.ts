/**
 * Keyspace notifications on a Cluster are node-local: a node announces only changes to its own
 * keys. The hub keeps one subscriber connection per master (each with its own subscription
 * registry, so fromKeyspace sources with the same pattern share one PSUBSCRIBE per node), merges
 * their events, and follows the topology the client's command Cluster sees (its `refresh`
 * events): a new master gets subscribed, a node that is no longer a master is dropped. Events
 * from a node that is not a master in the latest topology (a demoted master, whose events its
 * new master also sends) are dropped, so nothing is delivered twice.
 *
 * @internal
 */
import { Redis, type Cluster } from 'ioredis';
import type { RedisClient } from '../connection/RedisClient';
import { clusterOptionsFor, reconnectStrategy } from '../connection/ioredisOptions';
import type { RedisError } from '../errors';
import { redisPort } from './pubsubPort';
import {
  SubscriptionRegistry,
  type SubscriptionListener,
  type SubscriptionStatus,
} from './subscriptions';

interface NodeLink {
  readonly key: string;
  readonly redis: Redis;
  readonly registry: SubscriptionRegistry;
}

interface Watcher {
  readonly pattern: string;
  readonly listener: SubscriptionListener;
  readonly releases: Map<string, () => void>;
  readonly statuses: Map<string, SubscriptionStatus>;
  status: SubscriptionStatus | undefined;
  everSubscribed: boolean;
}

/** `host:port` as ioredis keys Cluster nodes. */
export const nodeKeyOf = (r: Redis): string =>
  `${(r.options as { host?: string }).host ?? 'localhost'}:${(r.options as { port?: number }).port ?? 6379}`;

/** @internal */
export class KeyspaceHub {
  readonly #links = new Map<string, NodeLink>();
  #masters = new Set<string>();
  readonly #watchers = new Set<Watcher>();
  #closed = false;

  constructor(
    private readonly client: RedisClient,
    private readonly cluster: Cluster,
  ) {}

  /** Masters with a subscriber connection (for tests). */
  get nodes(): ReadonlyArray<string> {
    return [...this.#links.keys()];
  }

  /** PSUBSCRIBEs `pattern` on every master; returns the release. */
  watch(pattern: string, listener: SubscriptionListener): () => void {
    const w: Watcher = {
      pattern,
      listener,
      releases: new Map(),
      statuses: new Map(),
      status: undefined,
      everSubscribed: false,
    };
    this.#watchers.add(w);
    if (this.#watchers.size === 1) this.cluster.on('refresh', this.#sync);
    this.#sync();
    for (const link of this.#links.values()) if (!w.releases.has(link.key)) this.#attach(w, link);
    this.#report(w);
    return () => this.#unwatch(w);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.cluster.off('refresh', this.#sync);
    const watchers = [...this.#watchers];
    this.#watchers.clear();
    for (const link of this.#links.values()) this.#closeLink(link);
    this.#links.clear();
    for (const w of watchers) w.listener.closed();
  }

  readonly #sync = (): void => {
    if (this.#closed || this.#watchers.size === 0) return;
    const masters = new Set(this.cluster.nodes('master').map(nodeKeyOf));
    if (masters.size === 0) return; // not connected yet; the next refresh tells
    this.#masters = masters;
    for (const [key, link] of this.#links) {
      if (masters.has(key)) continue;
      this.client.logger.info({ node: key }, 'keyspace: node is no longer a master; dropped');
      for (const w of this.#watchers) {
        w.releases.get(key)?.();
        w.releases.delete(key);
        w.statuses.delete(key);
      }
      this.#closeLink(link);
      this.#links.delete(key);
    }
    for (const key of masters) {
      if (this.#links.has(key)) continue;
      const link = this.#open(key);
      this.#links.set(key, link);
      for (const w of this.#watchers) this.#attach(w, link);
    }
    for (const w of this.#watchers) this.#report(w);
  };

  #open(key: string): NodeLink {
    const node = this.cluster.nodes('master').find((n) => nodeKeyOf(n) === key);
    const o = node?.options as { host?: string; port?: number } | undefined;
    const options = this.client.options;
    const redis = new Redis({
      ...clusterOptionsFor(options, 'subscriber', () => true).redisOptions,
      host: o?.host ?? key.slice(0, key.lastIndexOf(':')),
      port: o?.port ?? Number(key.slice(key.lastIndexOf(':') + 1)),
      retryStrategy: reconnectStrategy(options, () => true),
      lazyConnect: true,
      ...(options.clientName !== undefined
        ? { connectionName: `${options.clientName}:keyspace` }
        : {}),
    });
    redis.on('error', (e: Error) =>
      this.client.logger.warn({ node: key, error: e.message }, 'keyspace connection error'),
    );
    const registry = new SubscriptionRegistry(redisPort(redis), { logger: this.client.logger });
    return { key, redis, registry };
  }

  #closeLink(link: NodeLink): void {
    link.registry.close();
    link.redis.disconnect();
  }

  #attach(w: Watcher, link: NodeLink): void {
    const release = link.registry.acquire('pattern', [w.pattern], {
      message: (channel, message) => {
        if (this.#masters.has(link.key)) w.listener.message(channel, message, w.pattern);
      },
      status: (s) => {
        w.statuses.set(link.key, s);
        this.#report(w);
      },
      error: (e) => this.#fail(w, link.key, e),
      closed: () => undefined,
    });
    if (this.#watchers.has(w)) w.releases.set(link.key, release);
    else release();
  }

  #report(w: Watcher): void {
    if (!this.#watchers.has(w)) return;
    const all = [...w.statuses.values()];
    let status: SubscriptionStatus =
      all.length < this.#links.size || all.length === 0
        ? 'subscribing'
        : all.includes('reconnecting')
          ? 'reconnecting'
          : all.includes('subscribing')
            ? 'subscribing'
            : 'subscribed';
    // A master that joins later was not listened to for a while: that is a gap too.
    if (status === 'subscribing' && w.everSubscribed) status = 'reconnecting';
    if (status === 'subscribed') w.everSubscribed = true;
    if (status === w.status) return;
    w.status = status;
    w.listener.status(status);
  }

  #fail(w: Watcher, node: string, error: RedisError): void {
    if (!this.#masters.has(node) || !this.#watchers.has(w)) return;
    this.#unwatch(w);
    w.listener.error(error);
  }

  #unwatch(w: Watcher): void {
    if (!this.#watchers.delete(w)) return;
    for (const release of w.releases.values()) release();
    w.releases.clear();
    if (this.#watchers.size > 0) return;
    // Nobody listens: close the per-node connections until the next watcher.
    this.cluster.off('refresh', this.#sync);
    for (const link of this.#links.values()) this.#closeLink(link);
    this.#links.clear();
  }
}

const hubs = new WeakMap<RedisClient, KeyspaceHub>();

/** The keyspace hub of a Cluster client, closed (completing its sources) with the client. */
export const keyspaceHubFor = (client: RedisClient, cluster: Cluster): KeyspaceHub => {
  const existing = hubs.get(client);
  if (existing !== undefined) return existing;
  const hub = new KeyspaceHub(client, cluster);
  hubs.set(client, hub);
  client.onClose(async () => hub.close());
  return hub;
};
