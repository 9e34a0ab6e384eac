#!/usr/bin/env bash
# The host sees a guest process's stub as the guest process itself: `ps` on the pids `runsc ps
# --format json` reports (what `docker top` does) shows the guest's comm and argv, a forked child
# shows its parent's, each stub thread carries its guest thread's name (set by prctl or through
# /proc/self/task/TID/comm), an exec changes them all; and the sandbox's own /proc (what
# `podman top` reads after joining its mount namespace) lists the same.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox
ROOT=$TMP/root
BUNDLE=$TMP/bundle
RS=("$RUNSC" --root "$ROOT")
at_exit '"${RS[@]}" delete --force c1 >/dev/null 2>&1'

mkdir -p "$BUNDLE/rootfs/bin" "$BUNDLE/rootfs/proc" "$BUNDLE/rootfs/dev"
cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
ln -s busybox "$BUNDLE/rootfs/bin/sleep"
cc -static -O1 -pthread -o "$BUNDLE/rootfs/bin/ident" "$(dirname -- "$0")/programs/stub_identity.c"
cat >"$BUNDLE/config.json" <<'JSON'
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0},
   "args": ["/bin/ident", "alpha", "beta gamma"], "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": "rootfs", "readonly": true},
 "hostname": "ident",
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
   {"type": "uts"}, {"type": "mount"}]}}
JSON

# host_view: "comm|args" of each pid `runsc ps --format json` reports, sorted, one per line.
host_view() {
    local pids p
    pids=$("${RS[@]}" ps --format json c1 2>/dev/null | tr -d '[]' | tr ',' ' ')
    for p in $pids; do
        ps -o comm=,args= -p "$p" | sed -E 's/^([^ ]+) +/\1|/'
    done | sort
}

# thread_names: the sorted comms of every thread of every reported pid.
thread_names() {
    local p
    for p in $("${RS[@]}" ps --format json c1 2>/dev/null | tr -d '[]' | tr ',' ' '); do
        cat /proc/"$p"/task/*/comm 2>/dev/null
    done | sort | tr '\n' ' '
}

# converge SECONDS WANT CMD...: polls CMD until its output is WANT; sets GOT to the last output.
converge() {
    local deadline=$(($(now_ms) + $1 * 1000)) want=$2
    shift 2
    while :; do
        GOT=$("$@")
        [[ $GOT == "$want" ]] && return 0
        (($(now_ms) > deadline)) && return 1
        sleep 0.1
    done
}

cd "$BUNDLE"
run "${RS[@]}" run -d --pid-file "$TMP/pid" c1
expect_status 0
sandbox=$(cat "$TMP/pid")

want=$'ident|/bin/ident alpha beta gamma\nident|/bin/ident alpha beta gamma'
if converge 10 "$want" host_view; then
    pass "ps shows the process and its forked child as the guest's comm and argv"
else
    fail "ps on the pids of runsc ps" "$want" "$GOT"
fi
want="ident ident parent-named self-named "
if converge 10 "$want" thread_names; then
    pass "each stub thread has its guest thread's name"
else
    fail "the stub threads' names" "$want" "$GOT"
fi

# The sandbox's own /proc: its processes include the guest's, by argv.
sandbox_cmdlines() {
    local d
    for d in /proc/"$sandbox"/root/proc/[0-9]*; do
        tr '\0' ' ' <"$d/cmdline" 2>/dev/null
        echo
    done
}
cmdlines=$(sandbox_cmdlines)
if grep -qxF '/bin/ident alpha beta gamma ' <<<"$cmdlines"; then
    pass "the sandbox's /proc lists the guest's process by its argv"
else
    fail "the sandbox's /proc" "a line '/bin/ident alpha beta gamma '" "$cmdlines"
fi
if ! touch /proc/"$sandbox"/root/proc/x 2>/dev/null &&
    grep -qE '^proc /proc proc ro,' /proc/"$sandbox"/mounts; then
    pass "the sandbox's /proc is read-only"
else
    fail "the sandbox's /proc is mounted read-only" "proc /proc proc ro,..." \
        "$(cat /proc/"$sandbox"/mounts)"
fi

# After an exec: the new image's comm and argv (the forked child keeps its own).
run "${RS[@]}" kill c1 USR1
expect_status 0
want=$'ident|/bin/ident alpha beta gamma\nsleep|sleep 1000'
if converge 10 "$want" host_view; then
    pass "after exec, ps shows the new program's comm and argv"
else
    fail "ps after exec" "$want" "$GOT"
fi
