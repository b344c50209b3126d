#!/usr/bin/env bash
# Platform benchmark: `upkeep serve` (release build) on SQLite and on PostgreSQL, driven over
# loopback HTTP by bench/serve_driver.py (see there for what is measured and how).
#
# Figures of the issue "Platform I" (point 12): push webhook received -> the first step's process
# started (median and p95 over --pushes pushes), a line written by a step -> received by an SSE
# client (p50/p95; 1 client and 500 clients on one log), idle memory, and API latency under 200
# concurrent connections (wrk), next to GET /healthz of the same server as the floor. Results go
# to bench/out/serve/<backend>.json and are summed up in docs/benchmarks.md by hand.
#
# Usage: bench/serve.sh [--pushes N] [--clients N] [--api-seconds N]   (passed to the driver)
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release --locked -p upkeep
binary="$PWD/target/release/upkeep"
out="$PWD/bench/out/serve"
mkdir -p "$out"

# PostgreSQL of the bench's own on a free loopback port (as the `postgres` user when root:
# initdb refuses root).
pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | head -1)")
pg_dir=$(mktemp -d)
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$pg_dir"
    as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U upkeep --auth=trust -E UTF8 --no-locale >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pg_dir -c max_connections=200" start >/dev/null
trap '"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$pg_dir"' EXIT
"$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U upkeep -d postgres -qc "CREATE DATABASE bench" >/dev/null

echo "== SQLite" >&2
python3 bench/serve_driver.py --binary "$binary" --work-dir "$out/sqlite-work" "$@" | tee "$out/sqlite.json"
echo "== PostgreSQL" >&2
python3 bench/serve_driver.py --binary "$binary" --work-dir "$out/postgres-work" \
    --database-url "postgres://upkeep@127.0.0.1:$pg_port/bench" "$@" | tee "$out/postgres.json"
