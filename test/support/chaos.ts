import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { eq } from 'drizzle-orm';
import Long from 'long';
import { loadConfig, temporalConnectionOptions } from '../../core/config';
import { tables, type Database } from '../../core/db';
import { sqlPath, withDuck } from '../../core/duckdb';
import {
  getFeatureGroup,
  OfflineTable,
  type FeatureGroupDefinition,
  type FeatureGroupRecord,
} from '../../core/featurestore';
import { seededRandom } from '../../core/ml';
import { SEARCH_ATTRIBUTES, TASK_QUEUES, type SearchAttributeKind } from '../../core/pipelines';
import { projectRoot } from '../../core/project-root';
import { ObjectCache, type ObjectStore } from '../../core/storage';
import { uniqueName } from './ids';

/**
 * A Temporal namespace of one test file's own, with the platform's search attributes. The compiled
 * workers poll the fixed queues (`fti-features`, …) of whatever namespace `TEMPORAL_NAMESPACE`
 * names, so a namespace nobody else uses is what guarantees that no other test file's worker can
 * take this file's tasks.
 */
export interface ChaosNamespace {
  readonly namespace: string;
  /** A client on {@link ChaosNamespace.namespace}. */
  readonly client: Client;
  /** Env overrides that point a worker process at this namespace. */
  readonly env: Record<string, string>;
  /** Closes the connection and deletes the namespace (best effort: the dev server may refuse). */
  close(): Promise<void>;
}

const INDEXED_TYPE: Record<SearchAttributeKind, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

/** Registers a fresh namespace `fti-chaos-<label>-<unique>` and waits until it takes workflows. */
export async function createChaosNamespace(label: string): Promise<ChaosNamespace> {
  const config = loadConfig();
  const namespace = uniqueName(`fti-chaos-${label}`).slice(0, 63);
  const connection = await Connection.connect(temporalConnectionOptions(config));
  await connection.workflowService.registerNamespace({
    namespace,
    workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(24 * 3600) },
  });
  await retry(() => connection.workflowService.describeNamespace({ namespace }), 30_000);
  await retry(
    () =>
      connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(
          Object.entries(SEARCH_ATTRIBUTES).map(([name, kind]) => [name, INDEXED_TYPE[kind]]),
        ),
      }),
    30_000,
  );
  // Every frontend/history cache must know the namespace and its attributes before a start succeeds.
  await retry(async () => {
    const listed = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.keys(SEARCH_ATTRIBUTES).filter((n) => !(n in (listed.customAttributes ?? {})));
    if (missing.length > 0) throw new Error(`search attributes not visible yet: ${missing.join(', ')}`);
  }, 30_000);
  const client = new Client({ connection, namespace });
  return {
    namespace,
    client,
    env: { TEMPORAL_NAMESPACE: namespace },
    async close() {
      await connection.operatorService.deleteNamespace({ namespace }).catch(() => undefined);
      await connection.close();
    },
  };
}

async function retry<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The compiled worker entry points under dist/workers. */
export type WorkerEntry = 'features' | 'training' | 'inference';

/**
 * One compiled worker process (`node dist/workers/<entry>.js`), its JSON log captured to a file.
 * Temporal records the worker identity `<pid>@<host>` on every activity it starts, which is how a
 * test proves that the process it killed was the one running the work.
 */
