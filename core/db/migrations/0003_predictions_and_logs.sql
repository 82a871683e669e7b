CREATE TABLE "prediction_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"deployment" text NOT NULL,
	"deployment_version" integer NOT NULL,
	"variant" text NOT NULL,
	"model_version" integer NOT NULL,
	"shadow" boolean DEFAULT false NOT NULL,
	"request_id" text NOT NULL,
	"entity" jsonb NOT NULL,
	"features" jsonb NOT NULL,
	"prediction" jsonb NOT NULL,
	"latency_ms" double precision,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "predictions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"deployment_id" bigint NOT NULL,
	"deployment_version" integer NOT NULL,
	"variant" text NOT NULL,
	"model_version" integer NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"entity" jsonb NOT NULL,
	"event_time" timestamp with time zone,
	"score" double precision,
	"label" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "prediction_logs_deployment_idx" ON "prediction_logs" USING btree ("deployment","created_at");--> statement-breakpoint
CREATE INDEX "predictions_window_idx" ON "predictions" USING btree ("deployment_id","window_start","window_end");