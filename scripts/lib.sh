# Shared set-up for scripts/test, scripts/demo and bench/*: Debian packages,
# build and install, and a throwaway PostgreSQL cluster.  Source it.
set -euo pipefail

TTSP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=15
# TTSP_PG_BIN: another (relocated) installation of PostgreSQL $PG_MAJOR to build,
# install and test against, e.g. so that two work trees do not share one.
PG_BIN=${TTSP_PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin}

TTSP_PACKAGES=(
	build-essential pkg-config ca-certificates
	"postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" "postgresql-$PG_MAJOR-pgtap"
	libavformat-dev libavcodec-dev libswresample-dev libavutil-dev ffmpeg
	libfftw3-dev libcairo2-dev fonts-dejavu-core
)

say() { printf '==> %s\n' "$*" >&2; }

# Installing packages and the extension needs root: run as root, or with sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "error: '$1' needs root, and sudo is not installed: run this script as root, or install sudo" >&2
		return 1
	fi
}

# Install what is missing; apt-get only runs when something is.
ensure_packages() {
	local missing=() p
	for p in "${TTSP_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing Debian packages: ${missing[*]}"
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >/dev/null
	fi
}

build_install() {
	say "building and installing the extension"
	make -C "$TTSP_ROOT" -s -j"$(nproc)" PG_CONFIG="$PG_BIN/pg_config"
	as_root make -C "$TTSP_ROOT" -s install PG_CONFIG="$PG_BIN/pg_config" >/dev/null
}

# Run a command as the cluster's owner: postgres when we are root (initdb
# refuses root), else ourselves.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
	local port
	for port in $(shuf -i 20000-60000 -n 50); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	return 1
}

# initdb in a temp dir, socket in that dir, stopped and removed on exit.
# Exports PGHOST, PGPORT, PGUSER, PGDATABASE and TTSP_CLUSTER_DIR.
start_cluster() {
	TTSP_CLUSTER_DIR=$(mktemp -d /tmp/ttsp-pg.XXXXXX)
	chmod 755 "$TTSP_CLUSTER_DIR"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$TTSP_CLUSTER_DIR"
	PGPORT=$(free_port)
	say "starting a throwaway cluster in $TTSP_CLUSTER_DIR (port $PGPORT, Unix socket only)"
	as_owner "$PG_BIN/initdb" -D "$TTSP_CLUSTER_DIR/data" -U postgres -A trust -E UTF8 \
		--locale=C --no-sync >/dev/null
	as_owner "$PG_BIN/pg_ctl" -D "$TTSP_CLUSTER_DIR/data" -l "$TTSP_CLUSTER_DIR/server.log" -w -s \
		-o "-k $TTSP_CLUSTER_DIR -p $PGPORT -c listen_addresses='' -c fsync=off" start
	export PGHOST=$TTSP_CLUSTER_DIR PGPORT PGUSER=postgres PGDATABASE=postgres TTSP_CLUSTER_DIR
	trap stop_cluster EXIT
}

stop_cluster() {
	if [ -n "${TTSP_CLUSTER_DIR:-}" ] && [ -d "$TTSP_CLUSTER_DIR" ]; then
		as_owner "$PG_BIN/pg_ctl" -D "$TTSP_CLUSTER_DIR/data" -m immediate -w -s stop 2>/dev/null || true
		rm -rf "$TTSP_CLUSTER_DIR"
	fi
}
