CREATE TYPE "public"."pipeline_kind" AS ENUM('features', 'training', 'inference', 'platform');--> statement-breakpoint
CREATE TYPE "public"."run_status" AS ENUM('running', 'completed', 'failed', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."commit_operation" AS ENUM('insert', 'upsert', 'delete', 'overwrite', 'compaction');--> statement-breakpoint
CREATE TYPE "public"."commit_state" AS ENUM('requested', 'inflight', 'completed', 'aborted');--> statement-breakpoint
CREATE TYPE "public"."dataset_state" AS ENUM('creating', 'ready', 'failed');--> statement-breakpoint
CREATE TYPE "public"."model_version_state" AS ENUM('registered', 'rejected');--> statement-breakpoint
CREATE TABLE "pipeline_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"pipeline" "pipeline_kind" NOT NULL,
	"name" text NOT NULL,
	"workflow_id" text NOT NULL,
	"run_id" text NOT NULL,
	"status" "run_status" DEFAULT 'running' NOT NULL,
	"window_start" timestamp with time zone,
	"window_end" timestamp with time zone,
	"input" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"result" jsonb,
	"error" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "platform_checks" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workflow_id" text NOT NULL,
	"task_queue" text NOT NULL,
	"object_key" text NOT NULL,
	"checked_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "feature_group_commits" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"feature_group_id" bigint NOT NULL,
	"instant" text NOT NULL,
	"state" "commit_state" DEFAULT 'requested' NOT NULL,
	"operation" "commit_operation" NOT NULL,
	"files" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"replaced_files" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"rows_inserted" bigint DEFAULT 0 NOT NULL,
	"rows_updated" bigint DEFAULT 0 NOT NULL,
	"rows_deleted" bigint DEFAULT 0 NOT NULL,
	"idempotency_key" text NOT NULL,
	"pipeline_run_id" bigint,
	"window_start" timestamp with time zone,
	"window_end" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "feature_groups" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"primary_key" text[] NOT NULL,
	"event_time_column" text NOT NULL,
	"features" jsonb NOT NULL,
	"online_enabled" boolean DEFAULT false NOT NULL,
	"online_ttl_seconds" integer,
	"expectation_suite" jsonb,
	"statistics_config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"retention_days" integer,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feature_groups_version_positive" CHECK ("feature_groups"."version" > 0),
	CONSTRAINT "feature_groups_name_identifier" CHECK ("feature_groups"."name" ~ '^[a-z][a-z0-9_]{0,62}$')
);
--> statement-breakpoint
CREATE TABLE "feature_statistics" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"feature_group_id" bigint,
	"commit_id" bigint,
	"training_dataset_id" bigint,
	"statistics" jsonb NOT NULL,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feature_statistics_owner" CHECK (("feature_statistics"."commit_id" IS NOT NULL AND "feature_statistics"."feature_group_id" IS NOT NULL) OR "feature_statistics"."training_dataset_id" IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "validation_reports" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"feature_group_id" bigint NOT NULL,
	"commit_id" bigint,
	"success" boolean NOT NULL,
	"ingestion_policy" text NOT NULL,
	"report" jsonb NOT NULL,
	"pipeline_run_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "feature_view_sources" (
	"feature_view_id" bigint NOT NULL,
	"feature_group_id" bigint NOT NULL,
	"role" text NOT NULL,
	"position" integer NOT NULL,
	CONSTRAINT "feature_view_sources_feature_view_id_position_pk" PRIMARY KEY("feature_view_id","position")
);
--> statement-breakpoint
CREATE TABLE "feature_views" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"query" jsonb NOT NULL,
	"labels" text[] DEFAULT '{}'::text[] NOT NULL,
	"inference_helper_columns" text[] DEFAULT '{}'::text[] NOT NULL,
	"training_helper_columns" text[] DEFAULT '{}'::text[] NOT NULL,
	"transformations" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"on_demand_features" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feature_views_version_positive" CHECK ("feature_views"."version" > 0),
	CONSTRAINT "feature_views_name_identifier" CHECK ("feature_views"."name" ~ '^[a-z][a-z0-9_]{0,62}$')
);
--> statement-breakpoint
CREATE TABLE "training_datasets" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"feature_view_id" bigint NOT NULL,
	"version" integer NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"state" "dataset_state" DEFAULT 'creating' NOT NULL,
	"start_time" timestamp with time zone,
	"end_time" timestamp with time zone,
	"splits" jsonb NOT NULL,
	"seed" integer,
	"feature_group_commits" jsonb NOT NULL,
	"query" text DEFAULT '' NOT NULL,
	"row_counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"transformation_params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"storage_prefix" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"pipeline_run_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "training_datasets_range_ordered" CHECK ("training_datasets"."start_time" IS NULL OR "training_datasets"."end_time" IS NULL OR "training_datasets"."start_time" < "training_datasets"."end_time")
);
--> statement-breakpoint
CREATE TABLE "model_alias_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model_id" bigint NOT NULL,
	"alias" text NOT NULL,
	"from_model_version_id" bigint,
	"to_model_version_id" bigint,
	"pipeline_run_id" bigint,
	"changed_by" text DEFAULT '' NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_aliases" (
	"model_id" bigint NOT NULL,
	"alias" text NOT NULL,
	"model_version_id" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_aliases_model_id_alias_pk" PRIMARY KEY("model_id","alias")
);
--> statement-breakpoint
CREATE TABLE "model_versions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model_id" bigint NOT NULL,
	"version" integer NOT NULL,
	"state" "model_version_state" DEFAULT 'registered' NOT NULL,
	"trainer" text NOT NULL,
	"artifact_key" text NOT NULL,
	"signature" jsonb NOT NULL,
	"input_example" jsonb,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"feature_view_id" bigint,
	"training_dataset_id" bigint,
	"training_run_id" bigint,
	"code_version" text,
	"idempotency_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_versions_version_positive" CHECK ("model_versions"."version" > 0)
);
--> statement-breakpoint
CREATE TABLE "models" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "models_name_identifier" CHECK ("models"."name" ~ '^[a-z][a-z0-9_-]{0,62}$')
);
--> statement-breakpoint
CREATE TABLE "training_run_metrics" (
	"training_run_id" bigint NOT NULL,
	"key" text NOT NULL,
	"step" integer NOT NULL,
	"value" double precision NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "training_run_metrics_training_run_id_key_step_pk" PRIMARY KEY("training_run_id","key","step")
);
--> statement-breakpoint
CREATE TABLE "training_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"experiment" text NOT NULL,
	"trainer" text NOT NULL,
	"status" "run_status" DEFAULT 'running' NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"training_dataset_id" bigint,
	"pipeline_run_id" bigint,
	"idempotency_key" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"client" text NOT NULL,
	"key_hash" text NOT NULL,
	"key_prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "deployment_bindings" (
	"deployment_version_id" bigint NOT NULL,
	"variant" text NOT NULL,
	"model_version_id" bigint NOT NULL,
	"feature_view_id" bigint NOT NULL,
	"training_dataset_id" bigint NOT NULL,
	"weight" integer NOT NULL,
	"shadow" boolean DEFAULT false NOT NULL,
	CONSTRAINT "deployment_bindings_deployment_version_id_variant_pk" PRIMARY KEY("deployment_version_id","variant"),
	CONSTRAINT "deployment_bindings_weight_range" CHECK ("deployment_bindings"."weight" BETWEEN 0 AND 100)
);
--> statement-breakpoint
CREATE TABLE "deployment_versions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"deployment_id" bigint NOT NULL,
	"version" integer NOT NULL,
	"action" text NOT NULL,
	"missing_feature_policy" text DEFAULT 'error' NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"pipeline_run_id" bigint,
	"created_by" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"current_version_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deployments_name_identifier" CHECK ("deployments"."name" ~ '^[a-z][a-z0-9_-]{0,62}$')
);
--> statement-breakpoint
CREATE TABLE "prediction_batches" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"deployment_id" bigint NOT NULL,
	"deployment_version_id" bigint NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"sink" text NOT NULL,
	"location" text NOT NULL,
	"rows" bigint NOT NULL,
	"pipeline_run_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "feature_group_commits" ADD CONSTRAINT "feature_group_commits_feature_group_id_feature_groups_id_fk" FOREIGN KEY ("feature_group_id") REFERENCES "public"."feature_groups"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_group_commits" ADD CONSTRAINT "feature_group_commits_pipeline_run_id_pipeline_runs_id_fk" FOREIGN KEY ("pipeline_run_id") REFERENCES "public"."pipeline_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_statistics" ADD CONSTRAINT "feature_statistics_feature_group_id_feature_groups_id_fk" FOREIGN KEY ("feature_group_id") REFERENCES "public"."feature_groups"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_statistics" ADD CONSTRAINT "feature_statistics_commit_id_feature_group_commits_id_fk" FOREIGN KEY ("commit_id") REFERENCES "public"."feature_group_commits"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "validation_reports" ADD CONSTRAINT "validation_reports_feature_group_id_feature_groups_id_fk" FOREIGN KEY ("feature_group_id") REFERENCES "public"."feature_groups"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "validation_reports" ADD CONSTRAINT "validation_reports_commit_id_feature_group_commits_id_fk" FOREIGN KEY ("commit_id") REFERENCES "public"."feature_group_commits"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "validation_reports" ADD CONSTRAINT "validation_reports_pipeline_run_id_pipeline_runs_id_fk" FOREIGN KEY ("pipeline_run_id") REFERENCES "public"."pipeline_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_view_sources" ADD CONSTRAINT "feature_view_sources_feature_view_id_feature_views_id_fk" FOREIGN KEY ("feature_view_id") REFERENCES "public"."feature_views"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_view_sources" ADD CONSTRAINT "feature_view_sources_feature_group_id_feature_groups_id_fk" FOREIGN KEY ("feature_group_id") REFERENCES "public"."feature_groups"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_datasets" ADD CONSTRAINT "training_datasets_feature_view_id_feature_views_id_fk" FOREIGN KEY ("feature_view_id") REFERENCES "public"."feature_views"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_datasets" ADD CONSTRAINT "training_datasets_pipeline_run_id_pipeline_runs_id_fk" FOREIGN KEY ("pipeline_run_id") REFERENCES "public"."pipeline_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_alias_history" ADD CONSTRAINT "model_alias_history_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_alias_history" ADD CONSTRAINT "model_alias_history_from_model_version_id_model_versions_id_fk" FOREIGN KEY ("from_model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_alias_history" ADD CONSTRAINT "model_alias_history_to_model_version_id_model_versions_id_fk" FOREIGN KEY ("to_model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_alias_history" ADD CONSTRAINT "model_alias_history_pipeline_run_id_pipeline_runs_id_fk" FOREIGN KEY ("pipeline_run_id") REFERENCES "public"."pipeline_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_feature_view_id_feature_views_id_fk" FOREIGN KEY ("feature_view_id") REFERENCES "public"."feature_views"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_training_dataset_id_training_datasets_id_fk" FOREIGN KEY ("training_dataset_id") REFERENCES "public"."training_datasets"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_training_run_id_training_runs_id_fk" FOREIGN KEY ("training_run_id") REFERENCES "public"."training_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_run_metrics" ADD CONSTRAINT "training_run_metrics_training_run_id_training_runs_id_fk" FOREIGN KEY ("training_run_id") REFERENCES "public"."training_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_runs" ADD CONSTRAINT "training_runs_training_dataset_id_training_datasets_id_fk" FOREIGN KEY ("training_dataset_id") REFERENCES "public"."training_datasets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_runs" ADD CONSTRAINT "training_runs_pipeline_run_id_pipeline_runs_id_fk" FOREIGN KEY ("pipeline_run_id") REFERENCES "public"."pipeline_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_bindings" ADD CONSTRAINT "deployment_bindings_deployment_version_id_deployment_versions_id_fk" FOREIGN KEY ("deployment_version_id") REFERENCES "public"."deployment_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_bindings" ADD CONSTRAINT "deployment_bindings_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_bindings" ADD CONSTRAINT "deployment_bindings_feature_view_id_feature_views_id_fk" FOREIGN KEY ("feature_view_id") REFERENCES "public"."feature_views"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_bindings" ADD CONSTRAINT "deployment_bindings_training_dataset_id_training_datasets_id_fk" FOREIGN KEY ("training_dataset_id") REFERENCES "public"."training_datasets"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_versions" ADD CONSTRAINT "deployment_versions_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_versions" ADD CONSTRAINT "deployment_versions_pipeline_run_id_pipeline_runs_id_fk" FOREIGN KEY ("pipeline_run_id") REFERENCES "public"."pipeline_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_current_version_id_deployment_versions_id_fk" FOREIGN KEY ("current_version_id") REFERENCES "public"."deployment_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction_batches" ADD CONSTRAINT "prediction_batches_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction_batches" ADD CONSTRAINT "prediction_batches_deployment_version_id_deployment_versions_id_fk" FOREIGN KEY ("deployment_version_id") REFERENCES "public"."deployment_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction_batches" ADD CONSTRAINT "prediction_batches_pipeline_run_id_pipeline_runs_id_fk" FOREIGN KEY ("pipeline_run_id") REFERENCES "public"."pipeline_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "pipeline_runs_workflow_run_uq" ON "pipeline_runs" USING btree ("workflow_id","run_id");--> statement-breakpoint
CREATE INDEX "pipeline_runs_pipeline_name_idx" ON "pipeline_runs" USING btree ("pipeline","name","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "platform_checks_workflow_queue_uq" ON "platform_checks" USING btree ("workflow_id","task_queue");--> statement-breakpoint
CREATE UNIQUE INDEX "fg_commits_idempotency_uq" ON "feature_group_commits" USING btree ("feature_group_id","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "fg_commits_instant_uq" ON "feature_group_commits" USING btree ("feature_group_id","instant");--> statement-breakpoint
CREATE INDEX "fg_commits_state_idx" ON "feature_group_commits" USING btree ("feature_group_id","state","instant");--> statement-breakpoint
CREATE UNIQUE INDEX "feature_groups_name_version_uq" ON "feature_groups" USING btree ("name","version");--> statement-breakpoint
CREATE UNIQUE INDEX "feature_statistics_commit_uq" ON "feature_statistics" USING btree ("commit_id");--> statement-breakpoint
CREATE INDEX "validation_reports_fg_idx" ON "validation_reports" USING btree ("feature_group_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "feature_views_name_version_uq" ON "feature_views" USING btree ("name","version");--> statement-breakpoint
CREATE UNIQUE INDEX "training_datasets_view_version_uq" ON "training_datasets" USING btree ("feature_view_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "training_datasets_idempotency_uq" ON "training_datasets" USING btree ("feature_view_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "model_alias_history_idx" ON "model_alias_history" USING btree ("model_id","alias","changed_at");--> statement-breakpoint
CREATE UNIQUE INDEX "model_versions_model_version_uq" ON "model_versions" USING btree ("model_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "model_versions_idempotency_uq" ON "model_versions" USING btree ("model_id","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "models_name_uq" ON "models" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "training_runs_idempotency_uq" ON "training_runs" USING btree ("experiment","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash_uq" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "deployment_versions_uq" ON "deployment_versions" USING btree ("deployment_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "deployments_name_uq" ON "deployments" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "prediction_batches_window_uq" ON "prediction_batches" USING btree ("deployment_id","sink","window_start","window_end");