ALTER TABLE "feature_group_live_files" ADD COLUMN "partition" text;--> statement-breakpoint
ALTER TABLE "feature_groups" ADD COLUMN "partitioning" jsonb;