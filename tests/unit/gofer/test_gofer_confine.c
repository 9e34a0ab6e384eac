/* Unit tests for the gofer's confinement and seccomp filter: a confined server sees only its
 * root and keeps only its capabilities, and every request still works under the filter (which
 * kills the process for any syscall it does not allow). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "tests/unit/gofer/gofer_fixture.h"

static struct fixture fx;

/* Runs fn in a child confined to dir; returns the child's wait status. */
static int run_confined(const char *dir, bool readonly, int (*fn)(void))
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        int root_fd, proc_fd;
        char why[256];
        if (gofer_confine(dir, readonly, &root_fd, &proc_fd, why, sizeof(why)) != 0) {
            fprintf(stderr, "gofer_confine: %s\n", why);
            _exit(10);
        }
        _exit(fn());
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static int nothing(void)
{
    return 0;
}

/* Confinement needs root or an unprivileged user namespace; without either, skip. */
static void require_confinement(void)
{
    int status = run_confined("/", true, nothing);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 10)
        skip();
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static char outside_secret[128];

/* In the confined child: only the served tree is there, with few capabilities and no way to
 * gain more. Each failed check is its own exit code. */
static int check_confined_view(void)
{
    cap_t caps = cap_get_proc();
    cap_flag_value_t v;

    if (access("/dir/file", R_OK) != 0)
        return 1;
    if (access(outside_secret, F_OK) == 0 || access("/proc/self", F_OK) == 0)
        return 2;
    if (!caps)
        return 3;
    if (cap_get_flag(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE, &v) != 0 || v != CAP_CLEAR)
        return 4;
    if (cap_get_flag(caps, CAP_DAC_OVERRIDE, CAP_EFFECTIVE, &v) != 0 || v != CAP_SET)
        return 5;
    if (CAP_IS_SUPPORTED(CAP_SYS_ADMIN) && cap_get_bound(CAP_SYS_ADMIN) != 0)
        return 6;
    cap_free(caps);
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        return 7;
    return 0;
}

static int check_readonly_mount(void)
{
    /* The served root is mounted read-only as well, under the server's own check. */
    if (mkdir("/dir/new", 0755) == 0 || errno != EROFS)
        return 1;
    return 0;
}

static void test_confined_process_sees_only_its_root(void **state)
{
    require_confinement();
    make_tree(&fx);
    snprintf(outside_secret, sizeof(outside_secret), "%s/secret", fx.outside);
    int status = run_confined(fx.dir, false, check_confined_view);
    int ro_status = run_confined(fx.dir, true, check_readonly_mount);
    nftw(fx.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    nftw(fx.outside, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(WIFEXITED(ro_status));
    assert_int_equal(WEXITSTATUS(ro_status), 0);
}

static void test_forbidden_syscall_kills_the_gofer(void **state)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        struct utsname u;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || gofer_install_seccomp() != 0)
            _exit(10);
        syscall(SYS_uname, &u);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
}

/* Every request kind, against a server that is confined and under its seccomp filter: the
 * filter allows all the syscalls serving makes (fixture_stop checks the server exited 0). */
