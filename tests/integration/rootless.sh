#!/usr/bin/env bash
# runsc do without root: the sandbox gets a user namespace that maps the caller to root inside it
# (so it can pivot_root and drop capabilities), and the guest still sees the caller's own ids.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

# The caller's build directory may not be readable by others: run a copy from a public place.
dir=$(mktemp -d)
at_exit "rm -rf '$dir'"
chmod 755 "$dir"
cp "$RUNSC" "$dir/runsc"
as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# The guest reads the host's /etc/passwd through the gofer, so it names the ids as natively.
native_id=$("${as_nobody[@]}" /bin/busybox id)
run "${as_nobody[@]}" "$dir/runsc" do /bin/busybox id
expect_status 0
expect_stdout "$native_id"$'\n'
expect_stderr ""

run "${as_nobody[@]}" "$dir/runsc" do /bin/busybox sh -c 'echo pid $$; exit 5'
expect_status 5
expect_stdout $'pid 1\n'
