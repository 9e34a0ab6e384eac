#!/usr/bin/env bash
# A terminal container follows the size the engine sets on the host pty's master it holds (it
# received it over --console-socket): the sandbox holds the slave, hears no SIGWINCH (it is not
# its session), and its console bridge polls the size; the guest then sees the new size with
# `stty size` and its foreground group gets SIGWINCH.
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

# The engine's part: take the master over the console socket, give it a size, start the
# container, wait for the guest to report it, then resize and wait for the new size.
cat >"$TMP/engine.py" <<'PY'
import fcntl, os, select, socket, struct, subprocess, sys, termios, time
runsc, root, bundle, sock_path = sys.argv[1:5]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path)
srv.listen(1)
create = subprocess.Popen([runsc, "--root", root, "create", "--bundle", bundle,
                           "--console-socket", sock_path, "rs1"])
srv.settimeout(30)
conn, _ = srv.accept()
_, fds, _, _ = socket.recv_fds(conn, 1024, 1)
master = fds[0]
if create.wait(60) != 0:
    print("create failed"); sys.exit(1)
def set_size(rows, cols):
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
set_size(30, 100)
if subprocess.call([runsc, "--root", root, "start", "rs1"]) != 0:
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

RUN_TIMEOUT=90 run python3 "$TMP/engine.py" "$RUNSC" "$ROOT" "$BUNDLE" "$TMP/console.sock"
expect_status 0
expect_stdout_contains "first size: ok"
expect_stdout_contains "new size: ok"
expect_stdout_contains "sigwinch: ok"
"$RUNSC" --root "$ROOT" delete --force rs1 >/dev/null 2>&1 || true
