#!/usr/bin/env bash
# Docker (dockerd 20.10 with its managed containerd and the runc v2 shim) driving an OCI runtime
# registered in daemon.json: docker.sh RUNTIME_PATH [RUNTIME_FLAG...] (the flags become the
# runtime's runtimeArgs). The script starts a private dockerd (--data-root, --exec-root,
# --pidfile and socket under a temp dir, no bridge, no iptables) and stops it at the end.
# shellcheck source=tests/integration/engines/common.sh disable=SC2016 # guest commands in single quotes
source "$(dirname -- "$0")/common.sh"

DOCKERD=$(command -v dockerd || true)
DOCKER=/usr/bin/docker # the 20.10 client from docker.io, matching the engine
if [[ -z $DOCKERD || ! -x $DOCKER ]]; then
    echo "$0: docker.io is not installed (tools/install-deps.sh)" >&2
    exit 2
fi

args=""
for f in "${RUNTIME_FLAGS[@]}"; do
    args+="${args:+, }\"$f\""
done
# cgroupfs as with Podman: on cgroup v2 dockerd would pick systemd's driver, for which runc needs
# a D-Bus system bus that a bare machine may not run.
cat >"$TMP/daemon.json" <<EOF
{
  "bridge": "none",
  "iptables": false,
  "ip6tables": false,
  "ip-forward": false,
  "ip-masq": false,
  "storage-driver": "overlay2",
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "runtimes": { "rt": { "path": "$RUNTIME_REAL", "runtimeArgs": [ $args ] } }
}
EOF
# D: the docker client on the private engine (a script, so timeout and script(1) can run it).
D=$TMP/docker
printf '#!/bin/sh\nDOCKER_CONFIG=%s exec %s -H unix://%s "$@"\n' "$TMP/client" "$DOCKER" \
    "$TMP/docker.sock" >"$D"
chmod 755 "$D"

# dockerd's own containerd, private too: without --containerd, dockerd 20.10 uses the system's
# (/run/containerd/containerd.sock) when one runs, as it does wherever docker.io's service is up.
mkdir -p "$TMP/ctd"
cat >"$TMP/ctd/config.toml" <<EOF
version = 2
root = "$TMP/ctd/root"
state = "$TMP/ctd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
    "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$TMP/ctd/containerd.sock"

[ttrpc]
  address = "$TMP/ctd/containerd.sock.ttrpc"
EOF
containerd --config "$TMP/ctd/config.toml" >"$TMP/containerd.log" 2>&1 &
CTD_PID=$!
"$DOCKERD" --config-file "$TMP/daemon.json" --data-root "$TMP/data" --exec-root "$TMP/exec" \
    --containerd "$TMP/ctd/containerd.sock" --pidfile "$TMP/docker.pid" \
    -H "unix://$TMP/docker.sock" >"$TMP/dockerd.log" 2>&1 &