export class WorkerProcess {
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcess,
    readonly entry: WorkerEntry,
    /** File holding the worker's stdout and stderr. */
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve({ code: child.exitCode, signal: child.signalCode });
      } else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  /** Starts the worker with `env` over this process's environment and waits until it polls. */
  static async start(
    entry: WorkerEntry,
    env: Record<string, string>,
    options: { logDir?: string; timeoutMs?: number } = {},
  ): Promise<WorkerProcess> {
    const logDir = options.logDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'fti-chaos-log-'));
    const logFile = path.join(logDir, `${entry}-${Date.now()}-${Math.floor(Math.random() * 1e6)}.log`);
    const fd = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'workers', `${entry}.js`)], {
      // info level: the test waits for the "worker polling" line; the online service stays off.
      env: { ...process.env, LOG_LEVEL: 'info', FTI_SERVICE: '0', ...env },
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    const worker = new WorkerProcess(child, entry, logFile);
    await worker.waitPolling(options.timeoutMs ?? 60_000);
    return worker;
  }

  /** OS process id. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The identity Temporal records for activities this process runs (SDK default `<pid>@<host>`). */
  get identity(): string {
    return `${this.pid}@${os.hostname()}`;
  }

  /** True while the process has not exited. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The captured log. */
  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  private async waitPolling(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.log().includes('"msg":"worker polling"')) return;
      if (!this.alive) break;
      await sleep(100);
    }
    this.child.kill('SIGKILL');
    throw new Error(
      `worker ${this.entry} (pid ${this.pid}) did not start polling:\n${this.log().slice(-4000)}`,
    );
  }

  /**
   * SIGKILLs the process and waits until the OS reports it dead by that signal. Throws when the
   * process was not running, so a test can never count a kill that did not happen.
   */
  async kill9(): Promise<void> {
    if (!this.alive)
      throw new Error(`worker ${this.entry} pid ${this.pid} was already dead:\n${this.log().slice(-2000)}`);
    this.child.kill('SIGKILL');
    const { signal } = await this.exited;
    // A killed worker cannot remove its scratch folder (runWorker names it by pid); CI disks are small.
    fs.rmSync(path.join(os.tmpdir(), `fti-scratch-${this.pid}`), { recursive: true, force: true });
    if (signal !== 'SIGKILL')
      throw new Error(`worker pid ${this.pid} exited with ${signal ?? 'a code'}, not SIGKILL`);
  }

  /** Stops the process (SIGKILL; tests do not need a drain) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * The random source of a chaos test: `FTI_CHAOS_SEED` when set (to reproduce a failure), else a
 * fresh seed. The seed is printed so a failing CI run can be replayed exactly.
 */
export function chaosRandom(testName: string): { seed: number; random: () => number } {
  const fromEnv = process.env.FTI_CHAOS_SEED;
  const seed = fromEnv ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
  console.log(`${testName}: chaos seed ${seed} (reproduce with FTI_CHAOS_SEED=${seed})`);
  return { seed, random: seededRandom(seed) };
}

/** An activity in flight on some worker, as Temporal reports it for a running workflow. */
export interface InFlightActivity {
  readonly workflowId: string;
  readonly activityType: string;
  readonly attempt: number;
  readonly workerIdentity: string;
}

/** Activities of the given workflows currently started (running) on the worker with `identity`. */
export async function activitiesRunningOn(
  client: Client,
  workflowIds: readonly string[],
  identity: string,
): Promise<InFlightActivity[]> {
  const found: InFlightActivity[] = [];
  await Promise.all(
    workflowIds.map(async (workflowId) => {
      const description = await client.workflow.getHandle(workflowId).describe();
      for (const a of description.raw.pendingActivities ?? []) {
        if (
          a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED &&
          a.lastWorkerIdentity === identity
        ) {
          found.push({
            workflowId,
            activityType: a.activityType?.name ?? '?',
            attempt: a.attempt ?? 1,
            workerIdentity: identity,
          });
        }
      }
    }),
  );
  return found;
}

/** One activity as its workflow history recorded it: the attempt that finished it and its worker. */
export interface CompletedActivity {
  readonly activityType: string;
  readonly attempt: number;
  readonly workerIdentity: string;
  /** When the server recorded its completion (ms since epoch), if it completed. */
  readonly completedAt?: number;
}

/** The activities of a closed workflow with the attempt and worker that completed each. */
export async function completedActivities(handle: WorkflowHandle): Promise<CompletedActivity[]> {
  const history = await handle.fetchHistory();
  const types = new Map<string, string>();
  const completedAt = new Map<string, number>();
  for (const event of history.events ?? []) {
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed && event.eventTime?.seconds !== undefined && event.eventTime.seconds !== null) {
      const ms = Number(event.eventTime.seconds) * 1000 + Math.floor((event.eventTime.nanos ?? 0) / 1e6);
      completedAt.set(String(completed.scheduledEventId), ms);
    }
  }
  const done: CompletedActivity[] = [];
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) types.set(String(event.eventId), scheduled.activityType?.name ?? '?');
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const at = completedAt.get(String(started.scheduledEventId));
      done.push({
        activityType: types.get(String(started.scheduledEventId)) ?? '?',
        attempt: started.attempt ?? 1,
        workerIdentity: started.identity ?? '',
        ...(at !== undefined && { completedAt: at }),
      });
    }
  }
  return done;
}

