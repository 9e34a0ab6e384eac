#!/usr/bin/env bash
# Runs the engine tests (tests/integration/engines/{podman,containerd,docker}.sh) for each OCI
# runtime and prints one table, check × runtime, then every failure with its reason.
#
# usage: tools/engines.sh [-r RUNTIMES] [-e ENGINES] [-o LOGDIR]
#   -r  comma-separated, from: runc crun gvisor ours (default: all four)
#   -e  comma-separated, from: podman containerd docker (default: all three)
#   -o  where each run's full output goes (default: build/engines-logs)
# Runtimes: runc and crun as packaged (crun runs in a private mount namespace with
# /sys/fs/cgroup/unified unmounted: crun 1.8.1 refuses this machine's hybrid cgroup layout),
# gVisor's /usr/bin/runsc with --network=none --platform=ptrace, and ours, build/release/runsc
# (RUNSC=path overrides it; OURS_FLAGS adds runtime flags, space-separated). Needs root.
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "$0")/.." && pwd)
DIR=$ROOT/tests/integration/engines
runtimes=runc,crun,gvisor,ours
engines=podman,containerd,docker
logs=$ROOT/build/engines-logs
while getopts r:e:o:h opt; do
    case $opt in
    r) runtimes=$OPTARG ;;
    e) engines=$OPTARG ;;
    o) logs=$OPTARG ;;
    *)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
    esac
done
mkdir -p "$logs"
logs=$(realpath -- "$logs")

# runtime_cmd NAME: the runtime's path and flags, one per line; fails if it is missing.
runtime_cmd() {
    case $1 in
    runc) echo /usr/sbin/runc ;;
    crun) echo /usr/bin/crun ;;
    gvisor) printf '%s\n' /usr/bin/runsc --network=none --platform=ptrace ;;
    ours)
        echo "${RUNSC:-$ROOT/build/release/runsc}"
        # shellcheck disable=SC2086 # OURS_FLAGS is a list
        [[ -n ${OURS_FLAGS:-} ]] && printf '%s\n' $OURS_FLAGS
        ;;
    *) return 1 ;;
    esac
}

image=$(mktemp -d /tmp/engines-image.XXXXXX)
trap 'rm -rf -- "$image"' EXIT
"$DIR/image.sh" "$image" || exit 1
export ENGINES_IMAGE_DIR=$image

IFS=, read -ra rts <<<"$runtimes"
IFS=, read -ra engs <<<"$engines"
for rt in "${rts[@]}"; do
    mapfile -t cmd < <(runtime_cmd "$rt") || true
    for eng in "${engs[@]}"; do
        log=$logs/$eng-$rt.log
        if [[ ${#cmd[@]} -eq 0 || ! -x ${cmd[0]} ]]; then
            echo "FAIL $eng/runtime: '$rt' is not installed or built (${cmd[0]:-unknown})" >"$log"
            continue
        fi
        echo "== $eng × $rt" >&2
        start=$SECONDS
        if [[ $rt == crun ]]; then
            # shellcheck disable=SC2016 # expanded by the inner shell
            timeout -k 10 900 unshare -m --propagation private sh -c \
                'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh \
                "$DIR/$eng.sh" "${cmd[@]}" >"$log" 2>&1
        else
            timeout -k 10 900 "$DIR/$eng.sh" "${cmd[@]}" >"$log" 2>&1
        fi
        echo "   $(tail -1 "$log") in $((SECONDS - start)) s" >&2
    done
done

# The table: one row per check (in the order first seen), one column per runtime.
for rt in "${rts[@]}"; do
    for eng in "${engs[@]}"; do
        sed -n "s/^\(PASS\|FAIL\) \([^:]*\).*/$rt \1 \2/p" "$logs/$eng-$rt.log" 2>/dev/null
    done
done | awk -v rts="$runtimes" '
    BEGIN { n = split(rts, col, ","); w = 28 }
    { key = $3; if (!(key in seen)) { seen[key] = 1; order[++rows] = key }
      res[key, $1] = $2; if (length(key) > w) w = length(key) }
    END {
        printf "%-" w "s", "check"
        for (i = 1; i <= n; i++) printf "  %-7s", col[i]
        printf "\n"
        for (r = 1; r <= rows; r++) {
            printf "%-" w "s", order[r]
            for (i = 1; i <= n; i++) {
                v = res[order[r], col[i]]; if (v == "") v = "-"
                printf "  %-7s", v; if (v == "PASS") pass[i]++
            }
            printf "\n"
        }
        printf "%-" w "s", "passed"
        for (i = 1; i <= n; i++) printf "  %-7s", pass[i] + 0 "/" rows
        printf "\n"
    }'

echo
echo "Failures (full logs in $logs):"
for rt in "${rts[@]}"; do
    for eng in "${engs[@]}"; do
        grep '^FAIL' "$logs/$eng-$rt.log" 2>/dev/null | sed "s/^FAIL /  [$rt] /"
    done
done
exit 0
