#!/usr/bin/env bash
# The http transport against a real HTTPS receiver on loopback: a throwaway
# CA and server certificate made here with openssl (and a second CA that
# must not be trusted), tests/servers/https_receiver.py, and
# tests/test_transport_http.c ($1) sending through curlev.
bin=${1:?usage: tr_http.sh TEST_BINARY}
. "$(dirname "$0")/lib_tr.sh"
python3 "$here/servers/https_receiver.py" server.pem server.key requests.jsonl > port.txt &
pid=$!
tr_wait port.txt PORT
port=$(awk '/^PORT /{print $2}' port.txt)
[ -n "$port" ] || { echo "receiver did not start"; exit 1; }
LEO_RECV_URL="https://127.0.0.1:$port" LEO_RECV_CA=$tmp/ca.pem LEO_OTHER_CA=$tmp/other.pem \
	LEO_RECV_LOG=$tmp/requests.jsonl "$bin"
