-- A record keeps its pair's current row up to date in the statement that claims the row: it
-- compares itself with the latest deployment and with the one before it, as the row has them,
-- instead of reading the pair's history again in a statement of its own. For that the row keeps
-- the history key (date, created, id) of the deployment before the latest, beside its version.
ALTER TABLE current_deployment ADD COLUMN previous_deployment_date TEXT;
ALTER TABLE current_deployment ADD COLUMN previous_created_at TEXT;
ALTER TABLE current_deployment ADD COLUMN previous_deployment_id TEXT;

UPDATE current_deployment
   SET (previous_deployment_date, previous_created_at, previous_deployment_id) =
       (SELECT p.deployment_date, p.created_at, p.id
          FROM deployment p
         WHERE p.application_id = current_deployment.application_id
           AND p.environment_id = current_deployment.environment_id
           AND p.deleted_at IS NULL
           AND p.deployment_date <= current_deployment.deployment_date
           AND (p.deployment_date, p.created_at, p.id)
               < (current_deployment.deployment_date, current_deployment.created_at,
                  current_deployment.deployment_id)
         ORDER BY p.deployment_date DESC, p.created_at DESC, p.id DESC
         LIMIT 1);
