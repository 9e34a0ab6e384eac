#!/usr/bin/env bash
# Podman (with conmon) driving an OCI runtime: podman.sh RUNTIME_PATH [RUNTIME_FLAG...].
# Podman's storage, run root, tmpdir, events log and containers.conf are private to a temp dir;
# cgroups are managed with cgroupfs; every container runs with --network=none.
# shellcheck source=tests/integration/engines/common.sh disable=SC2016 # guest commands in single quotes
source "$(dirname -- "$0")/common.sh"

command -v podman >/dev/null || {
    echo "$0: podman is not installed (tools/install-deps.sh)" >&2
    exit 2
}

# Root here lacks CAP_SYS_RESOURCE (hard nofile 20000, nproc ~96000, below Podman's defaults):
# lower them or create fails for every runtime.
cat >"$TMP/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$TMP/events.log"
EOF
# P: podman with the private configuration (a script, so timeout and script(1) can run it).
P=$TMP/podman
cat >"$P" <<EOF
#!/bin/sh
CONTAINERS_CONF=$TMP/containers.conf exec podman --root $TMP/root --runroot $TMP/runroot \\
    --tmpdir $TMP/libpod --storage-driver overlay --cgroup-manager cgroupfs \\
    --events-backend file --runtime $RUNTIME "\$@"
EOF
chmod 755 "$P"
at_exit "timeout 60 \"\$P\" pod rm -af -t 0; timeout 60 \"\$P\" rm -af -t 0; \
timeout 60 \"\$P\" system reset -f"
R=(run --network=none)

if ! r "$P" load -i "$IMAGE_DIR/image.tar"; then
    fail load "podman load: $ERR"
    exit 1
fi
pass load

# import: the rootfs tar as a second image.
expect import 0 "imported" sh -c "$P import --change CMD=sh '$IMAGE_DIR/rootfs.tar' \
    localhost/runsc-imported:latest >/dev/null && \
    $P run --rm --network=none localhost/runsc-imported:latest echo imported"

expect run-echo 0 "hello" "$P" "${R[@]}" --rm "$IMAGE" echo hello
expect exit-code 42 "" "$P" "${R[@]}" --rm "$IMAGE" sh -c 'exit 42'
expect env 0 "bar" "$P" "${R[@]}" --rm -e FOO=bar "$IMAGE" sh -c 'echo $FOO'
expect workdir 0 "/tmp" "$P" "${R[@]}" --rm -w /tmp "$IMAGE" pwd
expect user 0 "1000 1000" "$P" "${R[@]}" --rm --user 1000:1000 "$IMAGE" sh -c 'echo $(id -u) $(id -g)'
expect read-only 0 "ro
tmp-rw" "$P" "${R[@]}" --rm --read-only "$IMAGE" sh -c \
    'if touch /x 2>/dev/null; then echo rw; else echo ro; fi; touch /tmp/y && echo tmp-rw'

mkdir -p "$TMP/vol"
echo from-host >"$TMP/vol/in"
r "$P" "${R[@]}" --rm -v "$TMP/vol:/data" "$IMAGE" sh -c 'cat /data/in; echo from-guest >/data/out'
if [[ $RC -ne 0 || $OUT != from-host ]]; then
    fail bind-mount "exit $RC, out '$OUT' (want from-host); err: $ERR"
elif [[ $(cat "$TMP/vol/out" 2>/dev/null) != from-guest ]]; then
    fail bind-mount "the host does not see the guest's write: '$(cat "$TMP/vol/out" 2>&1)'"
else
    pass bind-mount
fi
expect bind-mount-ro 0 "from-host
ro" "$P" "${R[@]}" --rm -v "$TMP/vol:/data:ro" "$IMAGE" sh -c \
    'cat /data/in; if echo x 2>/dev/null >/data/out2; then echo rw; else echo ro; fi'
expect tmpfs 0 "tmpfs
x" "$P" "${R[@]}" --rm --tmpfs /scratch "$IMAGE" sh -c \
    'grep " /scratch " /proc/mounts | cut -d" " -f3; echo x >/scratch/f && cat /scratch/f'
expect hostname 0 "box" "$P" "${R[@]}" --rm --hostname box "$IMAGE" hostname

