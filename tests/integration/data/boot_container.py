#!/usr/bin/env python3
"""Stands in for `runsc create` + `runsc start` to drive `runsc boot` in container mode.

usage: boot_container.py RUNSC WORKDIR ARGS...

Starts `runsc gofer` serving / read-only, binds WORKDIR/sandbox.sock, starts `runsc boot
--spec-fd --control-fd --ready-fd` in new namespaces (unshare) with a spec whose process.args
are ARGS (and linux.seccomp from the file named by $BOOT_CONTAINER_SECCOMP), and prints what
it sees, one line each: the ready line; if it was "ok": the process
list before Start, Start's reply, a second Start's reply, the reply of a Wait sent before Start
on another connection; then the sandbox's exit code.
"""
import json
import os
import socket
import sys


def move_fds(fds):
    """In a child: puts fds[i] at fd 3+i (through high fds so none clobbers another)."""
    for i, fd in enumerate(fds):
        os.dup2(fd, 100 + i)
    for i in range(len(fds)):
        os.dup2(100 + i, 3 + i)
    os.closerange(3 + len(fds), 200)


def main():
    runsc, work, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    gofer_parent, gofer_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    gofer = os.fork()
    if gofer == 0:
        move_fds([gofer_parent.fileno()])
        os.execv(runsc, [runsc, "gofer", "--root=/", "--sock-fd=3", "--readonly"])
    gofer_parent.close()

    path = os.path.join(work, "sandbox.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(8)
    spec_r, spec_w = os.pipe()
    ready_r, ready_w = os.pipe()
    spec = {"ociVersion": "1.0.2",
            "process": {"args": args, "env": ["PATH=/usr/bin:/bin"], "cwd": "/tmp"},
            "root": {"path": "/"}}
    # BOOT_CONTAINER_SECCOMP: a file whose JSON becomes linux.seccomp.
    if os.environ.get("BOOT_CONTAINER_SECCOMP"):
        with open(os.environ["BOOT_CONTAINER_SECCOMP"]) as f:
            spec["linux"] = {"seccomp": json.load(f)}
    os.write(spec_w, json.dumps(spec).encode())
    os.close(spec_w)
    sandbox = os.fork()
    if sandbox == 0:
        # fds: 3 (unused), 4 log, 5 gofer, 6 spec, 7 control, 8 ready.
        move_fds([0, 2, gofer_child.fileno(), spec_r, listener.fileno(), ready_w])
        os.execvp("unshare", ["unshare", "-p", "-m", "-i", "-u", "-n", "-f", runsc, "boot",
                              "--spec-fd=6", "--control-fd=7", "--ready-fd=8"])
    gofer_child.close()
    listener.close()
    os.close(spec_r)
    os.close(ready_w)

    # One line (unshare, between us and boot, keeps its copy of the pipe open: no end of file).
    ready = b""
    while not ready.endswith(b"\n"):
        chunk = os.read(ready_r, 512)
        if not chunk:
            break
        ready += chunk
    print("ready:", ready.decode().rstrip("\n"), flush=True)
    if ready.startswith(b"ok"):
        def conn():
            c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            c.settimeout(30)
            c.connect(path)
            return c

        def call(c, req):
            c.send(json.dumps(req).encode())
            return json.loads(c.recv(65536))

        waiter = conn()
        waiter.send(b'{"method":"Wait"}')
        c = conn()
        procs = call(c, {"method": "Processes"})["processes"]
        print("before start:", " | ".join("%d %s" % (p["pid"], p["cmdline"]) for p in procs),
              flush=True)
        print("start:", json.dumps(call(c, {"method": "Start"}), sort_keys=True), flush=True)
        print("start again:", json.dumps(call(c, {"method": "Start"}), sort_keys=True),
              flush=True)
        print("wait:", json.dumps(json.loads(waiter.recv(65536)), sort_keys=True), flush=True)
    _, status = os.waitpid(sandbox, 0)
    print("exit:", os.waitstatus_to_exitcode(status), flush=True)
    os.waitpid(gofer, 0)


main()
