#!/usr/bin/env bash
# Builds the raftgate container image from the locally built binaries, without pulling
# anything: stages a root filesystem (binaries + the shared libraries they link) and runs
# `docker build` on it with deploy/docker/Dockerfile.
#
#   deploy/docker/build-image.sh                 # cargo build --release, then image raftgate:local
#   BIN_DIR=target/debug SKIP_BUILD=1 IMAGE=raftgate:test deploy/docker/build-image.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="${BIN_DIR:-$ROOT/target/release}"
IMAGE="${IMAGE:-raftgate:local}"
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/raftgate-rootfs.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

if [[ -z "${SKIP_BUILD:-}" ]]; then
  (cd "$ROOT" && cargo build --release -p raftgate -p raftgatectl)
fi
mkdir -p "$STAGE/usr/local/bin" "$STAGE/data" "$STAGE/tmp"
chmod 1777 "$STAGE/tmp"
for bin in raftgate raftgatectl; do
  [[ -x "$BIN_DIR/$bin" ]] || { [[ $bin == raftgatectl ]] && continue; echo "missing $BIN_DIR/$bin" >&2; exit 1; }
  strip -o "$STAGE/usr/local/bin/$bin" "$BIN_DIR/$bin"
  # Copy every shared library the binary links, at the same path, plus the loader.
  ldd "$BIN_DIR/$bin" | grep -oE '/[^ ]+' | while read -r lib; do
    mkdir -p "$STAGE$(dirname "$lib")"
    cp -L "$lib" "$STAGE$lib"
  done
done
docker build -q -f "$ROOT/deploy/docker/Dockerfile" -t "$IMAGE" "$STAGE"
echo "built $IMAGE"
