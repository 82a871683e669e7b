ALTER TYPE "public"."commit_operation" ADD VALUE 'external';--> statement-breakpoint
ALTER TABLE "feature_groups" ADD COLUMN "external" jsonb;