import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { normalFrom, seededRandom } from '../../core/ml/random';
import { monitorHistory, saveMonitor } from '../../core/monitoring/monitors';
import { runMonitor } from '../../core/monitoring/run-monitor';
import type { S3ObjectStore } from '../../core/storage';
import { runCli } from '../support/cli';
import { commitRows, createGroup, testViewDeps, type ViewTestDeps } from '../support/featureviews';
import { uniqueName } from '../support/ids';
import { testObjectStore } from '../support/stores';

// Feature monitoring on the real offline table (S3 + Postgres): each window's new commits against
// the group's earlier rows.
describe('feature group monitor (real offline table)', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: ViewTestDeps;
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-fgmon-'));

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = { ...testViewDeps(database, store), scratchDir };
  });
  afterAll(async () => {
    store.close();
    await database.close();
    fs.rmSync(scratchDir, { recursive: true, force: true });
  });

  it('a commit like the reference passes; a commit with shifted amounts and a new category is flagged', async () => {
    const group = await createGroup(deps, {
      prefix: 'fgmon',
      primaryKey: ['txn_id'],
      eventTime: 'ts',
      features: [
        { name: 'txn_id', type: 'string' },
        { name: 'ts', type: 'timestamp' },
        { name: 'amount', type: 'double' },
        { name: 'channel', type: 'string' },
      ],
    });
    const next = normalFrom(seededRandom(5));
    const random = seededRandom(6);
    let n = 0;
    const rows = (count: number, day: number, shift = 0, channels = ['web', 'store']) =>
      Array.from({ length: count }, () => ({
        txn_id: `t${n++}`,
        ts: new Date(Date.UTC(2026, 0, day, 12) + n * 1000),
        amount: 50 + 10 * next() + shift,
        channel: channels[Math.floor(random() * channels.length)],
      }));
    await commitRows(deps, group, rows(2000, 1));
    const monitor = uniqueName('fgmon');
    await saveMonitor(database.db, {
      name: monitor,
      subjectType: 'feature_group',
      subject: group.spec.name,
      everySeconds: 86_400,
    });

    const t0 = new Date();
    await commitRows(deps, group, rows(500, 2));
    const t1 = new Date();
    const calm = await runMonitor(deps, monitor, t1, t0);
    expect(calm).toMatchObject({ status: 'ok', rows: 500, problems: [] });

    await commitRows(deps, group, rows(500, 3, 25, ['web', 'store', 'crypto']));
    const t2 = new Date();
    const drifted = await runMonitor(deps, monitor, t2, t1);
    expect(drifted.status).toBe('problems');
    const problems = drifted.problems.join('\n');
    expect(problems).toMatch(/^commits feature amount: drift \(ks /m);
    expect(problems).toMatch(/^commits feature amount: .* outside the reference range/m);
    expect(problems).toMatch(/^commits feature channel: .* unseen categories \(crypto\)/m);

    // No commit in a window: no data, nothing decided.
    const quiet = await runMonitor(deps, monitor, new Date(t2.getTime() + 60_000), t2);
    expect(quiet.status).toBe('no_data');
    const { runs } = await monitorHistory(database.db, monitor);
    expect(runs.map((r) => r.status)).toEqual(['no_data', 'problems', 'ok']);
    expect(runs[1]!.reference).toMatchObject({ featureGroup: `${group.spec.name} v1`, referenceRows: 2500 });

    // The CLI creates feature-group monitors after checking the group exists.
    const cliMonitor = uniqueName('fgmon-cli');
    const created = runCli([
      'monitor',
      'create',
      group.spec.name,
      '--feature-group',
      '--every',
      '1d',
      '--reference',
      '7d',
      '--name',
      cliMonitor,
      '--paused',
    ]);
    expect(created.stderr).toBe('');
    expect(created.stdout).toContain(`watches feature group ${group.spec.name}`);
    expect(runCli(['monitor', 'delete', cliMonitor]).code).toBe(0);
    expect(runCli(['monitor', 'create', 'no_such_group', '--feature-group']).stderr).toContain(
      'no_such_group',
    );
  }, 120_000);
});
