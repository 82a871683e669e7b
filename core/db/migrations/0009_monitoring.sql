CREATE TABLE "monitor_results" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" bigint NOT NULL,
	"monitor_id" bigint NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"segment" text NOT NULL,
	"role" text NOT NULL,
	"column" text NOT NULL,
	"kind" text NOT NULL,
	"values" integer NOT NULL,
	"method" text,
	"score" double precision,
	"threshold" double precision,
	"drift" boolean DEFAULT false NOT NULL,
	"psi" double precision,
	"null_rate" double precision NOT NULL,
	"out_of_range" double precision,
	"unseen" double precision,
	"problems" text[] DEFAULT '{}'::text[] NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "monitor_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"monitor_id" bigint NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"status" text NOT NULL,
	"rows" integer NOT NULL,
	"drift_share" double precision,
	"reference" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"summary" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "monitors" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"subject_type" text NOT NULL,
	"subject" text NOT NULL,
	"every_seconds" integer NOT NULL,
	"window_seconds" integer NOT NULL,
	"thresholds" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"min_rows" integer DEFAULT 100 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "monitors_name_identifier" CHECK ("monitors"."name" ~ '^[a-z][a-z0-9_-]{0,62}$'),
	CONSTRAINT "monitors_subject_type" CHECK ("monitors"."subject_type" IN ('deployment', 'feature_group')),
	CONSTRAINT "monitors_window_positive" CHECK ("monitors"."every_seconds" > 0 AND "monitors"."window_seconds" > 0)
);
--> statement-breakpoint
ALTER TABLE "training_datasets" ADD COLUMN "reference_profile" jsonb;--> statement-breakpoint
ALTER TABLE "model_versions" ADD COLUMN "reference_profile" jsonb;--> statement-breakpoint
ALTER TABLE "prediction_batches" ADD COLUMN "input_profile" jsonb;--> statement-breakpoint
ALTER TABLE "monitor_results" ADD CONSTRAINT "monitor_results_run_id_monitor_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."monitor_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "monitor_runs" ADD CONSTRAINT "monitor_runs_monitor_id_monitors_id_fk" FOREIGN KEY ("monitor_id") REFERENCES "public"."monitors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "monitor_results_run_column_uq" ON "monitor_results" USING btree ("run_id","segment","role","column");--> statement-breakpoint
CREATE INDEX "monitor_results_series_idx" ON "monitor_results" USING btree ("monitor_id","column","window_end");--> statement-breakpoint
CREATE UNIQUE INDEX "monitor_runs_window_uq" ON "monitor_runs" USING btree ("monitor_id","window_start","window_end");--> statement-breakpoint
CREATE INDEX "monitor_runs_monitor_end_idx" ON "monitor_runs" USING btree ("monitor_id","window_end");--> statement-breakpoint
CREATE UNIQUE INDEX "monitors_name_uq" ON "monitors" USING btree ("name");