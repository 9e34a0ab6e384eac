/* seccomp(2) filters installed by the guest: bad programs and requests, ERRNO actions and their
 * cap, argument comparisons, stacking, /proc status, EACCES without no_new_privs, inheritance
 * over fork and execve. Checks that change the process run in children. */
#include "guest.h"
#include "seccomp_guest.h"

static void check_bad_programs(void)
{
    struct sock_filter ok[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_filter jump_out[] = {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
                                     BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_filter unaligned[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2),
                                      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_filter past_data[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64),
                                      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_filter byte_load[] = {BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
                                      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_filter no_ret[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)};
    struct sock_filter bad_op[] = {{0xffff, 0, 0, 0}, BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_filter div_zero[] = {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0),
                                     BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_filter mem_unset[] = {BPF_STMT(BPF_LD | BPF_MEM, 3),
                                      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct {
        const char *name;
        struct sock_filter *f;
        unsigned short len;
    } cases[] = {
        {"jump past the end", jump_out, 2},
        {"unaligned load", unaligned, 2},
        {"load past seccomp_data", past_data, 2},
        {"byte load", byte_load, 2},
        {"no return at the end", no_ret, 1},
        {"unknown opcode", bad_op, 2},
        {"division by constant 0", div_zero, 2},
        {"scratch read before write", mem_unset, 2},
        {"length 0", ok, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sock_fprog p = {cases[i].len, cases[i].f};
        EXPECT_ERRNO(cases[i].name, seccomp_call(SECCOMP_SET_MODE_FILTER, 0, &p), EINVAL);
    }
    struct sock_fprog too_long = {4097, ok};
    EXPECT_ERRNO("length 4097", seccomp_call(SECCOMP_SET_MODE_FILTER, 0, &too_long), EINVAL);
    EXPECT_ERRNO("NULL program", seccomp_call(SECCOMP_SET_MODE_FILTER, 0, NULL), EFAULT);
    struct sock_fprog bad_ptr = {1, (struct sock_filter *)8};
    EXPECT_ERRNO("unmapped filter", seccomp_call(SECCOMP_SET_MODE_FILTER, 0, &bad_ptr), EFAULT);
    struct sock_fprog p = {1, ok};
    EXPECT_ERRNO("unknown flag", seccomp_call(SECCOMP_SET_MODE_FILTER, 1u << 20, &p), EINVAL);
    EXPECT_ERRNO("unknown op", seccomp_call(77, 0, &p), EINVAL);
    EXPECT_ERRNO("strict with flags", seccomp_call(SECCOMP_SET_MODE_STRICT, 1, NULL), EINVAL);
    EXPECT_ERRNO("strict with args", seccomp_call(SECCOMP_SET_MODE_STRICT, 0, &p), EINVAL);
    EXPECT_ERRNO("prctl mode 3", prctl(PR_SET_SECCOMP, 3, 0, 0, 0), EINVAL);
}

static void check_queries(void)
{
    uint32_t action = SECCOMP_RET_ALLOW;
    EXPECT_RET("action ALLOW available", seccomp_call(SECCOMP_GET_ACTION_AVAIL, 0, &action), 0);
    action = SECCOMP_RET_KILL_PROCESS;
    EXPECT_RET("action KILL_PROCESS available", seccomp_call(SECCOMP_GET_ACTION_AVAIL, 0, &action),
               0);
    action = 0x12340000;
    EXPECT_ERRNO("action 0x12340000", seccomp_call(SECCOMP_GET_ACTION_AVAIL, 0, &action),
                 EOPNOTSUPP);
    EXPECT_ERRNO("action avail with flags", seccomp_call(SECCOMP_GET_ACTION_AVAIL, 1, &action),
                 EINVAL);
    EXPECT_ERRNO("action avail NULL", seccomp_call(SECCOMP_GET_ACTION_AVAIL, 0, NULL), EFAULT);
    struct seccomp_notif_sizes sizes;
    EXPECT_RET("notif sizes", seccomp_call(SECCOMP_GET_NOTIF_SIZES, 0, &sizes), 0);
    printf("sizes: %u %u %u\n", sizes.seccomp_notif, sizes.seccomp_notif_resp, sizes.seccomp_data);
    EXPECT_RET("PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0);
}

static void errno_actions(void)
{
    EXPECT_RET("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    EXPECT_RET("install getppid EACCES", install_one(0, SYS_getppid, SECCOMP_RET_ERRNO | EACCES),
               0);
    EXPECT_ERRNO("getppid", syscall(SYS_getppid), EACCES);
    EXPECT_RET("install umask 5000", install_one(0, SYS_umask, SECCOMP_RET_ERRNO | 5000), 0);
    errno = 0;
    long r = syscall(SYS_umask, 022);
    printf("umask: %ld errno %d\n", r, errno); /* capped at MAX_ERRNO, 4095 */
    EXPECT_RET("install getuid TRACE", install_one(0, SYS_getuid, SECCOMP_RET_TRACE | 1), 0);
    EXPECT_ERRNO("getuid without a tracer", syscall(SYS_getuid), ENOSYS);
    EXPECT_RET("install getgid LOG", install_one(0, SYS_getgid, SECCOMP_RET_LOG), 0);
    EXPECT_RET("getgid logged", syscall(SYS_getgid) >= 0, 1);
    EXPECT_RET("PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 2);
    print_status_line("NoNewPrivs:");
    print_status_line("Seccomp:");
    print_status_line("Seccomp_filters:");
    EXPECT_ERRNO("strict over a filter", seccomp_call(SECCOMP_SET_MODE_STRICT, 0, NULL), EINVAL);
}

/* close(fd) is refused for fd 0x1_0000_0007 exactly: both halves of the 64-bit argument. */
static void arg_compare(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 7, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog p = {sizeof(f) / sizeof(f[0]), f};
    EXPECT_RET("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    EXPECT_RET("install close filter", seccomp_call(SECCOMP_SET_MODE_FILTER, 0, &p), 0);
    EXPECT_ERRNO("close(0x100000007)", syscall(SYS_close, 0x100000007L), EPERM);
    EXPECT_ERRNO("close(7)", syscall(SYS_close, 7L), EBADF);
    EXPECT_ERRNO("close(0x200000007)", syscall(SYS_close, 0x200000007L), EBADF);
}

/* Every filter runs; the strongest action wins, and of equal ones the newest filter's. */
static void stacking(void)
{
    EXPECT_RET("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    EXPECT_RET("older: getppid EPERM", install_one(0, SYS_getppid, SECCOMP_RET_ERRNO | EPERM), 0);
    EXPECT_RET("newer: getppid ENOENT", install_one(0, SYS_getppid, SECCOMP_RET_ERRNO | ENOENT), 0);
    EXPECT_ERRNO("getppid (newest of equals)", syscall(SYS_getppid), ENOENT);
    EXPECT_RET("newest: getppid LOG", install_one(0, SYS_getppid, SECCOMP_RET_LOG), 0);
    EXPECT_ERRNO("getppid (ERRNO beats LOG)", syscall(SYS_getppid), ENOENT);
    EXPECT_RET("getpid, allowed by all", syscall(SYS_getpid) > 0, 1);
    print_status_line("Seccomp_filters:");
}

static void grandchild(void)
{
    EXPECT_ERRNO("grandchild getppid", syscall(SYS_getppid), EACCES);
    print_status_line("Seccomp_filters:");
}

static void fork_inherits(void)
{
    EXPECT_RET("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    EXPECT_RET("install", install_one(0, SYS_getppid, SECCOMP_RET_ERRNO | EACCES), 0);
    run_child("grandchild", grandchild);
}

static void exec_keeps(void)
{
    EXPECT_RET("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    EXPECT_RET("install", install_one(0, SYS_getppid, SECCOMP_RET_ERRNO | EACCES), 0);
    fflush(stdout);
    char *argv[] = {"seccomp_filter", "after-exec", NULL};
    execv("/proc/self/exe", argv);
    printf("execv: %s\n", guest_errno_name(errno));
}

static void root_without_nnp(void)
{
    /* CAP_SYS_ADMIN stands in for no_new_privs. */
    EXPECT_RET("root installs", install_one(0, SYS_getppid, SECCOMP_RET_ERRNO | EPERM), 0);
}

static void unprivileged_without_nnp(void)
{
    EXPECT_RET("setuid 65534", setuid(65534), 0);
    EXPECT_ERRNO("install without no_new_privs", install_one(0, SYS_getppid, SECCOMP_RET_ALLOW),
                 EACCES);
    struct sock_fprog bad_len = {0, NULL};
    EXPECT_ERRNO("length 0 comes first", seccomp_call(SECCOMP_SET_MODE_FILTER, 0, &bad_len),
                 EINVAL);
    EXPECT_RET("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    EXPECT_RET("install with no_new_privs", install_one(0, SYS_getppid, SECCOMP_RET_ALLOW), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
        EXPECT_ERRNO("after exec: getppid", syscall(SYS_getppid), EACCES);
        EXPECT_RET("after exec: PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 2);
        print_status_line("NoNewPrivs:");
        return 0;
    }
    check_bad_programs();
    check_queries();
    run_child("errno actions", errno_actions);
    run_child("argument comparison", arg_compare);
    run_child("stacking", stacking);
    run_child("fork", fork_inherits);
    run_child("exec", exec_keeps);
    if (getuid() == 0)
        run_child("root without no_new_privs", root_without_nnp);
    else
        printf("root without no_new_privs: exit 0\n");
    if (getuid() == 0)
        run_child("unprivileged", unprivileged_without_nnp);
    else
        printf("unprivileged: exit 0\n");
    /* The parent never installed anything. */
    EXPECT_RET("parent PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0);
    guest_ok();
    return 0;
}
