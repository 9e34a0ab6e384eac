#!/usr/bin/env bash
# linux.namespaces paths: a network namespace given by path is the one the sandbox runs in (as
# gVisor joins it), checked from the host against `ip netns add`'s; a path for any other kind
# fails create clearly, naming it.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox
ROOT=$TMP/root
BUNDLE=$TMP/bundle
NETNS=runsc-it-oci-namespaces-$$
at_exit 'for id in $("$RUNSC" --root "$ROOT" list -q 2>/dev/null); do "$RUNSC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done'

mkdir -p "$BUNDLE/rootfs/bin" "$BUNDLE/rootfs/proc"
cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
for c in sh sleep; do
    ln -sf busybox "$BUNDLE/rootfs/bin/$c"
done

# write_config NAMESPACES_JSON
write_config() {
    cat >"$BUNDLE/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0},
   "args": ["/bin/sleep", "60"], "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": "rootfs"},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
 "linux": {"namespaces": $1}}
JSON
}

cd "$BUNDLE"
if ! ip netns add "$NETNS"; then
    fail "ip netns add $NETNS"
    exit 1
fi
at_exit 'ip netns delete "$NETNS" 2>/dev/null'

write_config '[{"type": "pid"}, {"type": "network", "path": "/var/run/netns/'"$NETNS"'"},
    {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]'
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" create ns1
expect_status 0
pid=$("$RUNSC" --root "$ROOT" state ns1 | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
want=$(stat -L -c %i "/var/run/netns/$NETNS")
host=$(stat -L -c %i /proc/self/ns/net)
run stat -L -c %i "/proc/$pid/ns/net"
expect_stdout "$want"$'\n'
check "the named namespace is not the host's" test "$want" != "$host"
"$RUNSC" --root "$ROOT" delete --force ns1 >/dev/null 2>&1 || true

# Without a path the sandbox still gets a namespace of its own.
write_config '[{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
    {"type": "mount"}]'
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" create ns2
expect_status 0
pid=$("$RUNSC" --root "$ROOT" state ns2 | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
own=$(stat -L -c %i "/proc/$pid/ns/net")
check "a new network namespace is neither the host's nor the named one" \
    test "$own" != "$host" -a "$own" != "$want"
"$RUNSC" --root "$ROOT" delete --force ns2 >/dev/null 2>&1 || true

# A path that is no network namespace, and one that does not exist, fail create.
write_config '[{"type": "pid"}, {"type": "network", "path": "/proc/self/ns/ipc"}]'
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" create ns3
expect_status 1
expect_stderr_contains "/proc/self/ns/ipc is not a network namespace"
"$RUNSC" --root "$ROOT" delete --force ns3 >/dev/null 2>&1 || true
write_config '[{"type": "pid"}, {"type": "network", "path": "/var/run/netns/none-'"$$"'"}]'
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" create ns4
expect_status 1
expect_stderr_contains "open the network namespace /var/run/netns/none-$$"
"$RUNSC" --root "$ROOT" delete --force ns4 >/dev/null 2>&1 || true

# Other kinds by path are refused, naming the kind.
write_config '[{"type": "pid"}, {"type": "network"}, {"type": "ipc", "path": "/proc/1/ns/ipc"}]'
RUN_TIMEOUT=60 run "$RUNSC" --root "$ROOT" create ns5
expect_status 1
expect_stderr_contains "joining the ipc namespace /proc/1/ns/ipc is not supported"
"$RUNSC" --root "$ROOT" delete --force ns5 >/dev/null 2>&1 || true
