-- Lets the planner go from a deployment to its current-state row (and back) by index: without
-- it, filtered current-state reads scanned current_deployment once per deployment.
CREATE UNIQUE INDEX ux_current_deployment_deployment ON current_deployment (deployment_id);
