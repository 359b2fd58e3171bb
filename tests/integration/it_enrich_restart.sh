#!/usr/bin/env bash
# it_enrich_restart: PostgreSQL restarted under leo-enrich (RUN_SERIAL: it
# restarts the shared cluster).  Jobs queued while the server was away (their
# NOTIFY lost with it) are done once the worker is back on a new connection;
# the reconnect is counted; the LISTEN connection comes back, so a change is
# again embedded at once; no job is left running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_enrich.sh"
: "${LEO_PGDIR:?LEO_PGDIR must name the throwaway cluster directory}"
A=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa

it_newdb
it_tenant $A A
it_sql -c "INSERT INTO cdp_profiles (tenant_id, profile_id, job_titles) SELECT '$A', 'p' || i, '[\"Analyst\"]' FROM generate_series(1, 20) i"
enrich_config r "poll_interval_s: 1"
enrich_start r
it_wait "SELECT count(*) = 20 FROM embedding_job WHERE status = 'done'"
it_ok "20 jobs done before the restart"

"$it_top/scripts/pgtmp.sh" restart "$LEO_PGDIR" >/dev/null
it_sql -c "INSERT INTO cdp_profiles (tenant_id, profile_id, job_titles) SELECT '$A', 'q' || i, '[\"Trader\"]' FROM generate_series(1, 20) i"
it_wait "SELECT count(*) = 40 FROM embedding_job WHERE status = 'done'" 30
it_ok "jobs queued across the restart are done"
[ "$(it_metric leo_db_reconnects_total)" -ge 1 ] || it_fail "leo_db_reconnects_total not counted"
it_ok "reconnect counted"
it_wait_log r "listening on leo_enrich again" 10

# NOTIFY works again: with a poll tick of a minute, only it can wake the worker
it_stop r
enrich_config r2 "poll_interval_s: 60"
enrich_start r2
it_sql -c "UPDATE cdp_profiles SET job_titles = '[\"Nurse\"]' WHERE tenant_id = '$A' AND profile_id = 'p1'"
it_wait "SELECT count(*) = 41 FROM embedding_job WHERE status = 'done'" 5
it_ok "a change is embedded on NOTIFY"
it_eq "$(it_sql -c "SELECT count(*) FROM embedding_job WHERE status <> 'done'")" 0 "every job done, none running"
it_stop r2
it_eq "$(grep -cvE '^[0-9-]{10}T[0-9:.]{12}Z (debug|info|warn|error) \[[^]]+\] ' "$it_tmp/daemon-r.log")" \
	0 "log lines not in the log's format"
echo "it_enrich_restart: all ok"
