import * as fc from 'fast-check';
import * as E from 'fp-ts/Either';
import {
  ID_LENGTH,
  bucketOfId,
  bucketOfUser,
  fingerprint,
  newId,
  randomBucket,
  sessionKeys,
  validateId,
} from '../../../../src/cache/sessionIds';

const URL_SAFE = /^[A-Za-z0-9_-]+$/;

describe('session ids', () => {
  it('are 26 URL-safe characters: a bucket, then 144 random bits from the byte source', () => {
    const sizes: number[] = [];
    const id = newId('Ab', (n) => {
      sizes.push(n);
      return Buffer.alloc(n, 0xff);
    });
    expect(sizes).toEqual([18]);
    expect(id).toBe(`Ab${'_'.repeat(24)}`);
    const real = newId(randomBucket());
    expect(real).toHaveLength(ID_LENGTH);
    expect(real).toMatch(URL_SAFE);
    expect(new Set(Array.from({ length: 1000 }, () => newId('xx'))).size).toBe(1000);
  });

  it('every id the store makes passes validation and keeps its bucket', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 18, maxLength: 18 }), fc.string(), (bytes, user) => {
        const bucket = user === '' ? randomBucket() : bucketOfUser(user);
        const id = newId(bucket, () => Buffer.from(bytes));
        return E.isRight(validateId(id)) && bucketOfId(id) === bucket;
      }),
    );
  });

  it('refuses empty, short, over-long and non-URL-safe ids, saying why', () => {
    expect(validateId('')).toEqual(E.left('empty'));
    expect(validateId(undefined)).toEqual(E.left('empty'));
    expect(validateId('A'.repeat(21))).toEqual(E.left('too-short'));
    expect(validateId('A'.repeat(22))).toEqual(E.right('A'.repeat(22)));
    expect(validateId('A'.repeat(128))).toEqual(E.right('A'.repeat(128)));
    expect(validateId('A'.repeat(129))).toEqual(E.left('too-long'));
    for (const c of ['/', '+', '=', ' ', '.', '%', '{', '}', '*', '\n', 'é', '\0'])
      expect(validateId(`${'A'.repeat(25)}${c}`)).toEqual(E.left('not-url-safe'));
    fc.assert(
      fc.property(fc.string({ minLength: 22, maxLength: 128 }), (s) =>
        E.isRight(validateId(s)) ? URL_SAFE.test(s) : !URL_SAFE.test(s),
      ),
    );
  });

  it('a user’s bucket is stable, two URL-safe characters, spread over 4096 values', () => {
    expect(bucketOfUser('ada')).toBe(bucketOfUser('ada'));
    const buckets = new Set(Array.from({ length: 20_000 }, (_, i) => bucketOfUser(`user-${i}`)));
    for (const b of buckets) expect(b).toMatch(/^[A-Za-z0-9_-]{2}$/);
    expect(buckets.size).toBeGreaterThan(3900);
  });

  it('a fingerprint names a session without containing its id', () => {
    const id = newId('Ab');
    expect(fingerprint(id)).toMatch(/^Ab…[0-9a-f]{8}$/);
    expect(fingerprint(id)).not.toContain(id.slice(2, 10));
  });
});

describe('session keys', () => {
  const keys = sessionKeys('App:sess:');

  it('put a session, its marker and its user’s index under one hash tag', () => {
    const id = newId(bucketOfUser('ada'));
    const tag = `{${bucketOfUser('ada')}}`;
    expect(keys.session(id)).toBe(`App:sess:${tag}s:${id}`);
    expect(keys.marker(id)).toBe(`App:sess:${tag}g:${id}`);
    expect(keys.userIndex('ada')).toBe(`App:sess:${tag}u:ada`);
  });

  it('idOf reads back the id of a session key and nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 18, maxLength: 18 }), (bytes) => {
        const id = newId(randomBucket(), () => Buffer.from(bytes));
        return (
          keys.idOf(keys.session(id)) === id &&
          keys.idOf(keys.marker(id)) === undefined &&
          sessionKeys('Other:').idOf(keys.session(id)) === undefined
        );
      }),
    );
    expect(keys.idOf(keys.userIndex('ada'))).toBeUndefined();
    expect(keys.idOf('App:sess:{zz}s:AAAAAAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined(); // wrong bucket
  });

  it('SCAN patterns match the prefix literally', () => {
    const odd = sessionKeys('a*b?[c]:');
    expect(odd.sessionPattern).toBe('a\\*b\\?\\[c\\]:{??}s:*');
    expect(odd.everyKeyPattern).toBe('a\\*b\\?\\[c\\]:{??}*');
  });
});
