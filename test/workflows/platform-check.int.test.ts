import { and, eq } from 'drizzle-orm';
import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPlatformCheckActivities, type QueueCheckResult } from '../../activities';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { uniqueName } from '../support/ids';
import { testObjectStore } from '../support/stores';
import {
  connectTestTemporal,
  createTestWorkers,
  withWorkers,
  type TemporalTestContext,
} from '../support/temporal';
import type { S3ObjectStore } from '../../core/storage';
import type { PlatformCheckReport } from '../../workflows';

// Through the real Temporal server, with real workers, PostgreSQL and S3.
describe('platformCheck workflow', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
  });

  it('runs an activity on each of three task queues, each writing S3 and PostgreSQL', async () => {
    const queues = ['features', 'training', 'inference'].map((q) => uniqueName(`fti-${q}`));
    const workers = await createTestWorkers(temporal, queues, { db: database.db, store });
    const workflowId = uniqueName('platform-check');
    const report = (await withWorkers(workers, () =>
      temporal.client.workflow.execute('platformCheck', {
        taskQueue: queues[0]!,
        workflowId,
        args: [{ taskQueues: queues }],
      }),
    )) as PlatformCheckReport;

    expect(report.ok).toBe(true);
    expect(report.queues.map((q) => q.taskQueue).sort()).toEqual([...queues].sort());
    for (const q of report.queues) {
      expect(JSON.parse((await store.get(q.objectKey)).toString())).toMatchObject({
        checkId: workflowId,
        taskQueue: q.taskQueue,
      });
    }
    const rows = await database.db
      .select()
      .from(tables.platformChecks)
      .where(eq(tables.platformChecks.workflowId, workflowId));
    expect(rows.map((r) => r.taskQueue).sort()).toEqual([...queues].sort());

    // Visible to `temporal workflow list` through the custom search attribute.
    const description = await temporal.client.workflow.getHandle(workflowId).describe();
    expect(description.searchAttributes.FtiPipeline).toEqual(['platform']);
  });

  it('fails (instead of hanging) when a queue has no worker', async () => {
    const queue = uniqueName('fti-features');
    const [worker] = await createTestWorkers(temporal, [queue], { db: database.db, store });
    const result = withWorkers([worker!], () =>
      temporal.client.workflow.execute('platformCheck', {
        taskQueue: queue,
        workflowId: uniqueName('platform-check'),
        args: [{ taskQueues: [queue, uniqueName('nobody-listens')] }],
        workflowExecutionTimeout: '5 seconds',
      }),
    );
    await expect(result).rejects.toBeInstanceOf(WorkflowFailedError);
  });

  it('is idempotent: a retried activity leaves one object and one row', async () => {
    const activities = createPlatformCheckActivities({ db: database.db, store });
    const env = new MockActivityEnvironment();
    const input = { checkId: uniqueName('retry'), taskQueue: 'fti-features' };
    const first = (await env.run(activities.checkQueue, input)) as QueueCheckResult;
    const second = (await env.run(activities.checkQueue, input)) as QueueCheckResult;
    expect(second.databaseRowId).toBe(first.databaseRowId);
    expect(second.objectKey).toBe(first.objectKey);
    const rows = await database.db
      .select()
      .from(tables.platformChecks)
      .where(
        and(
          eq(tables.platformChecks.workflowId, input.checkId),
          eq(tables.platformChecks.taskQueue, input.taskQueue),
        ),
      );
    expect(rows).toHaveLength(1);
  });
});
