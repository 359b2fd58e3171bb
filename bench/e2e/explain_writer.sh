#!/usr/bin/env bash
# EXPLAIN (ANALYZE, BUFFERS) of leo-alertd's batch statement, exactly as the
# writer sends it (its text is taken from src/alertd/wsql.c; prepared, with a
# generic plan as the writer runs it), and through auto_explain the plan of
# leo_write_firings()' statement inside it, on a batch of ROWS
# firings of ACTIVE ONCE rules of the tenant that has the most, run as
# leo_daemon under that tenant (so row-level security applies) inside a
# transaction that is rolled back: nothing changes.  A first, unmeasured run
# warms the session (PL/pgSQL compiled, catalogs cached) like a daemon
# connection that has been writing for a while.
#
#   bench/e2e/explain_writer.sh DB ROWS
set -euo pipefail

db=${1:?usage: explain_writer.sh DB ROWS}
rows=${2:?usage: explain_writer.sh DB ROWS}
top=$(cd "$(dirname "$0")/../.." && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3

sql=$("$py" - "$top/src/alertd/wsql.c" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
i = s.index("static const char wsql_batch[] =")
j = s.index(";", i)
print("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', s[i:j])))
PY
)
tenant=$(psql -X -At -d "$db" -c "SELECT tenant_id FROM alert_rules
	WHERE status = 'ACTIVE' AND trigger_mode = 'ONCE' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
psql -X -q -v ON_ERROR_STOP=1 -v T="$tenant" -v N="$rows" -d "$db" <<SQL
PREPARE w AS $sql;
SELECT array_agg(o ORDER BY o)::text AS ords, array_agg(rule_id ORDER BY o)::text AS ids,
       array_agg(trigger_count + 1 ORDER BY o)::text AS seqs,
       array_agg((extract(epoch FROM now()) * 1e6)::bigint ORDER BY o)::text AS ats,
       array_agg('F'::text ORDER BY o)::text AS kinds,
       array_agg(p ORDER BY o)::text AS prevs, array_agg(p * 1.03 ORDER BY o)::text AS curs,
       array_agg(0::numeric ORDER BY o)::text AS chgs
  FROM (SELECT row_number() OVER () - 1 AS o, r.rule_id, r.trigger_count, m.price AS p
	  FROM alert_rules r JOIN market_snapshot m ON m.symbol = r.symbol
	 WHERE r.status = 'ACTIVE' AND r.tenant_id = :'T' AND r.trigger_mode = 'ONCE'
	 LIMIT :N) x \gset
-- once to warm the session's caches (PL/pgSQL compiles on first call, as
-- on a daemon connection long ago), then measured
BEGIN;
SET LOCAL ROLE leo_daemon;
SELECT set_config('app.current_tenant_id', :'T', true), set_config('leo.writer', 'on', true), set_config('plan_cache_mode', 'force_generic_plan', true) \g /dev/null
EXECUTE w(:'T', :'ords', :'ids', :'seqs', :'ats', :'kinds', :'prevs', :'curs', :'chgs', :'chgs') \g /dev/null
ROLLBACK;
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_nested_statements = on;
SET client_min_messages = log;
BEGIN;
SET LOCAL ROLE leo_daemon;
SELECT set_config('app.current_tenant_id', :'T', true), set_config('leo.writer', 'on', true), set_config('plan_cache_mode', 'force_generic_plan', true) \g /dev/null
EXPLAIN (ANALYZE, BUFFERS, COSTS off)
	EXECUTE w(:'T', :'ords', :'ids', :'seqs', :'ats', :'kinds', :'prevs', :'curs', :'chgs', :'chgs');
ROLLBACK;
SQL
