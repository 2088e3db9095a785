-- Live updates across instances. Every committed change the dashboard shows is announced on the
-- channel deploytrack_changes by these triggers, inside the writing transaction (PostgreSQL
-- delivers a notification when, and only if, that transaction commits), whichever instance,
-- import or script made it. Each instance LISTENs and forwards what it hears to its live feeds.
-- Payloads stay tiny: 'deployment <id>' when a statement recorded or retracted one deployment,
-- 'refresh' for everything else (bulk imports, catalogue changes, a rebuilt current state).
CREATE FUNCTION announce_deployments() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed BIGINT;
    only_id UUID;
BEGIN
    SELECT count(*) INTO changed FROM changed_rows;
    IF changed = 1 THEN
        SELECT id INTO only_id FROM changed_rows;
        PERFORM pg_notify('deploytrack_changes', 'deployment ' || only_id::text);
    ELSIF changed > 1 THEN
        PERFORM pg_notify('deploytrack_changes', 'refresh');
    END IF;
    RETURN NULL;
END
$$;

-- A trigger with a transition table takes one event, hence two.
CREATE TRIGGER deployment_recorded_announced AFTER INSERT ON deployment
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION announce_deployments();
CREATE TRIGGER deployment_retracted_announced AFTER UPDATE ON deployment
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION announce_deployments();

CREATE FUNCTION announce_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('deploytrack_changes', 'refresh');
    RETURN NULL;
END
$$;

CREATE TRIGGER application_change_announced AFTER INSERT OR UPDATE OR DELETE ON application
    FOR EACH STATEMENT EXECUTE FUNCTION announce_refresh();
CREATE TRIGGER environment_change_announced AFTER INSERT OR UPDATE OR DELETE ON environment
    FOR EACH STATEMENT EXECUTE FUNCTION announce_refresh();
CREATE TRIGGER current_state_rebuild_announced AFTER DELETE OR TRUNCATE ON current_deployment
    FOR EACH STATEMENT EXECUTE FUNCTION announce_refresh();
