import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(__dirname, '../../../../src/lua');
const scripts = readdirSync(dir).filter((f) => /^session-.*\.lua$/.test(f));

/** The header: the leading comment block. */
const headerOf = (text: string): string =>
  text
    .split('\n')
    .filter((_, i, lines) => lines.slice(0, i + 1).every((l) => l.startsWith('--')))
    .join('\n');

describe.each(scripts)('src/lua/%s', (file) => {
  const text = readFileSync(join(dir, file), 'utf8');
  const header = headerOf(text);
  const body = text.slice(header.length);
  const numKeys = file
    .replace(/\.lua$/, '')
    .split('-')
    .pop()!;

  it('names every KEYS[i] and ARGV[i] it uses in its header', () => {
    const used = new Set(body.match(/(KEYS|ARGV)\[\d+\]/g) ?? []);
    for (const ref of used) {
      const [name, i] = ref.slice(0, -1).split('[');
      const documented =
        header.includes(ref) ||
        header.includes(`${name}[1..n]`) ||
        header.includes(`${name}[${i}..`);
      expect(documented ? ref : `${ref} undocumented`).toBe(ref);
    }
    expect(header).toMatch(/Returns /);
  });

  it('uses no more KEYS than its file name declares', () => {
    if (numKeys === 'n') {
      expect(header).toContain('KEYS[1..n]');
      return;
    }
    const highest = Math.max(0, ...[...body.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1])));
    expect(highest).toBeLessThanOrEqual(Number(numKeys));
    for (let i = 1; i <= Number(numKeys); i++) expect(header).toContain(`KEYS[${i}]`);
  });
});
