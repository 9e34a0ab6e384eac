#!/usr/bin/env bash
# A fork bomb inside runsc stops at the sandbox's task limit with EAGAIN, and the sandbox stays
# in control: the children are killed and reaped, and runsc exits normally.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

prog=$(mktemp)
at_exit "rm -f '$prog'"
cc -static -O1 -o "$prog" "$(dirname -- "$0")/programs/fork_bomb.c"

RUN_TIMEOUT=120 run "$RUNSC" do "$prog"
expect_status 0
expect_stdout $'fork failed after 1023 children: Resource temporarily unavailable\nreaped 1023\n'
