import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq, like } from 'drizzle-orm';
import pg from 'pg';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { withDuck, sqlPath } from '../../core/duckdb';
import { FtiError, ValidationError } from '../../core/errors';
import {
  commitStaged,
  createFeatureView,
  extractToStaging,
  parseFeaturePipelineSpec,
  registerFeatureGroup,
  sqlTransformation,
  transformToStaging,
  TransformationRegistry,
  validateStaged,
  writeCommitOnline,
  type FeatureGroupDefinition,
  type FeatureGroupRecord,
  type IngestionDeps,
  type SourceSpec,
  type TimeWindow,
} from '../../core/featurestore';
import { parseTrainingPipelineSpec } from '../../core/ml/training-pipeline';
import type { S3ObjectStore } from '../../core/storage';
import { uniqueGroupName } from '../support/featurestore';
import { uniqueName } from '../support/ids';
import { testIngestionDeps } from '../support/ingestion';
import { testObjectStore } from '../support/stores';

/**
 * The malformed-input corpus: every case is bad input a user can hand the platform (a source file,
 * a feature-group definition, a pipeline, feature-view or training spec). Each must fail with a
 * message saying what is wrong, where, and how to fix it — and must write nothing: no commit (in
 * any state), no offline file under the group's prefix, no online row, no registered definition.
 * Sources run through the same ingestion steps the feature pipeline's activities call, against the
 * real PostgreSQL and S3 of the local stack.
 */

const config = loadConfig();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-malformed-'));

/** The card group every source case ingests into (a fresh name per case). */
const cardGroup = (overrides: Partial<FeatureGroupDefinition> = {}): FeatureGroupDefinition => ({
  name: uniqueGroupName('bad'),
  primaryKey: ['card_id'],
  eventTime: 'event_time',
  features: [
    { name: 'card_id', type: 'string' },
    { name: 'event_time', type: 'timestamp' },
    { name: 'amount', type: 'double' },
    { name: 'category', type: 'string' },
  ],
  online: { enabled: true },
  ...overrides,
});

const HEADER = 'card_id,event_time,amount,category';
const csv = (...lines: string[]) => `${lines.join('\n')}\n`;
const GOOD_ROW = 'c1,2026-01-01T10:00:00Z,12.5,food';

/** A source case: a fixture (written before the run), the source over it, and what the error says. */
interface SourceCase {
  readonly name: string;
  /** File name → content; written under a fresh folder. */
  readonly files?: Readonly<Record<string, string>>;
  /** Builds the source from the fixture folder (default: a CSV source over `input.csv`). */
  readonly source?: (folder: string) => SourceSpec;
  readonly group?: Partial<FeatureGroupDefinition>;
  readonly transformation?: string;
  readonly window?: TimeWindow;
  /** Environment of the features worker (default: the test environment with a source database). */
  readonly env?: NodeJS.ProcessEnv;
  /** Key phrases of the message: what, where, how to fix. */
  readonly message: readonly RegExp[];
  /** A strict expectation failure keeps its (unsuccessful) validation report. */
  readonly keepsReport?: boolean;
}

const csvSource = (folder: string): SourceSpec => ({ kind: 'csv', path: path.join(folder, 'input.csv') });
const pgTable = uniqueName('malformed_src').replace(/-/g, '_');
const sourceEnv = { ...process.env, FTI_SOURCE_DATABASE_URL: config.databaseUrl };