/** What one kill of the chaos loop hit. */
export interface KillRecord {
  readonly pid: number;
  readonly delayMs: number;
  /** When the SIGKILL was sent (ms since epoch). */
  readonly killedAt: number;
  /** The activities that were running on the killed process at the moment of the kill. */
  readonly hit: readonly InFlightActivity[];
}

/**
 * Waits until one of `steps` of `workflowIds` runs on the worker with `identity` and returns what
 * runs there (empty when nothing did within `timeoutMs`): the "random point" at which a fault lands.
 */
export async function stepsRunningOn(
  client: Client,
  workflowIds: readonly string[],
  identity: string,
  steps: readonly string[],
  timeoutMs = 120_000,
): Promise<InFlightActivity[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const hit = (await activitiesRunningOn(client, workflowIds, identity)).filter((a) =>
      steps.includes(a.activityType),
    );
    if (hit.length > 0) return hit;
    await sleep(25);
  }
  return [];
}

/** `run:activity` labels of in-flight steps, for a test's log line. */
export function stepLabels(hit: readonly InFlightActivity[]): string[] {
  return hit.map((a) => `${a.workflowId.split('-')[1]}:${a.activityType}`);
}

/** The workflow runs a chaos test started, awaited together once the faults are over. */
export class StartedRuns<T> {
  readonly workflowIds: string[] = [];
  private readonly results: Promise<T>[] = [];

  /** Records a started run; a failure surfaces from {@link StartedRuns.all}, never as an unhandled rejection. */
  add(handle: WorkflowHandle): void {
    this.workflowIds.push(handle.workflowId);
    const result = handle.result() as Promise<T>;
    result.catch(() => undefined);
    this.results.push(result);
  }

  /** Every run's result, in start order. */
  all(): Promise<T[]> {
    return Promise.all(this.results);
  }
}

/** Starts the feature pipeline `<label><w>` writing hour window `w` of `csv` into `group`. */
export function startWindowRun(
  client: Client,
  label: string,
  w: number,
  group: string,
  csv: string,
): Promise<WorkflowHandle> {
  return client.workflow.start('featurePipeline', {
    taskQueue: TASK_QUEUES.features,
    workflowId: uniqueName(`${label}${w}`),
    args: [
      {
        pipeline: {
          name: `${label}${w}`,
          featureGroup: { name: group },
          source: { kind: 'csv', path: csv, timeColumn: 'event_time' },
        },
        window: hourWindow(w),
      },
    ],
  });
}

/** Asserts every kill hit a distinct live process while a step ran on it, and logs what each hit. */
export function expectRealKills(label: string, kills: readonly KillRecord[], expected: number): void {
  expect(new Set(kills.map((k) => k.pid)).size).toBe(expected);
  expect(kills.every((k) => k.hit.length > 0)).toBe(true);
  console.log(
    `${label}: kills ${kills.map((k) => `${k.delayMs}ms→${stepLabels(k.hit).join('+')}`).join(', ')}`,
  );
}

/** Steps that needed more than one attempt, as `run:activity#attempt`, across closed runs. */
export async function retriedSteps(client: Client, workflowIds: readonly string[]): Promise<string[]> {
  const retried: string[] = [];
  for (const id of workflowIds) {
    for (const a of await completedActivities(client.workflow.getHandle(id))) {
      if (a.attempt > 1) retried.push(`${id.split('-')[1]}:${a.activityType}#${a.attempt}`);
    }
  }
  return retried;
}

/**
 * Asserts, for the group of each window `w` (`groups[w]` written from hour window `w` of `csv`):
 * exactly one completed commit, nothing left in flight, and the snapshot compared row by row with
 * the source window holding `rowsPerWindow` rows. Returns the rows lost and extra over all windows.
 */
export async function expectOneCommitPerWindow(
  deps: { db: Database; store: ObjectStore; cacheDir: string },
  groups: readonly string[],
  csv: string,
  rowsPerWindow: number,
): Promise<{ lost: number; extra: number }> {
  const t = tables.featureGroupCommits;
  let lost = 0;
  let extra = 0;
  for (const [w, name] of groups.entries()) {
    const fg = await getFeatureGroup(deps.db, name);
    const commits = await deps.db.select().from(t).where(eq(t.featureGroupId, fg.id));
    expect(commits.filter((c) => c.state === 'completed')).toHaveLength(1);
    expect(commits.filter((c) => c.state === 'inflight')).toEqual([]);
    const diff = await compareSnapshotWithSource(deps, fg, csv, hourWindow(w));
    expect(diff.rows).toBe(rowsPerWindow);
    lost += diff.lost;
    extra += diff.extra;
  }
  return { lost, extra };
}

