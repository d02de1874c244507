#!/usr/bin/env bash
# CPU a proxy process spends per request (user and system µs), measured around one wrk run:
# steadier than req/s on a noisy machine, since it does not depend on how fast the load side
# is. Run the proxy pinned to one core and the backend and wrk on another, as peers.sh does.
#
#   bench/cpu-per-request.sh PID PORT [SECONDS] [CONNECTIONS]
#
# PID: the proxy's process (for nginx, its worker); PORT: where it listens on 127.0.0.1.
set -euo pipefail
pid=$1 port=$2 dur=${3:-6} conns=${4:-64}
load_cpu=${LOAD_CPUS:-0}
url="http://127.0.0.1:$port/"
taskset -c "$load_cpu" wrk -t1 -c"$conns" -d1s "$url" >/dev/null   # warm-up
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
out=$(taskset -c "$load_cpu" wrk -t1 -c"$conns" -d"${dur}s" --latency "$url")
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
reqs=$(awk '/requests in/ {print $1}' <<<"$out")
rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v r="$reqs" -v hz="$(getconf CLK_TCK)" -v rps="$rps" -v p99="$p99" \
  'BEGIN { printf "req/s %.0f  p99 %s  user %.2f µs/req  sys %.2f µs/req  total %.2f µs/req\n",
           rps, p99, u / hz * 1e6 / r, s / hz * 1e6 / r, (u + s) / hz * 1e6 / r }'
