-- peer_poll.sql — peer 2 of the benchmark: a polling worker.  run.sh applies
-- the setup part once; pgbench runs poll_once.sql every 100 ms.  Benchmark
-- only; never part of schema/.
--
-- bench_poll_state holds the price each symbol had at the previous poll, so
-- the poll sees the same crossings the daemon does (between the last price
-- it saw and the current one).  Same index as peer 1; runs as superuser.
SET client_min_messages = warning;

CREATE INDEX IF NOT EXISTS bench_rules_threshold_idx
	ON alert_rules (symbol, ((condition_logic->>'value')::numeric))
	WHERE status = 'ACTIVE';
CREATE TABLE IF NOT EXISTS bench_poll_state (symbol text PRIMARY KEY, price numeric);
INSERT INTO bench_poll_state SELECT symbol, price FROM market_snapshot
ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price;
ALTER TABLE market_snapshot DISABLE TRIGGER market_snapshot_notify_insert;
ALTER TABLE market_snapshot DISABLE TRIGGER market_snapshot_notify_update;
ANALYZE bench_poll_state;
