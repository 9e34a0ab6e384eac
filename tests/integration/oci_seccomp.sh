#!/usr/bin/env bash
# The container's OCI linux.seccomp profile, compiled by boot with libseccomp and enforced by the
# sentry on init from its first instruction: a trimmed copy of Docker's default profile's shape
# (defaultAction SCMP_ACT_ERRNO, an allow-list, personality, socket and clone allowed for some
# arguments only (EQ, NE, MASKED_EQ), an errnoRet, a name no arch has), then profiles boot must refuse with a clear reason. Driven
# through data/boot_container.py, the stand-in for `runsc create` + `runsc start`.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

HARNESS=$(dirname -- "$0")/data/boot_container.py
prog="$TMP/seccomp_probe"
cc -static -O1 -o "$prog" "$(dirname -- "$0")/programs/seccomp_probe.c"

boot_with_profile() { # boot_with_profile JSON ARGS...: the container runs ARGS under JSON
    printf '%s\n' "$1" >"$TMP/seccomp.json"
    shift
    rm -f "$TMP/sandbox.sock"
    BOOT_CONTAINER_SECCOMP="$TMP/seccomp.json" run python3 "$HARNESS" "$RUNSC" "$TMP" "$@"
}

allow='"read","write","close","fstat","newfstatat","lseek","mmap","mprotect","munmap","brk",
"rt_sigaction","rt_sigprocmask","rt_sigreturn","ioctl","pread64","readv","writev","access",
"getpid","exit","exit_group","uname","fcntl","getcwd","arch_prctl","set_tid_address",
"set_robust_list","rseq","prlimit64","getrandom","openat","readlink","readlinkat","prctl",
"execve","futex","statx","no_such_syscall_xyz","gettid","clock_gettime","wait4"'
docker_like='{
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 1,
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "syscalls": [
    {"names": ['"$allow"'], "action": "SCMP_ACT_ALLOW"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 4294967295, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
    {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 40, "valueTwo": 0, "op": "SCMP_CMP_NE"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["getuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
    {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}
  ]
}'

boot_with_profile "$docker_like" "$prog"
expect_stdout_contains "ready: ok"
expect_stdout_contains "getpid: ok"
expect_stdout_contains "getppid (unlisted): EPERM"
expect_stdout_contains "getuid (errnoRet 38): ENOSYS"
expect_stdout_contains "socket(AF_UNIX): ok"
expect_stdout_contains "socket(AF_VSOCK): EPERM"
expect_stdout_contains "clone(SIGCHLD): ok"
expect_stdout_contains "clone(CLONE_NEWUSER): EPERM"
expect_stdout_contains "PR_GET_SECCOMP: 2"
expect_stdout_contains $'Seccomp:\t2'
expect_stdout_contains $'Seccomp_filters:\t1'
expect_stdout_contains "exit: 0"

# Without the profile the same program sees no filter.
rm -f "$TMP/sandbox.sock"
run python3 "$HARNESS" "$RUNSC" "$TMP" "$prog"
expect_stdout_contains "getppid (unlisted): ok"
expect_stdout_contains "PR_GET_SECCOMP: 0"

# KILL_PROCESS for one syscall: init dies of SIGSYS (exit code 128+31).
boot_with_profile '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
  {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}' "$prog"
expect_stdout_contains "getpid: ok"
expect_stdout_contains "exit: 159"

boot_with_profile '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_AARCH64"]}' \
    "$prog"
expect_stdout_contains "ready: err 1 linux.seccomp: the seccomp profile's architectures do not include x86_64"

boot_with_profile '{"defaultAction": "SCMP_ACT_SOMETHING"}' "$prog"
expect_stdout_contains 'ready: err 1 config.json: linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_SOMETHING"'

boot_with_profile '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
  {"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}], "listenerPath": "/run/x.sock"}' "$prog"
expect_stdout_contains "ready: err 1 linux.seccomp:"
