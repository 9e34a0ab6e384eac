#!/usr/bin/env bash
# README command (a): install dependencies, build runsc, and run a busybox shell line in it.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target runsc
build/release/runsc do /bin/busybox sh -c 'echo "hello from runsc: I am pid $$, and 6*7 = $((6 * 7))"'
