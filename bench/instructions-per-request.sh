#!/usr/bin/env bash
# User-space instructions a proxy executes per proxied request, counted by valgrind's callgrind
# over one wrk run. Unlike req/s or CPU time it does not move with the machine's load or clock,
# so it compares proxies (and two builds of raftgate) on a noisy machine.
#
#   cargo build --release -p raftgate -p raftgatectl --bins --example hyper_baseline
#   bench/instructions-per-request.sh raftgate|nginx|hyper [SECONDS]
#
# raftgate: one node as bench/peer-node.sh starts it (MIDDLEWARES=1 works here too);
# nginx: a keep-alive reverse proxy configured as ../shared/bench/peers.sh configures it;
# hyper: node/examples/hyper_baseline, a bare hyper forwarder (the floor of raftgate's stack).
# Each forwards to an nginx backend answering 100 bytes, as in peers.sh. Needs valgrind, nginx,
# wrk and curl (apt-get install valgrind nginx wrk curl). Prints one line:
#   <proxy> requests=N instructions/request=I
# Kernel work is not counted: every proxy here makes the same 2 reads and 2 writes per request
# (strace -c), so user space is where they differ.
set -euo pipefail
PROXY=${1:?usage: $0 raftgate|nginx|hyper [SECONDS]}
SECONDS_MEASURED=${2:-20}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BACKEND_PORT=${BACKEND_PORT:-18080}
PROXY_PORT=${PROXY_PORT:-18095}
LOAD_CPUS=${LOAD_CPUS:-0}
PROXY_CPUS=${PROXY_CPUS:-1}
CONNS=${CONNS:-16}
BODY="peerbench backend ok 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcde"

for t in valgrind callgrind_control callgrind_annotate nginx wrk curl taskset setsid; do
  command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 2; }
done

RUN=$(mktemp -d /tmp/ipr.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  # A node under valgrind takes seconds to shut down gracefully and writes its profile last.
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  rm -rf "$RUN"
}
trap cleanup EXIT INT TERM

# An nginx config in $RUN/$1 with this http block.
nginx_conf() {
  local dir="$RUN/$1"
  mkdir -p "$dir"/{client_body,proxy,fastcgi,uwsgi,scgi}
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  server_tokens off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  $2
}
EOF
}

start() { # cpus cmd...: in its own session, recorded for cleanup
  local cpus=$1
  shift
  setsid taskset -c "$cpus" "$@" >>"$RUN/processes.log" 2>&1 </dev/null &
  PIDS+=("$!")
}

wait_serving() { # url seconds
  local deadline=$((SECONDS + $2))
  until curl -sf -o /dev/null "$1"; do
    ((SECONDS < deadline)) || { echo "$1 did not answer within $2 s" >&2; cat "$RUN/processes.log" >&2; exit 1; }
    sleep 0.5
  done
}

nginx_conf backend "server { listen 127.0.0.1:$BACKEND_PORT backlog=4096;
    location / { default_type text/plain; return 200 \"$BODY\n\"; } }"
start "$LOAD_CPUS" nginx -p "$RUN/backend" -e "$RUN/backend/error.log" -c "$RUN/backend/nginx.conf"
wait_serving "http://127.0.0.1:$BACKEND_PORT/" 15

CALLGRIND=(valgrind --tool=callgrind --instr-atstart=no --dump-instr=no
  "--callgrind-out-file=$RUN/callgrind.out")
case "$PROXY" in
  raftgate)
    RAFTGATE_WRAP="${CALLGRIND[*]}" RUN_DIR="$RUN" BACKEND_URL="http://127.0.0.1:$BACKEND_PORT" \
      LISTEN_ADDR="127.0.0.1:$PROXY_PORT" start "$PROXY_CPUS" "$ROOT/bench/peer-node.sh"
    wait_serving "http://127.0.0.1:$PROXY_PORT/" 120
    VG=$(cat "$RUN/raftgate.pid")
    ;;
  nginx)
    nginx_conf proxy "upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 1024;
      keepalive_requests 10000000; keepalive_timeout 300s; }
    server { listen 127.0.0.1:$PROXY_PORT backlog=4096; location / {
      proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$host; } }"
    start "$PROXY_CPUS" "${CALLGRIND[@]}" nginx -p "$RUN/proxy" -e "$RUN/proxy/error.log" \
      -c "$RUN/proxy/nginx.conf"
    VG=${PIDS[-1]}
    wait_serving "http://127.0.0.1:$PROXY_PORT/" 120
    ;;
  hyper)
    LISTEN_ADDR="127.0.0.1:$PROXY_PORT" BACKEND_ADDR="127.0.0.1:$BACKEND_PORT" \
      start "$PROXY_CPUS" "${CALLGRIND[@]}" "$ROOT/target/release/examples/hyper_baseline"
    VG=${PIDS[-1]}
    wait_serving "http://127.0.0.1:$PROXY_PORT/" 120
    ;;
  *)
    echo "unknown proxy $PROXY (raftgate, nginx or hyper)" >&2
    exit 2
    ;;
esac

URL="http://127.0.0.1:$PROXY_PORT/"
taskset -c "$LOAD_CPUS" wrk -t1 -c"$CONNS" -d3s "$URL" >/dev/null # warm-up, not counted
callgrind_control -i on "$VG" >/dev/null
taskset -c "$LOAD_CPUS" wrk -t1 -c"$CONNS" -d"${SECONDS_MEASURED}s" "$URL" >"$RUN/wrk.txt"
callgrind_control -i off "$VG" >/dev/null
callgrind_control -d "$VG" >/dev/null 2>&1
dump="$RUN/callgrind.out.1"
for _ in $(seq 50); do [[ -s "$dump" ]] && break; sleep 0.2; done

requests=$(awk '/requests in/ {print $1}' "$RUN/wrk.txt")
errors=$(awk '/Non-2xx|Socket errors/' "$RUN/wrk.txt")
[[ -z "$errors" ]] || { echo "wrk saw errors: $errors" >&2; exit 1; }
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "$PROXY requests=$requests instructions/request=$((total / requests))"
if [[ -n "${KEEP_PROFILE:-}" ]]; then
  cp "$dump" "$KEEP_PROFILE"
  echo "profile: $KEEP_PROFILE (callgrind_annotate $KEEP_PROFILE)"
fi
