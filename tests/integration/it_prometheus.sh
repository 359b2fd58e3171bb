#!/usr/bin/env bash
# A real Prometheus server (Debian's prometheus) scrapes the daemon on
# loopback: its query API reports up == 1 for the target, and a non-zero
# leo_ticks_received_total once prices have moved.
. "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || it_fail "prometheus is not installed (scripts/packages-test.txt)"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_price ACME 10

it_config stats
it_start

pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$it_tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: leo-alertd
    static_configs:
      - targets: ["127.0.0.1:$it_port"]
YAML
prometheus --config.file="$it_tmp/prometheus.yml" --storage.tsdb.path="$it_tmp/tsdb" \
	--web.listen-address="127.0.0.1:$pport" >"$it_tmp/prometheus.log" 2>&1 &
it_pids[prom]=$!

# prom_value QUERY: the first sample's value of an instant query, or "".
prom_value() {
	python3 - "$pport" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
port, query = sys.argv[1], sys.argv[2]
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (port, urllib.parse.quote(query))
try:
    with urllib.request.urlopen(url, timeout=2) as r:
        res = json.load(r)["data"]["result"]
    print(res[0]["value"][1] if res else "")
except Exception:
    print("")
PY
}

# prom_wait QUERY EXPECTED WHAT: poll (up to 60 s) until the value is EXPECTED.
prom_wait() {
	local v t=120
	while [ $t -gt 0 ]; do
		v=$(prom_value "$1")
		[ "$v" = "$2" ] && { it_ok "$3"; return 0; }
		kill -0 "${it_pids[prom]}" 2>/dev/null ||
			{ cat "$it_tmp/prometheus.log" >&2; it_fail "prometheus exited"; }
		sleep 0.5
		t=$((t - 1))
	done
	tail -n 20 "$it_tmp/prometheus.log" >&2
	it_fail "$3: last value '$v', expected '$2'"
}

prom_wait 'up{job="leo-alertd"}' 1 "prometheus scrapes the daemon: up == 1"
for p in 11 12 13; do
	it_sql -c "UPDATE market_snapshot SET price = $p WHERE symbol = 'ACME'"
done
prom_wait 'leo_ticks_received_total > bool 0' 1 "leo_ticks_received_total is above zero"
prom_wait 'leo_build_info' 1 "leo_build_info is scraped"

# The suppression reasons the daemon counts are the schema's reason codes.
exported=$(python3 - "$it_port" <<'PY'
import re, sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
print(" ".join(sorted(set(re.findall(r'^leo_deliveries_suppressed_total\{reason="([a-z_]+)"\}', body, re.M)))))
PY
)
it_eq "$exported" "$(it_sql -c "SELECT string_agg(code, ' ' ORDER BY code COLLATE \"C\") FROM leo_reason")" \
	"leo_deliveries_suppressed_total reasons = leo_reason codes"

kill -TERM "${it_pids[prom]}"
wait "${it_pids[prom]}" || true
unset "it_pids[prom]"
it_stop
