#!/usr/bin/env bash
# A local FlexCore cluster in one command: gateway nodes on the machine's
# running PostgreSQL and Redis, nginx in front of them.
#
#   infra/scripts/cluster.sh up       build (if needed), start the nodes and nginx, print where each is
#   infra/scripts/cluster.sh status   GET /cluster through nginx and on each node, as a table
#   infra/scripts/cluster.sh down     stop what `up` started, by process id (safe to repeat)
#
# Settings, from the environment:
#   FLEXCORE_CLUSTER_PORTS      node ports                  (default "8081 8082 8083")
#   FLEXCORE_CLUSTER_LB_PORT    nginx's port                (default 8080)
#   FLEXCORE_CLUSTER_PREFIX     Redis key prefix            (default flexcore-local)
#   FLEXCORE_CLUSTER_DB         database name, created when missing (default flexcore)
#   FLEXCORE_CLUSTER_PG         PostgreSQL server, no database (default postgres://postgres@127.0.0.1:5432)
#   FLEXCORE_CLUSTER_REDIS_URL  Redis                       (default redis://127.0.0.1:6379)
#   FLEXCORE_CLUSTER_DIR        state: pids, logs, nginx config (default target/cluster)
#   FLEXCORE_CLUSTER_PROFILE    cargo profile of the binaries (default release)
#   FLEXCORE_CLUSTER_NO_BUILD   set to 1 to use the binaries as they are
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

