# Sourced by the transport tests (tr_*.sh), which need no database: a
# temporary directory ($tmp, made the working directory) removed at exit
# with the receiver started in it ($pid), and there a throwaway CA
# (ca.pem), a server certificate it signed for 127.0.0.1 (server.pem,
# server.key) and a second CA that must not be trusted (other.pem).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/leo-$(basename "$0" .sh | tr _ -).XXXXXX")
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

# tr_wait FILE KEY: wait (10 s at most) for the receiver's "KEY port" line.
tr_wait() {
	for _ in $(seq 100); do
		grep -q "^$2 " "$1" 2>/dev/null && return 0
		sleep 0.1
	done
}
