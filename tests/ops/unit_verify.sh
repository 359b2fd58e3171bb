#!/bin/sh
# unit_verify.sh UNIT_TEMPLATE: systemd-analyze finds nothing to say about
# the unit, and its exposure stays at most 2.0 ("OK").  Exits 77 (skipped)
# when systemd-analyze is not installed.
set -eu
template=$1
command -v systemd-analyze >/dev/null 2>&1 || { echo "systemd-analyze not found: skipped"; exit 77; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# verify wants ExecStart's binary to exist: stand one in (named as the unit).
prog=$(basename "$template" .service)
printf '#!/bin/sh\nexit 0\n' >"$dir/$prog"
chmod +x "$dir/$prog"
sed -e "s|@CMAKE_INSTALL_FULL_SBINDIR@|$dir|g" \
    -e "s|@LEO_CONFIG_FILE@|$dir/$prog.yaml|g" "$template" >"$dir/leo-alertd.service"
if grep -n '@[A-Z_]*@' "$dir/leo-alertd.service"; then
	echo "unsubstituted variables above"
	exit 1
fi

out=$(systemd-analyze verify "$dir/leo-alertd.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then
	echo "systemd-analyze verify complains:"
	echo "$out"
	exit 1
fi
# --threshold is on the 0..100 scale: 20 is an exposure of 2.0.
systemd-analyze security --offline=yes --threshold=20 "$dir/leo-alertd.service" >"$dir/security" 2>&1 || {
	cat "$dir/security"
	echo "exposure above 2.0"
	exit 1
}
tail -n 1 "$dir/security"
