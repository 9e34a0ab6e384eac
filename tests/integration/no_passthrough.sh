#!/usr/bin/env bash
# Guest code runs in stub processes traced by the sentry, and nothing of the host leaks to it:
# the guest sees its own pids, each stub has a sentry thread as tracer, takes its guest's name,
# and maps only the memory file, the stub page, its two scratch pages and its read-only batch
# page (one page of the batch file, at its pid's offset in the sandbox), and a stub whose
# sentry dies never goes on running guest code.
# shellcheck disable=SC1010,SC2016 # `runsc do` is not a loop; guest shell code is single-quoted
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox

# (a) The guest sees itself as pid 1 with parent 0, as the init of a pid namespace does.
run "$RUNSC" do "$BUSYBOX" sh -c 'echo $$ $PPID'
expect_status 0
expect_stdout $'1 0\n'

# (b) A guest spinning without syscalls; find its host processes through /proc.
"$RUNSC" do "$BUSYBOX" sh -c 'while :; do :; done' </dev/null >"$TMP/spin.out" 2>"$TMP/spin.err" &
cli=$!
at_exit "kill_sandbox $cli"
if ! find_sandbox "$cli"; then
    fail "a running guest has host processes runsc -> boot -> runsc-stubs factory -> traced stub" \
        "boot, factory and a traced stub under runsc pid $cli" \
        "boot=${BOOT_PID:-none} factory=${FACTORY_PID:-none} stubs=${STUB_PIDS[*]:-none}"
    exit 1
fi
pass "found the sandbox: runsc $cli, boot $BOOT_PID, factory $FACTORY_PID, stubs ${STUB_PIDS[*]}"
LAST_CMD="host view of the spinning guest"

if [[ $(proc_field "$FACTORY_PID" PPid) == "$BOOT_PID" ]]; then
    pass "[$LAST_CMD] the stub factory $FACTORY_PID is a child of boot $BOOT_PID"
else
    fail "[$LAST_CMD] the factory's parent" "$BOOT_PID" "$(proc_field "$FACTORY_PID" PPid)"
