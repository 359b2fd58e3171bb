#!/usr/bin/env bash
# Back-pressure does not silence the stats endpoint.  A session holds every
# alert_rules row locked, so the writers' claims wait; with queues of 16
# slots the writers' queues fill, then the workers', and the loop blocks
# handing on price changes (PostgreSQL queues the rest).  Meanwhile
# /healthz, /readyz and /metrics answer at once, and the workers'
# queue shows full.  Released, every firing is written exactly once.
. "$(dirname "$0")/lib.sh"
it_behind
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log")" 0 "nothing written while the rows are locked"
for path in healthz readyz; do
	code=$(python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=2).status)' "http://127.0.0.1:$it_port/$path")
	it_eq "$code" 200 "/$path answers while the loop is blocked"
done

it_caught_up
it_stop