const sourceCases: readonly SourceCase[] = [
  {
    name: 'csv: NaN in a double feature',
    files: { 'input.csv': csv(HEADER, GOOD_ROW, 'c2,2026-01-01T11:00:00Z,NaN,food') },
    message: [
      /column "amount" \(double\) has 1 non-finite value\(s\) \(first at row 2: NaN\)/,
      /Clean the source .* or set "allowNonFinite": true on feature "amount"/,
    ],
  },
  {
    name: 'csv: Infinity in a double feature',
    files: { 'input.csv': csv(HEADER, 'c2,2026-01-01T11:00:00Z,Infinity,food', GOOD_ROW) },
    message: [/column "amount" \(double\) has 1 non-finite value\(s\) \(first at row 1: Infinity\)/],
  },
  {
    name: 'csv: -inf in a float feature',
    files: {
      'input.csv': csv(
        'card_id,event_time,score',
        'c1,2026-01-01T10:00:00Z,1',
        'c2,2026-01-01T11:00:00Z,-inf',
      ),
    },
    group: {
      features: [
        { name: 'card_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'score', type: 'float' },
      ],
    },
    message: [/column "score" \(float\) has 1 non-finite value\(s\) \(first at row 2: -Infinity\)/],
  },
  {
    name: 'parquet: NaN in a double feature',
    files: {
      'nan.sql':
        "SELECT 'c1' AS card_id, TIMESTAMP '2026-01-01 10:00:00' AS event_time, 'NaN'::DOUBLE AS amount, 'x' AS category",
    },
    source: (folder) => ({ kind: 'parquet', path: path.join(folder, 'nan.parquet') }),
    message: [/column "amount" \(double\) has 1 non-finite value\(s\) \(first at row 1: NaN\)/],
  },
  {
    name: 'json lines: "Infinity" in a double feature',
    files: {
      'input.jsonl':
        '{"card_id":"c1","event_time":"2026-01-01T10:00:00Z","amount":1.5,"category":"a"}\n{"card_id":"c2","event_time":"2026-01-01T10:00:00Z","amount":"Infinity","category":"a"}\n',
    },
    source: (folder) => ({ kind: 'jsonl', path: path.join(folder, 'input.jsonl') }),
    message: [/column "amount" \(double\) has 1 non-finite value\(s\) \(first at row 2: Infinity\)/],
  },
  {
    name: 'postgres: NaN in a double precision column',
    source: () => ({
      kind: 'postgres',
      query: `SELECT card_id, event_time, amount, category FROM ${pgTable} ORDER BY card_id`,
    }),
    message: [/column "amount" \(double\) has 1 non-finite value\(s\) \(first at row 2: NaN\)/],
  },
  {
    name: 'csv: a declared nullable column is missing',
    files: { 'input.csv': csv('card_id,event_time,amount', 'c1,2026-01-01T10:00:00Z,1') },
    message: [
      /missing column\(s\) "category" declared by the feature group \(the input has: card_id, event_time, amount\)/,
      /Add them to the source, or produce them in the transformation/,
    ],
  },
  {
    name: 'csv: the primary-key column is missing',
    files: { 'input.csv': csv('event_time,amount,category', '2026-01-01T10:00:00Z,1,a') },
    message: [/missing column\(s\) "card_id" declared by the feature group/],
  },
  {
    name: 'parquet: a declared column is missing',
    files: {
      'missing.sql': "SELECT 'c1' AS card_id, TIMESTAMP '2026-01-01 10:00:00' AS event_time, 'x' AS category",
    },
    source: (folder) => ({ kind: 'parquet', path: path.join(folder, 'missing.parquet') }),
    message: [/missing column\(s\) "amount" declared by the feature group/],
  },
  {
    name: 'json lines: a declared column is in no line',
    files: { 'input.jsonl': '{"card_id":"c1","event_time":"2026-01-01T10:00:00Z","amount":1}\n' },
    source: (folder) => ({ kind: 'jsonl', path: path.join(folder, 'input.jsonl') }),
    message: [/missing column\(s\) "category" declared by the feature group/],
  },
  {
    name: 'csv + transformation: the transformation drops a declared column',
    files: { 'input.csv': csv(HEADER, GOOD_ROW) },
    transformation: 'drop_category',
    message: [/missing column\(s\) "category" declared by the feature group/],
  },
  {
    name: 'csv: a row with fewer fields than the header',
    files: { 'input.csv': csv(HEADER, GOOD_ROW, 'c2,2026-01-01T11:00:00Z,3') },
    message: [
      /input\.csv, line 3: has 3 field\(s\) but the header has 4/,
      /Every line needs exactly one value per header column/,
    ],
  },
  {
    name: 'csv: a row with more fields than the header',
    files: { 'input.csv': csv(HEADER, `${GOOD_ROW},extra`) },
    message: [/input\.csv, line 2: has 5 field\(s\) but the header has 4/],
  },
  {
    name: 'csv: the last field opens a quote that never closes',
    files: { 'input.csv': csv(HEADER, GOOD_ROW, 'c2,2026-01-01T11:00:00Z,3,"food') },
    message: [
      /input\.csv, line 3: a quote opened here is never closed \(the file ends inside it\)\. Close the quote/,
    ],
  },
  {
    name: 'csv: text after a closing quote',
    files: { 'input.csv': csv(HEADER, 'c1,2026-01-01T10:00:00Z,1,"food"s') },
    message: [/line 2: unexpected text after a closing quote/, /write a quote inside a quoted value as ""/],
  },
  {
    name: 'csv: an empty file',
    files: { 'input.csv': '' },
    message: [/csv file .*input\.csv is empty\. A CSV source needs a header line/],
  },
  {
    name: 'csv: a header and no rows',
    files: { 'input.csv': csv(HEADER) },
    message: [/input\.csv has a header line but no data rows; nothing to ingest/],
  },
  {
    name: 'csv: no header line',
    files: { 'input.csv': csv('1,2,3,4', '5,6,7,8') },
    message: [/input\.csv, line 1: the first line looks like data, not a header/, /Add a header line/],
  },
  {
    name: 'csv: a column named twice in the header',
    files: { 'input.csv': csv('card_id,event_time,amount,amount', 'c1,2026-01-01T10:00:00Z,1,2') },
    message: [/line 1: the header names column "amount" twice\. Column names must be unique/],
  },
  {
    name: 'csv: an undeclared extra column',
    files: { 'input.csv': csv(`${HEADER},surprise`, `${GOOD_ROW},1`) },
    message: [
      /unknown column\(s\) "surprise"\. Drop them in the transformation, or append them to the feature group/,
    ],
  },
  {
    name: 'csv: a value that is not a double',
    files: { 'input.csv': csv(HEADER, GOOD_ROW, 'c2,2026-01-01T11:00:00Z,twelve,food') },
    message: [
      /column "amount" has 1 value\(s\) that are not a valid double \(first at row 2\)/,
      /Fix the source or convert/,
    ],
  },
  {
    name: 'csv: an event time that is not a timestamp',
    files: { 'input.csv': csv(HEADER, 'c1,yesterday,1,food') },
    message: [
      /column "event_time" has 1 value\(s\) that are not a valid timestamp \(first at row 1\)/,
      /Use ISO-8601/,
    ],
  },
  {
    name: 'csv: a null primary key',
    files: { 'input.csv': csv(HEADER, GOOD_ROW, ',2026-01-01T11:00:00Z,1,food') },
    message: [
      /primary-key column "card_id" is null in 1 row\(s\) \(first at row 2\)/,
      /filter such rows out/,
    ],
  },
  {
    name: 'csv: a null event time',
    files: { 'input.csv': csv(HEADER, 'c1,,1,food') },
    message: [/event-time column "event_time" is null in 1 row\(s\) \(first at row 1\)/],
  },
  {
    name: 'parquet: not a Parquet file',
    files: { 'corrupt.parquet': 'this is not parquet' },
    source: (folder) => ({ kind: 'parquet', path: path.join(folder, 'corrupt.parquet') }),
    message: [
      /parquet file .*corrupt\.parquet cannot be read as parquet/,
      /Check the file and the source's format/,
    ],
  },
  {
    name: 'json lines: a line that is not JSON',
    files: {
      'input.jsonl':
        '{"card_id":"c1","event_time":"2026-01-01T10:00:00Z","amount":1,"category":"a"}\n{"card_id": oops}\n',
    },
    source: (folder) => ({ kind: 'jsonl', path: path.join(folder, 'input.jsonl') }),
    message: [/jsonl file .*input\.jsonl cannot be read as jsonl/],
  },
  {
    name: 'csv: the file does not exist',
    source: (folder) => ({ kind: 'csv', path: path.join(folder, 'nowhere.csv') }),
    message: [/csv file .*nowhere\.csv: no such file\. Check the path/],
  },
  {
    name: 's3: the object does not exist',
    source: () => ({ kind: 'csv', path: `s3://${config.s3Bucket}/${uniqueName('none')}/missing.csv` }),
    message: [/missing\.csv: no such object\. Check the bucket and key/],
  },
  {
    name: 'csv: the window names a time column the file lacks',
    files: { 'input.csv': csv(HEADER, GOOD_ROW) },
    source: (folder) => ({ kind: 'csv', path: path.join(folder, 'input.csv'), timeColumn: 'ts' }),
    window: { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-01-02T00:00:00Z') },
    message: [/time column "ts" is not in the file \(columns: card_id, event_time, amount, category\)/],
  },
  {
    name: 'postgres: FTI_SOURCE_DATABASE_URL is not set (DATABASE_URL is never used instead)',
    source: () => ({ kind: 'postgres', query: 'SELECT 1 AS card_id' }),
    env: { DATABASE_URL: config.databaseUrl },
    message: [
      /environment variable FTI_SOURCE_DATABASE_URL is not set on the features worker\. Set it to the URL/,
    ],
  },
  {
    name: 'postgres: a query that writes (READ ONLY transaction)',
    source: () => ({
      kind: 'postgres',
      query: `WITH gone AS (DELETE FROM ${pgTable} RETURNING *) SELECT * FROM gone`,
    }),
    message: [
      /the query failed: cannot execute \w+ in a read-only transaction\. To fix: source queries run in a READ ONLY transaction/,
    ],
  },
  {
    name: 'postgres: a query past its statement timeout',
    source: () => ({
      kind: 'postgres',
      query: 'SELECT pg_sleep(3)::text AS card_id',
      statementTimeoutSeconds: 1,
    }),
    message: [
      /canceling statement due to statement timeout\. To fix: .*raise source\.statementTimeoutSeconds/,
    ],
  },
  {
    name: 'csv: a strict error-severity expectation fails',
    files: { 'input.csv': csv(HEADER, GOOD_ROW, 'c2,2026-01-01T11:00:00Z,-5,food') },
    group: {
      expectations: {
        expectations: [{ type: 'expect_column_values_to_be_between', column: 'amount', min: 0 }],
      },
    },
    message: [/validation failed under the strict policy, nothing was written/, /amount/],
    keepsReport: true,
  },
];

/** Definitions and specs that must be refused before anything is registered. */
interface DefinitionCase {
  readonly name: string;
  readonly attempt: (db: DatabaseHandle['db'], name: string) => Promise<unknown>;
  readonly message: readonly RegExp[];
  /** Where a registration would appear, to check that nothing did. */
  readonly registry: 'feature_groups' | 'feature_views' | 'none';
}

const group = (db: DatabaseHandle['db'], definition: Partial<FeatureGroupDefinition> & { name: string }) =>
  registerFeatureGroup(db, { ...cardGroup(), ...definition });
const features = cardGroup().features;

const definitionCases: readonly DefinitionCase[] = [
  {
    name: 'feature group: allowNonFinite on a string feature',
    attempt: (db, name) =>
      group(db, {
        name,
        features: [...features.slice(0, 3), { name: 'category', type: 'string', allowNonFinite: true }],
      }),
    message: [
      /feature "category" has allowNonFinite but type string; only float, double, float_array features can hold NaN or Infinity\. Remove allowNonFinite/,
    ],
    registry: 'feature_groups',
  },
  {
    name: 'feature group: a double primary key',
    attempt: (db, name) => group(db, { name, primaryKey: ['amount'] }),
    message: [
      /primary-key column "amount" has type double; use int, bigint, string, bool, date or timestamp/,
    ],
    registry: 'feature_groups',
  },
  {
    name: 'feature group: an event time that is a string',
    attempt: (db, name) => group(db, { name, eventTime: 'category' }),
    message: [/event-time column "category" has type string; it must be timestamp or date/],
    registry: 'feature_groups',
  },
  {
    name: 'feature group: a feature defined twice',
    attempt: (db, name) => group(db, { name, features: [...features, { name: 'amount', type: 'float' }] }),
    message: [/feature "amount" is defined twice; names must be unique/],
    registry: 'feature_groups',
  },
  {
    name: 'feature group: a name that is not an identifier',
    attempt: (db, name) => group(db, { name: `${name}-Bad` }),
    message: [/name must be a lowercase identifier/],
    registry: 'feature_groups',
  },
  {
    name: 'feature group: an expectation on a column it does not have',
    attempt: (db, name) =>
      group(db, {
        name,
        expectations: { expectations: [{ type: 'expect_column_values_to_not_be_null', column: 'amout' }] },
      }),
    message: [
      /expectations\.expectations\[0\] \(expect_column_values_to_not_be_null\) names column "amout", which is not among its features/,
    ],
    registry: 'feature_groups',
  },
  {
    name: 'pipeline spec: a name with capitals and spaces',
    attempt: async () =>
      parseFeaturePipelineSpec({
        name: 'My Pipeline',
        featureGroup: { name: 'x' },
        source: { kind: 'csv', path: 'a.csv' },
      }),
    message: [/feature pipeline: name must be lowercase letters, digits, _ or -/],
    registry: 'none',
  },
  {
    name: 'pipeline spec: a postgres source naming DATABASE_URL',
    attempt: async () =>
      parseFeaturePipelineSpec({
        name: 'p',
        featureGroup: { name: 'x' },
        source: { kind: 'postgres', query: 'SELECT 1', urlEnv: 'DATABASE_URL' },
      }),
    message: [
      /source\.urlEnv must not be DATABASE_URL: source queries never run with the platform's own database credentials/,
    ],
    registry: 'none',
  },
  {
    name: 'pipeline spec: an unknown source kind',
    attempt: async () =>
      parseFeaturePipelineSpec({
        name: 'p',
        featureGroup: { name: 'x' },
        source: { kind: 'xlsx', path: 'a.xlsx' },
      }),
    message: [
      /feature pipeline: source\.kind Invalid discriminator value\. Expected 'csv' \| 'parquet' \| 'jsonl' \| 'postgres'/,
    ],
    registry: 'none',
  },
  {
    name: 'pipeline spec: a zero statement timeout',
    attempt: async () =>
      parseFeaturePipelineSpec({
        name: 'p',
        featureGroup: { name: 'x' },
        source: { kind: 'postgres', query: 'SELECT 1', statementTimeoutSeconds: 0 },
      }),
    message: [/source\.statementTimeoutSeconds Too small: expected number to be >0/],
    registry: 'none',
  },
  {
    name: 'feature view: a join on a feature group that does not exist',
    attempt: (db, name) =>
      createFeatureView(db, { name, spine: { featureGroup: uniqueGroupName('nowhere') } }),
    message: [/feature group nowhere_\w+ does not exist; create it first/],
    registry: 'feature_views',
  },
  {
    name: 'feature view: a lookback that is not a duration',
    attempt: (db, name) =>
      createFeatureView(db, {
        name,
        spine: {
          columns: [
            { name: 'card_id', type: 'string' },
            { name: 'ts', type: 'timestamp' },
          ],
          eventTime: 'ts',
        },
        joins: [{ featureGroup: 'whatever', lookback: '7 days' }],
      }),
    message: [/joins\.0\.lookback must be a number followed by s, m, h or d/],
    registry: 'feature_views',
  },
  {
    name: 'training spec: an unknown field and no trainer',
    attempt: async () =>
      parseTrainingPipelineSpec({ name: 'exp', model: 'm', featureView: { name: 'v' }, learningRate: 0.1 }),
    message: [/training pipeline: /, /trainer Invalid input/, /Unrecognized key: "learningRate"/],
    registry: 'none',
  },
];

describe('malformed-input corpus: a clear error and nothing written', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: IngestionDeps;

  beforeAll(async () => {
    database = await openDatabase({ url: config.databaseUrl });
    store = testObjectStore();
    const transformations = new TransformationRegistry()
      .register(
        'drop_category',
        sqlTransformation((input) => `SELECT * EXCLUDE (category) FROM ${input}`),
      )
      .register(
        'add_category',
        sqlTransformation((input) => `SELECT *, 'made'::VARCHAR AS category FROM ${input}`),
      );
    deps = { ...testIngestionDeps(database, store, transformations), env: sourceEnv };
    const client = new pg.Client({ connectionString: config.databaseUrl });
    await client.connect();
    await client.query(
      `CREATE TABLE ${pgTable} (card_id text, event_time timestamptz, amount double precision, category text)`,
    );
    await client.query(
      `INSERT INTO ${pgTable} VALUES ('c1', '2026-01-01T10:00:00Z', 1.5, 'a'), ('c2', '2026-01-01T11:00:00Z', 'NaN', 'b')`,
    );
    await client.end();
  });
  afterAll(async () => {
    const client = new pg.Client({ connectionString: config.databaseUrl });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${pgTable}`);
    await client.end();
    await store.deletePrefix('');
    store.close();
    await database.close();
  });

  /** The feature pipeline's steps, in its order, as its activities call them. */
  async function ingest(
    source: SourceSpec,
    record: FeatureGroupRecord,
    c: SourceCase,
    env: NodeJS.ProcessEnv,
  ) {
    const run = `staging/malformed/${uniqueName('run')}`;
    const ref = { name: record.spec.name, version: record.spec.version };
    const runDeps = { ...deps, env };
    const window = c.window ? { window: c.window } : {};
    await extractToStaging(runDeps, { source, ...window, outKey: `${run}/raw.parquet` });
    await transformToStaging(runDeps, {
      rawKey: `${run}/raw.parquet`,
      featureGroup: ref,
      ...(c.transformation ? { transformation: c.transformation } : {}),
      ...window,
      outKey: `${run}/staged.parquet`,
      label: `pipeline malformed (${source.kind} source)`,
    });
    const validation = await validateStaged(runDeps, {
      stagedKey: `${run}/staged.parquet`,
      featureGroup: ref,
      policy: 'strict',
    });
    if (validation.blocked)
      throw new ValidationError(
        `validation failed under the strict policy, nothing was written: ${validation.summary}`,
      );
    const { commit } = await commitStaged(runDeps, {
      stagedKey: `${run}/staged.parquet`,
      featureGroup: ref,
      operation: 'upsert',
      idempotencyKey: run,
      reportId: validation.reportId,
    });
    await writeCommitOnline(runDeps, { featureGroup: ref, commitId: commit.id });
    return commit;
  }

  async function writeFixtures(c: SourceCase): Promise<string> {
    const folder = fs.mkdtempSync(path.join(dir, 'case-'));
    for (const [name, content] of Object.entries(c.files ?? {})) {
      if (name.endsWith('.sql')) {
        const target = path.join(folder, name.replace(/\.sql$/, '.parquet'));
        await withDuck((duck) => duck.run(`COPY (${content}) TO ${sqlPath(target)} (FORMAT parquet)`));
      } else fs.writeFileSync(path.join(folder, name), content);
    }
    return folder;
  }

  async function expectNothingWritten(record: FeatureGroupRecord, keepsReport: boolean) {
    const commits = await database.db
      .select()
      .from(tables.featureGroupCommits)
      .where(eq(tables.featureGroupCommits.featureGroupId, record.id));
    expect(commits).toEqual([]);
    const files: string[] = [];
    for await (const object of store.list(`offline/${record.spec.name}/`)) files.push(object.key);
    expect(files).toEqual([]);
    expect(await deps.online.count(record.spec)).toBe(0);
    const reports = await database.db
      .select()
      .from(tables.validationReports)
      .where(eq(tables.validationReports.featureGroupId, record.id));
    expect(reports.map((r) => ({ success: r.success, commitId: r.commitId }))).toEqual(
      keepsReport ? [{ success: false, commitId: null }] : [],
    );
  }

  it('has at least 30 cases', () => {
    expect(sourceCases.length + definitionCases.length).toBeGreaterThanOrEqual(30);
  });

  it('the harness does write well-formed input (so "nothing written" below means something)', async () => {
    const { record } = await registerFeatureGroup(database.db, cardGroup());
    const folder = await writeFixtures({
      name: 'good',
      files: { 'input.csv': csv('card_id,event_time,amount', GOOD_ROW.split(',').slice(0, 3).join(',')) },
      message: [],
    });
    const commit = await ingest(
      csvSource(folder),
      record,
      { name: 'good', transformation: 'add_category', message: [] },
      sourceEnv,
    );
    expect(commit.rowsInserted).toBe(1);
    expect(await deps.online.count(record.spec)).toBe(1);
  });

  it.each(sourceCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { record } = await registerFeatureGroup(database.db, cardGroup(c.group));
    const folder = await writeFixtures(c);
    const source = (c.source ?? csvSource)(folder);
    const error = await ingest(source, record, c, c.env ?? sourceEnv).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    for (const phrase of c.message) expect((error as Error).message).toMatch(phrase);
    await expectNothingWritten(record, c.keepsReport ?? false);
  });

  it.each(definitionCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const name = uniqueGroupName('bad_def');
    const error = await c.attempt(database.db, name).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Bad input is a non-retryable failure (a missing feature group has its own error class).
    expect(error).toBeInstanceOf(FtiError);
    expect((error as FtiError).retryable).toBe(false);
    for (const phrase of c.message) expect((error as Error).message).toMatch(phrase);
    if (c.registry === 'feature_groups') {
      const rows = await database.db
        .select()
        .from(tables.featureGroups)
        .where(like(tables.featureGroups.name, `${name}%`));
      expect(rows).toEqual([]);
    } else if (c.registry === 'feature_views') {
      const rows = await database.db
        .select()
        .from(tables.featureViews)
        .where(like(tables.featureViews.name, `${name}%`));
      expect(rows).toEqual([]);
    }
  });
});
