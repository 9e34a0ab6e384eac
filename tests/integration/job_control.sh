#!/usr/bin/env bash
# Job control in `runsc do bash -i` on a terminal: the guest's shell has a pty of the sentry's as
# its controlling terminal, so ^C and ^Z typed at the host terminal signal the guest's foreground
# job, not runsc. A tmux pane is the terminal; the same keys go to a native `bash -i` in the same
# harness, and its key lines are the oracle. Every wait polls the pane with a deadline.
# Also: the window size follows the host terminal (SIGWINCH), the host terminal's settings come
# back at exit, a terminal that goes away ends the run, and runs without a terminal still get
# their pipes and files as before.
# shellcheck disable=SC1010,SC2016 # `runsc do` is not a loop; guest shell code is single-quoted
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

if ! command -v tmux >/dev/null; then
    fail "tmux is installed (this test drives a terminal with it)"
    exit 1
fi
BASH_BIN=$(command -v bash)
TMUX_SOCK="$TMP/tmux.sock"
# How long any one expected text may take to show up.
WAIT_SECONDS=${WAIT_SECONDS:-20}
# A line of the pane where the guest shell prompted (maybe followed by what was typed there).
PROMPT='^IN\$( |$)'

tm() {
    tmux -S "$TMUX_SOCK" "$@"
}
at_exit "tm kill-server 2>/dev/null"
# A session that outlives the others: a server left without sessions exits, and the next
# new-session could meet it on its way out.
tm new-session -d -s keep -x 80 -y 24 "exec sleep 3600"

# screen: the pane's whole text (history included), wrapped lines joined.
screen() {
    tm capture-pane -p -J -S - -t "$PANE" 2>/dev/null || true
}

# count_lines TEXT: how many lines of the pane are exactly TEXT (trailing blanks ignored).
count_lines() {
    screen | sed 's/[[:space:]]*$//' | grep -cxF -- "$1" || true
}

# wait_lines N TEXT: waits until at least N lines of the pane are exactly TEXT.
wait_lines() {
    local deadline=$(($(now_ms) + WAIT_SECONDS * 1000))
    while (($(count_lines "$2") < $1)); do
        if (($(now_ms) >= deadline)); then
            return 1
        fi
        sleep 0.05
    done
}

# wait_match N REGEX: waits until at least N lines of the pane match REGEX (extended).
wait_match() {
    local deadline=$(($(now_ms) + WAIT_SECONDS * 1000))
    while (($(screen | grep -cE -- "$2" || true) < $1)); do
        if (($(now_ms) >= deadline)); then
            return 1
        fi
        sleep 0.05
    done
}

keys() {
    tm send-keys -t "$PANE" "$@"
}

# type_line TEXT: types TEXT and Enter, as literal keys.
type_line() {
    keys -l -- "$1"
    keys Enter
}

# step WHAT COMMAND...: a check that the session reached a state; stops the session's script on
# failure (what follows would only wait out more deadlines).
step() {
    local what=$1
    shift
    if "$@"; then
        pass "[$MODE] $what"
        return 0
    fi
    fail "[$MODE] $what" "(see the pane)" "$(screen | tail -n 25)"
    return 1
}

