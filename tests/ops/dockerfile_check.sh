#!/bin/sh
# dockerfile_check.sh SOURCE_DIR: the Dockerfile installs packages only from
# scripts/packages-{build,runtime}.txt, each list in its own stage, the
# runtime list has what the HEALTHCHECK runs, and the container listens
# where EXPOSE says.  (No Docker engine needed: this reads the files.)
set -eu
src=$1
df=$src/Dockerfile
fail=0
no() { echo "Dockerfile: $*"; fail=1; }

[ -f "$df" ] || { echo "no Dockerfile"; exit 1; }
# Exactly two stages, build then runtime, both Debian 12 slim.
[ "$(grep -c '^FROM ' "$df")" = 2 ] || no "expected two FROM lines"
grep -q '^FROM debian:bookworm-slim AS build$' "$df" || no "build stage is not debian:bookworm-slim AS build"
[ "$(grep '^FROM ' "$df" | tail -n 1)" = "FROM debian:bookworm-slim" ] || no "runtime stage is not debian:bookworm-slim"

# Every apt-get install reads its names from a list file through xargs ...
n_install=$(grep -c 'apt-get install' "$df")
n_xargs=$(grep -c 'xargs apt-get install -y --no-install-recommends' "$df")
[ "$n_install" = 2 ] && [ "$n_xargs" = 2 ] || no "apt-get install must appear twice, both fed by xargs"
# ... the right list in the right stage.
build_part=$(sed -n '/^FROM .* AS build$/,/^FROM debian:bookworm-slim$/p' "$df")
run_part=$(sed -n '/^FROM debian:bookworm-slim$/,$p' "$df")
echo "$build_part" | grep -q '^COPY scripts/packages-build.txt /tmp/packages-build.txt$' || no "build stage does not copy packages-build.txt"
echo "$build_part" | grep -q "sed .* /tmp/packages-build.txt" || no "build stage does not install from packages-build.txt"
echo "$run_part" | grep -q '^COPY scripts/packages-runtime.txt /tmp/packages-runtime.txt$' || no "runtime stage does not copy packages-runtime.txt"
echo "$run_part" | grep -q "sed .* /tmp/packages-runtime.txt" || no "runtime stage does not install from packages-runtime.txt"
echo "$run_part" | grep -q 'packages-build' && no "runtime stage installs build packages"

# The lists parse to package names only (what the sed in the Dockerfile keeps).
for list in build runtime; do
	f=$src/scripts/packages-$list.txt
	bad=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$f" | grep -v -E '^[a-z0-9][a-z0-9.+-]+$' || true)
	[ -z "$bad" ] || no "packages-$list.txt has lines that are not package names: $bad"
done

# HEALTHCHECK's tool is in the runtime list; runs as a non-root user; the port.
grep -q '^HEALTHCHECK .*' "$df" || no "no HEALTHCHECK"
if grep -A1 '^HEALTHCHECK' "$df" | grep -q 'curl '; then
	grep -q '^curl$' "$src/scripts/packages-runtime.txt" || no "HEALTHCHECK uses curl, which packages-runtime.txt lacks"
fi
grep -A1 '^HEALTHCHECK' "$df" | grep -q '/healthz' || no "HEALTHCHECK does not ask /healthz"
user=$(grep '^USER ' "$df" | tail -n 1 | cut -d' ' -f2)
case "$user" in
"" | root | root:* | 0 | 0:*) no "the runtime stage must end with a non-root USER" ;;
esac
grep -q '^EXPOSE 9464 9465 9466$' "$df" || no "EXPOSE 9464 9465 9466 missing"
grep -q '^STOPSIGNAL SIGTERM$' "$df" || no "STOPSIGNAL SIGTERM missing"
# Each program's container config listens on 0.0.0.0, rewritten from the
# shipped file's line (which must stay as the sed expects), and is copied in.
for pp in leo-alertd:9464 leo-deliver:9465 leo-enrich:9466; do
	p=${pp%:*} port=${pp#*:}
	grep -q "listen: \"0.0.0.0:$port\"" "$df" || no "$p's config does not listen on 0.0.0.0:$port"
	grep -q "^  listen: \"127.0.0.1:$port\"\$" "$src/config/$p.yaml" ||
		no "config/$p.yaml no longer has the stats.listen line the Dockerfile rewrites"
	grep -q "^COPY --from=build .*/out/usr/sbin/$p " "$df" || no "$p is not copied into the image"
	grep -q "/out/etc/leo-alertd/$p.yaml" "$df" || no "$p.yaml is not copied into the image"
done
exit $fail