printf 'piped line\n' >"$TMP/stdin"
RC=0
OUT=$(t "$P" "${R[@]}" --rm -i "$IMAGE" cat <"$TMP/stdin" 2>"$TMP/err") || RC=$?
if [[ $RC -eq 0 && $OUT == "piped line" ]]; then pass stdin; else
    fail stdin "exit $RC, out '$OUT'; err: $(cat "$TMP/err")"
fi

# -t: script(1) gives podman a terminal; the guest must see one on stdin and stdout.
in_tty "$P run --network=none --rm -t \
    $IMAGE sh -c 'test -t 0 && test -t 1 && echo is-a-tty; stty size'"
if [[ $RC -eq 0 && $OUT == *is-a-tty* ]]; then pass tty; else fail tty "exit $RC, out: $OUT"; fi

# A detached container: exec, top, stats, pause/unpause.
status() { "$P" inspect --format '{{.State.Status}}' "$1" 2>&1; }
if r "$P" "${R[@]}" -d --name det "$IMAGE" sleep 1000 && wait_for 10 eval '[[ $(status det) == running ]]'; then
    pass run-detached
else
    fail run-detached "exit $RC, status '$(status det)'; err: $ERR"
fi
expect exec 0 "in-exec" "$P" exec det echo in-exec
expect exec-exit-code 7 "" "$P" exec det sh -c 'exit 7'
expect exec-env-user 0 "1000 v" "$P" exec --user 1000 -e V=v det sh -c 'echo $(id -u) $V'
in_tty "$P exec -t det sh -c 'test -t 0 && echo is-a-tty'"
if [[ $RC -eq 0 && $OUT == *is-a-tty* ]]; then pass exec-tty; else fail exec-tty "exit $RC, out: $OUT"; fi
r "$P" top det
if [[ $RC -eq 0 && $OUT == *"sleep 1000"* ]]; then pass top; else fail top "exit $RC, out '$OUT'; err: $ERR"; fi
r "$P" stats --no-stream --format '{{.Name}} {{.MemUsage}}' det
if [[ $RC -eq 0 && $OUT == "det "*B* ]]; then pass stats; else
    fail stats "exit $RC, out '$OUT'; err: $ERR"
fi
r "$P" pause det
s=$(status det)
r "$P" unpause det
s2=$(status det)
if [[ $s == paused && $s2 == running ]] && r "$P" exec det true; then pass pause-unpause; else
    fail pause-unpause "status after pause '$s', after unpause '$s2'; exec exit $RC; err: $ERR"
fi
"$P" rm -f -t 0 det >/dev/null 2>&1

# stop: SIGTERM first (a handler exits 3, quickly), SIGKILL after the grace time if ignored.
loop='while :; do sleep 0.1; done'
"$P" "${R[@]}" -d --name st1 "$IMAGE" sh -c "trap 'exit 3' TERM; $loop" >/dev/null 2>&1
sleep 0.5
t0=$(date +%s%N)
r "$P" stop -t 10 st1
ms=$(since_ms "$t0")
code=$("$P" inspect --format '{{.State.ExitCode}}' st1 2>&1)
if [[ $RC -eq 0 && $code == 3 && $ms -lt 8000 ]]; then pass stop-sigterm; else
    fail stop-sigterm "stop exit $RC after ${ms} ms, container exit '$code' (want 3); err: $ERR"
fi
"$P" "${R[@]}" -d --name st2 "$IMAGE" sh -c "trap '' TERM; $loop" >/dev/null 2>&1
sleep 0.5
t0=$(date +%s%N)
r "$P" stop -t 2 st2
ms=$(since_ms "$t0")
code=$("$P" inspect --format '{{.State.ExitCode}}' st2 2>&1)
if [[ $RC -eq 0 && $code == 137 && $ms -ge 1900 ]]; then pass stop-sigkill; else
    fail stop-sigkill "stop exit $RC after ${ms} ms, container exit '$code' (want 137 after >= 2 s); err: $ERR"
fi
"$P" "${R[@]}" -d --name ks "$IMAGE" sh -c "trap 'exit 10' USR1; $loop" >/dev/null 2>&1
sleep 0.5
r "$P" kill -s USR1 ks
r "$P" wait ks
if [[ $OUT == 10 ]]; then pass kill-signal; else fail kill-signal "wait says '$OUT' (want 10); err: $ERR"; fi
"$P" rm -f -t 0 st1 st2 ks >/dev/null 2>&1

