#!/usr/bin/env bash
# With --debug, a guest killed by a fault is explained in the log: the signal, its code and
# address, and the instruction it died on, decoded (capstone) rather than as raw bytes.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

run "$RUNSC" --debug do "$GUEST_DIR/prot_none_segv.static" read-none
expect_status 139
expect_stderr_matches 'task 1 \(prot_none_segv\.\) killed by SIGSEGV \(si_code 2, address 0x[0-9a-f]+\) at ip 0x[0-9a-f]+: [a-z]+ '
# Without --debug the guest's stderr carries nothing of ours.
run "$RUNSC" do "$GUEST_DIR/prot_none_segv.static" read-none
expect_status 139
expect_stderr ""
