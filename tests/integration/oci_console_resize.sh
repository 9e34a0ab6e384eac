#!/usr/bin/env bash
# A terminal container follows the size the engine sets on the host pty's master it holds (it
# received it over --console-socket): the sandbox holds the slave, hears no SIGWINCH (it is not
# its session), and its console bridge polls the size; the guest then sees the new size with
# `stty size` and its foreground group gets SIGWINCH. The same for a pod member with a terminal
# and for `exec --tty --detach --console-socket` (conmon's exec), each bridged the same way.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox
ROOT=$TMP/root
BUNDLE=$TMP/bundle
at_exit 'for id in $("$RUNSC" --root "$ROOT" list -q 2>/dev/null); do "$RUNSC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done'

mkdir -p "$BUNDLE/rootfs/bin" "$BUNDLE/rootfs/proc" "$BUNDLE/rootfs/dev"
cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
for c in sh sleep stty echo; do
    ln -sf busybox "$BUNDLE/rootfs/bin/$c"
done
cat >"$BUNDLE/config.json" <<'JSON'
{"ociVersion": "1.0.2",
 "process": {"terminal": true, "user": {"uid": 0, "gid": 0},
   "args": ["/bin/sh", "-c",
     "trap 'echo got winch' WINCH; while true; do echo \"size: $(stty size)\"; sleep 0.1; done"],
   "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": "rootfs"},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
   {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
   {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
    "options": ["newinstance", "ptmxmode=0666", "mode=0620"]}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
     {"type": "uts"}, {"type": "mount"}]}}
JSON

# The engine's part: run the command that sends the master over the console socket, take it,
# give it a size, start the container (unless START is -), wait for the guest to report the
# size, then resize and wait for the new size and the SIGWINCH.
cat >"$TMP/engine.py" <<'PY'
import fcntl, os, select, socket, struct, subprocess, sys, termios, time
runsc, root, sock_path, start_id = sys.argv[1:5]
cmd = sys.argv[6:]
if os.path.exists(sock_path):
    os.unlink(sock_path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path)
srv.listen(1)
proc = subprocess.Popen(cmd)
srv.settimeout(30)
conn, _ = srv.accept()
_, fds, _, _ = socket.recv_fds(conn, 1024, 1)
master = fds[0]
if proc.wait(60) != 0:
    print("the command failed"); sys.exit(1)
def set_size(rows, cols):
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
set_size(30, 100)
if start_id != "-" and subprocess.call([runsc, "--root", root, "start", start_id]) != 0:
    print("start failed"); sys.exit(1)
seen = b""
def wait_for(text, secs=10):
    global seen
    deadline = time.monotonic() + secs
    while text not in seen and time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    return text in seen
print("first size:", "ok" if wait_for(b"size: 30 100") else "missing")
seen = b""
set_size(40, 120)
print("new size:", "ok" if wait_for(b"size: 40 120") else "missing")
print("sigwinch:", "ok" if b"got winch" in seen or wait_for(b"got winch", 2) else "missing")
sys.stdout.flush()
PY

# engine START CMD...: the engine's part, and its three reports.
engine() {
    RUN_TIMEOUT=90 run python3 "$TMP/engine.py" "$RUNSC" "$ROOT" "$TMP/console.sock" "$@"
    expect_status 0
    expect_stdout_contains "first size: ok"
    expect_stdout_contains "new size: ok"
    expect_stdout_contains "sigwinch: ok"
}

# The container's own terminal.
engine rs1 -- "$RUNSC" --root "$ROOT" create --bundle "$BUNDLE" --console-socket "$TMP/console.sock" rs1
"$RUNSC" --root "$ROOT" delete --force rs1 >/dev/null 2>&1 || true

# A pod: a sandbox without a terminal, a member with one.
SCRIPT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["process"]["args"][2])' "$BUNDLE/config.json")
cp -r "$BUNDLE" "$TMP/pause"
python3 - "$TMP/pause/config.json" "$BUNDLE/config.json" <<'PY'
import json, sys
pause, member = sys.argv[1], sys.argv[2]
doc = json.load(open(pause))
doc["process"]["terminal"] = False
doc["process"]["args"] = ["/bin/sleep", "1000"]
doc["annotations"] = {"io.kubernetes.cri.container-type": "sandbox",
                      "io.kubernetes.cri.sandbox-id": "pod"}
json.dump(doc, open(pause, "w"))
doc = json.load(open(member))
doc["annotations"] = {"io.kubernetes.cri.container-type": "container",
                      "io.kubernetes.cri.sandbox-id": "pod"}
json.dump(doc, open(member, "w"))
PY
run "$RUNSC" --root "$ROOT" run -d --bundle "$TMP/pause" pod
expect_status 0
engine member -- "$RUNSC" --root "$ROOT" create --bundle "$BUNDLE" --console-socket "$TMP/console.sock" member

# exec --tty --detach --console-socket into the pod's sandbox, as conmon execs.
engine - -- "$RUNSC" --root "$ROOT" exec --tty --detach --console-socket "$TMP/console.sock" pod \
    /bin/sh -c "$SCRIPT"
