#!/usr/bin/env bash
# The engine tests as one integration test: Podman, containerd and Docker
# (tests/integration/engines/{podman,containerd,docker}.sh) drive runc and then our runsc, and
# every check listed in tests/integration/engines/checks.txt must pass with both (runc shows the
# machine can run the check; ours must then pass it too), but for the checks marked there as
# known failures of ours ("xfail"), which must still fail (else the mark is stale).
# Nothing is skipped: a check that did not run, an engine that is missing or a script that was
# stopped is a FAIL line with its reason.
#
# Run as `engines.sh RUNSC_BINARY GUEST_DIR` (GUEST_DIR is unused) as root. ctest labels it
# "engines"; tools/test.sh runs it in the release build only. Bounds: ENGINES_TIMEOUT per engine
# command (default 30 s), ENGINES_SCRIPT_TIMEOUT per engine script (default 240 s); everything
# the scripts start lives under one temp dir, and whatever is left there at the end (processes,
# containers, mounts) is removed, also when this script is interrupted.
set -uo pipefail

NAME=$(basename -- "$0" .sh)
HERE=$(cd -- "$(dirname -- "$0")" && pwd)
DIR=$HERE/engines
if [[ $# -ne 2 ]]; then
    echo "FAIL $NAME: usage: $0 RUNSC_BINARY GUEST_DIR (got $# arguments)" >&2
    exit 1
fi
OURS=$(realpath -- "$1")
if [[ ! -x $OURS || ! -f $OURS ]]; then
    echo "FAIL $NAME: runsc binary '$1' is not an executable file" >&2
    exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "FAIL $NAME: the engine tests must run as root (uid is $(id -u))" >&2
    exit 1
fi
RUNC=/usr/sbin/runc
export ENGINES_TIMEOUT=${ENGINES_TIMEOUT:-30}
SCRIPT_TIMEOUT=${ENGINES_SCRIPT_TIMEOUT:-240}

# A short base: sockets under it must fit in sun_path (108 bytes).
BASE=$(mktemp -d /tmp/eng-ci.XXXXXX)
chmod 755 "$BASE"
mkdir -p "$BASE/logs"
export ENGINES_TMPDIR=$BASE ENGINES_IMAGE_DIR=$BASE/image
_failures=0
_child=""

fail() {
    _failures=$((_failures + 1))
    echo "FAIL $*"
}

# sweep_runtime RUNTIME ROOT ALL: force-deletes the containers RUNTIME lists under ROOT: all of
# them if ALL is 1, else only those whose bundle is under BASE (a shared default root).
sweep_runtime() {
    local id bundle
    [[ -x $1 && -d $2 ]] || return 0
    timeout 20 "$1" --root "$2" list 2>/dev/null | awk 'NR > 1 { print $1, $4 }' |
        while read -r id bundle; do
            [[ $3 == 1 || $bundle == "$BASE"/* ]] || continue
            timeout 20 "$1" --root "$2" delete --force "$id" >/dev/null 2>&1
        done
}

# Removes what the engine scripts left: processes naming BASE, containers, mounts, files.
sweep() {
    local pid pids m rt root round
    for round in 1 2; do
        # Listed first, then killed: grep's own command line names BASE too.
        pids=$(grep -l -F -- "$BASE/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3)
        while read -r pid; do
            [[ -n $pid && $pid != "$$" ]] && kill -9 "$pid" 2>/dev/null
        done <<<"$pids"
        for rt in "$RUNC" "$OURS"; do
            # Podman uses the runtime's default root; containerd and dockerd private ones.
            for root in /run/runc /run/runsc; do
                sweep_runtime "$rt" "$root" 0
            done
            while read -r root; do
                sweep_runtime "$rt" "$root" 1
            done < <(find "$BASE" -maxdepth 5 -type d \( -path '*/runc-root/*' -o \
                -path '*/exec/runtime-rt/*' \) -prune -print 2>/dev/null)
        done
        ((round == 1)) && sleep 1
    done
    grep -o " $BASE/[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null
    done
    rm -rf --one-file-system -- "$BASE" 2>/dev/null
    [[ ! -e $BASE ]] || echo "$NAME: could not remove $BASE entirely" >&2
}

on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $_child ]]; then
        # Interrupted while a script ran: let it tear down (its own steps are bounded).
        kill -TERM "$_child" 2>/dev/null
        timeout 90 tail --pid="$_child" -f /dev/null 2>/dev/null
        kill -KILL "$_child" 2>/dev/null
        fail "$NAME: interrupted (exit $rc) while an engine script ran"
    fi
    sweep
    if ((rc == 0 && _failures > 0)); then
        rc=1
    fi
    if ((rc != 0)); then
        echo "$NAME: FAILED ($_failures failures, exit $rc)" >&2
    else
        echo "$NAME: all checks passed"
    fi
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# What this machine is: the cgroup layout decides a lot of what the engines do.
case $(stat -fc %T /sys/fs/cgroup 2>/dev/null) in
cgroup2fs) layout="v2 (unified)" ;;
tmpfs) [[ -d /sys/fs/cgroup/unified ]] && layout="v1 (hybrid)" || layout="v1 (legacy)" ;;
*) layout="unknown" ;;
esac
echo "$NAME: cgroup $layout; kernel $(uname -r)"
for tool in podman conmon containerd ctr dockerd /usr/bin/docker "$RUNC" busybox; do
    if ! command -v "$tool" >/dev/null; then
        fail "$NAME/setup: '$tool' is not installed (tools/install-deps.sh)"
    fi
done
if ((_failures > 0)); then
    exit 1
fi
if ! timeout 60 "$DIR/image.sh" "$ENGINES_IMAGE_DIR" >"$BASE/logs/image.log" 2>&1; then
    fail "$NAME/setup: building the image failed: $(tail -3 "$BASE/logs/image.log")"
    exit 1
fi

# run_engine ENGINE LABEL RUNTIME: runs one engine script, bounded; its output in a log.
run_engine() {
    local log=$BASE/logs/$1-$2.log start=$SECONDS rc=0
    timeout -k 30 "$SCRIPT_TIMEOUT" "$DIR/$1.sh" "$3" >"$log" 2>&1 &
    _child=$!
    wait "$_child" || rc=$?
    _child=""
    if ((rc == 124 || rc == 137)); then
        echo "FAIL $1/script: stopped after ${SCRIPT_TIMEOUT} s" >>"$log"
    elif ((rc != 0 && rc != 1)); then
        echo "FAIL $1/script: exit $rc: $(grep -v '^\(PASS\|FAIL\) ' "$log" | tail -3)" >>"$log"
    fi
    echo "$NAME: $1 × $2: $(grep -c '^PASS ' "$log") passed, $(grep -c '^FAIL ' "$log") failed \
in $((SECONDS - start)) s"
}

for rt in runc ours; do
    path=$RUNC
    [[ $rt == ours ]] && path=$OURS
    for eng in podman containerd docker; do
        run_engine "$eng" "$rt" "$path"
    done
done

# results LABEL: "check PASS|FAIL reason" for every check line of that runtime's logs.
results() {
    cat "$BASE/logs/"*"-$1.log" | sed -n 's/^\(PASS\|FAIL\) \([^: ]*\):\{0,1\} \{0,1\}\(.*\)/\2 \1 \3/p'
}
declare -A runc_res ours_res listed
while read -r check res reason; do runc_res[$check]="$res $reason"; done < <(results runc)
while read -r check res reason; do ours_res[$check]="$res $reason"; done < <(results ours)

while read -r check mark reason; do
    [[ -z $check || $check == \#* ]] && continue
    listed[$check]=1
    r=${runc_res[$check]:-} o=${ours_res[$check]:-}
    if [[ -z $r ]]; then
        fail "$check: did not run with runc (see the script's last FAIL line)"
    elif [[ $r != PASS* ]]; then
        fail "$check: fails with runc, so this machine cannot run it: ${r#FAIL }"
    elif [[ -z $o ]]; then
        fail "$check: did not run with ours (see the script's last FAIL line)"
    elif [[ $mark == xfail: ]]; then
        if [[ $o == PASS* ]]; then
            fail "$check: passes now; drop its xfail mark in engines/checks.txt"
        else
            echo "xfail $check: ${o#FAIL } (known: $reason)"
        fi
    elif [[ $o != PASS* ]]; then
        fail "$check: ${o#FAIL }"
    else
        echo "ok $check"
    fi
done <"$DIR/checks.txt"
for check in "${!runc_res[@]}" "${!ours_res[@]}"; do
    if [[ -z ${listed[$check]:-} ]]; then
        listed[$check]=1
        fail "$check: not in engines/checks.txt: runc ${runc_res[$check]:-did not run}; ours \
${ours_res[$check]:-did not run}"
    fi
done
if ((_failures > 0)); then
    echo "$NAME: the engine scripts' full output:"
    for log in "$BASE/logs/"*-*.log; do
        sed "s|^|  $(basename "$log" .log): |" "$log"
    done
fi
