#!/usr/bin/env bash
# The http transport against a real HTTPS receiver on loopback: a throwaway
# CA and server certificate made here with openssl (and a second CA that
# must not be trusted), tests/servers/https_receiver.py, and
# tests/test_transport_http.c ($1) sending through curlev.
set -euo pipefail
bin=${1:?usage: tr_http.sh TEST_BINARY}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/leo-tr-http.XXXXXX")
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

cd "$tmp"
for ca in ca other; do
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=leo test $ca" \
		-keyout $ca.key -out $ca.pem 2>/dev/null
done
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile san.ext -out server.pem 2>/dev/null

python3 "$here/servers/https_receiver.py" server.pem server.key requests.jsonl > port.txt &
pid=$!
for _ in $(seq 100); do
	grep -q '^PORT ' port.txt 2>/dev/null && break
	sleep 0.1
done
port=$(awk '/^PORT /{print $2}' port.txt)
[ -n "$port" ] || { echo "receiver did not start"; exit 1; }
LEO_RECV_URL="https://127.0.0.1:$port" LEO_RECV_CA=$tmp/ca.pem LEO_OTHER_CA=$tmp/other.pem \
	LEO_RECV_LOG=$tmp/requests.jsonl "$bin"
