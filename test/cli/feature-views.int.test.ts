import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
import { runCli } from '../support/cli';
import { commitRows, createGroup, testViewDeps, type ViewTestDeps } from '../support/featureviews';
import { uniqueGroupName } from '../support/featurestore';
import { uniqueName } from '../support/ids';

// The compiled `fti fv` commands against the real test database and bucket.
describe('fti fv (compiled CLI)', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: ViewTestDeps;
  const view = uniqueGroupName('cli_view');
  // The CLI runs in a child process: S3_PREFIX points it at this test's keys.
  const prefix = uniqueName('cli');
  const cli = (args: string[]) => runCli(args, { S3_PREFIX: prefix });
  let file: string;

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = objectStoreFromConfig(loadConfig(), prefix);
    deps = testViewDeps(database, store);
    const labels = await createGroup(deps, {
      prefix: 'cli_labels',
      primaryKey: ['user_id'],
      eventTime: 'ts',
      features: [
        { name: 'user_id', type: 'bigint' },
        { name: 'ts', type: 'timestamp' },
        { name: 'churned', type: 'bool' },
      ],
    });
    const profile = await createGroup(deps, {
      prefix: 'cli_profile',
      primaryKey: ['user_id'],
      eventTime: 'ts',
      features: [
        { name: 'user_id', type: 'bigint' },
        { name: 'ts', type: 'timestamp' },
        { name: 'sessions', type: 'double' },
        { name: 'plan', type: 'string' },
      ],
      online: { enabled: true },
    });
    const t = (h: number) => new Date(Date.UTC(2026, 4, 1, h));
    await commitRows(
      deps,
      labels,
      Array.from({ length: 40 }, (_, i) => ({ user_id: i % 8, ts: t(i + 1), churned: i % 3 === 0 })),
    );
    await commitRows(
      deps,
      profile,
      Array.from({ length: 40 }, (_, i) => ({
        user_id: i % 8,
        ts: t(i),
        sessions: i * 1.5,
        plan: i % 2 ? 'pro' : 'free',
      })),
    );
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fti-fv-')), 'view.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        name: view,
        spine: { featureGroup: labels.spec.name },
        labels: ['churned'],
        joins: [{ featureGroup: profile.spec.name, prefix: 'p_' }],
        transformations: { p_sessions: { kind: 'standard_scaler' }, p_plan: { kind: 'one_hot' } },
      }),
    );
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database.close();
  });

  const json = (args: string[]) => {
    const result = cli([...args, '--json']);
    if (result.code !== 0) throw new Error(`fti ${args.join(' ')} failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as Record<string, unknown> & unknown[];
  };

  it('creates, lists, describes; creates, lists, reads and recreates training data; serves batch and online data', () => {
    expect(json(['fv', 'create', file])).toMatchObject({ name: view, version: 1, created: true });
    expect(json(['fv', 'create', file])).toMatchObject({ created: false });
    expect(json(['fv', 'list']).some((v) => (v as { name?: string }).name === view)).toBe(true);
    expect(json(['fv', 'describe', view])).toMatchObject({
      entityKeys: ['user_id'],
      features: ['p_sessions', 'p_plan'],
      labels: ['churned'],
    });
    const td = json(['fv', 'td', 'create', view, '--split', 'train=0.75,test=0.25', '--seed', '3']);
    expect(td).toMatchObject({ version: 1, state: 'ready' });
    expect(
      (td.rowCounts as { train: number; test: number }).train + (td.rowCounts as { test: number }).test,
    ).toBe(40);
    expect(json(['fv', 'td', 'list', view])).toHaveLength(1);
    const rows = json(['fv', 'td', 'read', view, '1', '--split', 'test', '--limit', '3']);
    expect(rows).toHaveLength(3);
    expect(Object.keys(rows[0] as object)).toEqual(
      expect.arrayContaining(['p_sessions', 'p_plan=free', 'p_plan=pro']),
    );
    expect(json(['fv', 'td', 'recreate', view, '1'])).toMatchObject({ identical: true });
    const batch = json([
      'fv',
      'batch',
      view,
      '--start',
      '2026-05-01T10:00:00Z',
      '--end',
      '2026-05-01T12:00:00Z',
      '--td',
      '1',
    ]);
    expect(batch).toMatchObject({ total: 2, modelInputs: ['p_sessions', 'p_plan=free', 'p_plan=pro'] });
    const vector = json(['fv', 'vector', view, '--keys', '{"user_id": 3}', '--td', '1']);
    expect(vector).toMatchObject({
      values: { p_sessions: 52.5, p_plan: 'pro' },
      status: { p_sessions: 'present' },
    });
    expect(json(['fv', 'skew', view, '--td', '1', '--sample', '8'])).toMatchObject({ ok: true, sampled: 8 });
  });

  it('fails with one-line causes and writes nothing on bad input', () => {
    const inverted = cli([
      'fv',
      'td',
      'create',
      view,
      '--start',
      '2026-06-01T00:00:00Z',
      '--end',
      '2026-05-01T00:00:00Z',
    ]);
    expect(inverted.code).toBe(1);
    expect(inverted.stderr.trim().split('\n')).toHaveLength(1);
    expect(inverted.stderr).toContain('is not before end');
    expect(cli(['fv', 'td', 'create', view, '--split', 'train=0.9,test=0.3']).stderr).toContain(
      'fractions must add up to 1',
    );
    expect(cli(['fv', 'vector', view, '--keys', 'not json']).stderr).toContain(
      '--keys must be a JSON object',
    );
    expect(cli(['fv', 'vector', view, '--keys', '{"user_id": 999}']).stderr).toContain('no online row');
    expect(cli(['fv', 'describe', 'no_such_view']).stderr).toContain(
      'feature view no_such_view does not exist',
    );
    expect(json(['fv', 'td', 'list', view])).toHaveLength(1);
  });

  it('has help with examples', () => {
    for (const args of [['fv'], ['fv', 'td']]) {
      const result = cli([...args, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Examples:');
    }
  });
});
