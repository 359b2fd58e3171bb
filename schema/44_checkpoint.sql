-- 44_checkpoint.sql — leo_checkpoint: per symbol, the last price leo-alertd
-- has fully processed (every firing of every price change up to it is
-- committed), and leo_write_checkpoints(), by which the daemon's writer
-- records it in the transactions of its batches.
--
-- On start-up the daemon evaluates a symbol whose current price differs
-- from its checkpoint as one observed change from the checkpointed price to
-- the current one, so an edge firing (a crossing, entering or leaving a
-- range) observed but not committed before a crash is not lost; a rule
-- whose last firing is at or after the checkpoint's observation does not
-- fire on that change (it already fired for it), so nothing fires twice.
--
-- Several daemons on one database: the latest observation counts
-- (observed_us, the daemon's receive time of the price change, microseconds
-- since the epoch).  A daemon writes a checkpoint only once its own firings
-- up to it have committed, and every daemon evaluates every rule, so the
-- most advanced checkpoint is safe for all; the claims (trigger_count) keep
-- the others' late firings of the same changes from being written twice.
-- The table holds market data, no tenant's rows: it has no tenant_id and no
-- row-level security.

SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS leo_checkpoint (
	symbol text PRIMARY KEY,
	price numeric NOT NULL,
	change_percent numeric,
	observed_us bigint NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE leo_checkpoint IS
	'Per symbol, the last price leo-alertd fully processed (its firings committed); start-up replays the change from it to the current price.';
CREATE OR REPLACE TRIGGER leo_checkpoint_update_timestamp BEFORE UPDATE ON leo_checkpoint
	FOR EACH ROW EXECUTE FUNCTION update_timestamp();

-- Record checkpoints, one element per symbol; an older observation than the
-- one stored changes nothing.
CREATE OR REPLACE FUNCTION leo_write_checkpoints(p_symbol text[], p_price numeric[],
	p_chg numeric[], p_observed_us bigint[])
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, public
AS $$
	INSERT INTO leo_checkpoint AS c (symbol, price, change_percent, observed_us)
	SELECT * FROM unnest(p_symbol, p_price, p_chg, p_observed_us)
	ON CONFLICT (symbol) DO UPDATE SET price = excluded.price,
		change_percent = excluded.change_percent, observed_us = excluded.observed_us
	 WHERE c.observed_us < excluded.observed_us
$$;
REVOKE ALL ON FUNCTION leo_write_checkpoints(text[], numeric[], numeric[], bigint[]) FROM PUBLIC;
