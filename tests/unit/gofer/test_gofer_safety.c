/* Unit tests for what the gofer refuses: names that are not one component, walks through
 * symlinks, opening a symlink, unknown fids, every change under --readonly, and packets that are
 * not 9P at all. After each, the server must still answer and exit 0 when the client hangs up. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/gofer/gofer_fixture.h"

static struct fixture fx;

static const struct p9_str bad_names[] = {STR(".."), STR("."), STR("a/b"),
                                          STR(""),   STR("/"), STR("dir/file")};

static void test_bad_names_are_refused_everywhere(void **state)
{
    session_start(&fx, false, SERVER_PLAIN);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir", NULL), 1);
    assert_int_equal(t_walk(&fx, ROOT_FID, 3, "dir/file", NULL), 2);
    for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
        struct p9_str n = bad_names[i];
        struct p9_str two[2] = {STR("dir"), n};
        assert_int_equal(t_walk_names(&fx, ROOT_FID, 10, &n, 1), -EINVAL);
        /* Not a partial walk either: the request is refused whole. */
        assert_int_equal(t_walk_names(&fx, ROOT_FID, 10, two, 2), -EINVAL);
        assert_int_equal(t_getattr(&fx, 10, NULL), -EBADF);
        assert_int_equal(t_walk(&fx, 2, 11, "", NULL), 0);
        assert_int_equal(t_lcreate(&fx, 11, n, O_RDWR, 0644), -EINVAL);
        assert_int_equal(t_clunk(&fx, 11), 0);
        assert_int_equal(t_mkdir(&fx, 2, n, 0755), -EINVAL);
        assert_int_equal(t_symlink(&fx, 2, n, "target"), -EINVAL);
        assert_int_equal(t_mknod(&fx, 2, n, S_IFIFO | 0644), -EINVAL);
        assert_int_equal(t_link(&fx, 2, 3, n), -EINVAL);
        assert_int_equal(t_renameat(&fx, 2, STR("file"), 2, n), -EINVAL);
        assert_int_equal(t_renameat(&fx, 2, n, 2, STR("x")), -EINVAL);
        assert_int_equal(t_unlinkat(&fx, 2, n, 0), -EINVAL);
        assert_int_equal(t_unlinkat(&fx, 2, n, 0x200), -EINVAL);
    }
    /* Nothing changed on the host: dir still holds exactly its four entries. */
    char path[256];
    path_in(&fx, "dir/file", path, sizeof(path));
    assert_int_equal(access(path, F_OK), 0);
    path_in(&fx, "dir/x", path, sizeof(path));
    assert_int_equal(access(path, F_OK), -1);
    fixture_stop(&fx);
}

static void test_symlinks_are_never_followed(void **state)
{
    struct p9_msg reply;

    session_start(&fx, false, SERVER_PLAIN);
    /* "escape" points outside the root (absolute), "up" at ".." and "dir/link" at a file: the
     * walk reaches each symlink itself and stops there. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "escape/secret", &reply), 1);
    assert_int_equal(reply.rwalk.wqids[0].type, P9_QTSYMLINK);
    assert_int_equal(t_getattr(&fx, 2, NULL), -EBADF);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "up/dir", &reply), 1);
    assert_int_equal(t_getattr(&fx, 2, NULL), -EBADF);
    /* From the symlink's own fid, nothing below it. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 3, "escape", NULL), 1);
    assert_int_equal(t_walk(&fx, 3, 4, "secret", NULL), -ENOTDIR);
    /* Opening a symlink is ELOOP whatever the flags; no fd comes back. */
    assert_int_equal(t_lopen(&fx, 3, O_RDONLY, NULL), -ELOOP);
    assert_int_equal(t_walk(&fx, ROOT_FID, 5, "dir/link", NULL), 2);
    assert_int_equal(t_lopen(&fx, 5, O_RDONLY, NULL), -ELOOP);
    assert_int_equal(t_lopen(&fx, 5, O_RDWR, NULL), -ELOOP);
    /* Creating through a symlink to a directory is not creating in that directory. */
    assert_int_equal(t_mkdir(&fx, 3, STR("planted"), 0755), -ENOTDIR);
    assert_int_equal(t_lcreate(&fx, 3, STR("planted"), O_RDWR, 0644), -ENOTDIR);
    char path[256];
    snprintf(path, sizeof(path), "%s/planted", fx.outside);
    assert_int_equal(access(path, F_OK), -1);
    fixture_stop(&fx);
}

