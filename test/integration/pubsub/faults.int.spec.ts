/**
 * Pub/sub and keyspace sources against a server spawned for the purpose: killed and restarted
 * while subscribed (the sources keep going, the gap shows on their status and on the client's,
 * everything is subscribed again), and keyspace flags on a server where CONFIG is allowed or
 * refused.
 */
import { Redis } from 'ioredis';
import { filter, firstValueFrom, type Subscription } from 'rxjs';
import { ConfigError } from '../../../src/errors';
import { createRedis } from '../../../src/connection/createRedis';
import type { ConnectionStatus, RedisClient } from '../../../src/connection/RedisClient';
import { fromChannel, type ChannelMessage } from '../../../src/sources/fromChannel';
import { fromPattern, type PatternMessage } from '../../../src/sources/fromPattern';
import { fromKeyspace, type KeyspaceEvent } from '../../../src/sources/fromKeyspace';
import { spawnRedis, type RedisServer } from '../../support/redisProcess';
import { uniquePrefix, waitFor } from '../../support/env';
import { statusProbe } from './support';

const NO_CONFIG = { name: 'noconfig', password: 'No-C0nfig-pw' };

describe('pub/sub through a server that dies and comes back', () => {
  let server: RedisServer;
  let admin: Redis;
  const clients: RedisClient[] = [];
  const open = (extra: object = {}) => {
    const c = createRedis({
      url: server.url,
      instance: uniquePrefix('psf'),
      reconnectMaxDelayMs: 100,
      ...extra,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await spawnRedis({
      name: 'pubsub-faults',
      aclUsers: [{ ...NO_CONFIG, rules: ['~*', '&*', '+@all', '-config'] }],
    });
    admin = new Redis({ host: server.host, port: server.port, maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ timeoutMs: 1000 })));
    admin.disconnect();
    await server.stop();
  });

  it('keeps every source going across a restart, shows the gap, and resubscribes everything', async () => {
    const client = open();
    const statuses: ConnectionStatus[] = [];
    client.status$.subscribe((s) => statuses.push(s));
    const channel = statusProbe();
    const pattern = statusProbe();
    const keyspace = statusProbe();
    const got = { channel: [] as string[], pattern: [] as string[], keys: [] as string[] };
    const ended: string[] = [];
    const end = (what: string) => ({
      error: () => ended.push(`${what} failed`),
      complete: () => ended.push(`${what} completed`),
    });
    const subs: Subscription[] = [
      fromChannel(client, 'events', { onStatus: channel.onStatus }).subscribe({
        next: (m: ChannelMessage<string>) => got.channel.push(m.message),
        ...end('channel'),
      }),
      fromPattern(client, 'ev*', { onStatus: pattern.onStatus }).subscribe({
        next: (m: PatternMessage<string>) => got.pattern.push(m.message),
        ...end('pattern'),
      }),
      fromKeyspace(client, {
        pattern: 'k:*',
        events: ['set'],
        configure: true,
        onStatus: keyspace.onStatus,
      }).subscribe({ next: (e: KeyspaceEvent) => got.keys.push(e.key), ...end('keyspace') }),
    ];
    const probes = [channel, pattern, keyspace];
    await Promise.all(probes.map((p) => p.reached('subscribed')));
    await client.redis.publish(client.key('events'), 'before');
    await client.redis.set(client.key('k:1'), 'v');
    await waitFor(
      () => got.channel.length === 1 && got.pattern.length === 1 && got.keys.length === 1,
    );

    await server.kill(); // SIGKILL: the sockets drop, nothing is saved (CONFIG SET is lost too)
    await Promise.all(probes.map((p) => p.reached('reconnecting')));
    await firstValueFrom(client.status$.pipe(filter((s) => s === 'reconnecting')));
    // a source that starts while the server is down is subscribed when it is back
    const during = statusProbe();
    const lateMessage = firstValueFrom(
      fromChannel(client, 'during', { onStatus: during.onStatus }),
    );
    expect(during.seen).toEqual(['subscribing']);

    await server.restart();
    await Promise.all(probes.map((p) => p.reached('subscribed', 2)));
    await during.reached('subscribed');
    await client.redis.publish(client.key('events'), 'after');
    await client.redis.publish(client.key('during'), 'hello');
    await client.redis.set(client.key('k:2'), 'v'); // needs the flags set again after the restart
    await waitFor(
      () => got.channel.length === 2 && got.pattern.length === 2 && got.keys.length === 2,
      {
        message: 'messages after the resubscription',
      },
    );
    expect(await lateMessage).toEqual({ channel: 'during', message: 'hello' });

    expect(got).toEqual({
      channel: ['before', 'after'],
      pattern: ['before', 'after'],
      keys: ['k:1', 'k:2'],
    });
    for (const p of probes)
      expect(p.seen).toEqual(['subscribing', 'subscribed', 'reconnecting', 'subscribed']);
    expect(statuses.slice(0, 4)).toEqual(['connecting', 'ready', 'reconnecting', 'ready']);
    expect(ended).toEqual([]);
    subs.forEach((s) => s.unsubscribe());
    await client.close();
  });

  it('configure: true merges the flags into notify-keyspace-events, dropping none', async () => {
    await admin.config('SET', 'notify-keyspace-events', 'Eh');
    const client = open();
    const probe = statusProbe();
    const sub = fromKeyspace(client, {
      events: ['expired', 'del'],
      configure: true,
      onStatus: probe.onStatus,
    }).subscribe();
    await probe.reached('subscribed');
    const [, flags] = (await admin.config('GET', 'notify-keyspace-events')) as [string, string];
    expect([...flags].sort()).toEqual([...'EhKxg'].sort());
    sub.unsubscribe();
  });

  it('without configure, a server known to lack the flags fails the stream naming them', async () => {
    await admin.config('SET', 'notify-keyspace-events', '');
    const client = open();
    const error = await firstValueFrom(fromKeyspace(client, { events: ['set'] })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('notify-keyspace-events');
    expect((error as Error).message).toContain('"K$"');
    expect((error as Error).message).toContain('configure: true');
  });

  it('where CONFIG is refused, configure: true fails naming the flags; without it the source runs', async () => {
    await admin.config('SET', 'notify-keyspace-events', '');
    const client = open({ username: NO_CONFIG.name, password: NO_CONFIG.password });
    const error = await firstValueFrom(
      fromKeyspace(client, { events: ['expired'], configure: true }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/must include the flags "Kx".*CONFIG is not allowed/);
    expect((error as Error).message).not.toContain(NO_CONFIG.password);

    // the operator set the flags: the client cannot check them, and trusts they are there
    await admin.config('SET', 'notify-keyspace-events', 'Kx');
    const probe = statusProbe();
    const expired = firstValueFrom(
      fromKeyspace(client, { events: ['expired'], onStatus: probe.onStatus }),
    );
    await probe.reached('subscribed');
    await client.redis.set(client.key('gone'), 'v', 'PX', 1);
    await waitFor(async () => (await client.redis.exists(client.key('gone'))) === 0);
    expect(await expired).toEqual({ key: 'gone', event: 'expired', db: 0 });
  });
});
