ALTER TABLE "feature_group_commits" ADD COLUMN "attempt" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "feature_group_commits" ADD COLUMN "heartbeat_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "feature_group_commits" ADD COLUMN "content_hash" text;--> statement-breakpoint
ALTER TABLE "feature_group_commits" ADD COLUMN "supersedes_commit_id" bigint;--> statement-breakpoint
ALTER TABLE "validation_reports" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
CREATE UNIQUE INDEX "validation_reports_idempotency_uq" ON "validation_reports" USING btree ("feature_group_id","idempotency_key");