-- No JIT for this application's sessions: every query here is short, and compiling one (~40 ms)
-- cost more than running it (the time-travel matrix's estimate crossed jit_above_cost on a fresh
-- database). It used to be a startup option of each connection, which a connection pooler such as
-- PgBouncer refuses; as a setting of this role in this database it needs no session state, and a
-- role may always set its own defaults.
DO $$
BEGIN
    EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I SET jit = off', current_database());
END
$$;
