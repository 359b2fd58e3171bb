#!/bin/sh
# install_tree.sh BUILD_DIR SOURCE_DIR EXPECT_BIN PROGRAM...: `cmake --install`
# into a temporary prefix lays out the tree an operator expects, for each
# program: its binary, its unit and its config.
set -eu
build=$1 src=$2 expect_bin=$3
shift 3
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

for p in "$@"; do
	check etc/leo-alertd/$p.yaml
	cmp "$src/config/$p.yaml" "$dir/etc/leo-alertd/$p.yaml" || fail=1
	cmp "$src/config/$p.yaml" "$dir/etc/leo-alertd/$p.yaml.dist" || fail=1
	# A reinstall keeps the operator's edited config and refreshes the shipped copy.
	echo "# edited by the operator" >>"$dir/etc/leo-alertd/$p.yaml"
	echo "# stale" >"$dir/etc/leo-alertd/$p.yaml.dist"
	cmake --install "$build" --prefix "$dir" >"$dir.log" 2>&1 || { cat "$dir.log"; rm -f "$dir.log"; exit 1; }
	grep -q "Kept: .*$p.yaml" "$dir.log" || { echo "reinstall did not say it kept the config"; fail=1; }
	rm -f "$dir.log"
	tail -n 1 "$dir/etc/leo-alertd/$p.yaml" | grep -qx '# edited by the operator' ||
		{ echo "reinstall overwrote the edited config"; fail=1; }
	cmp "$src/config/$p.yaml" "$dir/etc/leo-alertd/$p.yaml.dist" ||
		{ echo "reinstall did not refresh $p.yaml.dist"; fail=1; }
	unit=$(find "$dir" -name $p.service)
	if [ -z "$unit" ]; then
		echo "missing: $p.service"
		fail=1
	else
		case "$unit" in
		*/lib/systemd/system/$p.service) ;;
		*) echo "unit in an unexpected place: ${unit#$dir/}"; fail=1 ;;
		esac
		if grep -n '@[A-Z_]*@' "$unit"; then
			echo "unsubstituted variables in the installed unit"
			fail=1
		fi
		# The unit names the configured prefix; the files are under DIR instead.
		grep -q "^ExecStart=/.*/sbin/$p --config /.*/etc/leo-alertd/$p.yaml\$" "$unit" || {
			echo "ExecStart does not run sbin/$p with the installed config"
			fail=1
		}
	fi
	if [ "$expect_bin" = 1 ]; then
		check sbin/$p
		[ -x "$dir/sbin/$p" ] || { echo "sbin/$p is not executable"; fail=1; }
	fi
done
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
for p in "$@"; do
	for f in etc/leo-alertd/$p.yaml etc/leo-alertd/$p.yaml.dist usr/lib/systemd/system/$p.service; do
		[ -f "$dir/usr-root/$f" ] || { echo "prefix /usr: missing /$f"; fail=1; }
	done
	grep -q "^ExecStart=/usr/sbin/$p --config /etc/leo-alertd/$p.yaml\$" \
		"$dir/usr-root/usr/lib/systemd/system/$p.service" ||
		{ echo "prefix /usr: the unit does not run /usr/sbin/$p with /etc's config"; fail=1; }
done
exit $fail
