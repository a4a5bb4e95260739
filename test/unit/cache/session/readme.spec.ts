import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../../../..');

/** The README's Express example is the app the integration tests drive: they must not drift. */
describe('README Express example', () => {
  it('shows test/integration/sessions/app.ts verbatim', () => {
    const app = readFileSync(join(root, 'test/integration/sessions/app.ts'), 'utf8');
    const region = /\/\/ #region readme-express\n([\s\S]*?)\/\/ #endregion readme-express/.exec(
      app,
    );
    expect(region).not.toBeNull();
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Sessions'),
      readme.indexOf('## Testing your flows'),
    );
    expect(section).toContain(region![1]!);
  });
});