ports=${FLEXCORE_CLUSTER_PORTS:-8081 8082 8083}
lb_port=${FLEXCORE_CLUSTER_LB_PORT:-8080}
prefix=${FLEXCORE_CLUSTER_PREFIX:-flexcore-local}
db=${FLEXCORE_CLUSTER_DB:-flexcore}
pg=${FLEXCORE_CLUSTER_PG:-postgres://postgres@127.0.0.1:5432}
pg=${pg%/}
redis_url=${FLEXCORE_CLUSTER_REDIS_URL:-redis://127.0.0.1:6379}
state=${FLEXCORE_CLUSTER_DIR:-$root/target/cluster}
profile=${FLEXCORE_CLUSTER_PROFILE:-release}
out="$root/target/$profile"
[ "$profile" = dev ] && out="$root/target/debug"
gateway="$out/flexcore-gateway"
template="$root/infra/nginx/flexcore.conf.template"
# How long a node may take to drain on SIGTERM before it is killed.
stop_grace=15

say() { printf '%s\n' "$*"; }
die() { printf 'cluster.sh: %s\n' "$*" >&2; exit 1; }

# The password of a URL, hidden.
redact() { sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$1"; }

# Whether something accepts connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Whether process $1 runs (a zombie, exited but not yet reaped by whoever
# adopted it, does not).
running() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Whether the pid in file $1 is alive and runs a program whose command line
# contains $2 (so that a pid reused by another program is never signalled).
pid_alive() {
  local file=$1 what=$2 pid
  [ -f "$file" ] || return 1
  pid=$(<"$file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  running "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$what"
}

# Sends signal $3 to the process of pid file $1 (checked against $2), waits
# up to $4 seconds for it to end, then SIGKILLs it; removes the pid file.
stop_pid() {
  local file=$1 what=$2 signal=$3 grace=$4 pid i
  if ! pid_alive "$file" "$what"; then
    [ -f "$file" ] && say "$(basename "$file" .pid) was not running (stale pid file removed)"
    rm -f "$file"
    return 1
  fi
  pid=$(<"$file")
  kill "-$signal" "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 20; i++)); do
    running "$pid" || break
    sleep 0.05
  done
  if running "$pid"; then
    say "  pid $pid did not stop within ${grace}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

build() {
  if [ "${FLEXCORE_CLUSTER_NO_BUILD:-0}" = 1 ]; then
    [ -x "$gateway" ] || die "$gateway is missing (unset FLEXCORE_CLUSTER_NO_BUILD to build it)"
  else
    say "building ($profile; a no-op when up to date)..."
    cargo build --quiet --profile "$profile" -p flexcore-gateway -p echo -p data-processor -p faulty
  fi
  make -s -C plugins/wordcount-c OUT="$out"
}

ensure_database() {
  command -v psql >/dev/null 2>&1 || die "psql is needed to create the database (apt-get install postgresql-client)"
  local exists
  exists=$(psql "$pg/postgres" -XtAq -v ON_ERROR_STOP=1 \
    -c "SELECT 1 FROM pg_database WHERE datname = '$db'") ||
    die "cannot reach PostgreSQL at $(redact "$pg")"
  if [ "$exists" != 1 ]; then
    psql "$pg/postgres" -XqA -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null
    say "created database $db"
  fi
}

# Writes the nginx config for the nodes from the template.
nginx_config() {
  local conf="$state/nginx/nginx.conf" line port
  mkdir -p "$state/nginx/tmp"
  : >"$conf"
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ "$line" == *@@NODE@@* ]]; then
      for port in $ports; do
        printf '%s\n' "${line//@@NODE@@/127.0.0.1:$port}" >>"$conf"
      done
    else
      printf '%s\n' "${line//@@LISTEN@@/127.0.0.1:$lb_port}" >>"$conf"
    fi
  done <"$template"
}

start_node() {
  local port=$1 i
  local log="$state/node-$port.log" pidfile="$state/node-$port.pid"
  FLEXCORE_DATABASE_URL="$pg/$db" \
    FLEXCORE_REDIS_URL="$redis_url" \
    FLEXCORE_REDIS_PREFIX="$prefix" \
    FLEXCORE_ADVERTISE_URL="http://127.0.0.1:$port" \
    setsid "$gateway" --listen "127.0.0.1:$port" --plugin-dir "$out" --node-id "node-$port" \
    </dev/null >"$log" 2>&1 &
  echo $! >"$pidfile"
  for ((i = 0; i < 150; i++)); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port/health"; then
      return 0
    fi
    pid_alive "$pidfile" flexcore-gateway || break
    sleep 0.1
  done
  tail -n 20 "$log" >&2
  return 1
}

up() {
  mkdir -p "$state"
  for port in $ports; do
    pid_alive "$state/node-$port.pid" flexcore-gateway && die "node-$port is already running; run: $0 down"
  done
  pid_alive "$state/nginx/nginx.pid" nginx && die "nginx is already running; run: $0 down"
  command -v nginx >/dev/null 2>&1 || die "nginx is not installed (apt-get install nginx)"
  command -v curl >/dev/null 2>&1 || die "curl is not installed"
  for port in $ports $lb_port; do
    port_open "$port" && die "port $port is taken; choose others with FLEXCORE_CLUSTER_PORTS / FLEXCORE_CLUSTER_LB_PORT"
  done
  redis_hostport=${redis_url#*://}
  redis_hostport=${redis_hostport#*@}
  redis_hostport=${redis_hostport%%/*}
  (exec 3<>"/dev/tcp/${redis_hostport%%:*}/${redis_hostport##*:}") 2>/dev/null ||
    die "Redis does not answer at $(redact "$redis_url")"

  ensure_database
  build

  for port in $ports; do
    if ! start_node "$port"; then
      say "node-$port did not start (log above, in $state/node-$port.log); stopping the others"
      down >/dev/null
      exit 1
    fi
  done

  nginx_config
  nginx -q -t -p "$state/nginx" -c nginx.conf -e stderr || { down >/dev/null; die "nginx refused the config"; }
  nginx -p "$state/nginx" -c nginx.conf -e "$state/nginx/error.log" ||
    { down >/dev/null; die "nginx did not start; see $state/nginx/error.log"; }
  for ((i = 0; i < 50; i++)); do
    port_open "$lb_port" && break
    sleep 0.1
  done

  say ""
  say "FlexCore cluster up (Redis prefix $prefix, database $db):"
  say "  nginx    http://127.0.0.1:$lb_port   (config $state/nginx/nginx.conf, pid $(cat "$state/nginx/nginx.pid" 2>/dev/null))"
  for port in $ports; do
    say "  node-$port http://127.0.0.1:$port   (log $state/node-$port.log, pid $(<"$state/node-$port.pid"))"
  done
  say "  database $(redact "$pg/$db")"
  say "  redis    $(redact "$redis_url")"
  say ""
  say "Try:"
  say "  curl -s -X POST http://127.0.0.1:$lb_port/plugins/echo/execute -d hello -D - -o /dev/null | grep -i x-flexcore-node"
  say "  $0 status"
  say "  $0 down"
}

# One row of the status table from a node's `GET /cluster`.
status_of() {
  local name=$1 url=$2 body
  if ! body=$(curl -sf --max-time 2 "$url/cluster"); then
    printf '%-10s %-24s %s\n' "$name" "$url" "DOWN (no answer)"
    return
  fi
  if command -v jq >/dev/null 2>&1; then
    jq -r --arg name "$name" --arg url "$url" \
      '"\($name | .[0:10] | . + " " * (10 - length)) \($url | . + " " * (24 - length)) answered by \(.node_id), leader \(.leader // "none"), \(.nodes | length) live nodes"' <<<"$body"
  else
    printf '%-10s %-24s %s\n' "$name" "$url" "$body"
  fi
}

status() {
  local lb="http://127.0.0.1:$lb_port" body now
  say "Views of the cluster (GET /cluster):"
  status_of nginx "$lb"
  for port in $ports; do
    status_of "node-$port" "http://127.0.0.1:$port"
  done
  body=$(curl -sf --max-time 2 "$lb/cluster" ||
    for port in $ports; do curl -sf --max-time 2 "http://127.0.0.1:$port/cluster" && break; done) || true
  say ""
  if [ -z "$body" ]; then
    say "No node answers; is the cluster up? ($0 up)"
    return 1
  fi
  if ! command -v jq >/dev/null 2>&1; then
    say "$body"
    return 0
  fi
  now=$(date +%s%3N)
  say "Live nodes:"
  {
    printf 'NODE\tADDRESS\tROLE\tHEARTBEAT\tLOAD\tVERSION\tPLUGINS\tPROCESS\n'
    jq -r --argjson now "$now" '.nodes[] |
      [.node_id, .address, .role, "\($now - .last_heartbeat_unix_ms)ms ago", .load, .version,
       (.plugins | join(","))] | @tsv' <<<"$body" |
      while IFS=$'\t' read -r id address rest; do
        port=${address##*:}
        process="-"
        if [ -f "$state/node-$port.pid" ]; then
          if pid_alive "$state/node-$port.pid" flexcore-gateway; then
            process="pid $(<"$state/node-$port.pid")"
          else
            process="dead"
          fi
        fi
        printf '%s\t%s\t%s\t%s\n' "$id" "$address" "$rest" "$process"
      done
  } | if command -v column >/dev/null 2>&1; then column -t -s $'\t'; else cat; fi
  if pid_alive "$state/nginx/nginx.pid" nginx; then
    say "nginx: pid $(<"$state/nginx/nginx.pid"), http://127.0.0.1:$lb_port"
  else
    say "nginx: not running"
  fi
}

down() {
  local stopped=0 file
  if stop_pid "$state/nginx/nginx.pid" nginx QUIT 10; then
    say "stopped nginx"
    stopped=$((stopped + 1))
  fi
  # Every node with a pid file, also those of an earlier FLEXCORE_CLUSTER_PORTS.
  for file in "$state"/node-*.pid; do
    [ -e "$file" ] || continue
    if stop_pid "$file" flexcore-gateway TERM "$stop_grace"; then
      say "stopped $(basename "$file" .pid)"
      stopped=$((stopped + 1))
    fi
  done
  [ "$stopped" -gt 0 ] || say "nothing to stop"
}

case "${1:-}" in
  up) up ;;
  status) status ;;
  down) down ;;
  *)
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
