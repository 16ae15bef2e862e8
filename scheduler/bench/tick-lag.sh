#!/usr/bin/env bash
# Tick lag of the scheduler: 100 jobs firing every second on 3 replicas, each
# tick calling the echo function on a real gateway, for MINUTES minutes; then
# the lag (started_at - scheduled_at) at p50/p99/p99.9 from the runs table,
# and a check that every tick ran exactly once.
#
#   scheduler/bench/tick-lag.sh [MINUTES] [debug|release]     # default: 3 debug
#
# Needs PostgreSQL at $PGURL (default postgres://postgres@127.0.0.1:5432),
# psql, and the built binaries (`cargo build --workspace`, or `--release`).
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-3}
profile=${2:-debug}
target=${CARGO_TARGET_DIR:-target}
bin="$target/$profile"
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
db="flexcore_bench_$(date +%s)_$$"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$pgurl/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP_DB:-}" ] && trap - EXIT

for b in flexcore-scheduler flexcore-gateway libecho.so; do
  [ -e "$bin/$b" ] || { echo "missing $bin/$b: run cargo build --workspace${profile/debug/} first" >&2; exit 1; }
done
psql -q "$pgurl/postgres" -c "CREATE DATABASE $db" >/dev/null

gw_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/flexcore-gateway" --listen "127.0.0.1:$gw_port" --plugin-dir "$bin" >"$work/gateway.log" 2>&1 &
pids+=($!)

{
  echo "database_url = \"$pgurl/$db\""
  echo "admin_listen = \"127.0.0.1:0\""
  echo "[gateway]"
  echo "nodes = [\"http://127.0.0.1:$gw_port\"]"
  for i in $(seq -w 1 100); do
    printf '[[jobs]]\nname = "job-%s"\nevery = "1s"\noverlap = "allow"\ntarget = { function = "echo", payload = { n = %d } }\n' "$i" "$((10#$i))"
  done
} >"$work/scheduler.toml"

for r in 1 2 3; do
  "$bin/flexcore-scheduler" --config "$work/scheduler.toml" --replica-id "bench-$r" >"$work/replica-$r.log" 2>&1 &
  pids+=($!)
done

echo "100 jobs every 1 s on 3 replicas ($profile build), for $minutes min..."
sleep 10
start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep $((minutes * 60))
end=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 3

psql -q "$pgurl/$db" <<SQL
\pset footer off
SELECT count(*) AS runs,
       count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY lag))::numeric, 2) AS p50_ms,
       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY lag))::numeric, 2) AS p99_ms,
       round((percentile_cont(0.999) WITHIN GROUP (ORDER BY lag))::numeric, 2) AS p999_ms,
       round(max(lag)::numeric, 2) AS max_ms
FROM (SELECT status, extract(epoch FROM started_at - scheduled_at) * 1000 AS lag
      FROM scheduler_runs
      WHERE scheduled_at >= '$start' AND scheduled_at < '$end' AND NOT manual) t;
-- Every tick exactly once: expected = 100 jobs x seconds in the window.
SELECT 100 * extract(epoch FROM timestamptz '$end' - timestamptz '$start')::int AS expected_ticks,
       count(*) AS claimed_ticks,
       count(DISTINCT (job, scheduled_at)) AS distinct_ticks
FROM scheduler_runs WHERE scheduled_at >= '$start' AND scheduled_at < '$end' AND NOT manual;
-- Runs that did not succeed (the function call failed), if any.
SELECT status, count(*), left(min(error), 160) AS an_error FROM scheduler_runs
WHERE scheduled_at >= '$start' AND scheduled_at < '$end' AND status <> 'succeeded' GROUP BY status;
SELECT replica, count(*) AS runs FROM scheduler_runs
WHERE scheduled_at >= '$start' AND scheduled_at < '$end' GROUP BY replica ORDER BY replica;
SQL