# The interactive part, in a fresh pane. MODE is native or runsc; the shell's key lines go to
# $TMP/lines.MODE for the comparison.
session() {
    MODE=$1
    local runner=$2 fg_job
    # The job announces itself once it runs in the foreground: its own output, never the echo
    # of the typed line (the arithmetic is done by the job's shell).
    fg_job="sh -c 'echo in-fg\$((6*7)); exec sleep 100'"
    tm new-session -d -s "$MODE" -x 100 -y 30 \
        "env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb HOME=/ PS1='OUT> ' $BASH_BIN --norc --noprofile"
    PANE="$MODE:0.0"
    step "the outer shell starts" wait_match 1 '^OUT>' || return 0
    type_line "stty -g >$TMP/before.$MODE; PS1='IN\$ ' $runner $BASH_BIN --norc -i; echo rc=\$?; stty -g >$TMP/after.$MODE"
    step "the interactive shell prompts" wait_match 1 "$PROMPT" || return 0

    # ^C ends the foreground job; the shell lives on.
    type_line "$fg_job"
    step "the job runs in the foreground" wait_lines 1 in-fg42 || return 0
    keys C-c
    step "^C: the prompt comes back" wait_match 2 "$PROMPT" || return 0
    type_line 'echo status=$?; echo alive$((1+1))'
    step "^C: the job was killed by SIGINT (status 130)" wait_lines 1 status=130 || return 0
    step "^C: the shell is alive" wait_lines 1 alive2 || return 0

    # ^Z stops it; jobs lists it; fg resumes it, and ^C ends it.
    type_line "$fg_job"
    step "the second job runs in the foreground" wait_lines 2 in-fg42 || return 0
    keys C-z
    step "^Z: the shell says the job stopped" wait_match 1 '^\[1\]\+ +Stopped +sh -c' || return 0
    type_line 'jobs; echo listed$((1+1))'
    step "jobs lists the stopped job" wait_match 2 '^\[1\]\+ +Stopped +sh -c' || return 0
    step "jobs returns" wait_lines 1 listed2 || return 0
    type_line fg
    # fg prints the job, hands it the terminal and continues it: a ^C in between still reaches
    # the shell, so the ^C is repeated until the prompt is back.
    step "fg resumes the job" wait_match 1 "^sh -c 'echo in-fg" || return 0
    local deadline=$(($(now_ms) + WAIT_SECONDS * 1000))
    while (($(screen | grep -cE "$PROMPT") < 6 && $(now_ms) < deadline)); do
        keys C-c
        WAIT_SECONDS=2 wait_match 6 "$PROMPT" || true
    done
    type_line 'echo status=$?; jobs; echo nojobs$((1+1))'
    step "^C after fg: killed by SIGINT (status 130)" wait_lines 2 status=130 || return 0
    step "no job is left" wait_lines 1 nojobs2 || return 0

    # The window size follows the host terminal's.
    type_line 'echo size=$(stty size)'
    step "the terminal's size" wait_lines 1 "size=30 100" || return 0
    tm resize-window -t "$MODE" -x 90 -y 25
    type_line 'echo size=$(stty size)'
    step "the new size after SIGWINCH" wait_lines 1 "size=25 90" || return 0

    type_line exit
    step "exit ends the run with status 0" wait_lines 1 rc=0 || return 0
    # (The line typed at the first prompt scrolled sideways: readline on a dumb terminal.)
    step "the outer shell is back" wait_lines 1 'OUT>' || return 0
    # The shell's own lines: job reports, statuses and markers, in order.
    screen | sed 's/[[:space:]]*$//' |
        grep -E '^(\[[0-9]+\][-+ ]|status=|alive|listed|nojobs|size=|rc=|sh -c )' >"$TMP/lines.$MODE" || true
    tm kill-session -t "$MODE"
}

# `runsc exec -t` into a running container gets the same: a container whose root is the host's
# (read-only, like runsc do's) and whose environment the exec'd shell inherits.
ROOT=$TMP/root
mkdir -p "$TMP/bundle"
cat >"$TMP/bundle/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sleep", "1000"],
   "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=dumb", "HOME=/", "PS1=IN\$ "], "cwd": "/",
   "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}},
 "root": {"path": "/", "readonly": true},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
   {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
   {"type": "mount"}]}}
JSON
at_exit '"$RUNSC" --root "$ROOT" delete --force jc >/dev/null 2>&1'
(cd "$TMP/bundle" && "$RUNSC" --root "$ROOT" run -d jc </dev/null >/dev/null 2>&1)

