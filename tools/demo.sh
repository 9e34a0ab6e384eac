#!/usr/bin/env bash
# README command (a): install dependencies, build runsc, and run a busybox shell line in it, then
# Debian's own (dynamically linked) bash, which reads the host's files through the gofer and
# writes into the sandbox's in-memory overlay.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target runsc
build/release/runsc do /bin/busybox sh -c 'echo "hello from runsc: I am pid $$, and 6*7 = $((6 * 7))"'
build/release/runsc do /bin/bash -c 'echo "bash $BASH_VERSION sees $(ls /usr/bin | wc -l) programs in /usr/bin" && echo scratch >/tmp/runsc-demo && cat /tmp/runsc-demo'
if [[ -e /tmp/runsc-demo ]]; then
    echo "demo: /tmp/runsc-demo leaked to the host" >&2
    exit 1
fi
echo "demo: the sandbox's /tmp/runsc-demo stayed in the sandbox"
