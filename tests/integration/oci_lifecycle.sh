#!/usr/bin/env bash
# The runc-compatible commands on a busybox bundle: the lifecycle (create, start, kill, delete),
# run's exit status, exec, ps, list, pause/resume, events, and runc's answers to bad input. runc
# on the same bundle is the oracle for state's keys and for the messages.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox
ROOT=$TMP/root
RUNC_ROOT=$TMP/runc-root
BUNDLE=$TMP/bundle
at_exit 'for id in $("$RUNSC" --root "$ROOT" list -q 2>/dev/null); do "$RUNSC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done'

# make_bundle DIR ARGS_JSON: a busybox rootfs and a config.json running ARGS_JSON.
make_bundle() {
    mkdir -p "$1/rootfs/bin" "$1/rootfs/tmp" "$1/rootfs/proc" "$1/rootfs/sys" "$1/rootfs/dev"
    cp "$BUSYBOX" "$1/rootfs/bin/busybox"
    for c in sh sleep echo true false cat ls ps id; do ln -sf busybox "$1/rootfs/bin/$c"; done
    write_config "$1" "$2"
}
write_config() {
    cat >"$1/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": $2,
   "env": ["PATH=/bin", "TERM=xterm"], "cwd": "/"},
 "root": {"path": "rootfs", "readonly": true},
 "hostname": "oci",
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
   {"type": "uts"}, {"type": "mount"}]}}
JSON
}
RS=("$RUNSC" --root "$ROOT")
rs() { "${RS[@]}" "$@"; }
expect_stdout_matches() { _expect_stream stdout "$OUT" matches "$1"; }

make_bundle "$BUNDLE" '["sleep", "100"]'
cd "$BUNDLE"

# --- lifecycle ---------------------------------------------------------------------------------
run "$RUNSC" --root "$ROOT" create --pid-file "$TMP/pid" c1
expect_status 0
pid=$(cat "$TMP/pid")
check "the pid file names a live sandbox process" kill -0 "$pid"
run "${RS[@]}" state c1
expect_status 0
expect_stdout_contains '"status": "created"'
expect_stdout_contains "\"pid\": $pid,"
run "${RS[@]}" start c1
expect_status 0
run "${RS[@]}" state c1
expect_stdout_contains '"status": "running"'
run "${RS[@]}" start c1
expect_status 1
expect_stderr_contains 'cannot start an already running container'
run "${RS[@]}" delete c1
expect_status 1
expect_stderr_contains 'cannot delete container c1 that is not stopped: running'

# exec: output and status.
run "${RS[@]}" exec c1 echo hi
expect_status 0
expect_stdout $'hi\n'
run "${RS[@]}" exec c1 sh -c 'exit 3'
expect_status 3
run "${RS[@]}" exec c1 nonexist
expect_status 255
expect_stderr_contains 'executable file not found in $PATH'
cat >"$TMP/process.json" <<'JSON'
{"args": ["sh", "-c", "echo $FOO; exit 4"], "env": ["PATH=/bin", "FOO=bar"], "cwd": "/"}
JSON
run "${RS[@]}" exec --process "$TMP/process.json" c1
expect_status 4
expect_stdout $'bar\n'
run "${RS[@]}" exec -e FOO=baz c1 sh -c 'echo $FOO'
expect_stdout $'baz\n'
# --detach --pid-file: a waiter that exits with the process's status.
run "${RS[@]}" exec --detach --pid-file "$TMP/exec.pid" --process "$TMP/process.json" c1
expect_status 0
check "exec --detach wrote the waiter's pid" test -s "$TMP/exec.pid"

# ps and list formats.
run "${RS[@]}" ps --format json c1
expect_status 0
expect_stdout_matches '^\[[0-9]+(,[0-9]+)*\]$'
run "${RS[@]}" ps c1
expect_status 0
expect_stdout_matches '^UID +PID +PPID'
run "${RS[@]}" list
expect_status 0
expect_stdout_matches '^ID +PID +STATUS +BUNDLE +CREATED +OWNER$'
expect_stdout_matches "^c1 +$pid +running +$BUNDLE "
run "${RS[@]}" list -q
expect_stdout $'c1\n'
run "${RS[@]}" list --format json
expect_stdout_contains '"id":"c1"'
run "${RS[@]}" list --format yaml
expect_status 1
expect_stderr_contains 'invalid format option'

# pause and resume.
run "${RS[@]}" pause c1
expect_status 0
run "${RS[@]}" state c1
expect_stdout_contains '"status": "paused"'
run "${RS[@]}" pause c1
expect_status 1
expect_stderr_contains 'container not running'
run "${RS[@]}" resume c1
expect_status 0
run "${RS[@]}" resume c1
expect_status 1
expect_stderr_contains 'container not paused'

# events --stats: one line of runc's stats JSON.
run "${RS[@]}" events --stats c1
expect_status 0
expect_stdout_matches '^\{"type":"stats","id":"c1","data":\{"cpu":\{"usage":\{"total":[0-9]+'
expect_stdout_contains '"pids":{"current":'