# logs and inspect of an exited container.
"$P" "${R[@]}" -d --name lg "$IMAGE" sh -c 'echo out-line; echo err-line >&2; exit 5' >/dev/null 2>&1
r "$P" wait lg
r "$P" logs lg
if [[ $OUT$ERR == *out-line* && $OUT$ERR == *err-line* ]]; then pass logs; else
    fail logs "exit $RC, out '$OUT', err '$ERR'"
fi
expect inspect 0 "exited 5" "$P" inspect --format '{{.State.Status}} {{.State.ExitCode}}' lg
"$P" rm -f lg >/dev/null 2>&1

# Limits: 40 background sleeps under a limit of 20 tasks must hit a failed fork; 64 MiB of memory
# touched under a limit of 32 MiB (no swap) must be killed.
r "$P" "${R[@]}" --rm --pids-limit 20 "$IMAGE" sh -c 'for i in $(seq 40); do sleep 2 & done; wait; echo all-forked'
if [[ $OUT != *all-forked* && $ERR == *fork* ]]; then pass pids-limit; else
    fail pids-limit "exit $RC, out '$OUT', err '$ERR' (want a failed fork)"
fi
r "$P" "${R[@]}" --rm --memory 32m --memory-swap 32m "$IMAGE" dd if=/dev/zero of=/dev/null bs=64M count=1
if [[ $RC -eq 137 ]]; then pass memory-limit; else
    fail memory-limit "exit $RC (want 137, OOM-killed); err: $ERR"
fi

# --cpus: the container's host cgroup (the one its reported pid is in) gets the CFS quota.
r "$P" "${R[@]}" -d --name cpu --cpus 0.5 "$IMAGE" sleep 1000
pid=$("$P" inspect --format '{{.State.Pid}}' cpu 2>&1)
quota=$(cpu_quota "$pid" 2>&1)
if [[ $quota == "50000 100000" ]]; then pass cpu-limit; else
    fail cpu-limit "pid '$pid': quota '$quota' (want '50000 100000'); run: exit $RC, err: $ERR"
fi
"$P" rm -f -t 0 cpu >/dev/null 2>&1

# --uidmap/--gidmap: the container's root is host uid 100000; a file it makes in a bind mount
# belongs to 100000 on the host.
mkdir -p "$TMP/userns" && chmod 777 "$TMP/userns"
r "$P" "${R[@]}" --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 -v "$TMP/userns:/x" \
    "$IMAGE" sh -c 'touch /x/f && stat -c %u:%g /x/f && cat /proc/self/uid_map'
owner=$(stat -c %u:%g "$TMP/userns/f" 2>&1)
if [[ $RC -eq 0 && $owner == 100000:100000 && $OUT == 0:0*100000*65536 ]]; then pass userns; else
    fail userns "exit $RC, out '$OUT', host owner '$owner' (want 100000:100000); err: $ERR"
fi

# A pod: two containers in one network namespace (one sandbox for a sandboxing runtime).
if ! r "$P" pod create --name pd --network none; then
    fail pod "pod create: $ERR"
else
    # The server answers each connection with a line; the client prints what it got.
    "$P" run -d --pod pd --name pa "$IMAGE" nc -ll -p 1234 -e echo via-pod >/dev/null 2>"$TMP/pa.err"
    pid=$("$P" inspect --format '{{.State.Pid}}' pa 2>&1)
    r "$P" run --rm --pod pd "$IMAGE" sh -c 'for i in $(seq 50); do
        out=$(nc 127.0.0.1 1234 </dev/null 2>/dev/null) && [ -n "$out" ] && echo "$out" && exit 0
        sleep 0.2; done; exit 1'
    if [[ $RC -eq 0 && $OUT == via-pod && $pid -gt 0 ]]; then pass pod; else
        fail pod "client exit $RC, out '$OUT' (want via-pod), err '$ERR'; server pid '$pid' \
($(cat "$TMP/pa.err"))"
    fi
    "$P" pod rm -f -t 0 pd >/dev/null 2>&1
fi
