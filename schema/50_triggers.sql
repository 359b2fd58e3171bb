-- 50_triggers.sql — the behaviour the schema enforces itself (SPEC section 2)
-- and the notifications the daemon listens to.
--
-- CREATE OR REPLACE TRIGGER keeps a re-apply a no-op.  BEFORE triggers of one
-- table fire in name order.

SET client_min_messages = warning;

-- updated_at on every mutable table (alert_rules: below).
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['tenant', 'cdp_profiles', 'campaign', 'marketing_event',
				 'message_templates', 'instruments', 'market_snapshot',
				 'news_feed', 'delivery_log',
				 'consent_management', 'embedding_job', 'leo_notify_key',
				 'delivery_work'] LOOP
		EXECUTE format('CREATE OR REPLACE TRIGGER %I BEFORE UPDATE ON public.%I '
			       'FOR EACH ROW EXECUTE FUNCTION update_timestamp()',
			       t || '_update_timestamp', t);
	END LOOP;
END
$$;

CREATE OR REPLACE TRIGGER prevent_snapshot_removal
	BEFORE UPDATE OF segment_snapshots ON cdp_profiles
	FOR EACH ROW EXECUTE FUNCTION prevent_snapshot_removal();

CREATE OR REPLACE TRIGGER cdp_profiles_queue_embedding_job
	AFTER INSERT ON cdp_profiles
	REFERENCING NEW TABLE AS leo_new_profiles
	FOR EACH STATEMENT EXECUTE FUNCTION leo_queue_embedding_job();

-- The daemon's claims (UPDATEs of counters and status) must not enter
-- PL/pgSQL at all: a WHEN clause is evaluated without calling the function.
-- So condition_logic is validated on UPDATE only when it changed, and the
-- daemon's own writes (leo.writer = on, local to its transactions) neither
-- call update_timestamp() (they set updated_at themselves) nor notify.
CREATE OR REPLACE TRIGGER alert_rules_before
	BEFORE INSERT ON alert_rules
	FOR EACH ROW EXECUTE FUNCTION leo_rule_before();
CREATE OR REPLACE TRIGGER alert_rules_before_update
	BEFORE UPDATE ON alert_rules
	FOR EACH ROW WHEN (NEW.condition_logic IS DISTINCT FROM OLD.condition_logic)
	EXECUTE FUNCTION leo_rule_before();
CREATE OR REPLACE TRIGGER alert_rules_update_timestamp
	BEFORE UPDATE ON alert_rules
	FOR EACH ROW WHEN (current_setting('leo.writer', true) IS DISTINCT FROM 'on')
	EXECUTE FUNCTION update_timestamp();

-- Append-only trails.
CREATE OR REPLACE TRIGGER delivery_log_guard
	BEFORE UPDATE OR DELETE ON delivery_log
	FOR EACH ROW EXECUTE FUNCTION delivery_log_guard();
CREATE OR REPLACE TRIGGER delivery_log_no_truncate
	BEFORE TRUNCATE ON delivery_log
	FOR EACH STATEMENT EXECUTE FUNCTION delivery_log_guard();
CREATE OR REPLACE TRIGGER agent_task_append_only
	BEFORE UPDATE OR DELETE ON agent_task
	FOR EACH ROW EXECUTE FUNCTION leo_append_only();
CREATE OR REPLACE TRIGGER agent_task_no_truncate
	BEFORE TRUNCATE ON agent_task
	FOR EACH STATEMENT EXECUTE FUNCTION leo_append_only();
CREATE OR REPLACE TRIGGER behavioral_events_append_only
	BEFORE UPDATE ON behavioral_events
	FOR EACH ROW EXECUTE FUNCTION leo_append_only();

-- Price changes for the daemon: one statement, a few notifications.
-- (Transition tables allow one event per trigger, hence two triggers.)
CREATE OR REPLACE TRIGGER market_snapshot_notify_insert
	AFTER INSERT ON market_snapshot
	REFERENCING NEW TABLE AS leo_new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION leo_market_notify();
CREATE OR REPLACE TRIGGER market_snapshot_notify_update
	AFTER UPDATE ON market_snapshot
	REFERENCING OLD TABLE AS leo_old_rows NEW TABLE AS leo_new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION leo_market_notify();

-- Control changes for the daemon.
CREATE OR REPLACE TRIGGER alert_rules_notify
	AFTER INSERT OR UPDATE OR DELETE ON alert_rules
	FOR EACH ROW WHEN (current_setting('leo.writer', true) IS DISTINCT FROM 'on')
	EXECUTE FUNCTION leo_rule_notify();
CREATE OR REPLACE TRIGGER consent_management_notify
	AFTER INSERT OR UPDATE OR DELETE ON consent_management
	FOR EACH ROW EXECUTE FUNCTION leo_consent_notify();
CREATE OR REPLACE TRIGGER tenant_notify
	AFTER INSERT OR UPDATE OR DELETE ON tenant
	FOR EACH ROW EXECUTE FUNCTION leo_tenant_notify();
