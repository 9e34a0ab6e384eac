#!/usr/bin/env bash
# `runsc boot` in container mode (boot/boot.h): the spec on a pipe, init loaded and reported on
# the ready pipe ("ok" or "err CODE ..."), run on Start over the control socket, and a Wait sent
# before Start answered with init's status before the sandbox exits with it. A stand-in for
# `runsc create` (data/boot_container.py) sets up the fds as the CLI does.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

HARNESS=$(dirname -- "$0")/data/boot_container.py

boot_container() {
    rm -f "$TMP/sandbox.sock"
    run python3 "$HARNESS" "$RUNSC" "$TMP" "$@"
}

boot_container sh -c 'echo hello from init; pwd; exit 7'
expect_status 0
expect_stdout_contains "ready: ok"
expect_stdout_contains "before start: 1 sh -c echo hello from init; pwd; exit 7"
expect_stdout_contains 'start: {"ok": true}'
expect_stdout_contains 'start again: {"errno": 114, "error": "the container was already started"}'
expect_stdout_contains 'wait: {"ok": true, "status": 1792}'
expect_stdout_contains "exit: 7"
expect_stdout_contains "hello from init"$'\n'"/tmp"$'\n'

boot_container no-such-command-xyz
expect_stdout_contains 'ready: err 127 exec: "no-such-command-xyz": executable file not found in $PATH'
expect_stdout_contains "exit: 127"

boot_container /etc/passwd
expect_stdout_matches() { _expect_stream stdout "$OUT" matches "$1"; }
expect_stdout_matches '^ready: err 126 exec: "/etc/passwd": '
expect_stdout_contains "exit: 126"