DOCKERD_PID=$!
# Teardown: containers, then dockerd, its containerd, then any shim left (found by the private
# temp dir in its command line). Every step is time-bounded.
stop_all() {
    local ids pid daemon
    ids=$(timeout 20 "$D" ps -aq 2>/dev/null)
    # shellcheck disable=SC2086 # a list of ids
    [[ -n $ids ]] && timeout 30 "$D" rm -f $ids
    for daemon in "$DOCKERD_PID" "$CTD_PID"; do
        kill "$daemon"
        timeout 20 tail --pid="$daemon" -f /dev/null
        kill -9 "$daemon"
        wait "$daemon"
    done
    for pid in $(grep -l -F -- "$TMP/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
        [[ $pid != "$$" && $pid != "$BASHPID" ]] && kill -9 "$pid"
    done
    delete_leftovers "$TMP/exec/runtime-rt/moby"
}
at_exit stop_all
if ! wait_for 30 timeout 10 "$D" version; then
    fail start "dockerd did not come up: $(tail -5 "$TMP/dockerd.log"; tail -3 "$TMP/containerd.log")"
    exit 1
fi

if r "$D" load -i "$IMAGE_DIR/image.tar"; then pass load; else
    fail load "exit $RC: $ERR"
    exit 1
fi
R=(run --runtime=rt --network=none)
expect import 0 "imported" sh -c "$D import -c 'CMD [\"sh\"]' '$IMAGE_DIR/rootfs.tar' \
    localhost/runsc-imported:latest >/dev/null && \
    $D run --runtime=rt --network=none --rm localhost/runsc-imported:latest echo imported"
expect run-echo 0 "hello" "$D" "${R[@]}" --rm "$IMAGE" echo hello
expect exit-code 42 "" "$D" "${R[@]}" --rm "$IMAGE" sh -c 'exit 42'
expect env-workdir-user 0 "bar /tmp 1000" "$D" "${R[@]}" --rm -e FOO=bar -w /tmp -u 1000 "$IMAGE" \
    sh -c 'echo $FOO $(pwd) $(id -u)'
in_tty "$D run --runtime=rt --network=none --rm -it $IMAGE \
    sh -c 'test -t 0 && test -t 1 && echo is-a-tty'"
if [[ $RC -eq 0 && $OUT == *is-a-tty* ]]; then pass tty; else fail tty "exit $RC, out: $OUT"; fi

status() { "$D" inspect --format '{{.State.Status}}' "$1" 2>&1; }
if r "$D" "${R[@]}" -d --name det "$IMAGE" sleep 1000 && wait_for 10 eval '[[ $(status det) == running ]]'; then
    pass run-detached
else
    fail run-detached "exit $RC, status '$(status det)'; err: $ERR"
fi
expect exec 0 "in-exec" "$D" exec det echo in-exec
expect exec-exit-code 7 "" "$D" exec det sh -c 'exit 7'
in_tty "$D exec -it det sh -c 'test -t 0 && echo is-a-tty'"
if [[ $RC -eq 0 && $OUT == *is-a-tty* ]]; then pass exec-tty; else fail exec-tty "exit $RC, out: $OUT"; fi
r "$D" top det
if [[ $RC -eq 0 && $OUT == *"sleep 1000"* ]]; then pass top; else fail top "exit $RC, out '$OUT'; err: $ERR"; fi
r "$D" pause det
s=$(status det)
r "$D" unpause det
s2=$(status det)
if [[ $s == paused && $s2 == running ]] && r "$D" exec det true; then pass pause-unpause; else
    fail pause-unpause "status after pause '$s', after unpause '$s2'; exec exit $RC; err: $ERR"
fi
"$D" rm -f det >/dev/null 2>&1

loop='while :; do sleep 0.1; done'
"$D" "${R[@]}" -d --name st1 "$IMAGE" sh -c "trap 'exit 3' TERM; $loop" >/dev/null 2>&1
sleep 0.5
t0=$(date +%s%N)
r "$D" stop -t 10 st1
ms=$(since_ms "$t0")
code=$("$D" inspect --format '{{.State.ExitCode}}' st1 2>&1)
if [[ $RC -eq 0 && $code == 3 && $ms -lt 8000 ]]; then pass stop-sigterm; else
    fail stop-sigterm "stop exit $RC after ${ms} ms, container exit '$code' (want 3); err: $ERR"
fi
"$D" "${R[@]}" -d --name st2 "$IMAGE" sh -c "trap '' TERM; $loop" >/dev/null 2>&1
sleep 0.5
t0=$(date +%s%N)
r "$D" stop -t 2 st2
ms=$(since_ms "$t0")
code=$("$D" inspect --format '{{.State.ExitCode}}' st2 2>&1)
if [[ $RC -eq 0 && $code == 137 && $ms -ge 1900 ]]; then pass stop-sigkill; else
    fail stop-sigkill "stop exit $RC after ${ms} ms, container exit '$code' (want 137 after >= 2 s); err: $ERR"
fi
"$D" "${R[@]}" -d --name ks "$IMAGE" sh -c "trap 'exit 10' USR1; $loop" >/dev/null 2>&1
sleep 0.5
r "$D" kill -s USR1 ks
r "$D" wait ks
if [[ $OUT == 10 ]]; then pass kill-signal; else fail kill-signal "wait says '$OUT' (want 10); err: $ERR"; fi
"$D" rm -f st1 st2 ks >/dev/null 2>&1

"$D" "${R[@]}" -d --name lg "$IMAGE" sh -c 'echo out-line; echo err-line >&2; exit 5' >/dev/null 2>&1
r "$D" wait lg
r "$D" logs lg
if [[ $OUT$ERR == *out-line* && $OUT$ERR == *err-line* ]]; then pass logs; else
    fail logs "exit $RC, out '$OUT', err '$ERR'"
fi
expect inspect 0 "exited 5" "$D" inspect --format '{{.State.Status}} {{.State.ExitCode}}' lg
"$D" rm -f lg >/dev/null 2>&1

r "$D" "${R[@]}" --rm --pids-limit 20 "$IMAGE" sh -c 'for i in $(seq 40); do sleep 2 & done; wait; echo all-forked'
if [[ $OUT != *all-forked* && $ERR == *fork* ]]; then pass pids-limit; else
    fail pids-limit "exit $RC, out '$OUT', err '$ERR' (want a failed fork)"
fi

# --cpus: the container's host cgroup (the one its reported pid is in) gets the CFS quota.
r "$D" "${R[@]}" -d --name cpu --cpus 0.5 "$IMAGE" sleep 1000
pid=$("$D" inspect --format '{{.State.Pid}}' cpu 2>&1)
quota=$(cpu_quota "$pid" 2>&1)
if [[ $quota == "50000 100000" ]]; then pass cpu-limit; else
    fail cpu-limit "pid '$pid': quota '$quota' (want '50000 100000'); run: exit $RC, err: $ERR"
fi
"$D" rm -f cpu >/dev/null 2>&1
