#!/usr/bin/env bash
# Debian's own dynamically linked programs run in the sandbox with the host's files (read-only,
# through the gofer) under an in-memory overlay: bash, python3, perl, and a C project built
# with `make -j2` (make, gcc, cc1, as, ld all in the sandbox). Linux is the oracle, and nothing a
# guest writes reaches the host.
# shellcheck disable=SC2016 # guest shell code is single-quoted
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

# The issue's demonstration: a listing, /proc, and a write that must stay in the sandbox.
marker="/tmp/runsc-it-host-programs-$$"
script="ls -la /etc | head -3; echo x > $marker && cat $marker"
native=$(bash -c "$script"; rm -f "$marker")
run "$RUNSC" do /bin/bash -c "$script"
expect_status 0
expect_stdout "$native"$'\n'
expect_stderr ""
if [[ -e $marker ]]; then
    fail "a file the guest wrote in /tmp stays in the sandbox" "no $marker on the host" "it exists"
    rm -f "$marker"
else
    pass "a file the guest wrote in /tmp stays in the sandbox"
fi

# /proc/self/status has Linux 6.1's fields (the kernel runsc reports), one per line.
run "$RUNSC" do /bin/bash -c 'grep -c . /proc/self/status; grep ^Pid: /proc/self/status'
expect_status 0
expect_stdout $'57\nPid:\t1\n'

# bash pipelines: fork, exec, pipes, wait.
run "$RUNSC" do /bin/bash -c 'for i in $(seq 1 50); do echo $i; done | sort -n | tail -1'
expect_status 0
expect_stdout $'50\n'

native=$(bash -c 'sleep 10 & kill %1; wait; echo $?')
run "$RUNSC" do /bin/bash -c 'sleep 10 & kill %1; wait; echo $?'
expect_status 0
expect_stdout "$native"$'\n'

# python3 with C extensions (json, sqlite3, hashlib) and a directory listing of the host's tree.
pyscript='import json, os, sqlite3, hashlib; print(len(os.listdir("/usr/lib")))'
native=$(python3 -c "$pyscript")
run "$RUNSC" do /usr/bin/python3 -c "$pyscript"
expect_status 0
expect_stdout "$native"$'\n'
expect_stderr ""

run "$RUNSC" do perl -e 'print "ok\n"'
expect_status 0
expect_stdout $'ok\n'
expect_stderr ""

# A C project built inside with make -j2, then run; the host's copy is never written.
project=$(dirname -- "$0")/data/cproject
work=$(mktemp -d)
at_exit "rm -rf '$work'"
cp -- "$project"/* "$work"/
native=$(cd "$work" && make -j2 >/dev/null && ./prog && make clean >/dev/null)
run bash -c "cd '$work' && '$RUNSC' do /bin/sh -c 'make -j2 >/dev/null 2>&1 && ./prog'"
expect_status 0
expect_stdout "$native"$'\n'
if [[ -e $work/prog || -e $work/main.o ]]; then
    fail "the build's outputs stay in the sandbox" "no prog or main.o in $work" "they exist"
else
    pass "the build's outputs stay in the sandbox"
fi

# Python's multiprocessing with every start method (fork, spawn, forkserver: unix sockets passing
# fds), a Queue and a shared Value (semaphores and shared memory in /dev/shm).
mp_demo=$(dirname -- "$0")/data/multiprocessing_demo.py
native=$(python3 "$mp_demo")
run "$RUNSC" do /usr/bin/python3 "$mp_demo"
expect_status 0
expect_stdout "$native"$'\n'
expect_stderr ""
