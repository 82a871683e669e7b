/**
 * Monitors as stored in Postgres: what is watched, how often, with which thresholds; and their
 * results as time series.
 */
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { tables, type Database } from '../db';
import { FtiError, ValidationError } from '../errors';
import type { ColumnThresholds } from './checks';

/** Raised when a monitor name is unknown. */
export class MonitorNotFoundError extends FtiError {
  constructor(name: string) {
    super(`monitor ${name} does not exist; list monitors with \`fti monitor list\`.`, { retryable: false });
  }
}

const thresholdsSchema = z.record(
  z.string().min(1),
  z
    .object({
      method: z.enum(['ks', 'wasserstein', 'chisquare', 'jensenshannon']).optional(),
      threshold: z.number().positive().optional(),
      nullRateIncrease: z.number().min(0).max(1).optional(),
      outOfRange: z.number().min(0).max(1).optional(),
      unseen: z.number().min(0).max(1).optional(),
    })
    .strict(),
);

const monitorSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must start with a lowercase letter and hold only a-z, 0-9, _ and -'),
    subjectType: z.enum(['deployment', 'feature_group']),
    subject: z.string().min(1),
    everySeconds: z.number().int().min(1, 'must be at least 1 second'),
    windowSeconds: z.number().int().min(1, 'must be at least 1 second').optional(),
    thresholds: thresholdsSchema.default({}),
    minRows: z.number().int().min(1).default(100),
    labelDelaySeconds: z.number().int().min(0).default(0),
    labelToleranceSeconds: z.number().int().min(0).default(60),
    sliceColumn: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/, 'must be a feature name (lowercase identifier)')
      .nullable()
      .default(null),
    referenceSeconds: z.number().int().positive().nullable().default(null),
  })
  .strict();

/** What `createMonitor` takes. `windowSeconds` defaults to `everySeconds` (back-to-back windows). */
export type MonitorSpec = z.input<typeof monitorSchema>;

/** A stored monitor. */
export interface MonitorInfo {
  readonly id: number;
  readonly name: string;
  readonly subjectType: 'deployment' | 'feature_group';
  readonly subject: string;
  readonly everySeconds: number;
  readonly windowSeconds: number;
  readonly thresholds: Readonly<Record<string, ColumnThresholds>>;
  readonly minRows: number;
  /** Realized performance is computed for the window this much earlier (labels arrive late). */
  readonly labelDelaySeconds: number;
  /** Largest distance between a label's and a prediction's event time for them to join. */
  readonly labelToleranceSeconds: number;
  /** A logged feature that slices performance, or null. */
  readonly sliceColumn: string | null;
  /** Feature-group monitors: the reference window's length before each checked window (null: all earlier rows). */
  readonly referenceSeconds: number | null;
  readonly createdAt: Date;
}

type MonitorRow = typeof tables.monitors.$inferSelect;

function infoOf(row: MonitorRow): MonitorInfo {
  return {
    id: row.id,
    name: row.name,
    subjectType: row.subjectType as MonitorInfo['subjectType'],
    subject: row.subject,
    everySeconds: row.everySeconds,
    windowSeconds: row.windowSeconds,
    thresholds: row.thresholds as Record<string, ColumnThresholds>,
    minRows: row.minRows,
    labelDelaySeconds: row.labelDelaySeconds,
    labelToleranceSeconds: row.labelToleranceSeconds,
    sliceColumn: row.sliceColumn,
    referenceSeconds: row.referenceSeconds,
    createdAt: row.createdAt,
  };
}

