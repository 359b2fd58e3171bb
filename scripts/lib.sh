# Shared by scripts/test.sh, scripts/demo.sh and bench/: package installs and
# the build.  Source it; it defines functions and sets nothing else.

leo_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# leo_install_packages LIST...: install whatever Debian package of the named
# lists (scripts/packages-LIST.txt) is missing.
leo_install_packages() {
	local want=() missing=() p list
	for list in "$@"; do
		while read -r p; do
			[ -n "$p" ] && want+=("$p")
		done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$leo_top/scripts/packages-$list.txt")
	done
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
			missing+=("$p")
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

# leo_pg_bindir: where initdb, pg_ctl and postgres live.
leo_pg_bindir() {
	local d
	for d in "$(pg_config --bindir 2>/dev/null)" /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	echo "no PostgreSQL server binaries (initdb) found" >&2
	return 1
}
