#!/usr/bin/env bash
# linux.uidMappings/gidMappings and file ownership through the gofer, with runc as the oracle:
# the same bundle runs under runc and under ours, and what the container prints and what the
# host sees afterwards in a bind-mounted directory must be the same. Covers: /proc/self/uid_map
# and gid_map; host owners seen through the map (unmapped ones as 65534); files, directories
# and symlinks made by root and by a non-root user owned as the creator maps to the host;
# chown to a mapped id and to an unmapped one (EINVAL); setuid to an unmapped id; a spec without
# process.capabilities getting none; and, without a user namespace, a non-root creator's files
# owned by it on the host. Bad mappings are refused at create naming the field.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

command -v runc >/dev/null || {
    echo "FAIL $SCRIPT_NAME: runc (the oracle) is not installed: tools/install-deps.sh" >&2
    exit 1
}
BUNDLE=$TMP/bundle
# The user namespace's root (host uid 100000) must reach the bundle under runc.
chmod 755 "$TMP"
SHARED=$TMP/shared
at_exit 'for r in "$TMP/runc-root" "$TMP/ours-root"; do for id in $(runc --root "$r" list -q 2>/dev/null) $("$RUNSC" --root "$r" list -q 2>/dev/null); do runc --root "$r" delete --force "$id"; "$RUNSC" --root "$r" delete --force "$id"; done; done >/dev/null 2>&1'

busybox_rootfs "$BUNDLE" sh stat touch cat mkdir ln chown grep echo
mkdir -p "$BUNDLE/rootfs/shared"
cc -static -O1 -o "$BUNDLE/rootfs/bin/setuid_to" -x c - <<'C'
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    (void)argc;
    int r = setuid((uid_t)strtoul(argv[1], NULL, 10));
    printf("setuid(%s): %s\n", argv[1], r == 0 ? "ok" : strerror(errno));
    return 0;
}
C

# The host's side of the bind mount, reset before each runtime: owners in and out of the map.
reset_shared() {
    rm -rf "$SHARED"
    mkdir -p "$SHARED/sub"
    touch "$SHARED/mine" "$SHARED/hostroot" "$SHARED/u1000"
    chown 100000:100000 "$SHARED" "$SHARED/mine"
    chown 101000:101000 "$SHARED/u1000" "$SHARED/sub"
    chmod 1777 "$SHARED/sub"
}

# write_config USERNS(yes|no) CAPS(yes|no) UID SCRIPT
write_config() {
    local userns=$1 caps=$2 uid=$3 script=$4 ns maps="" capjson=""
    ns='{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}'
    if [[ $userns == yes ]]; then
        ns="$ns, {\"type\": \"user\"}"
        maps='"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
              "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],'
    fi
    if [[ $caps == yes ]]; then
        local set='["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_SETUID", "CAP_SETGID"]'
        capjson="\"capabilities\": {\"bounding\": $set, \"effective\": $set, \"permitted\": $set},"
    fi
    python3 - "$BUNDLE/config.json" "$script" "$uid" <<PY
import json, sys
path, script, uid = sys.argv[1], sys.argv[2], int(sys.argv[3])
doc = json.loads('''{"ociVersion": "1.0.2",
 "process": {"terminal": false, $capjson "user": {"uid": 0, "gid": 0},
   "args": [], "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": "rootfs", "readonly": true},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
   {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
   {"destination": "/shared", "type": "bind", "source": "$SHARED", "options": ["rbind", "rw"]}],
 "linux": {$maps "namespaces": [$ns]}}''')
doc["process"]["args"] = ["sh", "-c", script]
doc["process"]["user"] = {"uid": uid, "gid": uid}
json.dump(doc, open(path, "w"))
PY
}

# same_as_runc WHAT: runs the bundle under runc and under ours, each on a fresh shared dir,
# and checks stdout+stderr, the exit status and the host's listing of the shared dir agree.
same_as_runc() {
    local what=$1 out
    cd "$BUNDLE"
    reset_shared
    run runc --root "$TMP/runc-root" run "r$RANDOM"
    local runc_out="$OUT$ERR" runc_status=$STATUS
    local runc_ls
    runc_ls=$(cd "$SHARED" && find . -printf '%p %U:%G %M\n' | sort)
    reset_shared
    run "$RUNSC" --root "$TMP/ours-root" run "o$RANDOM"
    out="$OUT$ERR"
    local ours_ls
    ours_ls=$(cd "$SHARED" && find . -printf '%p %U:%G %M\n' | sort)
    if [[ $out == "$runc_out" && $STATUS == "$runc_status" ]]; then
        pass "$what: output and status as runc's"
    else
        fail "$what: output and status as runc's" "$runc_out(status $runc_status)" "$out(status $STATUS)"
    fi
    if [[ $ours_ls == "$runc_ls" ]]; then
        pass "$what: the host sees the files runc leaves"
    else
        fail "$what: the host sees the files runc leaves" "$runc_ls" "$ours_ls"
    fi
    cd - >/dev/null
}

LOOK='stat -c "%n %u:%g" /shared/mine /shared/hostroot /shared/u1000 /shared'
MAKE='touch /shared/f; mkdir /shared/d; ln -s f /shared/l; touch /shared/sub/f2'

write_config yes yes 0 "cat /proc/self/uid_map /proc/self/gid_map; $LOOK; $MAKE;
    chown 5:6 /shared/mine; chown 70000 /shared/f; echo chown-unmapped=\$?;
    setuid_to 70000; setuid_to 1000; stat -c '%n %u:%g' /shared/f /shared/d /shared/l /shared/mine"
same_as_runc "root in a user namespace"

write_config yes yes 1000 "id=\$(stat -c %u /shared/u1000); echo \$id; touch /shared/sub/mine1000;
    stat -c '%n %u:%g' /shared/sub/mine1000; touch /shared/nope; echo \$?"
same_as_runc "uid 1000 in a user namespace"

write_config yes no 0 "grep Cap /proc/self/status; chown 1 /shared/mine; echo \$?"
same_as_runc "no process.capabilities"

write_config no yes 1000 "touch /shared/sub/by1000; mkdir /shared/sub/d1000;
    stat -c '%n %u:%g' /shared/sub/by1000 /shared/sub/d1000"
same_as_runc "uid 1000 without a user namespace"

# --- refused at create ---------------------------------------------------------------------------
cd "$BUNDLE"
write_config yes yes 0 "true"
python3 - "$BUNDLE/config.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["linux"]["uidMappings"].append({"containerID": 100, "hostID": 500000, "size": 10})
json.dump(doc, open(sys.argv[1], "w"))
PY
run "$RUNSC" --root "$TMP/ours-root" create bad1
expect_status 1
expect_stderr_contains 'linux.uidMappings[1]'
check "no state for the refused container" test ! -e "$TMP/ours-root/bad1"

write_config yes yes 70000 "true"
run "$RUNSC" --root "$TMP/ours-root" create bad2
expect_status 1
expect_stderr_contains 'process.user.uid: 70000 is not mapped'
