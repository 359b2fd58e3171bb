#!/bin/sh
# install_tree.sh BUILD_DIR SOURCE_DIR EXPECT_BIN: `cmake --install` into a
# temporary prefix lays out the tree an operator expects.
set -eu
build=$1 src=$2 expect_bin=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cmake --install "$build" --prefix "$dir" >"$dir.log" 2>&1 || { cat "$dir.log"; rm -f "$dir.log"; exit 1; }
rm -f "$dir.log"
fail=0
check() {
	if [ ! -f "$dir/$1" ]; then
		echo "missing: $1"
		fail=1
	fi
}

check etc/leo-alertd/leo-alertd.yaml
cmp "$src/config/leo-alertd.yaml" "$dir/etc/leo-alertd/leo-alertd.yaml" || fail=1
cmp "$src/config/leo-alertd.yaml" "$dir/etc/leo-alertd/leo-alertd.yaml.dist" || fail=1
# A reinstall keeps the operator's edited config and refreshes the shipped copy.
echo "# edited by the operator" >>"$dir/etc/leo-alertd/leo-alertd.yaml"
echo "# stale" >"$dir/etc/leo-alertd/leo-alertd.yaml.dist"
cmake --install "$build" --prefix "$dir" >"$dir.log" 2>&1 || { cat "$dir.log"; rm -f "$dir.log"; exit 1; }
grep -q 'Kept: .*leo-alertd.yaml' "$dir.log" || { echo "reinstall did not say it kept the config"; fail=1; }
rm -f "$dir.log"
tail -n 1 "$dir/etc/leo-alertd/leo-alertd.yaml" | grep -qx '# edited by the operator' ||
	{ echo "reinstall overwrote the edited config"; fail=1; }
cmp "$src/config/leo-alertd.yaml" "$dir/etc/leo-alertd/leo-alertd.yaml.dist" ||
	{ echo "reinstall did not refresh leo-alertd.yaml.dist"; fail=1; }
unit=$(find "$dir" -name leo-alertd.service)
if [ -z "$unit" ]; then
	echo "missing: leo-alertd.service"
	fail=1
else
	case "$unit" in
	*/lib/systemd/system/leo-alertd.service) ;;
	*) echo "unit in an unexpected place: ${unit#$dir/}"; fail=1 ;;
	esac
	if grep -n '@[A-Z_]*@' "$unit"; then
		echo "unsubstituted variables in the installed unit"
		fail=1
	fi
	# The unit names the configured prefix; the files are under DIR instead.
	grep -q '^ExecStart=/.*/sbin/leo-alertd --config /.*/etc/leo-alertd/leo-alertd.yaml$' "$unit" || {
		echo "ExecStart does not run sbin/leo-alertd with the installed config"
		fail=1
	}
fi
if [ "$expect_bin" = 1 ]; then
	check sbin/leo-alertd
	[ -x "$dir/sbin/leo-alertd" ] || { echo "sbin/leo-alertd is not executable"; fail=1; }
fi
# Every schema file, in order, when the tree has a schema.
for f in "$src"/schema/*.sql; do
	[ -e "$f" ] || continue
	check "share/leo-alertd/schema/$(basename "$f")"
done
# Nothing outside the prefix's usual directories.
extra=$(cd "$dir" && find . -type f | grep -v -E '^\./(etc/leo-alertd|lib/systemd/system|sbin|share/leo-alertd/schema)/' || true)
if [ -n "$extra" ]; then
	echo "unexpected files installed:"
	echo "$extra"
	fail=1
fi
[ $fail = 0 ] && (cd "$dir" && find . -type f | sort)

# Packaged for /usr (as the Dockerfile does): the config must land in /etc,
# where the unit looks.  Configure only and install the ops component, so
# nothing is compiled again.
cmake -S "$src" -B "$dir/usr-build" -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF \
	>"$dir/usr-build.log" 2>&1 || { cat "$dir/usr-build.log"; exit 1; }
DESTDIR=$dir/usr-root cmake --install "$dir/usr-build" --component ops \
	>>"$dir/usr-build.log" 2>&1 || { cat "$dir/usr-build.log"; exit 1; }
for f in etc/leo-alertd/leo-alertd.yaml etc/leo-alertd/leo-alertd.yaml.dist usr/lib/systemd/system/leo-alertd.service; do
	[ -f "$dir/usr-root/$f" ] || { echo "prefix /usr: missing /$f"; fail=1; }
done
grep -q '^ExecStart=/usr/sbin/leo-alertd --config /etc/leo-alertd/leo-alertd.yaml$' \
	"$dir/usr-root/usr/lib/systemd/system/leo-alertd.service" ||
	{ echo "prefix /usr: the unit does not run /usr/sbin/leo-alertd with /etc's config"; fail=1; }
exit $fail