static void test_unknown_and_reused_fids(void **state)
{
    struct p9_msg req, reply;
    char buf[16];

    session_start(&fx, false, SERVER_PLAIN);
    assert_int_equal(t_walk(&fx, 99, 2, "dir", NULL), -EBADF);
    assert_int_equal(t_getattr(&fx, 99, NULL), -EBADF);
    assert_int_equal(t_lopen(&fx, 99, O_RDONLY, NULL), -EBADF);
    assert_int_equal(t_read(&fx, 99, 0, 4, buf), -EBADF);
    assert_int_equal(t_write(&fx, 99, 0, "x"), -EBADF);
    assert_int_equal(t_clunk(&fx, 99), -EBADF);
    assert_int_equal(t_readlink(&fx, 99, buf, sizeof(buf)), -EBADF);
    assert_int_equal(t_mkdir(&fx, 99, STR("x"), 0755), -EBADF);
    assert_int_equal(t_lcreate(&fx, 99, STR("x"), O_RDWR, 0644), -EBADF);
    assert_int_equal(t_link(&fx, ROOT_FID, 99, STR("x")), -EBADF);
    assert_int_equal(t_renameat(&fx, 99, STR("x"), ROOT_FID, STR("y")), -EBADF);
    assert_int_equal(t_unlinkat(&fx, 99, STR("x"), 0), -EBADF);
    struct p9_setattr a = {.valid = P9_SETATTR_MODE, .mode = 0777};
    assert_int_equal(t_setattr(&fx, 99, &a), -EBADF);
    req = (struct p9_msg){.type = P9_TSTATFS};
    req.tstatfs.fid = 99;
    assert_int_equal(rpc(&fx, &req, &reply), -EBADF);
    req = (struct p9_msg){.type = P9_TFSYNC};
    req.tfsync.fid = 99;
    assert_int_equal(rpc(&fx, &req, &reply), -EBADF);
    req = (struct p9_msg){.type = P9_TREADDIR};
    req.treaddir = (struct p9_io_request){.fid = 99, .count = 100};
    assert_int_equal(rpc(&fx, &req, &reply), -EBADF);
    /* A live newfid can't be reused, by walk or attach; NOFID is never a fid. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir", NULL), 1);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir", NULL), -EBADF);
    assert_int_equal(t_attach(&fx, 2, "/"), -EBADF);
    assert_int_equal(t_walk(&fx, ROOT_FID, P9_NOFID, "dir", NULL), -EBADF);
    /* fid 2 still names dir. */
    struct p9_attr attr;
    assert_int_equal(t_getattr(&fx, 2, &attr), 0);
    assert_true(S_ISDIR(attr.mode));
    /* Many fids, all clunked again: the table gives numbers back. */
    for (uint32_t fid = 1000; fid < 1300; fid++)
        assert_int_equal(t_walk(&fx, ROOT_FID, fid, "", NULL), 0);
    for (uint32_t fid = 1000; fid < 1300; fid++)
        assert_int_equal(t_clunk(&fx, fid), 0);
    assert_int_equal(t_getattr(&fx, 1299, NULL), -EBADF);
    fixture_stop(&fx);
}

