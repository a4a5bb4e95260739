import {
  ensureKeyspaceFlags,
  mergeFlags,
  missingFlags,
  parseKeyspaceChannel,
  requiredFlags,
  type ConfigurableNode,
} from '../../../src/internal/keyspace';
import { silentLogger } from '../../../src/internal/logger';
import { ConfigError } from '../../../src/errors';

describe('keyspace flags', () => {
  it('needs K and the class of each event; every A class without events', () => {
    expect(requiredFlags(['set', 'del', 'expired', 'set'])).toBe('K$gx');
    expect(requiredFlags(['hset', 'xadd', 'evicted', 'new'])).toBe('Khten');
    expect(requiredFlags(undefined)).toBe('Kg$lshzxetd');
  });

  it('counts A as its classes and merges without dropping anything', () => {
    expect(missingFlags('AKE', 'K$gx')).toBe('');
    expect(missingFlags('AKE', 'Kn')).toBe('n');
    expect(missingFlags('Eh', 'K$x')).toBe('K$x');
    expect(mergeFlags('Eh', 'Kx')).toBe('EhKx');
    expect(mergeFlags('', 'K$')).toBe('K$');
    expect(mergeFlags('KEA', 'Kx')).toBe('KEA');
  });

  it('reads keyspace channels', () => {
    expect(parseKeyspaceChannel('__keyspace@3__:user:{1}:name')).toEqual({
      db: 3,
      key: 'user:{1}:name',
    });
    expect(parseKeyspaceChannel('__keyspace@0__:')).toEqual({ db: 0, key: '' });
    expect(parseKeyspaceChannel('__keyevent@0__:set')).toBeUndefined();
    expect(parseKeyspaceChannel('orders')).toBeUndefined();
  });
});

describe('ensureKeyspaceFlags', () => {
  const node = (flags: string | Error, setError?: Error) => {
    const sets: string[] = [];
    const n: ConfigurableNode = {
      name: '10.0.0.1:6379',
      get: async (p) => {
        if (flags instanceof Error) throw flags;
        return [p, flags];
      },
      set: async (_p, v) => {
        if (setError) throw setError;
        sets.push(v);
        return 'OK';
      },
    };
    return { n, sets };
  };
  const refused = Object.assign(
    new Error("NOPERM User app has no permissions to run the 'config|get' command"),
    {
      name: 'ReplyError',
    },
  );

  it('sets the merged flags on every node that lacks them, with configure', async () => {
    const a = node('Eh');
    const b = node('AK');
    await ensureKeyspaceFlags([a.n, b.n], 'K$x', true, silentLogger);
    expect(a.sets).toEqual(['EhK$x']);
    expect(b.sets).toEqual([]);
  });

  it('without configure, fails naming the flags when a node lacks them', async () => {
    const e = await ensureKeyspaceFlags([node('E').n], 'K$', false, silentLogger).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe(
      'Invalid Redis configuration: notify-keyspace-events: must include the flags "K$" for fromKeyspace (it is "E" on 10.0.0.1:6379); pass configure: true to set them (allowed: set it on the server, e.g. notify-keyspace-events EK$)',
    );
  });

  it('where CONFIG is refused: trusts the server without configure, fails naming the flags with it', async () => {
    await expect(
      ensureKeyspaceFlags([node(refused).n], 'Kx', false, silentLogger),
    ).resolves.toBeUndefined();
    const e = await ensureKeyspaceFlags([node(refused).n], 'Kx', true, silentLogger).catch(
      (x) => x,
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('must include the flags "Kx"');
    expect(e.message).toContain('CONFIG is not allowed');
    const setRefused = await ensureKeyspaceFlags(
      [node('', refused).n],
      'Kx',
      true,
      silentLogger,
    ).catch((x) => x);
    expect(setRefused.message).toContain('it is "" on 10.0.0.1:6379); CONFIG SET is not allowed');
  });
});