session native ""
session runsc "$RUNSC do"
session exec "$RUNSC --root $ROOT exec -t jc"
for mode in runsc exec; do
    if [[ -s $TMP/lines.native ]] && diff -u "$TMP/lines.native" "$TMP/lines.$mode" >"$TMP/lines.diff"; then
        pass "[$mode] the shell's key lines as natively"
    else
        fail "[$mode] the shell's key lines as natively" "$(cat "$TMP/lines.native")" \
            "$(cat "$TMP/lines.$mode" 2>/dev/null)"
    fi
done
for mode in native runsc exec; do
    if [[ -s $TMP/before.$mode ]] && cmp -s "$TMP/before.$mode" "$TMP/after.$mode"; then
        pass "[$mode] the host terminal's settings are restored (stty -g before = after)"
    else
        fail "[$mode] the host terminal's settings are restored" \
            "$(cat "$TMP/before.$mode" 2>/dev/null)" "$(cat "$TMP/after.$mode" 2>/dev/null)"
    fi
done

# The terminal goes away under a running guest shell: the run ends, nothing stays behind.
MODE=hangup
tm new-session -d -s hangup -x 100 -y 30 \
    "env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb HOME=/ PS1='IN\$ ' $RUNSC do $BASH_BIN --norc -i"
PANE="hangup:0.0"
if step "the guest shell prompts" wait_match 1 "$PROMPT"; then
    CLI=$(tm display-message -p -t "$PANE" '#{pane_pid}')
    find_sandbox "$CLI" || true
    tm kill-session -t hangup
    check "[hangup] runsc and its sandbox end when the terminal hangs up" \
        wait_gone 10 "$CLI" ${BOOT_PID:+"$BOOT_PID"} ${GOFER_PID:+"$GOFER_PID"}
fi

# The host terminal's settings come back however the run ends: the guest killed (SIGKILL to the
# sandbox process), or SIGTERM to runsc (forwarded; the guest's init ignores it, so runsc kills
# it after its grace period).
for how in guest-killed runsc-terminated; do
    MODE=$how
    tm new-session -d -s "$how" -x 100 -y 30 \
        "env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb HOME=/ PS1='OUT> ' $BASH_BIN --norc --noprofile"
    PANE="$how:0.0"
    step "the outer shell starts" wait_match 1 '^OUT>' || continue
    type_line "stty -g >$TMP/before.$how; PS1='IN\$ ' $RUNSC do $BASH_BIN --norc -i; echo rc=\$?; stty -g >$TMP/after.$how"
    step "the guest shell prompts" wait_match 1 "$PROMPT" || continue
    outer=$(tm display-message -p -t "$PANE" '#{pane_pid}')
    CLI=$(children_of "$outer" | head -n 1)
    if [[ $how == guest-killed ]]; then
        find_sandbox "$CLI" || true
        kill -KILL "$BOOT_PID"
        step "runsc reports the kill" wait_lines 1 rc=137 || continue
    else
        kill -TERM "$CLI"
        # (runsc's own message about the kill comes first, on the raw terminal: no CR.)
        step "runsc ends after the grace period" wait_match 1 'rc=137$' || continue
    fi
    step "the outer shell is back" wait_lines 1 'OUT>' || continue
    if cmp -s "$TMP/before.$how" "$TMP/after.$how"; then
        pass "[$how] the host terminal's settings are restored"
    else
        fail "[$how] the host terminal's settings are restored" \
            "$(cat "$TMP/before.$how")" "$(cat "$TMP/after.$how" 2>/dev/null)"
    fi
    tm kill-session -t "$how"
done

# Without a terminal, stdio is donated as before.
RUN_TIMEOUT=20
echo hi >"$TMP/hi"
run --stdin "$TMP/hi" "$RUNSC" do cat
expect_status 0
expect_stdout $'hi\n'
run "$RUNSC" do cat
expect_status 0
expect_stdout ""
run "$RUNSC" do sh -c 'test -t 0 || echo "stdin is no terminal"; readlink /proc/self/fd/0'
expect_status 0
expect_stdout_contains "stdin is no terminal"
