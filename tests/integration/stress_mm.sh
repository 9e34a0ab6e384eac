#!/usr/bin/env bash
# stress-ng --verify on the memory and process stressors (tools/stress.sh): each must pass inside
# runsc when it passes natively. The memory stressors check their own data, so a page the sentry
# maps wrong (a stale host mapping, a lost copy-on-write) fails them. Release build only
# (ctest label "stress"), like the engine tests.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

command -v stress-ng >/dev/null || {
    echo "FAIL $SCRIPT_NAME: stress-ng is not installed (tools/install-deps.sh)" >&2
    exit 1
}
REPO=$(cd "$(dirname -- "$0")/../.." && pwd)
RUN_TIMEOUT=600 run "$REPO/tools/stress.sh" --runsc "$RUNSC" --seconds 2 \
    mremap mmap vm brk stack fork clone shm-sysv
expect_status 0
summary=$(grep -o 'passing natively: [0-9]*; runsc passes [0-9]* of them' <<<"$OUT")
native=$(sed 's/passing natively: \([0-9]*\).*/\1/' <<<"$summary")
ours=$(sed 's/.*runsc passes \([0-9]*\).*/\1/' <<<"$summary")
check "runsc passes every stressor that passes natively ($summary)" \
    test -n "$summary" -a "$native" = "$ours" -a "${native:-0}" -ge 6