static void exercise_every_request(enum server_mode mode)
{
    struct p9_msg req, reply;
    char buf[64];

    session_start(&fx, false, mode);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir", NULL), 1);
    assert_int_equal(t_walk(&fx, ROOT_FID, 3, "dir/file", NULL), 2);
    assert_int_equal(t_walk(&fx, ROOT_FID, 4, "escape/secret", NULL), 1);
    assert_int_equal(t_getattr(&fx, 3, NULL), 0);
    assert_int_equal(t_lopen(&fx, 3, O_RDWR, NULL), 0);
    assert_true(fx.fd >= 0);
    assert_int_equal(pread(fx.fd, buf, sizeof(buf), 0), 13);
    assert_int_equal(t_read(&fx, 3, 0, sizeof(buf), buf), 13);
    assert_int_equal(t_write(&fx, 3, 13, "more"), 4);
    req = (struct p9_msg){.type = P9_TFSYNC};
    req.tfsync.fid = 3;
    assert_int_equal(rpc(&fx, &req, &reply), 0);
    req.tfsync.datasync = 1;
    assert_int_equal(rpc(&fx, &req, &reply), 0);
    assert_int_equal(t_walk(&fx, 2, 5, "", NULL), 0);
    assert_int_equal(t_lopen(&fx, 5, O_RDONLY, NULL), 0);
    assert_int_equal(t_readdir_all(&fx, 5, 4096, (char[1024]){0}, 1024), 4);
    assert_int_equal(t_walk(&fx, 2, 6, "link", NULL), 1);
    assert_int_equal(t_readlink(&fx, 6, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "file");
    assert_int_equal(t_lopen(&fx, 6, O_RDONLY, NULL), -ELOOP);
    req = (struct p9_msg){.type = P9_TSTATFS};
    req.tstatfs.fid = ROOT_FID;
    assert_int_equal(rpc(&fx, &req, &reply), 0);
    assert_int_equal(t_mkdir(&fx, 2, STR("d"), 0755), 0);
    assert_int_equal(t_symlink(&fx, 2, STR("s"), "d"), 0);
    assert_int_equal(t_mknod(&fx, 2, STR("p"), S_IFIFO | 0600), 0);
    assert_int_equal(t_link(&fx, 2, 3, STR("h")), 0);
    assert_int_equal(t_renameat(&fx, 2, STR("h"), 2, STR("h2")), 0);
    assert_int_equal(t_walk(&fx, 2, 7, "", NULL), 0);
    assert_int_equal(t_lcreate(&fx, 7, STR("c"), O_WRONLY | O_APPEND, 0600), 0);
    assert_true(fx.fd >= 0);
    struct p9_setattr a = {.valid = P9_SETATTR_MODE | P9_SETATTR_SIZE | P9_SETATTR_ATIME |
                                    P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET,
                           .mode = 0640,
                           .size = 3,
                           .mtime_sec = 1234};
    assert_int_equal(t_setattr(&fx, 3, &a), 0);
    a = (struct p9_setattr){
        .valid = P9_SETATTR_UID | P9_SETATTR_GID, .uid = (uint32_t)-1, .gid = (uint32_t)-1};
    assert_int_equal(t_setattr(&fx, 3, &a), 0);
    a = (struct p9_setattr){.valid = P9_SETATTR_CTIME};
    assert_int_equal(t_setattr(&fx, 3, &a), 0);
    assert_int_equal(t_unlinkat(&fx, 2, STR("p"), 0), 0);
    assert_int_equal(t_unlinkat(&fx, 2, STR("d"), 0x200), 0);
    req = (struct p9_msg){.type = P9_TLOCK};
    req.tlock.fid = 3;
    assert_int_equal(rpc(&fx, &req, &reply), 0);
    req = (struct p9_msg){.type = P9_TGETLOCK};
    req.tgetlock.fid = 3;
    assert_int_equal(rpc(&fx, &req, &reply), 0);
    req = (struct p9_msg){.type = P9_TXATTRWALK};
    req.txattrwalk.fid = 3;
    req.txattrwalk.newfid = 8;
    assert_int_equal(rpc(&fx, &req, &reply), -EOPNOTSUPP);
    req = (struct p9_msg){.type = P9_TFLUSH};
    assert_int_equal(rpc(&fx, &req, &reply), 0);
    req = (struct p9_msg){.type = P9_TREMOVE};
    req.tremove.fid = 6;
    assert_int_equal(rpc(&fx, &req, &reply), -EOPNOTSUPP);
    /* Tremove clunks even when it fails; the partial walk never made fid 4. */
    assert_int_equal(t_clunk(&fx, 6), -EBADF);
    assert_int_equal(t_clunk(&fx, 4), -EBADF);
    send_raw(&fx, "junk", 4);
    receive_reply(&fx, &reply);
    assert_int_equal(reply.type, P9_RLERROR);
    static const uint32_t open_fids[] = {2, 3, 5, 7};
    for (size_t i = 0; i < ARRAY_SIZE(open_fids); i++)
        assert_int_equal(t_clunk(&fx, open_fids[i]), 0);
    fixture_stop(&fx);
}

static void test_every_request_under_seccomp(void **state)
{
    exercise_every_request(SERVER_SECCOMP);
}

static void test_every_request_confined(void **state)
{
    require_confinement();
    exercise_every_request(SERVER_CONFINED);
}

/* Serving "/" itself: the bind of "/" onto itself is what pivot_root enters (a lookup of "/"
 * alone would start below it), with the host's other mounts (here /tmp's) inside. */
static void test_confined_server_of_the_host_root(void **state)
{
    struct p9_msg reply;
    char rel[128], buf[32];

    require_confinement();
    memset(&fx, 0, sizeof(fx));
    fx.fd = -1;
    make_tree(&fx);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    fx.server = fork();
    assert_true(fx.server >= 0);
    if (fx.server == 0) {
        struct gofer_config cfg = {.readonly = true};
        struct gofer *g;
        char why[256];
        close(sv[0]);
        if (gofer_confine("/", true, &cfg.root_fd, &cfg.proc_fd_dir, why, sizeof(why)) != 0 ||
            gofer_create(&cfg, &g) != 0 || gofer_install_seccomp() != 0)
            _exit(10);
        _exit(gofer_serve(g, sv[1]) == 0 ? 0 : 13);
    }
    close(sv[1]);
    fx.sock = sv[0];
    assert_int_equal(t_version(&fx, MSIZE, P9_VERSION_L, &reply), 0);
    assert_int_equal(t_attach(&fx, ROOT_FID, "/"), 0);
    /* fx.dir is "/tmp/gofer-test.XXXXXX": walk there from the served "/". */
    snprintf(rel, sizeof(rel), "%.63s/dir/file", fx.dir + 1);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, rel, NULL), 4);
    assert_int_equal(t_lopen(&fx, 2, O_RDONLY, NULL), 0);
    assert_int_equal(t_read(&fx, 2, 0, sizeof(buf), buf), 13);
    assert_memory_equal(buf, "hello, gofer\n", 13);
    assert_int_equal(t_lopen(&fx, ROOT_FID, O_RDWR, NULL), -EROFS);
    fixture_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confined_process_sees_only_its_root),
        cmocka_unit_test(test_forbidden_syscall_kills_the_gofer),
        cmocka_unit_test(test_every_request_under_seccomp),
        cmocka_unit_test(test_every_request_confined),
        cmocka_unit_test(test_confined_server_of_the_host_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
