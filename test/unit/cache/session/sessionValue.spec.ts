import { parseStored, readHeaderBytes } from '../../../../src/cache/sessionValue';

describe('stored session values', () => {
  it('parseStored reads version, times, user id and data', () => {
    expect(parseStored('3:100:900:0:{"a":1}')).toEqual({
      version: 3,
      createdAt: 100,
      expiresAt: 900,
      userId: undefined,
      data: '{"a":1}',
    });
    // the user id's length is in UTF-8 bytes, and it may hold ':' and any other character
    const user = 'ada:é😀';
    const text = `1:2:3:${Buffer.byteLength(user)}:${user}{"b":[]}`;
    expect(parseStored(text)).toMatchObject({ userId: user, data: '{"b":[]}' });
  });

  it('readHeaderBytes finds the deadline and where the data starts, in bytes', () => {
    const user = 'ada:é😀';
    const bytes = Buffer.from(`12:1700:1800:${Buffer.byteLength(user)}:${user}{"b":[]}`);
    const into = { expiresAt: 0, dataStart: 0 };
    expect(readHeaderBytes(bytes, into)).toBe(true);
    expect(into.expiresAt).toBe(1800);
    expect(bytes.toString('utf8', into.dataStart)).toBe('{"b":[]}');
    expect(readHeaderBytes(Buffer.from('1:2:3:0:'), into)).toBe(true);
    expect(into.dataStart).toBe(8);
  });

  it('refuses values this store did not write', () => {
    const into = { expiresAt: 0, dataStart: 0 };
    for (const bad of [
      '{"a":1}',
      '',
      '1:2:3',
      '1:2:3:0',
      '1::3:0:x',
      'a:2:3:0:x',
      '1:2:3:9:short',
      '1:2:3:-1:x',
    ]) {
      expect(parseStored(bad)).toBeUndefined();
      expect(readHeaderBytes(Buffer.from(bad), into)).toBe(false);
    }
  });
});