# kill: a bad signal, then SIGKILL stops it.
run "${RS[@]}" kill c1 FOO
expect_status 1
expect_stderr_contains 'unknown signal \"FOO\"'
run "${RS[@]}" kill c1 KILL
expect_status 0
check "the sandbox is gone after kill" wait_gone 5 "$pid"
run "${RS[@]}" state c1
expect_stdout_contains '"status": "stopped"'
expect_stdout_contains '"pid": 0,'
run "${RS[@]}" kill c1 9
expect_status 1
expect_stderr_contains 'container not running'
run "${RS[@]}" kill --all c1 9
expect_status 0
run "${RS[@]}" start c1
expect_status 1
expect_stderr_contains 'cannot start a container that has stopped'
run "${RS[@]}" exec c1 true
expect_status 255
expect_stderr_contains 'cannot exec in a stopped container'
run "${RS[@]}" delete c1
expect_status 0
check "delete removes the state directory" test ! -e "$ROOT/c1"
run "${RS[@]}" state c1
expect_status 1
expect_stderr_contains 'container does not exist'
run "${RS[@]}" delete c1
expect_status 1
run "${RS[@]}" delete --force c1
expect_status 0

# delete --force of a running container.
run "${RS[@]}" run --detach c2
expect_status 0
pid2=$(rs state c2 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
run "${RS[@]}" delete --force c2
expect_status 0
check "delete --force ends the sandbox" wait_gone 5 "$pid2"
check "delete --force removes the state" test ! -e "$ROOT/c2"

# --- run: the container's exit status ----------------------------------------------------------
write_config "$BUNDLE" '["sh", "-c", "echo out; echo err >&2; exit 7"]'
run "${RS[@]}" run r1
expect_status 7
expect_stdout $'out\n'
expect_stderr $'err\n'
check "run deletes the container after it exits" test ! -e "$ROOT/r1"

# --- state's keys are runc's -------------------------------------------------------------------
write_config "$BUNDLE" '["sleep", "100"]'
if command -v runc >/dev/null; then
    rs create k1 >/dev/null
    runc --root "$RUNC_ROOT" create k1 >/dev/null 2>&1 && {
        ours=$(rs state k1 | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)))')
        theirs=$(runc --root "$RUNC_ROOT" state k1 |
            python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)))')
        run echo "$ours"
        expect_stdout "$theirs"$'\n'
        runc --root "$RUNC_ROOT" delete --force k1 >/dev/null 2>&1
    }
    rs delete --force k1 >/dev/null
fi

# --- bad input: one error naming the field, nothing left behind -------------------------------
bad_config() { # bad_config DESCRIPTION PYTHON_EDIT EXPECTED_FRAGMENT
    write_config "$BUNDLE" '["true"]'
    python3 -c "import json; c=json.load(open('config.json')); $2; json.dump(c, open('config.json','w'))"
    run "${RS[@]}" create bad
    expect_status 1
    expect_stderr_contains "$3"
    check "$1: no state directory left" test ! -e "$ROOT/bad"
}
write_config "$BUNDLE" '["true"]'
echo '{bad' >config.json
run "${RS[@]}" create bad
expect_status 1
expect_stderr_contains 'config.json: line 1'
check "a syntax error leaves no state" test ! -e "$ROOT/bad"
bad_config "wrong type" "c['process']['args']='sh'" 'process.args'
bad_config "missing root" "del c['root']" 'root'
bad_config "relative cwd" "c['process']['cwd']='rel'" 'process.cwd'
bad_config "unknown namespace" "c['linux']['namespaces'][0]['type']='foo'" 'linux.namespaces[0].type'

# duplicate id.
write_config "$BUNDLE" '["sleep", "100"]'
rs create d1 >/dev/null
run "${RS[@]}" create d1
expect_status 1
expect_stderr_contains 'container with given ID already exists'
rs delete --force d1 >/dev/null

# a missing executable fails at create, with 127, and leaves nothing.
write_config "$BUNDLE" '["nonexist"]'
run "${RS[@]}" create m1
expect_status 127
expect_stderr_contains 'executable file not found in $PATH'
check "a failed create leaves no state" test ! -e "$ROOT/m1"

# ids with path tricks are refused.
run "${RS[@]}" state ../x
expect_status 1
expect_stderr_contains 'invalid container ID format'

# --log with --log-format=json gets runc's JSON line; stderr the plain message.
run "$RUNSC" --root "$ROOT" --log "$TMP/log.json" --log-format=json state nope
expect_status 1
expect_stderr $'container does not exist\n'
check "--log has runc's JSON line" \
    grep -qE '^\{"level":"error","msg":"container does not exist","time":"[0-9T:Z-]+"\}$' "$TMP/log.json"

# checkpoint: --help works (Podman probes it), the command says it is not supported.
run "${RS[@]}" checkpoint --help
expect_status 0
run "${RS[@]}" checkpoint c1
expect_status 1
expect_stderr_contains 'not supported yet'

