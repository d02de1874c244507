#!/usr/bin/env bash
# EXTRA_CMD for ../shared/bench/peers.sh: one raftgate node (a single-member cluster) proxying
# LISTEN_ADDR to BACKEND_URL. Runs in the foreground until killed.
#
#   cargo build --release -p raftgate -p raftgatectl
#   EXTRA_NAME=raftgate EXTRA_PORT=18090 EXTRA_CMD="exec $PWD/bench/peer-node.sh" \
#     ../shared/bench/peers.sh
#
# Uses BACKEND_URL, LISTEN_ADDR, WORKERS and RUN_DIR from peers.sh. RAFTGATE_WRAP, if set, is
# a command the node runs under (bench/instructions-per-request.sh uses valgrind); the node's
# PID is written to $RUN_DIR/raftgate.pid. MIDDLEWARES=1 puts a
# 5-middleware chain on the route: headers + stripPrefix + ipAllowList + compress (skipped:
# wrk sends no Accept-Encoding) + retry.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${RAFTGATE_BIN_DIR:-$ROOT/target/release}"
GRPC_PORT="${GRPC_PORT:-17901}"
OPS_PORT="${OPS_PORT:-17902}"
WORKERS="${WORKERS:-1}"

# A fresh single-member cluster each start (peers.sh restarts the proxy every round).
rm -rf "$RUN_DIR/raftgate-data"
# shellcheck disable=SC2086 # RAFTGATE_WRAP is a command line: split on purpose.
${RAFTGATE_WRAP:-} "$BIN/raftgate" --id 1 --data-dir "$RUN_DIR/raftgate-data" \
  --grpc-addr "127.0.0.1:$GRPC_PORT" --ops-addr "127.0.0.1:$OPS_PORT" \
  --peers "1=http://127.0.0.1:$GRPC_PORT" --entrypoint "web=$LISTEN_ADDR" --worker-threads "$WORKERS" \
  >"$RUN_DIR/raftgate.log" 2>&1 &
NODE=$!
echo "$NODE" >"$RUN_DIR/raftgate.pid"
trap 'kill $NODE 2>/dev/null || true' EXIT TERM INT

ctl() { "$BIN/raftgatectl" --endpoints "http://127.0.0.1:$GRPC_PORT" "$@"; }
for _ in $(seq 1 100); do
  ctl cluster status -o json 2>/dev/null | grep -q '"role": *"leader"' && break
  sleep 0.1
done
ctl service create backend --server "$BACKEND_URL" >/dev/null
if [ "${MIDDLEWARES:-0}" = 1 ]; then
  ctl apply -f - >/dev/null <<'EOF'
http:
  middlewares:
    hdr:
      headers:
        customRequestHeaders: {X-Gateway: raftgate}
        customResponseHeaders: {X-Served-By: raftgate}
    strip:
      stripPrefix:
        prefixes: [/nothing-to-strip]
    lan:
      ipAllowList:
        sourceRange: [127.0.0.0/8]
    gz:
      compress: {}
    again:
      retry:
        attempts: 2
        initialInterval: 10ms
  routers:
    all:
      rule: PathPrefix(`/`)
      service: backend
      middlewares: [hdr, strip, lan, gz, again]
EOF
else
  ctl router create all --rule 'PathPrefix(`/`)' --service backend >/dev/null
fi
wait "$NODE"
