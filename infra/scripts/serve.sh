#!/usr/bin/env bash
# Builds FlexCore and the example plugins (release), then serves them on the
# embedded defaults: no PostgreSQL, no Redis. Extra arguments go to the gateway.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

cargo build --release --workspace
make -s -C plugins/wordcount-c OUT="$root/target/release"

listen=${FLEXCORE_LISTEN:-127.0.0.1:8080}
cat <<MSG

FlexCore is starting on http://$listen with echo, data-processor, faulty and
the C plugin wordcount. Try, in another terminal:

  curl -s -X POST http://$listen/plugins/data-processor/execute \\
       -H 'content-type: application/json' -d '{"test_input":"real_data"}'
  curl -s -X POST http://$listen/plugins/echo/execute -d 'hello'
  curl -s -X POST http://$listen/plugins/wordcount/execute -d 'one two three'
  curl -s http://$listen/plugins

Stop it with Ctrl-C (it drains calls in flight first).

MSG
exec target/release/flexcore-gateway --listen "$listen" --plugin-dir target/release "$@"
