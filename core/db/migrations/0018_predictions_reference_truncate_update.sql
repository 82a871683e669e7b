-- The rest of what the foreign key from predictions to deployments did (0017 replaced it with
-- statement-level triggers): TRUNCATE of deployments takes predictions with it, an UPDATE of a
-- referenced deployments.id is refused, and the trigger functions resolve names in public only.
ALTER FUNCTION fti_predictions_check_deployment() SET search_path = public, pg_temp;
--> statement-breakpoint
ALTER FUNCTION fti_deployments_delete_predictions() SET search_path = public, pg_temp;
--> statement-breakpoint
CREATE FUNCTION fti_deployments_truncate_predictions() RETURNS trigger LANGUAGE plpgsql
  SET search_path = public, pg_temp AS $$
BEGIN
  TRUNCATE predictions;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER deployments_truncate_predictions BEFORE TRUNCATE ON deployments
  FOR EACH STATEMENT EXECUTE FUNCTION fti_deployments_truncate_predictions();
--> statement-breakpoint
CREATE FUNCTION fti_deployments_refuse_id_change() RETURNS trigger LANGUAGE plpgsql
  SET search_path = public, pg_temp AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM fti_old_rows o
    WHERE NOT EXISTS (SELECT 1 FROM deployments d WHERE d.id = o.id)
      AND EXISTS (SELECT 1 FROM predictions p WHERE p.deployment_id = o.id)
  ) THEN
    RAISE EXCEPTION 'update on table "deployments" would orphan rows of "predictions"'
      USING ERRCODE = 'foreign_key_violation',
            DETAIL = 'predictions.deployment_id still names the old id.';
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER deployments_refuse_id_change AFTER UPDATE ON deployments
  REFERENCING OLD TABLE AS fti_old_rows FOR EACH STATEMENT EXECUTE FUNCTION fti_deployments_refuse_id_change();
