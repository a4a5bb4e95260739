import { of } from 'rxjs';
import { fromKeyspace, type KeyspaceEvent } from '../../../src/sources/fromKeyspace';
import { fakeClient } from './fakeClient';

const withServer = (flags: string, database = 2) => {
  const f = fakeClient({ confirm: () => of(undefined) });
  const sets: string[] = [];
  Object.assign(f.client, {
    mode: 'standalone',
    options: { database },
    redis: {
      options: { host: '10.0.0.1', port: 6379 },
      config: async (op: string, _p: string, v?: string) => {
        if (op === 'SET') sets.push(v!);
        return ['notify-keyspace-events', flags];
      },
    },
  });
  return { ...f, sets };
};

const tick = () => new Promise((r) => setImmediate(r));

describe('fromKeyspace', () => {
  it('subscribes the prefixed, escaped key pattern in the client database and emits known events', async () => {
    const f = withServer('AK');
    const got: KeyspaceEvent[] = [];
    fromKeyspace(f.client, { pattern: 'session:*', events: ['set', 'expired'] }).subscribe((e) =>
      got.push(e),
    );
    await tick();
    expect(f.calls).toEqual(['+pattern __keyspace@2__:app:session:*']);
    const name = '__keyspace@2__:app:session:*';
    f.publish('pattern', name, '__keyspace@2__:app:session:a', 'set');
    f.publish('pattern', name, '__keyspace@2__:app:session:a', 'del'); // not asked for
    f.publish('pattern', name, '__keyspace@2__:app:session:a', 'expired');
    expect(got).toEqual([
      { key: 'session:a', event: 'set', db: 2 },
      { key: 'session:a', event: 'expired', db: 2 },
    ]);
    expect(f.sets).toEqual([]);
  });

  it('with configure, sets the missing flags before subscribing', async () => {
    const f = withServer('Eh');
    fromKeyspace(f.client, { events: ['del'], configure: true }).subscribe();
    await tick();
    expect(f.sets).toEqual(['EhKg']);
    expect(f.calls).toEqual(['+pattern __keyspace@2__:app:*']);
  });

  it('without configure, fails on a server that lacks the flags, subscribing nothing', async () => {
    const f = withServer('');
    let error: unknown;
    fromKeyspace(f.client, { events: ['expired'] }).subscribe({ error: (e) => (error = e) });
    await tick();
    expect(error).toMatchObject({ _tag: 'ConfigError' });
    expect(f.calls).toEqual([]);
  });

  it('rejects bad arguments at call time', () => {
    const f = withServer('AK');
    expect(() => fromKeyspace(f.client, { events: ['sett' as 'set'] })).toThrow(
      'unknown keyspace events: sett',
    );
    expect(() => fromKeyspace(f.client, { pattern: '' })).toThrow(TypeError);
    expect(() => fromKeyspace(f.client, { topologyRefreshMs: 0 })).toThrow(TypeError);
  });
});
