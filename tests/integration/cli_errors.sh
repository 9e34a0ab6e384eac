#!/usr/bin/env bash
# The runsc CLI's errors: a command that can't be run exits 127 or 126 as a shell reports it, with
# a message naming the file and why; bad usage exits 2 with the usage on stderr.
# shellcheck disable=SC1010,SC2016 # `runsc do` is not a loop; guest shell code is single-quoted
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

# A command that isn't there: 127, whether named by path or looked up in PATH.
run "$RUNSC" do /nonexistent
expect_status 127
expect_stderr $'runsc: exec /nonexistent: no such file or directory\n'
expect_stdout ""

run "$RUNSC" do nonexistent-cmd-xyz
expect_status 127
expect_stderr_contains "nonexistent-cmd-xyz: no such file or directory"

# A file without the execute bit: execve(2) fails with EACCES, shells exit 126.
dir=$(mktemp -d "$TMP/cmd.XXXXXX")
printf '#!/bin/busybox sh\necho should not run\n' >"$dir/not-executable"
chmod 644 "$dir/not-executable"
run "$RUNSC" do "$dir/not-executable"
expect_status 126
expect_stderr $"runsc: exec $dir/not-executable: permission denied"$'\n'
expect_stdout ""

# A directory: EACCES too.
run "$RUNSC" do "$dir"
expect_status 126
expect_stderr_contains "permission denied"

# Executable text that is neither ELF nor a #! script: ENOEXEC.
printf 'just some text, no interpreter line\n' >"$dir/text"
chmod 755 "$dir/text"
run "$RUNSC" do "$dir/text"
expect_status 126
expect_stderr $"runsc: exec $dir/text: exec format error"$'\n'

# A dynamically linked program: its interpreter comes through the gofer.
if ! file -L /bin/false | grep -q 'dynamically linked'; then
    fail "precondition: /bin/false is expected to be dynamically linked: $(file -L /bin/false)"
fi
run "$RUNSC" do /bin/false
expect_status 1
expect_stdout ""
expect_stderr ""

# A script whose interpreter doesn't exist: execve's ENOENT, as a shell reports it (127).
printf '#!/nonexistent/interpreter\n' >"$dir/bad-interp"
chmod 755 "$dir/bad-interp"
run "$RUNSC" do "$dir/bad-interp"
expect_status 127
expect_stderr $"runsc: exec $dir/bad-interp: no such file or directory"$'\n'

# Usage errors: exit 2, the error then the usage on stderr, nothing on stdout.
run "$RUNSC" --bogus do /bin/busybox true
expect_status 2
expect_stderr_first_line "runsc: unknown flag: --bogus"
expect_stderr_matches '^usage: runsc '
expect_stdout ""

run "$RUNSC" no-such-subcommand
expect_status 2
expect_stderr_first_line "runsc: unknown command: no-such-subcommand"
expect_stderr_matches '^usage: runsc '

run "$RUNSC" do
expect_status 2
expect_stderr_contains "missing command"
expect_stderr_matches '^usage: runsc '

run "$RUNSC"
expect_status 2
expect_stderr_matches '^usage: runsc '

# --help and --version answer on stdout and succeed.
run "$RUNSC" --help
expect_status 0
if [[ $OUT == "usage: runsc "* && $OUT == *"do [--] CMD"* ]]; then
    pass "[$LAST_CMD] stdout is the usage"
else
    fail "[$LAST_CMD] stdout" "the usage (usage: runsc ..., listing do)" "$OUT"
fi
expect_stderr ""

run "$RUNSC" --version
expect_status 0
if [[ ${OUT%%$'\n'*} =~ ^runsc\ version\ [0-9]+\.[0-9]+ ]]; then
    pass "[$LAST_CMD] first line is 'runsc version X.Y...'"
else
    fail "[$LAST_CMD] first line of stdout" "runsc version X.Y..." "${OUT%%$'\n'*}"
fi

# An unknown platform fails, and the message says which.
run "$RUNSC" --platform=bogus do /bin/busybox true
expect_status_nonzero
expect_stderr_contains "bogus"
expect_stdout ""
