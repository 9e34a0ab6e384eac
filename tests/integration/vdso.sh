#!/usr/bin/env bash
# The vDSO serves the time calls without a syscall: under `runsc --strace`, programs calling
# clock_gettime, gettimeofday and time a thousand times each (glibc static and dynamic, the
# static-pie guest program, musl if musl-gcc is installed) show none of them.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

src=$(dirname -- "$0")/programs/clock_loop.c
dir=$(mktemp -d)
at_exit "rm -rf '$dir'"
progs=()
cc -static -O1 -o "$dir/glibc-static" "$src"
progs+=("$dir/glibc-static")
cc -O1 -o "$dir/glibc-dynamic" "$src"
progs+=("$dir/glibc-dynamic")
if command -v musl-gcc >/dev/null; then
    musl-gcc -static -O1 -o "$dir/musl-static" "$src"
    progs+=("$dir/musl-static")
else
    fail "musl-gcc is installed (a musl program checks its vDSO use too; tools/install-deps.sh)"
fi

time_calls='^(clock_gettime|gettimeofday|time|clock_getres|getcpu)\('
for prog in "${progs[@]}"; do
    run "$RUNSC" --strace do "$prog" 1000
    expect_status 0
    expect_stdout $'monotonic ok\n'
    expect_stderr_line 'exit_group(0) = ?'
    count=$(grep -cE "$time_calls" <<<"$ERR" || true)
    check "[$LAST_CMD] no time syscalls in the strace log ($count)" test "$count" -eq 0

    # A CPU-time clock is not the vDSO's: that one call reaches the sentry through it.
    run "$RUNSC" --strace do "$prog" 1000 cputime
    expect_status 0
    expect_stdout $'monotonic ok\n'
    count=$(grep -cE "$time_calls" <<<"$ERR" || true)
    check "[$LAST_CMD] one time syscall in the strace log ($count)" test "$count" -eq 1
    expect_stderr_matches '^clock_gettime\(2, 0x[0-9a-f]+\) = 0$'
done

# The guest program's loop mode: clock_gettime, gettimeofday, time, clock_getres, getcpu.
run "$RUNSC" --strace do "$GUEST_DIR/vdso.static-pie" loop 1000
expect_status 0
expect_stdout_contains 'guest: ok'
count=$(grep -cE "$time_calls" <<<"$ERR" || true)
check "[$LAST_CMD] no time syscalls in the strace log ($count)" test "$count" -eq 0
