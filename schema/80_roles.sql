-- 80_roles.sql — leo_alertd: the privileges leo-alertd needs and nothing
-- more.  A NOLOGIN template: deployments grant it to the daemon's login role.
-- Not a superuser, not an owner, no BYPASSRLS, so row-level security holds.
--
-- Roles are cluster-wide: the role is created once, the grants per database.

SET client_min_messages = warning;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'leo_alertd') THEN
		CREATE ROLE leo_alertd NOLOGIN;
	END IF;
END
$$;
ALTER ROLE leo_alertd NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE leo_alertd IS 'Privileges of the leo-alertd daemon; grant to its login role.';

GRANT USAGE ON SCHEMA public TO leo_alertd;
GRANT SELECT ON market_snapshot, news_feed, alert_rules, consent_management, instruments,
	leo_notify_key TO leo_alertd;
GRANT UPDATE (status, trigger_count, last_triggered_at, updated_at) ON alert_rules TO leo_alertd;
GRANT SELECT, INSERT ON delivery_log, agent_task TO leo_alertd;
GRANT USAGE ON SEQUENCE delivery_log_delivery_id_seq TO leo_alertd;
GRANT EXECUTE ON FUNCTION leo_active_tenants() TO leo_alertd;
GRANT SELECT ON leo_reason TO leo_alertd;
GRANT EXECUTE ON FUNCTION leo_write_firings(uuid, integer[], text[], bigint[], bigint[], text[],
	numeric[], numeric[], numeric[], numeric[]), leo_expire_rules(text[]) TO leo_alertd;
-- the checkpoints (44_checkpoint.sql): read at start-up, written by the writer
GRANT SELECT, INSERT, UPDATE ON leo_checkpoint TO leo_alertd;
GRANT EXECUTE ON FUNCTION leo_write_checkpoints(text[], numeric[], numeric[], bigint[])
	TO leo_alertd;

-- leo_deliver: the privileges leo-deliver needs (its functions are in
-- 46_deliver.sql and run as the caller, so RLS holds for each row).
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'leo_deliver') THEN
		CREATE ROLE leo_deliver NOLOGIN;
	END IF;
END
$$;
ALTER ROLE leo_deliver NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE leo_deliver IS 'Privileges of the leo-deliver sender; grant to its login role.';

GRANT USAGE ON SCHEMA public TO leo_deliver;
GRANT SELECT ON tenant, cdp_profiles, consent_management, alert_rules, message_templates,
	agent_task, news_feed TO leo_deliver;
GRANT SELECT ON delivery_log TO leo_deliver;
GRANT UPDATE (delivery_status, provider_response, updated_at) ON delivery_log TO leo_deliver;
GRANT SELECT, INSERT, UPDATE, DELETE ON delivery_work TO leo_deliver;
GRANT SELECT, INSERT ON delivery_attempt TO leo_deliver;
GRANT EXECUTE ON FUNCTION leo_active_tenants() TO leo_deliver;
GRANT EXECUTE ON FUNCTION leo_deliver_claim(text, integer, integer, bigint[], leo_channel),
	leo_deliver_record(text, bigint, integer, timestamptz, timestamptz, text, integer, text,
		text, timestamptz, jsonb),
	leo_deliver_record_many(text, bigint[], integer[], timestamptz[], timestamptz[], text[],
		integer[], text[], text[], timestamptz[], jsonb[]),
	leo_deliver_release(text, bigint[]), leo_deliver_receipt(bigint, delivery_status, jsonb),
	leo_deliver_backlog() TO leo_deliver;

-- leo_enrich: the privileges leo-enrich needs (its functions are in
-- 47_enrich.sql and run as the caller, so RLS holds for each row).  It reads
-- what a profile's document is made of, and writes only the embedding
-- columns and its queue's working columns.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'leo_enrich') THEN
		CREATE ROLE leo_enrich NOLOGIN;
	END IF;
END
$$;
ALTER ROLE leo_enrich NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE leo_enrich IS 'Privileges of the leo-enrich worker; grant to its login role.';

GRANT USAGE ON SCHEMA public TO leo_enrich;
GRANT SELECT ON cdp_profiles, behavioral_events, alert_rules, campaign, news_feed,
	embedding_job TO leo_enrich;
GRANT UPDATE (interest_embedding, updated_at) ON cdp_profiles TO leo_enrich;
GRANT UPDATE (content_embedding, updated_at) ON news_feed TO leo_enrich;
GRANT UPDATE (status, attempts, last_error, run_after, lease_owner, lease_until, updated_at)
	ON embedding_job TO leo_enrich;
GRANT EXECUTE ON FUNCTION leo_active_tenants() TO leo_enrich;
GRANT EXECUTE ON FUNCTION leo_enrich_claim(text, integer, integer, integer, integer),
	leo_enrich_done(text, uuid, bigint, real[]),
	leo_enrich_done_many(text, uuid, bigint[], real[]),
	leo_enrich_fail(text, uuid, bigint, text, boolean, double precision, integer),
	leo_enrich_news_pick(bigint, integer), leo_enrich_news_done(bigint, real[]),
	leo_enrich_backlog() TO leo_enrich;
