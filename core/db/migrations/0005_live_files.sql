CREATE TABLE "feature_group_live_files" (
	"feature_group_id" bigint NOT NULL,
	"key" text NOT NULL,
	"commit_id" bigint NOT NULL,
	"data_sequence" bigint NOT NULL,
	"rows" bigint NOT NULL,
	"bytes" bigint NOT NULL,
	"min_event_time_us" bigint,
	"max_event_time_us" bigint,
	CONSTRAINT "feature_group_live_files_feature_group_id_key_pk" PRIMARY KEY("feature_group_id","key")
);
--> statement-breakpoint
ALTER TABLE "feature_group_live_files" ADD CONSTRAINT "feature_group_live_files_feature_group_id_feature_groups_id_fk" FOREIGN KEY ("feature_group_id") REFERENCES "public"."feature_groups"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_group_live_files" ADD CONSTRAINT "feature_group_live_files_commit_id_feature_group_commits_id_fk" FOREIGN KEY ("commit_id") REFERENCES "public"."feature_group_commits"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- Backfill: the files of every completed commit that no completed commit replaced (file keys are
-- unique per commit attempt, so a replaced key never comes back).
INSERT INTO "feature_group_live_files"
  ("feature_group_id", "key", "commit_id", "data_sequence", "rows", "bytes", "min_event_time_us", "max_event_time_us")
SELECT c."feature_group_id", f->>'key', c."id", COALESCE((f->>'dataSequence')::bigint, c."sequence"),
       (f->>'rows')::bigint, (f->>'bytes')::bigint, (f->>'minEventTimeUs')::bigint, (f->>'maxEventTimeUs')::bigint
FROM "feature_group_commits" c, jsonb_array_elements(c."files") f
WHERE c."state" = 'completed' AND c."sequence" IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM "feature_group_commits" r
    WHERE r."feature_group_id" = c."feature_group_id" AND r."state" = 'completed' AND r."replaced_files" ? (f->>'key')
  )
ON CONFLICT DO NOTHING;
