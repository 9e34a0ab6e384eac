#!/usr/bin/env bash
# Installs what building and testing runsc needs, from Debian's packages only.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(build-essential clang libclang-rt-14-dev cmake pkg-config libseccomp-dev libcap-dev
          libjson-c-dev libcmocka-dev libcapstone-dev busybox-static util-linux
          libpython3.11-testsuite
          # oracles the tests compare against or drive: runc (OCI state), tmux (a terminal for
          # job control), musl (a second libc using the vDSO), stress-ng (tools/stress.sh)
          tmux musl-tools stress-ng
          # the engine tests (tests/integration/engines, tools/engines.sh): Podman with conmon
          # and catatonit (its pause image), containerd with ctr and the runc v2 shim, Docker's
          # 20.10 engine and client, runc and crun to compare with, script(1)
          podman conmon catatonit containerd docker.io runc crun bsdutils)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
