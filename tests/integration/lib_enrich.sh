# Sourced by the leo-enrich integration tests after lib.sh: a config of the
# worker's own and its start.  LEO_ENRICH_BIN names the binary; the worker
# connects as the leo_enricher role (tests/sql/schema_template.sh).
: "${LEO_ENRICH_BIN:?LEO_ENRICH_BIN must name the leo-enrich binary}"

# enrich_config NAME [LINE...]: $it_tmp/NAME.yaml, the LINEs in its enrich
# section; stats on a free port ($it_port).
enrich_config() {
	local n=$1 line
	shift
	it_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	{
		cat <<YAML
database:
  conninfo: "dbname=$it_db user=leo_enricher"
stats:
  listen: "127.0.0.1:$it_port"
log:
  level: debug
enrich:
YAML
		for line in "$@"; do
			echo "  $line"
		done
	} >"$it_tmp/$n.yaml"
}

# enrich_start NAME: start a worker with $it_tmp/NAME.yaml, wait until ready.
enrich_start() {
	"$LEO_ENRICH_BIN" --config "$it_tmp/$1.yaml" >>"$it_tmp/daemon-$1.log" 2>&1 &
	it_pids[$1]=$!
	it_wait_log "$1" "ready: working the embedding queue" 30
}
