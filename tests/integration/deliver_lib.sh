# Sourced after lib.sh by the sender's integration tests: leo-deliver
# ($LEO_DELIVER) started and stopped as a process beside leo-alertd, which
# makes the deliveries; an HTTPS receiver on loopback with a CA of the
# test's own (tests/servers/https_receiver.py); and the checks they share.
: "${LEO_DELIVER:?LEO_DELIVER must name the leo-deliver binary}"

# dl_receiver: a CA, a certificate for 127.0.0.1, the receiver on a free
# port ($dl_rport); what it read goes to $it_tmp/requests.jsonl.
dl_receiver() {
	(cd "$it_tmp" &&
	 openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=leo test ca" \
		-keyout ca.key -out ca.pem 2>/dev/null &&
	 openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key \
		-out server.csr 2>/dev/null &&
	 printf 'subjectAltName=IP:127.0.0.1\n' >san.ext &&
	 openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile san.ext -out server.pem 2>/dev/null) || it_fail "openssl"
	python3 "$it_top/tests/servers/https_receiver.py" "$it_tmp/server.pem" "$it_tmp/server.key" \
		"$it_tmp/requests.jsonl" >"$it_tmp/receiver.port" &
	it_pids[receiver]=$!
	for _ in $(seq 100); do
		grep -q '^PORT ' "$it_tmp/receiver.port" 2>/dev/null && break
		sleep 0.1
	done
	dl_rport=$(awk '/^PORT /{print $2}' "$it_tmp/receiver.port")
	[ -n "$dl_rport" ] || it_fail "the HTTPS receiver did not start"
	: >"$it_tmp/requests.jsonl"
}

dl_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# dl_config NAME: $it_tmp/deliver-NAME.yaml from the deliver section on
# stdin (indented as under "deliver:"), stats on a free port ($dl_port[NAME];
# so not in a pipeline, whose subshell would keep it).
declare -A dl_port=()
dl_config() {
	local n=$1
	dl_port[$n]=$(dl_free_port)
	{
		cat <<YAML
database:
  conninfo: "dbname=$it_db user=leo_sender"
stats:
  listen: "127.0.0.1:${dl_port[$n]}"
log:
  level: ${IT_LOG_LEVEL:-info}
deliver:
YAML
		cat
	} >"$it_tmp/deliver-$n.yaml"
}

# dl_start NAME: start a sender and wait until it is ready.
dl_start() {
	local n=$1
	"$LEO_DELIVER" --config "$it_tmp/deliver-$n.yaml" >>"$it_tmp/daemon-$n.log" 2>&1 &
	it_pids[$n]=$!
	it_wait_log "$n" "ready: listening for deliveries" 30
}

# dl_metric NAME METRIC_WITH_LABELS: a value of a sender's /metrics.
dl_metric() {
	local saved=$it_port v
	it_port=${dl_port[$1]}
	v=$(it_metric "$2")
	it_port=$saved
	echo "$v"
}

# dl_status ID: "status reason attempts" of a delivery.
dl_status() {
	it_sql -c "SELECT delivery_status || ' ' || coalesce(provider_response->>'reason', '-') || ' ' ||
		(SELECT count(*) FROM delivery_attempt a WHERE a.delivery_id = d.delivery_id)
		FROM delivery_log d WHERE delivery_id = $1"
}

# dl_smtp: tests/servers/smtp_receiver.py with the receiver's certificate
# (dl_receiver first); its STARTTLS port is $dl_sport, mail goes to
# $it_tmp/mail/RCPT.eml.
dl_smtp() {
	local py=
	for p in python3 /usr/bin/python3; do
		"$p" -c 'import aiosmtpd' 2>/dev/null && { py=$p; break; }
	done
	[ -n "$py" ] || it_fail "python3-aiosmtpd is not installed"
	mkdir -p "$it_tmp/mail"
	"$py" "$it_top/tests/servers/smtp_receiver.py" "$it_tmp/server.pem" "$it_tmp/server.key" \
		"$it_tmp/mail" >"$it_tmp/smtp.ports" 2>"$it_tmp/smtp.err" &
	it_pids[smtp]=$!
	for _ in $(seq 100); do
		grep -q '^PLAIN_PORT ' "$it_tmp/smtp.ports" 2>/dev/null && break
		sleep 0.1
	done
	dl_sport=$(awk '$1 == "PORT" {print $2}' "$it_tmp/smtp.ports")
	[ -n "$dl_sport" ] || it_fail "the SMTP receiver did not start: $(cat "$it_tmp/smtp.err")"
}
