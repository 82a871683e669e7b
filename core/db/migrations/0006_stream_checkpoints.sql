CREATE TABLE "stream_checkpoints" (
	"pipeline" text NOT NULL,
	"partition" integer NOT NULL,
	"partitions" integer NOT NULL,
	"generation" text DEFAULT md5(random()::text || clock_timestamp()::text) NOT NULL,
	"epoch" bigint DEFAULT 0 NOT NULL,
	"position" bigint DEFAULT 0 NOT NULL,
	"state" "bytea",
	"stats" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_commit_id" bigint,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stream_checkpoints_pipeline_partition_pk" PRIMARY KEY("pipeline","partition"),
	CONSTRAINT "stream_checkpoints_partition_ck" CHECK ("stream_checkpoints"."partition" >= 0 AND "stream_checkpoints"."partition" < "stream_checkpoints"."partitions")
);
