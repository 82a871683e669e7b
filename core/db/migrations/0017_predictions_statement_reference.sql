ALTER TABLE "predictions" DROP CONSTRAINT "predictions_deployment_id_deployments_id_fk";
--> statement-breakpoint
-- The reference from predictions to deployments, checked once per statement over the statement's
-- rows instead of once per row (batch inference inserts a window's rows in one statement).
-- Referenced deployments are locked FOR KEY SHARE, as a foreign key locks them, so a concurrent
-- delete waits for the insert to commit and then cascades to its rows.
CREATE FUNCTION fti_predictions_check_deployment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM deployments d WHERE d.id IN (SELECT DISTINCT n.deployment_id FROM fti_new_rows n) FOR KEY SHARE;
  IF EXISTS (SELECT 1 FROM fti_new_rows n WHERE NOT EXISTS (SELECT 1 FROM deployments d WHERE d.id = n.deployment_id)) THEN
    RAISE EXCEPTION 'insert or update on table "predictions" violates its reference to "deployments"'
      USING ERRCODE = 'foreign_key_violation',
            DETAIL = 'predictions.deployment_id must name an existing deployment.';
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER predictions_check_deployment_insert AFTER INSERT ON predictions
  REFERENCING NEW TABLE AS fti_new_rows FOR EACH STATEMENT EXECUTE FUNCTION fti_predictions_check_deployment();
--> statement-breakpoint
CREATE TRIGGER predictions_check_deployment_update AFTER UPDATE ON predictions
  REFERENCING NEW TABLE AS fti_new_rows FOR EACH STATEMENT EXECUTE FUNCTION fti_predictions_check_deployment();
--> statement-breakpoint
CREATE FUNCTION fti_deployments_delete_predictions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM predictions p USING fti_old_rows o WHERE p.deployment_id = o.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER deployments_delete_predictions AFTER DELETE ON deployments
  REFERENCING OLD TABLE AS fti_old_rows FOR EACH STATEMENT EXECUTE FUNCTION fti_deployments_delete_predictions();
