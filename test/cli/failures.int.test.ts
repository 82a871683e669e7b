import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';

// Bad arguments and unknown objects: every command fails with exit 1 and one line saying what is
// wrong and how to fix it — never a stack trace.
describe('fti failure messages (compiled CLI)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-failures-'));
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, '{ "name": "x", ');

  it.each([
    [['fg', 'create', path.join(dir, 'missing.json')], 'cannot be read; check the path'],
    [['fg', 'create', bad], 'is not valid JSON'],
    [['fg', 'describe', 'no_such_group'], 'feature group no_such_group does not exist'],
    [
      ['fg', 'read', 'no_such_group', '--as-of-time', 'yesterday'],
      '--as-of-time "yesterday" is not an ISO-8601 time',
    ],
    [['fg', 'commits', 'no_such_group', '--version', 'two'], '--version must be a positive integer'],
    [['pipeline', 'schedule', 'create', bad], 'is not valid JSON'],
    [
      ['fv', 'td', 'read', 'no_such_view', '1', '--split', 'holdout'],
      '--split must be train, validation or test',
    ],
    [['train', 'run', bad], 'is not valid JSON'],
    [['train', 'compare', 'x'], 'run id must be a positive integer'],
    [
      ['models', 'describe', 'no_such_model', '--version', '1', '--alias', 'champion'],
      'give --version or --alias, not both',
    ],
    [['models', 'best', 'no_such_model', '--metric', 'roc_auc'], 'model no_such_model does not exist'],
    [['deploy', 'status', 'no-such-deployment'], 'deployment no-such-deployment does not exist'],
    [['deploy', 'create', 'x', '--model', 'm'], 'give exactly one of --version or --alias'],
    [
      ['batch', 'run', 'x', '--start', 'soon', '--end', '2026-01-01T00:00:00Z'],
      '--start "soon" is not an ISO-8601 time',
    ],
    [['predict', 'x', '--keys', '[1]'], '--keys must be a JSON object'],
    [['apikey', 'revoke', '0'], 'id must be a positive integer'],
  ])('fti %j → %s', (args, message) => {
    const result = runCli(args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
