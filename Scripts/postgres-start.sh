#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for the tests: installed from Debian's packages if missing, initialised in
# a temporary directory and run as the unprivileged `postgres` user on a loopback port, trusting local connections
# (nothing leaves 127.0.0.1). It also accepts TLS, with a certificate made for it (for localhost and 127.0.0.1) in
# DIR/server.crt, which the TLS tests trust (TIAKI_TEST_DATABASE_CA). Prints its directory, then the URL for
# TIAKI_TEST_DATABASE_URL; stop it with
#   Scripts/postgres-start.sh --stop DIR
set -euo pipefail
if [ "${1:-}" = "--stop" ]; then
    dir="$2"
    su postgres -s /bin/sh -c "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl -D '$dir/data' -m fast stop" >/dev/null
    rm -rf "$dir"
    exit 0
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "installing postgresql" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
# The first free loopback port from 55432 (or TIAKI_POSTGRES_PORT): CI and a README walk-through may each run one.
port="${TIAKI_POSTGRES_PORT:-}"
if [ -z "$port" ]; then
    for candidate in $(seq 55432 55499); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
    done
fi
[ -n "$port" ] || { echo "no free port between 55432 and 55499" >&2; exit 1; }
dir="$(mktemp -d /tmp/tiaki-postgres.XXXXXX)"
chown postgres "$dir"
run() { su postgres -s /bin/sh -c "$1"; }
run "'$bin/initdb' -D '$dir/data' -A trust -U postgres --no-sync >'$dir/initdb.log' 2>&1"
# A self-signed certificate for this cluster only (openssl comes with Debian's postgresql, through ssl-cert).
openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.crt" >"$dir/openssl.log" 2>&1
chown postgres "$dir/server.key" "$dir/server.crt"
chmod 600 "$dir/server.key"
chmod 644 "$dir/server.crt"
chmod 755 "$dir"
# Durable as in production (fsync on, synchronous commit): the benchmarks measure what a deployment would see.
run "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c max_connections=200 -c ssl=on -c ssl_cert_file='$dir/server.crt' -c ssl_key_file='$dir/server.key'\" start" >&2
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir" >&2
echo "$dir"
echo "postgres://postgres@127.0.0.1:$port/postgres"
