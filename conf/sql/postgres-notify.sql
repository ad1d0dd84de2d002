-- PostgreSQL triggers that tell tacws when the queue, the history or the planned
-- features change, so the feeds refresh at once instead of at their next interval.
-- Install after schema.sql:
--   psql -d tacws -f conf/sql/postgres-notify.sql
-- and enable in tacws.ini:
--   [feed.queue]             listen_channel = tacws_queue
--   [feed.workflow-history]  listen_channel = tacws_history
--   [feed.planned-features]  listen_channel = tacws_planned_features
-- The payload is "<table>:<INSERT|UPDATE|DELETE|TRUNCATE>"; tacws only needs the wake-up.
-- pg_notify inside a transaction is delivered at COMMIT, once per distinct payload.
-- Safe to run again: it replaces what it created.

CREATE OR REPLACE FUNCTION tacws_notify_queue() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('tacws_queue', TG_TABLE_NAME || ':' || TG_OP);
	RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION tacws_notify_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('tacws_history', TG_TABLE_NAME || ':' || TG_OP);
	RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION tacws_notify_planned_features() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('tacws_planned_features', TG_TABLE_NAME || ':' || TG_OP);
	RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS tacws_notify ON phase_queue;
CREATE TRIGGER tacws_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON phase_queue
	FOR EACH STATEMENT EXECUTE FUNCTION tacws_notify_queue();

DROP TRIGGER IF EXISTS tacws_notify ON queue_config;
CREATE TRIGGER tacws_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON queue_config
	FOR EACH STATEMENT EXECUTE FUNCTION tacws_notify_queue();

DROP TRIGGER IF EXISTS tacws_notify ON workflow_history;
CREATE TRIGGER tacws_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON workflow_history
	FOR EACH STATEMENT EXECUTE FUNCTION tacws_notify_history();

DROP TRIGGER IF EXISTS tacws_notify ON planned_features;
CREATE TRIGGER tacws_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON planned_features
	FOR EACH STATEMENT EXECUTE FUNCTION tacws_notify_planned_features();
