-- 10_types.sql — enumerated types shared by the tables and the daemon.
--
-- CREATE TYPE has no IF NOT EXISTS: each type is created only when missing,
-- so applying the schema again changes nothing.

SET client_min_messages = warning;

DO $$
DECLARE
	t record;
BEGIN
	FOR t IN
		SELECT * FROM (VALUES
			('alert_source', ARRAY['USER_MANUAL', 'AI_AGENT']),
			('rule_status', ARRAY['ACTIVE', 'TRIGGERED', 'PAUSED', 'EXPIRED']),
			('leo_channel', ARRAY['email', 'sms', 'zalo_oa', 'web_push', 'whatsapp']),
			('trigger_mode', ARRAY['ONCE', 'REARM']),
			-- GDPR Art. 6(1) (a) to (f)
			('consent_legal_basis', ARRAY['consent', 'contract', 'legal_obligation',
				'vital_interests', 'public_task', 'legitimate_interests']),
			('delivery_status', ARRAY['queued', 'sent', 'delivered', 'failed'])
		) AS v(name, labels)
	LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_type
			       WHERE typname = t.name AND typnamespace = 'public'::regnamespace) THEN
			EXECUTE format('CREATE TYPE public.%I AS ENUM (%s)', t.name,
				(SELECT string_agg(quote_literal(l), ', ' ORDER BY o)
				 FROM unnest(t.labels) WITH ORDINALITY AS u(l, o)));
		END IF;
	END LOOP;
END
$$;

COMMENT ON TYPE alert_source IS 'Who created an alert rule.';
COMMENT ON TYPE rule_status IS 'Life cycle of an alert rule; only ACTIVE rules are evaluated.';
COMMENT ON TYPE leo_channel IS 'Delivery channels of rules, templates and consent.';
COMMENT ON TYPE trigger_mode IS 'ONCE: fire once, then TRIGGERED; REARM: fire again after re-arming.';
COMMENT ON TYPE consent_legal_basis IS 'Lawful bases of GDPR Art. 6(1).';
COMMENT ON TYPE delivery_status IS 'queued -> sent -> delivered; queued or sent -> failed.';
