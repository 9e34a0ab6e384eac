#!/usr/bin/env bash
# `runsc spec` and `runsc features`: the starter config.json runc users expect (written once,
# never over an existing one) and the OCI features document, each read back as JSON by python3.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

# In the current directory by default.
dir=$(mktemp -d "$TMP/bundle.XXXXXX")
run env -C "$dir" "$RUNSC" spec
expect_status 0
expect_stdout ""
expect_stderr ""
check "runsc spec wrote a config.json with runc's defaults" python3 -c '
import json, sys
spec = json.load(open(sys.argv[1]))
p = spec["process"]
assert spec["ociVersion"].startswith("1."), spec["ociVersion"]
assert p["args"] == ["sh"] and p["terminal"] is True and p["cwd"] == "/", p
assert p["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}], p["rlimits"]
assert "CAP_KILL" in p["capabilities"]["bounding"], p["capabilities"]
assert spec["root"] == {"path": "rootfs", "readonly": True}, spec["root"]
dests = [m["destination"] for m in spec["mounts"]]
assert dests == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
                 "/sys/fs/cgroup"], dests
ns = sorted(n["type"] for n in spec["linux"]["namespaces"])
assert ns == ["ipc", "mount", "network", "pid", "uts"], ns
assert "/proc/kcore" in spec["linux"]["maskedPaths"]
assert "/proc/sys" in spec["linux"]["readonlyPaths"]
' "$dir/config.json"

# Never over an existing file: runc's message and exit 1, the file untouched.
echo '{"mine": true}' >"$dir/config.json"
run env -C "$dir" "$RUNSC" spec
expect_status 1
expect_stderr $'File config.json exists. Remove it first\n'
expect_file_line "$dir/config.json" '{"mine": true}'

# --bundle (and -b) name the directory; --rootless maps root to the caller and drops the
# network namespace.
other=$(mktemp -d "$TMP/bundle.XXXXXX")
run "$RUNSC" spec --bundle "$other" --rootless
expect_status 0
check "runsc spec --rootless wrote a user namespace and mappings" python3 -c '
import json, os, sys
lx = json.load(open(sys.argv[1]))["linux"]
ns = [n["type"] for n in lx["namespaces"]]
assert "user" in ns and "network" not in ns, ns
assert lx["uidMappings"] == [{"containerID": 0, "hostID": os.geteuid(), "size": 1}], lx
assert "resources" not in lx, lx
' "$other/config.json"
run "$RUNSC" spec -b "$other"
expect_status 1
expect_stderr_contains "exists. Remove it first"

# A bundle directory that isn't there: the path and the reason.
run "$RUNSC" spec --bundle "$TMP/no-such-dir"
expect_status 1
expect_stderr_contains "$TMP/no-such-dir/config.json: No such file or directory"

# Arguments and unknown flags: runc's "requires exactly 0 arguments", usage for a bad flag.
run "$RUNSC" spec extra
expect_status 1
expect_stderr $'runsc: "spec" requires exactly 0 arguments\n'
run "$RUNSC" spec --no-such-flag
expect_status 2
expect_stderr_contains "unknown flag: --no-such-flag"

# runsc features: valid JSON with the version range and what the parser takes.
run "$RUNSC" features
expect_status 0
expect_stderr ""
printf '%s' "$OUT" >"$TMP/features.json"
check "runsc features is the OCI features JSON" python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
assert f["ociVersionMin"] == "1.0.0" and f["ociVersionMax"] == "1.1.0", f
assert "createRuntime" in f["hooks"] and "poststop" in f["hooks"], f["hooks"]
assert "bind" in f["mountOptions"], f["mountOptions"]
lx = f["linux"]
assert "pid" in lx["namespaces"] and "CAP_SYS_ADMIN" in lx["capabilities"], lx
assert set(lx) >= {"cgroup", "seccomp", "apparmor", "selinux"}, lx
' "$TMP/features.json"
