CREATE TABLE "prediction_labels" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"deployment" text NOT NULL,
	"entity" jsonb NOT NULL,
	"event_time" timestamp with time zone NOT NULL,
	"label" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "prediction_logs" ADD COLUMN "event_time" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "monitors" ADD COLUMN "label_delay_seconds" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "monitors" ADD COLUMN "label_tolerance_seconds" integer DEFAULT 60 NOT NULL;--> statement-breakpoint
ALTER TABLE "monitors" ADD COLUMN "slice_column" text;--> statement-breakpoint
CREATE UNIQUE INDEX "prediction_labels_entity_time_uq" ON "prediction_labels" USING btree ("deployment","entity","event_time");--> statement-breakpoint
CREATE INDEX "prediction_labels_time_idx" ON "prediction_labels" USING btree ("deployment","event_time");