#!/usr/bin/env bash
# Builds the pending guest programs (not registered with ctest yet) like CMake builds the others,
# and runs each through the differential harness.
# Usage: run.sh RUNSC_BINARY OUT_DIR [NAME...]   (default: every pending/*.c)
set -uo pipefail
[[ $# -ge 2 ]] || { echo "usage: run.sh RUNSC_BINARY OUT_DIR [NAME...]" >&2; exit 2; }
here=$(cd "$(dirname -- "$0")" && pwd)
runsc=$1
out=$2
shift 2
mkdir -p "$out"
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
    for src in "$here"/*.c; do
        names+=("$(basename -- "$src" .c)")
    done
fi
status=0
for name in "${names[@]}"; do
    for variant in static static-pie; do
        bin="$out/$name.$variant"
        "${CC:-cc}" -std=gnu17 -O1 -Wall -Wextra -Werror "-$variant" -I"$here/.." \
            -o "$bin" "$here/$name.c" || { status=1; continue; }
        bash "$here/../differential.sh" "$runsc" "$bin" || status=1
    done
done
exit "$status"
