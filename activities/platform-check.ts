import os from 'node:os';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'drizzle-orm';
import type { Database } from '../core/db';
import { tables } from '../core/db';
import type { ObjectStore } from '../core/storage';

/** Input of {@link PlatformCheckActivities.checkQueue}: references only. */
export interface CheckQueueInput {
  /** Workflow id of the platformCheck run; makes the object key and DB row idempotent. */
  readonly checkId: string;
  readonly taskQueue: string;
}

/** What one queue's worker proved it can do. */
export interface QueueCheckResult {
  readonly taskQueue: string;
  readonly worker: string;
  readonly objectKey: string;
  readonly objectBytes: number;
  readonly databaseRowId: number;
  readonly postgresVersion: string;
  readonly elapsedMs: number;
}

/** Adapters the platform-check activities use, wired by the worker. */
export interface PlatformCheckDeps {
  readonly db: Database;
  readonly store: ObjectStore;
}

/** The activity functions registered on every queue's worker. */
export interface PlatformCheckActivities {
  checkQueue(input: CheckQueueInput): Promise<QueueCheckResult>;
}

/**
 * Builds the platform-check activities. `checkQueue` writes an object to S3, reads it back and
 * compares, and upserts a row in PostgreSQL — idempotently per (check, queue), so a retry leaves one
 * object and one row.
 */
export function createPlatformCheckActivities(deps: PlatformCheckDeps): PlatformCheckActivities {
  return {
    async checkQueue(input) {
      const started = Date.now();
      const info = Context.current().info;
      const worker = `${os.hostname()}:${process.pid}`;
      const objectKey = `platform-checks/${input.checkId}/${input.taskQueue}.json`;
      const payload = JSON.stringify({
        checkId: input.checkId,
        taskQueue: input.taskQueue,
        activityId: info.activityId,
      });
      await deps.store.put(objectKey, payload, { contentType: 'application/json', immutable: true });
      const readBack = (await deps.store.get(objectKey)).toString('utf8');
      if (readBack !== payload) {
        throw ApplicationFailure.nonRetryable(
          `object ${objectKey} read back different content than written`,
          'ObjectMismatch',
        );
      }
      const [row] = await deps.db
        .insert(tables.platformChecks)
        .values({ workflowId: input.checkId, taskQueue: input.taskQueue, objectKey })
        .onConflictDoUpdate({
          target: [tables.platformChecks.workflowId, tables.platformChecks.taskQueue],
          set: { checkedAt: sql`now()` },
        })
        .returning({ id: tables.platformChecks.id });
      const version = await deps.db.execute<{ server_version: string }>(sql`SHOW server_version`);
      return {
        taskQueue: input.taskQueue,
        worker,
        objectKey,
        objectBytes: Buffer.byteLength(readBack),
        databaseRowId: row!.id,
        postgresVersion: version.rows[0]?.server_version ?? 'unknown',
        elapsedMs: Date.now() - started,
      };
    },
  };
}