fi
if ((${#STUB_PIDS[@]} == 1)); then
    pass "[$LAST_CMD] one stub for one single-threaded guest process"
else
    fail "[$LAST_CMD] number of traced stubs" 1 "${#STUB_PIDS[@]} (${STUB_PIDS[*]})"
fi

boot_tids=$(ls /proc/"$BOOT_PID"/task)
for stub in "${STUB_PIDS[@]}"; do
    comm=$(cat /proc/"$stub"/comm)
    if [[ $comm == busybox ]]; then
        pass "[$LAST_CMD] stub $stub is named after its guest (busybox)"
    else
        fail "[$LAST_CMD] stub $stub's comm" busybox "$comm"
    fi
    if [[ $stub -ne 1 ]]; then
        pass "[$LAST_CMD] the stub's host pid ($stub) is not the guest's pid 1"
    else
        fail "[$LAST_CMD] the stub's host pid" "not 1" "$stub"
    fi
    state=$(proc_field "$stub" State)
    if [[ $state == R || $state == t ]]; then
        pass "[$LAST_CMD] stub $stub is running or in a ptrace stop (state $state)"
    else
        fail "[$LAST_CMD] stub $stub's state" "R (running) or t (tracing stop)" "$state"
    fi
    tracer=$(proc_field "$stub" TracerPid)
    if grep -qxF -- "$tracer" <<<"$boot_tids"; then
        pass "[$LAST_CMD] stub $stub is traced by boot's thread $tracer"
    else
        fail "[$LAST_CMD] stub $stub's TracerPid" "one of boot's threads: ${boot_tids//$'\n'/ }" "$tracer"
    fi
    seccomp=$(proc_field "$stub" Seccomp) nnp=$(proc_field "$stub" NoNewPrivs)
    if [[ $seccomp == 2 && $nnp == 1 ]]; then
        pass "[$LAST_CMD] stub $stub runs under a seccomp filter with no_new_privs"
    else
        fail "[$LAST_CMD] stub $stub's Seccomp/NoNewPrivs" "2/1" "$seccomp/$nnp"
    fi

    # (d) No pass-through: the stub has no program, libc, stack or vdso of its own, only the
    # memory file (where guest memory lives), the one stub page and the two scratch pages below
    # it (the argv copy the host's /proc/PID/cmdline reads, and prctl arguments), and below
    # those its batch page: one read-only page of the batch file at its sandbox pid's offset (the
    # lists of mappings the sentry has it make); [vsyscall] is the kernel's fixed page that every
    # x86-64 process has.
    maps=$(cat /proc/"$stub"/maps)
    bad=$(awk '
        $6 == "/memfd:runsc-memory" { memfd++; next }
        $6 == "/memfd:runsc-stub-batch" && $2 == "r--s" && !batch++ { next }
        $6 == "[vsyscall]" { next }
        NF == 5 && anon++ < 2 { next }
        { print }
        END { if (!memfd) print "(no /memfd:runsc-memory mapping)" }' <<<"$maps")
    if [[ -z $bad ]]; then
        pass "[$LAST_CMD] stub $stub maps only the memory file, its own pages and [vsyscall]"
    else
        fail "[$LAST_CMD] stub $stub's /proc/PID/maps has mappings besides the memory file and the stub page" \
            "none" "$bad"
    fi
    anon=$(awk 'NF == 5 { print $1, $2 }' <<<"$maps")
    stub_page=$(tail -n 1 <<<"$anon")
    scratch=$(head -n -1 <<<"$anon")
    read -r range perms <<<"$stub_page"
    read -r srange sperms <<<"$scratch"
    if [[ $(wc -l <<<"$anon") -eq 2 && $range == *-* && $perms == r-x? && $sperms == rw-p ]] &&
        ((16#${range#*-} - 16#${range%-*} == 4096)) &&
        ((16#${srange#*-} == 16#${range%-*} && 16#${srange#*-} - 16#${srange%-*} == 8192)); then
        pass "[$LAST_CMD] stub $stub's anonymous mappings: one r-x stub page, two rw- scratch pages below it"
    else
        fail "[$LAST_CMD] stub $stub's anonymous mappings" \
            "two rw-p scratch pages, then one r-x page (the stub code)" "$anon"
    fi
    for name in '[stack]' '[vdso]' '[vvar]' '[heap]' libc; do
        if [[ $maps != *"$name"* ]]; then
            pass "[$LAST_CMD] stub $stub has no $name mapping"
        else
            fail "[$LAST_CMD] stub $stub maps $name" "no $name" "$(grep -F -- "$name" <<<"$maps")"
        fi
    done
    fds=$(for fd in /proc/"$stub"/fd/*; do readlink "$fd"; done)
    if [[ $fds == "/memfd:runsc-memory (deleted)" ]]; then
        pass "[$LAST_CMD] stub $stub holds one fd: the memory file"
    else
        fail "[$LAST_CMD] stub $stub's open fds" "/memfd:runsc-memory (deleted)" "$fds"
    fi
done

# (c) SIGKILL to the boot process (its sentry threads are the stubs' tracers): the factory, its
# template stub and every stub are gone within 2 s, and the CLI reports the killed sandbox with
# 128 + 9.
# The factory's children: its template stub, which forks the ready stubs it holds.
mapfile -t FACTORY_CHILDREN < <(children_of "$FACTORY_PID")
kill -KILL "$BOOT_PID"
LAST_CMD="kill -KILL boot $BOOT_PID"
if wait_gone 2 "$FACTORY_PID" "${FACTORY_CHILDREN[@]}" "${STUB_PIDS[@]}"; then
    pass "[$LAST_CMD] factory $FACTORY_PID, template ${FACTORY_CHILDREN[*]}, stubs ${STUB_PIDS[*]} gone"
else
    left=""
    for p in "$FACTORY_PID" "${FACTORY_CHILDREN[@]}" "${STUB_PIDS[@]}"; do
        gone "$p" || left+="$p ($(cat /proc/"$p"/comm 2>/dev/null), state $(proc_field "$p" State)) "
    done
    fail "[$LAST_CMD] sandbox processes still alive 2 s after their sentry died" "none" "$left"
fi
if wait_exit 5 "$cli"; then
    load_result "$BG_STATUS" "$TMP/spin.out" "$TMP/spin.err"
    LAST_CMD="runsc do (boot killed)"
    expect_status 137
    expect_stderr_contains "sandbox was killed"
else
    fail "[$LAST_CMD] the runsc CLI $cli exits once its sandbox is killed" "exited within 5 s" "still running"
fi
