import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The README's marble-test example must be the test that runs: the README block equals
 * marbles/readmeExample.marbles.spec.ts between its README markers, with the package's import
 * paths in place of the repository's.
 */
describe('README testing example', () => {
  it('is word for word marbles/readmeExample.marbles.spec.ts', () => {
    const root = join(__dirname, '..', '..', '..');
    const spec = readFileSync(join(root, 'marbles', 'readmeExample.marbles.spec.ts'), 'utf8');
    const body = spec.split('// README:start\n')[1]?.split('// README:end')[0];
    expect(body).toBeDefined();
    const asUser = body!
      .replace("from '../src/testing'", "from '@mamey/persistence-redis/testing'")
      .replace("from '../src'", "from '@mamey/persistence-redis'");

    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const testing = readme.split('\n## Testing your flows\n')[1]?.split('\n## ')[0] ?? '';
    const blocks = [...testing.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks).toContain(asUser);
  });
});
