ALTER TABLE "alerts" ADD COLUMN "last_evaluation" text;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "notified_by" text;