/**
 * Kills the worker `kills` times at random points and restarts it after each kill. A random point
 * is a random delay (0..`maxDelayMs`, from `random`) after the worker polls, then `beforeKill(i)`
 * (e.g. starting the run the kill will hit), then the first moment at which one of `workflowIds()`
 * has an activity running on that worker whose type is in `activityTypes` (so every kill interrupts
 * real work, in a phase Temporal reports). Returns what each kill hit;
 * the worker left running is in `state.worker`.
 */
export async function killRepeatedly(options: {
  readonly state: { worker: WorkerProcess };
  readonly restart: () => Promise<WorkerProcess>;
  readonly client: Client;
  readonly workflowIds: () => readonly string[];
  readonly activityTypes: readonly string[];
  readonly kills: number;
  readonly random: () => number;
  readonly maxDelayMs: number;
  readonly beforeKill?: (i: number) => Promise<void>;
  /** Give up waiting for work in flight after this long. @default 120 s */
  readonly waitForWorkMs?: number;
  /**
   * A second random delay (0..this) after `beforeKill`, so kills land in later steps too; keep it
   * well under the time a run takes, or the run may finish first. @default 0
   */
  readonly maxInRunDelayMs?: number;
}): Promise<KillRecord[]> {
  const records: KillRecord[] = [];
  for (let i = 0; i < options.kills; i++) {
    // The random delay comes before the run starts: a window of a few thousand rows can finish in
    // under a second on a fast machine, so waiting after it started could miss it entirely.
    const delayMs = Math.floor(options.random() * options.maxDelayMs);
    await sleep(delayMs);
    await options.beforeKill?.(i);
    if (options.maxInRunDelayMs) await sleep(Math.floor(options.random() * options.maxInRunDelayMs));
    const worker = options.state.worker;
    const hit = await stepsRunningOn(
      options.client,
      options.workflowIds(),
      worker.identity,
      options.activityTypes,
      options.waitForWorkMs,
    );
    if (hit.length === 0) throw new Error(`kill ${i + 1}: no work reached worker pid ${worker.pid}`);
    const killedAt = Date.now();
    await worker.kill9();
    records.push({ pid: worker.pid, delayMs, killedAt, hit });
    options.state.worker = await options.restart();
    if (options.state.worker.pid === worker.pid) throw new Error('the restarted worker has the killed pid');
  }
  return records;
}

/**
 * For every activity seen running on a process just before it was killed: the attempt that finally
 * completed it (from its closed workflow's history), whether that was a later attempt on a different
 * process (`recovered`), or whether the seen attempt had already completed before the SIGKILL landed
 * (`finishedBeforeKill`: a short step can finish between the look and the kill). A kill that Temporal
 * did not have to recover from, and that did not miss, shows neither.
 */
export async function recoveriesOf(
  client: Client,
  kills: readonly KillRecord[],
): Promise<
  {
    workflowId: string;
    activityType: string;
    killedAttempt: number;
    finalAttempt: number;
    recovered: boolean;
    finishedBeforeKill: boolean;
  }[]
> {
  const histories = new Map<string, CompletedActivity[]>();
  const out = [];
  for (const kill of kills) {
    for (const hit of kill.hit) {
      if (!histories.has(hit.workflowId)) {
        histories.set(hit.workflowId, await completedActivities(client.workflow.getHandle(hit.workflowId)));
      }
      const final = histories.get(hit.workflowId)!.find((a) => a.activityType === hit.activityType);
      out.push({
        workflowId: hit.workflowId,
        activityType: hit.activityType,
        killedAttempt: hit.attempt,
        finalAttempt: final?.attempt ?? 0,
        recovered:
          final !== undefined && final.attempt > hit.attempt && final.workerIdentity !== hit.workerIdentity,
        finishedBeforeKill:
          final !== undefined &&
          final.attempt === hit.attempt &&
          final.workerIdentity === hit.workerIdentity &&
          final.completedAt !== undefined &&
          // A dead process reports nothing: its completion was on the wire when the signal was sent.
          final.completedAt <= kill.killedAt + 2_000,
      });
    }
  }
  return out;
}

