import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../core/project-root';
import { cliReference } from './reference';

describe('CLI reference', () => {
  it("docs/cli.md matches every command's --help (run `npm run docs:cli` after changing the CLI)", () => {
    const file = fs.readFileSync(path.join(projectRoot(), 'docs', 'cli.md'), 'utf8');
    expect(file).toBe(cliReference());
  });

  it('documents every command with examples at the top levels', () => {
    const reference = cliReference();
    for (const command of [
      'fti stack',
      'fti fg',
      'fti fv',
      'fti train',
      'fti models',
      'fti deploy',
      'fti batch',
      'fti apikey',
    ])
      expect(reference).toContain(`## \`${command}\``);
    expect(reference.match(/Examples:/g)!.length).toBeGreaterThan(10);
  });
});
