#!/usr/bin/env bash
# Starts, inspects and stops a three-node raftgate cluster on loopback.
#
#   deploy/local/cluster.sh up       build, start nodes 1-3, wait for a leader, show status
#   deploy/local/cluster.sh status   cluster status as seen by the nodes
#   deploy/local/cluster.sh down     stop the nodes (SIGTERM, by PID); data is kept
#   deploy/local/cluster.sh clean    down, then delete the data
#
# Node N listens on 127.0.0.1:700N (gRPC: Raft + admin API), 127.0.0.1:808N (the `web`
# entrypoint) and 127.0.0.1:900N (ops: /ping, /metrics, /api/cluster).
# `up` also starts a tiny demo backend on 127.0.0.1:9101 (python3 -m http.server) and routes
# Host(`example.com`) && PathPrefix(`/api`) to it, then curls the route through every node. Data dirs, logs and PID files live under $RAFTGATE_LOCAL_DIR
# (default /tmp/raftgate-local). PROFILE=debug builds faster, PROFILE=release (default) runs faster.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${RAFTGATE_LOCAL_DIR:-/tmp/raftgate-local}"
PROFILE="${PROFILE:-release}"
NODES=(1 2 3)
BIN="$ROOT/target/$PROFILE"
ENDPOINTS="http://127.0.0.1:7001,http://127.0.0.1:7002,http://127.0.0.1:7003"
PEERS="1=http://127.0.0.1:7001,2=http://127.0.0.1:7002,3=http://127.0.0.1:7003"

ctl() { "$BIN/raftgatectl" --endpoints "$ENDPOINTS" "$@"; }

running() { [[ -f "$DIR/node$1.pid" ]] && kill -0 "$(cat "$DIR/node$1.pid")" 2>/dev/null; }

build() {
  local flag=()
  [[ "$PROFILE" == release ]] && flag=(--release)
  (cd "$ROOT" && cargo build "${flag[@]}" -p raftgate -p raftgatectl)
}

up() {
  build
  mkdir -p "$DIR"
  for n in "${NODES[@]}"; do
    if running "$n"; then echo "node $n already running (pid $(cat "$DIR/node$n.pid"))"; continue; fi
    # --peers only bootstraps an empty data dir; on later starts it is ignored.
    setsid "$BIN/raftgate" --id "$n" --data-dir "$DIR/node$n" \
      --grpc-addr "127.0.0.1:700$n" --ops-addr "127.0.0.1:900$n" --peers "$PEERS" \
      --entrypoint "web=127.0.0.1:808$n" \
      >>"$DIR/node$n.log" 2>&1 < /dev/null &
    echo $! > "$DIR/node$n.pid"
    echo "node $n: pid $!, log $DIR/node$n.log"
  done
  local up=0
  for _ in $(seq 1 100); do
    if ctl cluster status -o json 2>/dev/null | grep -q '"role": *"leader"'; then up=1; break; fi
    sleep 0.1
  done
  if [[ $up != 1 ]]; then echo "no leader after 10 s; see the logs in $DIR" >&2; return 1; fi
  ctl cluster status
  demo
  echo "cluster is up; data, logs and PIDs are in $DIR"
}

# A demo backend and route, then one request through each node's entrypoint.
demo() {
  if ! [[ -f "$DIR/backend.pid" ]] || ! kill -0 "$(cat "$DIR/backend.pid")" 2>/dev/null; then
    mkdir -p "$DIR/www/api"
    echo "hello from the demo backend" > "$DIR/www/api/hello"
    setsid python3 -m http.server 9101 --bind 127.0.0.1 --directory "$DIR/www" \
      >>"$DIR/backend.log" 2>&1 < /dev/null &
    echo $! > "$DIR/backend.pid"
  fi
  ctl get service demo >/dev/null 2>&1 || ctl service create demo --server http://127.0.0.1:9101
  ctl get router demo >/dev/null 2>&1 || ctl router create demo --rule 'Host(`example.com`) && PathPrefix(`/api`)' --service demo
  for n in "${NODES[@]}"; do
    for _ in $(seq 1 50); do
      body="$(curl -fsS -H 'Host: example.com' "http://127.0.0.1:808$n/api/hello" 2>/dev/null)" && break
      sleep 0.1
    done
    echo "curl -H 'Host: example.com' http://127.0.0.1:808$n/api/hello -> ${body:-FAILED}"
  done
}

down() {
  if [[ -f "$DIR/backend.pid" ]]; then kill "$(cat "$DIR/backend.pid")" 2>/dev/null || true; rm -f "$DIR/backend.pid"; fi
  for n in "${NODES[@]}"; do
    if running "$n"; then
      pid="$(cat "$DIR/node$n.pid")"
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      echo "node $n stopped"
    fi
    rm -f "$DIR/node$n.pid"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) ctl cluster status ;;
  clean) down; rm -rf "$DIR"; echo "removed $DIR" ;;
  *) echo "usage: $0 up|status|down|clean" >&2; exit 2 ;;
esac