/**
 * Asserts what {@link recoveriesOf} found: no step the kill interrupted was left to its killed attempt
 * (each was either redone elsewhere, or had finished before the SIGKILL landed), and most kills really
 * interrupted work (a recovered step), so the run proves recovery rather than lucky timing.
 */
export function expectRecovered(recoveries: Awaited<ReturnType<typeof recoveriesOf>>, kills: number): void {
  expect(recoveries.filter((r) => !r.recovered && !r.finishedBeforeKill)).toEqual([]);
  expect(recoveries.filter((r) => r.recovered).length).toBeGreaterThanOrEqual(Math.ceil(kills / 2));
}

/** The hourly windows of {@link writeWindowedEvents}: window `w` is `[base + w h, base + (w+1) h)`. */
export function hourWindow(w: number): { start: string; end: string } {
  const base = Date.UTC(2026, 0, 1);
  return {
    start: new Date(base + w * 3_600_000).toISOString(),
    end: new Date(base + (w + 1) * 3_600_000).toISOString(),
  };
}

/** The definition of the groups the chaos feature runs write (`entity_id`, `event_time`, `value`). */
export function eventGroupDefinition(name: string): FeatureGroupDefinition {
  return {
    name,
    primaryKey: ['entity_id'],
    eventTime: 'event_time',
    features: [
      { name: 'entity_id', type: 'string' },
      { name: 'event_time', type: 'timestamp' },
      { name: 'value', type: 'double' },
    ],
    online: { enabled: true },
  };
}

/**
 * Writes a CSV of `rowsPerWindow` events (distinct `entity_id` within a window) in each of
 * `windows` hourly windows ({@link hourWindow}), plus one more window that no run reads.
 */
export async function writeWindowedEvents(
  csv: string,
  windows: number,
  rowsPerWindow: number,
): Promise<void> {
  await withDuck((duck) =>
    duck.run(
      `COPY (SELECT 'e' || (i % ${rowsPerWindow}) AS entity_id,
                    TIMESTAMP '2026-01-01' + to_seconds((i // ${rowsPerWindow}) * 3600 + (i % ${rowsPerWindow}) * (3600.0 / ${rowsPerWindow})) AS event_time,
                    i * 0.25 AS value
             FROM range(${(windows + 1) * rowsPerWindow}) t(i))
       TO ${sqlPath(csv)} (FORMAT csv, HEADER true)`,
    ),
  );
}

/**
 * Compares a group's current offline snapshot with the CSV rows of one window: `lost` source rows
 * missing from the snapshot, `extra` snapshot rows not in the source (duplicates count), `rows` in
 * the source window. Exactly-once means lost = extra = 0.
 */
export async function compareSnapshotWithSource(
  deps: { db: Database; store: ObjectStore; cacheDir: string },
  group: FeatureGroupRecord,
  csv: string,
  window: { start: string; end: string },
): Promise<{ lost: number; extra: number; rows: number }> {
  const counts = await withDuck(async (duck) => {
    await new OfflineTable(
      { db: deps.db, store: deps.store, cache: new ObjectCache(deps.store, { dir: deps.cacheDir }) },
      group,
    ).registerSnapshot(duck, 'snap');
    await duck.run(
      `CREATE TABLE src AS SELECT entity_id, event_time, value FROM read_csv(${sqlPath(csv)}, header = true)
       WHERE event_time >= TIMESTAMP '${window.start.slice(0, 19)}' AND event_time < TIMESTAMP '${window.end.slice(0, 19)}'`,
    );
    return duck.one<{ lost: bigint; extra: bigint; n: bigint }>(
      `SELECT (SELECT count(*) FROM (SELECT * FROM src EXCEPT ALL SELECT entity_id, event_time, value FROM snap)) AS lost,
              (SELECT count(*) FROM (SELECT entity_id, event_time, value FROM snap EXCEPT ALL SELECT * FROM src)) AS extra,
              (SELECT count(*) FROM src) AS n`,
    );
  });
  return { lost: Number(counts!.lost), extra: Number(counts!.extra), rows: Number(counts!.n) };
}
