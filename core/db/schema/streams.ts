import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  customType,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * A streaming feature pipeline's durable progress, one row per key partition: the stream position
 * whose effects are safe and the window state as of that position, written together (in the same
 * transaction as the offline micro-batch commit they belong to). `epoch` fences consumers: each
 * consumer that starts bumps it, and a checkpoint is a compare-and-set on the epoch it read, so a
 * consumer that was replaced (a Temporal retry after a missed heartbeat) can never move the position.
 */
export const streamCheckpoints = pgTable(
  'stream_checkpoints',
  {
    pipeline: text('pipeline').notNull(),
    partition: integer('partition').notNull(),
    /** How many key partitions the pipeline has; the state of one is meaningless under another count. */
    partitions: integer('partitions').notNull(),
    /**
     * Identifies this run of the pipeline's history: a replay forgets the checkpoints and starts a
     * new generation, so its offline commits get idempotency keys of their own.
     */
    generation: text('generation')
      .notNull()
      .default(sql`md5(random()::text || clock_timestamp()::text)`),
    epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
    /** Last stream sequence whose effects (online rows, offline commit, state) are safe; 0 = none. */
    position: bigint('position', { mode: 'number' }).notNull().default(0),
    /** Serialized operator state as of `position` (null before the first checkpoint). */
    state: bytea('state'),
    /** Counters and gauges as of the checkpoint (events, late, dead letters, last commit). */
    stats: jsonb('stats')
      .notNull()
      .default(sql`'{}'::jsonb`),
    /** Offline commit written with this checkpoint, if any. */
    lastCommitId: bigint('last_commit_id', { mode: 'number' }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.pipeline, t.partition] }),
    check('stream_checkpoints_partition_ck', sql`${t.partition} >= 0 AND ${t.partition} < ${t.partitions}`),
  ],
);
