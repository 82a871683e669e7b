CREATE TABLE "retraining_decisions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"policy" text NOT NULL,
	"cycle" integer NOT NULL,
	"decision" text NOT NULL,
	"model" text,
	"model_version" integer,
	"deployment_version" integer,
	"evidence" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "retraining_policies" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"deployment" text NOT NULL,
	"rules" text[] NOT NULL,
	"training" jsonb NOT NULL,
	"training_window_seconds" integer,
	"mode" text DEFAULT 'shadow' NOT NULL,
	"weight" integer DEFAULT 10 NOT NULL,
	"metric" text DEFAULT 'roc_auc' NOT NULL,
	"min_labels" integer DEFAULT 200 NOT NULL,
	"confidence" double precision DEFAULT 0.95 NOT NULL,
	"check_every_seconds" integer DEFAULT 3600 NOT NULL,
	"max_wait_seconds" integer DEFAULT 604800 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "retraining_policies_name_identifier" CHECK ("retraining_policies"."name" ~ '^[a-z][a-z0-9_-]{0,62}$'),
	CONSTRAINT "retraining_policies_mode" CHECK ("retraining_policies"."mode" IN ('shadow', 'ab'))
);
--> statement-breakpoint
CREATE INDEX "retraining_decisions_policy_idx" ON "retraining_decisions" USING btree ("policy","at");--> statement-breakpoint
CREATE UNIQUE INDEX "retraining_policies_name_uq" ON "retraining_policies" USING btree ("name");