static void test_readonly_refuses_every_change(void **state)
{
    struct p9_msg req, reply;
    struct stat before, after;
    char path[256];

    session_start(&fx, true, SERVER_PLAIN);
    path_in(&fx, "dir", path, sizeof(path));
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir", NULL), 1);
    assert_int_equal(t_walk(&fx, ROOT_FID, 3, "dir/file", NULL), 2);
    assert_int_equal(t_walk(&fx, 2, 4, "", NULL), 0);
    assert_int_equal(t_lcreate(&fx, 4, STR("new"), O_RDWR, 0644), -EROFS);
    assert_int_equal(t_mkdir(&fx, 2, STR("new"), 0755), -EROFS);
    assert_int_equal(t_symlink(&fx, 2, STR("new"), "target"), -EROFS);
    assert_int_equal(t_mknod(&fx, 2, STR("new"), S_IFIFO | 0644), -EROFS);
    assert_int_equal(t_link(&fx, 2, 3, STR("new")), -EROFS);
    assert_int_equal(t_renameat(&fx, 2, STR("file"), 2, STR("new")), -EROFS);
    assert_int_equal(t_unlinkat(&fx, 2, STR("file"), 0), -EROFS);
    struct p9_setattr a = {.valid = P9_SETATTR_MODE, .mode = 0777};
    assert_int_equal(t_setattr(&fx, 3, &a), -EROFS);
    a = (struct p9_setattr){.valid = P9_SETATTR_SIZE};
    assert_int_equal(t_setattr(&fx, 3, &a), -EROFS);
    req = (struct p9_msg){.type = P9_TXATTRCREATE};
    req.txattrcreate.fid = 3;
    req.txattrcreate.name = STR("user.x");
    assert_int_equal(rpc(&fx, &req, &reply), -EROFS);
    /* Opening for writing (or truncation) is refused; reading works. */
    assert_int_equal(t_lopen(&fx, 3, O_WRONLY, NULL), -EROFS);
    assert_int_equal(t_lopen(&fx, 3, O_RDWR, NULL), -EROFS);
    assert_int_equal(t_lopen(&fx, 3, O_RDONLY | O_TRUNC, NULL), -EROFS);
    assert_int_equal(t_lopen(&fx, 3, O_RDONLY, NULL), 0);
    assert_true(fx.fd >= 0);
    assert_int_equal(fcntl(fx.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    assert_int_equal(t_write(&fx, 3, 0, "x"), -EROFS);
    char buf[32];
    assert_int_equal(t_read(&fx, 3, 0, sizeof(buf), buf), 13);
    /* The host tree is untouched. */
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    assert_int_equal(after.st_nlink, before.st_nlink);
    path_in(&fx, "dir/file", path, sizeof(path));
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_size, 13);
    assert_int_equal(after.st_mode & 07777, 0644);
    fixture_stop(&fx);
}

/* The reply to a packet that is not a valid request: Rlerror(ecode) with the packet's tag. */
static void expect_rlerror(struct fixture *f, uint16_t tag, uint32_t ecode)
{
    struct p9_msg reply;
    receive_reply(f, &reply);
    assert_int_equal(reply.type, P9_RLERROR);
    assert_int_equal(reply.tag, tag);
    assert_int_equal(reply.rlerror.ecode, ecode);
}

static void test_garbage_packets_get_ebadmsg(void **state)
{
    struct p9_msg reply;
    uint8_t pkt[64];

    session_start(&fx, false, SERVER_PLAIN);
    /* Too short for a header. */
    send_raw(&fx, "\x01\x02\x03", 3);
    expect_rlerror(&fx, P9_NOTAG, EBADMSG);
    /* A Twalk whose size field claims more than was sent. */
    struct p9_msg walk = {.type = P9_TWALK, .tag = 0x1234};
    walk.twalk.fid = ROOT_FID;
    walk.twalk.newfid = 2;
    walk.twalk.nwname = 1;
    walk.twalk.wnames[0] = STR("dir");
    ssize_t len = p9_encode(&walk, pkt, sizeof(pkt));
    assert_true(len > 0);
    send_raw(&fx, pkt, (size_t)len - 2);
    expect_rlerror(&fx, 0x1234, EBADMSG);
    /* Trailing bytes after a valid Tclunk. */
    struct p9_msg clunk = {.type = P9_TCLUNK, .tag = 0x55};
    clunk.tclunk.fid = ROOT_FID;
    len = p9_encode(&clunk, pkt, sizeof(pkt));
    pkt[0] = (uint8_t)(len + 4);
    memset(pkt + len, 0xaa, 4);
    send_raw(&fx, pkt, (size_t)len + 4);
    expect_rlerror(&fx, 0x55, EBADMSG);
    /* A name holding a NUL. */
    walk.tag = 0x77;
    len = p9_encode(&walk, pkt, sizeof(pkt));
    pkt[len - 2] = '\0';
    send_raw(&fx, pkt, (size_t)len);
    expect_rlerror(&fx, 0x77, EBADMSG);
    /* An unknown type and an R-message: not served. */
    memcpy(pkt, "\x07\x00\x00\x00\xc8\x09\x00", 7);
    send_raw(&fx, pkt, 7);
    expect_rlerror(&fx, 9, EOPNOTSUPP);
    struct p9_msg rclunk = {.type = P9_RCLUNK, .tag = 3};
    len = p9_encode(&rclunk, pkt, sizeof(pkt));
    send_raw(&fx, pkt, (size_t)len);
    expect_rlerror(&fx, 3, EOPNOTSUPP);
    /* A packet bigger than any msize. */
    uint8_t *big = calloc(1, MSIZE + 100);
    assert_non_null(big);
    big[0] = 0x10;
    big[4] = P9_TWRITE;
    send_raw(&fx, big, MSIZE + 100);
    free(big);
    receive_reply(&fx, &reply);
    assert_int_equal(reply.type, P9_RLERROR);
    assert_int_equal(reply.rlerror.ecode, EBADMSG);
    /* The session goes on: ROOT_FID was never clunked. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir/file", NULL), 2);
    fixture_stop(&fx);
}

static void test_mutated_requests_never_crash_the_server(void **state)
{
    uint8_t pkt[512];
    struct p9_msg reply;
    unsigned seed = 12345;

    session_start(&fx, true, SERVER_PLAIN);
    struct p9_msg base[4] = {
        {.type = P9_TWALK}, {.type = P9_TREADDIR}, {.type = P9_TLOPEN}, {.type = P9_TGETATTR}};
    base[0].twalk.fid = ROOT_FID;
    base[0].twalk.newfid = 50;
    base[0].twalk.nwname = 2;
    base[0].twalk.wnames[0] = STR("dir");
    base[0].twalk.wnames[1] = STR("file");
    base[1].treaddir = (struct p9_io_request){.fid = ROOT_FID, .count = 4096};
    base[2].tlopen.fid = ROOT_FID;
    base[3].tgetattr.fid = ROOT_FID;
    /* Flip bytes of valid requests: every packet gets exactly one reply, an R-message or an
     * Rlerror; which one depends on the mutation. */
    for (int i = 0; i < 2000; i++) {
        struct p9_msg *m = &base[i % 4];
        m->tag = (uint16_t)i;
        ssize_t len = p9_encode(m, pkt, sizeof(pkt));
        assert_true(len > 0);
        int flips = 1 + (int)(rand_r(&seed) % 3);
        for (int k = 0; k < flips; k++)
            pkt[rand_r(&seed) % (unsigned)len] = (uint8_t)rand_r(&seed);
        send_raw(&fx, pkt, (size_t)len - (size_t)(rand_r(&seed) % 2));
        receive_reply(&fx, &reply);
        if (fx.fd >= 0) {
            close(fx.fd);
            fx.fd = -1;
        }
    }
    assert_int_equal(t_version(&fx, MSIZE, P9_VERSION_L, &reply), 0);
    assert_int_equal(t_attach(&fx, ROOT_FID, "/"), 0);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir/file", NULL), 2);
    fixture_stop(&fx);
}

static void test_fds_sent_by_the_client_are_not_kept(void **state)
{
    struct p9_msg req = {.type = P9_TGETATTR, .tag = 9};
    uint8_t pkt[64];
    int pipe_fds[2];
    char c;

    session_start(&fx, false, SERVER_PLAIN);
    req.tgetattr.fid = ROOT_FID;
    ssize_t len = p9_encode(&req, pkt, sizeof(pkt));
    assert_int_equal(pipe(pipe_fds), 0);
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof(control));
    struct iovec iov = {.iov_base = pkt, .iov_len = (size_t)len};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &pipe_fds[1], sizeof(int));
    assert_int_equal(sendmsg(fx.sock, &mh, 0), len);
    close(pipe_fds[1]);
    struct p9_msg reply;
    receive_reply(&fx, &reply);
    assert_int_equal(reply.type, P9_RGETATTR);
    /* The server closed its copy of the write end: the pipe reads end of file. */
    assert_int_equal(read(pipe_fds[0], &c, 1), 0);
    close(pipe_fds[0]);
    fixture_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_names_are_refused_everywhere),
        cmocka_unit_test(test_symlinks_are_never_followed),
        cmocka_unit_test(test_unknown_and_reused_fids),
        cmocka_unit_test(test_readonly_refuses_every_change),
        cmocka_unit_test(test_garbage_packets_get_ebadmsg),
        cmocka_unit_test(test_mutated_requests_never_crash_the_server),
        cmocka_unit_test(test_fds_sent_by_the_client_are_not_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
