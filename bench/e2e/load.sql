-- load.sql — the benchmark's data set (run.sh applies it once per rule
-- count, to a database that has the schema, then clones that database for
-- every measurement so they all see the same data).
--
--   psql -v nrules=N -f load.sql
--
-- 1,000 symbols S0001..S1000 by Zipf rank, base price p0 (bench_base).  10
-- active tenants; N/10 profiles spread over them (round robin); email
-- consent granted for 95% of profiles (every profile number not divisible
-- by 20).  N rules, Zipf(s=1) over the symbols (symbol of rank k gets
-- N * (1/k) / H(1000) of them), each a crossing at a threshold p0 * (1 +/- x)
-- with x uniform in [0.2%, 2%]: crosses_above above p0, crosses_below below
-- it.  So prices that stay within +/-0.2% of p0 never fire them, and moving
-- a symbol to p0 * 1.021 fires all of its crosses_above rules (the storm).
-- Plus one probe rule per symbol, REARM "crosses" at exactly p0, which fires
-- on every tick that moves to the other side of p0 (latency measurement).
--
-- Bulk insert with session_replication_role = replica: no row triggers
-- (rule_id is given, computed with the schema's own formula, and nobody
-- listens yet), no FK triggers.  CHECK constraints still run, so every rule
-- passes leo_condition_check().
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET session_replication_role = replica;

CREATE TABLE bench_base (
	rank integer PRIMARY KEY,
	symbol text NOT NULL UNIQUE,
	p0 numeric NOT NULL
);
INSERT INTO bench_base
SELECT k, 'S' || lpad(k::text, 4, '0'),
       round((20 + (k * 7919 % 480) + (k % 97) / 97.0)::numeric, 2)
  FROM generate_series(1, 1000) k;

INSERT INTO market_snapshot (symbol, price, change_percent)
SELECT symbol, p0, 0 FROM bench_base;

CREATE TABLE bench_tenant (n integer PRIMARY KEY, tenant_id uuid NOT NULL);
INSERT INTO bench_tenant
SELECT t, ('00000000-0000-4000-8000-' || lpad(t::text, 12, '0'))::uuid
  FROM generate_series(0, 9) t;
INSERT INTO tenant (tenant_id, tenant_name, status)
SELECT tenant_id, 'bench tenant ' || n, 'active' FROM bench_tenant;

SELECT greatest(:nrules / 10, 100) AS nprofiles \gset
INSERT INTO cdp_profiles (tenant_id, profile_id)
SELECT t.tenant_id, 'p' || p
  FROM generate_series(0, :nprofiles - 1) p
  JOIN bench_tenant t ON t.n = p % 10;

INSERT INTO consent_management (tenant_id, profile_id, channel, status, legal_basis,
				source, granted_at)
SELECT t.tenant_id, 'p' || p, 'email', 'granted', 'consent', 'bench', now() - interval '1 day'
  FROM generate_series(0, :nprofiles - 1) p
  JOIN bench_tenant t ON t.n = p % 10
 WHERE p % 20 <> 0;

-- Main rules.
INSERT INTO alert_rules (rule_id, tenant_id, profile_id, symbol, condition_logic, channel)
SELECT encode(digest(t.tenant_id::text || E'\x1f' || 'p' || r.p || E'\x1f' || r.symbol
		     || E'\x1f' || r.logic::text, 'sha256'), 'hex'),
       t.tenant_id, 'p' || r.p, r.symbol, r.logic, 'email'
  FROM (SELECT b.symbol, (b.rank::bigint * 1000003 + i) % :nprofiles AS p,
	       jsonb_build_object('operator', CASE WHEN s > 0 THEN 'crosses_above'
						   ELSE 'crosses_below' END,
				  'value', round(b.p0 * (1 + s * (0.002 + 0.018 * random()::numeric)), 4))
		 AS logic
	  FROM bench_base b
	  CROSS JOIN LATERAL generate_series(1, greatest(1, round(:nrules * (1.0 / b.rank)
		/ (SELECT sum(1.0 / k) FROM generate_series(1, 1000) k)))::integer) i
	  CROSS JOIN LATERAL (SELECT CASE WHEN random() < 0.5 THEN -1 ELSE 1 END
				     + 0 * i AS s) sg) r
  JOIN bench_tenant t ON t.n = r.p % 10
ON CONFLICT (rule_id) DO NOTHING;

-- Probe rules: REARM crossings of p0, on a consenting profile.
INSERT INTO alert_rules (rule_id, tenant_id, profile_id, symbol, condition_logic,
			 channel, trigger_mode)
SELECT encode(digest(t.tenant_id::text || E'\x1f' || 'p' || r.p || E'\x1f' || r.symbol
		     || E'\x1f' || r.logic::text, 'sha256'), 'hex'),
       t.tenant_id, 'p' || r.p, r.symbol, r.logic, 'email', 'REARM'
  FROM (SELECT b.symbol, (b.rank * 20 + 1) % :nprofiles AS p,
	       jsonb_build_object('operator', 'crosses', 'value', b.p0) AS logic
	  FROM bench_base b) r
  JOIN bench_tenant t ON t.n = r.p % 10
ON CONFLICT (rule_id) DO NOTHING;

RESET session_replication_role;
ANALYZE;