/** Validates a monitor spec: every problem named with its field and how to fix it. */
export function parseMonitorSpec(spec: unknown): z.output<typeof monitorSchema> & { windowSeconds: number } {
  const parsed = monitorSchema.safeParse(spec);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'monitor'}: ${i.message}`);
    throw new ValidationError(`monitor spec is invalid: ${problems.join('; ')}`, {
      location: parsed.error.issues[0]?.path.join('.'),
    });
  }
  return { ...parsed.data, windowSeconds: parsed.data.windowSeconds ?? parsed.data.everySeconds };
}

/**
 * Creates a monitor, or updates the one with that name (same subject) — so `fti monitor create`
 * can be re-run to change the cadence or thresholds. The subject must exist; the caller checks
 * that (deployments and feature groups live in other modules).
 */
export async function saveMonitor(db: Database, spec: MonitorSpec): Promise<MonitorInfo> {
  const m = parseMonitorSpec(spec);
  const [existing] = await db.select().from(tables.monitors).where(eq(tables.monitors.name, m.name));
  if (existing && (existing.subject !== m.subject || existing.subjectType !== m.subjectType))
    throw new ValidationError(
      `monitor ${m.name} already watches ${existing.subjectType} ${existing.subject}; pick another name or delete it first.`,
      { location: 'name' },
    );
  const values = {
    name: m.name,
    subjectType: m.subjectType,
    subject: m.subject,
    everySeconds: m.everySeconds,
    windowSeconds: m.windowSeconds,
    thresholds: m.thresholds,
    minRows: m.minRows,
    labelDelaySeconds: m.labelDelaySeconds,
    labelToleranceSeconds: m.labelToleranceSeconds,
    sliceColumn: m.sliceColumn,
    referenceSeconds: m.referenceSeconds,
  };
  const [row] = await db
    .insert(tables.monitors)
    .values(values)
    .onConflictDoUpdate({ target: tables.monitors.name, set: { ...values, updatedAt: new Date() } })
    .returning();
  return infoOf(row!);
}

/** The monitor with this name, or {@link MonitorNotFoundError}. */
export async function getMonitor(db: Database, name: string): Promise<MonitorInfo> {
  const [row] = await db.select().from(tables.monitors).where(eq(tables.monitors.name, name));
  if (!row) throw new MonitorNotFoundError(name);
  return infoOf(row);
}

/** All monitors, by name. */
export async function listMonitors(db: Database): Promise<MonitorInfo[]> {
  return (await db.select().from(tables.monitors).orderBy(asc(tables.monitors.name))).map(infoOf);
}

/** Deletes a monitor with its results. */
export async function deleteMonitor(db: Database, name: string): Promise<void> {
  const deleted = await db.delete(tables.monitors).where(eq(tables.monitors.name, name)).returning();
  if (deleted.length === 0) throw new MonitorNotFoundError(name);
}

/** One stored column result. */
export interface MonitorResultRow {
  readonly segment: string;
  readonly role: string;
  readonly column: string;
  readonly kind: string;
  readonly values: number;
  readonly method: string | null;
  readonly score: number | null;
  readonly threshold: number | null;
  readonly drift: boolean;
  readonly psi: number | null;
  readonly nullRate: number;
  readonly outOfRange: number | null;
  readonly unseen: number | null;
  readonly problems: readonly string[];
  readonly details: Readonly<Record<string, unknown>>;
}

/** One stored window with its results. */
export interface MonitorRunInfo {
  readonly id: number;
  readonly windowStart: Date;
  readonly windowEnd: Date;
  readonly status: 'ok' | 'problems' | 'no_data';
  readonly rows: number;
  readonly driftShare: number | null;
  readonly reference: Readonly<Record<string, unknown>>;
  readonly summary: { readonly problems: readonly string[]; readonly [key: string]: unknown };
  readonly results: readonly MonitorResultRow[];
}

/** The last `last` windows of a monitor, newest first, each with its column results. */
export async function monitorHistory(
  db: Database,
  name: string,
  /** `results: false` leaves each run's column results out (a summary: `results` is empty). */
  options: { last?: number; column?: string; results?: boolean } = {},
): Promise<{ monitor: MonitorInfo; runs: MonitorRunInfo[] }> {
  const monitor = await getMonitor(db, name);
  const runs = await db
    .select()
    .from(tables.monitorRuns)
    .where(eq(tables.monitorRuns.monitorId, monitor.id))
    .orderBy(desc(tables.monitorRuns.windowEnd))
    .limit(options.last ?? 24);
  const results =
    runs.length && options.results !== false
      ? await db
          .select()
          .from(tables.monitorResults)
          .where(
            and(
              inArray(
                tables.monitorResults.runId,
                runs.map((r) => r.id),
              ),
              options.column ? eq(tables.monitorResults.column, options.column) : undefined,
            ),
          )
          .orderBy(
            asc(tables.monitorResults.segment),
            asc(tables.monitorResults.role),
            asc(tables.monitorResults.column),
          )
      : [];
  return {
    monitor,
    runs: runs.map((r) => ({
      id: r.id,
      windowStart: r.windowStart,
      windowEnd: r.windowEnd,
      status: r.status as MonitorRunInfo['status'],
      rows: r.rows,
      driftShare: r.driftShare,
      reference: r.reference as Record<string, unknown>,
      summary: r.summary as MonitorRunInfo['summary'],
      results: results
        .filter((x) => x.runId === r.id)
        .map((x) => ({
          segment: x.segment,
          role: x.role,
          column: x.column,
          kind: x.kind,
          values: x.values,
          method: x.method,
          score: x.score,
          threshold: x.threshold,
          drift: x.drift,
          psi: x.psi,
          nullRate: x.nullRate,
          outOfRange: x.outOfRange,
          unseen: x.unseen,
          problems: x.problems,
          details: x.details as Record<string, unknown>,
        })),
    })),
  };
}
