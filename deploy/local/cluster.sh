#!/usr/bin/env bash
# Starts, inspects and stops a three-node raftgate cluster on loopback.
#
#   deploy/local/cluster.sh up       build, start nodes 1-3, wait for a leader, show status
#   deploy/local/cluster.sh status   cluster status as seen by the nodes
#   deploy/local/cluster.sh down     stop the nodes (SIGTERM, by PID); data is kept
#   deploy/local/cluster.sh clean    down, then delete the data
#
# Node N listens on 127.0.0.1:700N (gRPC: Raft + admin API) and 127.0.0.1:900N (ops:
# /ping, /metrics, /api/cluster). Data dirs, logs and PID files live under $RAFTGATE_LOCAL_DIR
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
      >>"$DIR/node$n.log" 2>&1 < /dev/null &
    echo $! > "$DIR/node$n.pid"
    echo "node $n: pid $!, log $DIR/node$n.log"
  done
  for _ in $(seq 1 100); do
    if ctl cluster status -o json 2>/dev/null | grep -q '"role": *"leader"'; then
      ctl cluster status
      echo "cluster is up; data, logs and PIDs are in $DIR"
      echo "try: $BIN/raftgatectl --endpoints $ENDPOINTS service create api --server http://127.0.0.1:9101"
      return 0
    fi
    sleep 0.1
  done
  echo "no leader after 10 s; see the logs in $DIR" >&2
  return 1
}

down() {
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
