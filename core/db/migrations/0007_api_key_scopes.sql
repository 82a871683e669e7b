-- Keys made before scopes could predict and push events: they keep exactly that. New keys default to predict only.
ALTER TABLE "api_keys" ADD COLUMN "scopes" text[] DEFAULT '{predict,push}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ALTER COLUMN "scopes" SET DEFAULT '{predict}'::text[];--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "deployments" text[];
