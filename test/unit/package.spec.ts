import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const node = (args: string[]): string =>
  execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

/**
 * Builds the package and loads it by name both ways, as a user's project would. One copy of the
 * code serves both: an error class is the same whether it was required or imported.
 */
describe('built package', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'pipe' });
  }, 120_000);

  it('emits JavaScript and declarations to dist/', () => {
    for (const f of [
      'lua/cache-release-1.lua',
      'lua/session-get-1.lua',
      'index.js',
      'index.d.ts',
      'index.mjs',
      'testing/index.js',
      'testing/index.d.ts',
      'testing/index.mjs',
    ]) {
      expect(existsSync(join(root, 'dist', f))).toBe(true);
    }
  });

  it('serves . and ./testing to require', () => {
    const out = node([
      '-e',
      `const m = require('@mamey/persistence-redis');
       const t = require('@mamey/persistence-redis/testing');
       console.log(typeof m.createRedis, typeof m.ConfigError, typeof t.createTestScheduler);`,
    ]);
    expect(out.trim()).toBe('function function function');
  });

  it('serves . and ./testing to import, sharing the CommonJS copy', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import { createRedis, ConfigError, parseRedisOptions } from '@mamey/persistence-redis';
       import { createTestScheduler } from '@mamey/persistence-redis/testing';
       import { createRequire } from 'node:module';
       const cjs = createRequire(import.meta.url)('@mamey/persistence-redis');
       const bad = parseRedisOptions({ port: 0 });
       console.log(typeof createRedis, typeof createTestScheduler, bad.left instanceof ConfigError, cjs.ConfigError === ConfigError);`,
    ]);
    expect(out.trim()).toBe('function function true true');
  });
});
