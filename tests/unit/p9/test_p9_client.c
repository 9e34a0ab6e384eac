/* Unit tests for lib/p9/p9_client.c (the connection) against a fake gofer (fake_gofer.h):
 * version negotiation, fid numbering, fd hygiene, Rlerror, dead and misbehaving gofers, tags,
 * and concurrent callers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_gofer.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_version_offers_131072_and_adopts_answer(void **state)
{
    struct p9_client *c = client_of(state);
    struct p9_msg m = last_request(fake_of(state));

    assert_int_equal(m.type, P9_TVERSION);
    assert_int_equal(m.tag, P9_NOTAG);
    assert_int_equal(m.tversion.msize, 131072);
    assert_str(m.tversion.version, "9P2000.L");
    assert_int_equal(p9_client_msize(c), 131072);
    assert_int_equal(p9_client_io_size(c), 131072 - P9_IOHDR_SIZE);
    assert_false(p9_client_is_dead(c));
}

static void test_version_smaller_msize_honoured(void **state)
{
    assert_int_equal(p9_client_msize(client_of(state)), 4096);
    assert_int_equal(p9_client_io_size(client_of(state)), 4096 - P9_IOHDR_SIZE);
}

static void test_version_unknown_is_eprotonosupport(void **state)
{
    struct fixture *fx = *state;
    struct p9_client *c = NULL;

    fake_start(fx, P9_CLIENT_MSIZE, "unknown");
    assert_int_equal(p9_client_create(fx->client_fd, &c), -EPROTONOSUPPORT);
    assert_null(c);
    /* Ownership passed: the client closed its end on failure. */
    assert_int_equal(fcntl(fx->client_fd, F_GETFD), -1);
    assert_int_equal(errno, EBADF);
}

static void test_version_msize_below_floor_is_eio(void **state)
{
    struct fixture *fx = *state;
    struct p9_client *c = NULL;

    fake_start(fx, 512, P9_VERSION_L);
    assert_int_equal(p9_client_create(fx->client_fd, &c), -EIO);
    assert_int_equal(fcntl(fx->client_fd, F_GETFD), -1);
}

static void test_create_refuses_stream_socket_and_non_socket(void **state)
{
    struct p9_client *c = NULL;
    int sv[2];
    int pipefd[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(p9_client_create(sv[0], &c), -EINVAL);
    assert_int_equal(fcntl(sv[0], F_GETFD), -1);
    close(sv[1]);
    assert_int_equal(pipe(pipefd), 0);
    assert_int_equal(p9_client_create(pipefd[0], &c), -ENOTSOCK);
    assert_int_equal(fcntl(pipefd[0], F_GETFD), -1);
    close(pipefd[1]);
    assert_null(c);
}

static void test_fid_alloc_lowest_free_and_bounded(void **state)
{
    struct p9_client *c = client_of(state);
    uint32_t fid;

    for (uint32_t i = 0; i < P9_CLIENT_MAX_FIDS; i++) {
        assert_int_equal(p9_client_fid_alloc(c, &fid), 0);
        if (fid != i)
            fail_msg("fid %u, want %u", fid, i);
    }
    assert_int_equal(p9_client_fid_alloc(c, &fid), -ENFILE);
    p9_client_fid_free(c, 700001);
    p9_client_fid_free(c, 5);
    assert_int_equal(p9_client_fid_alloc(c, &fid), 0);
    assert_int_equal(fid, 5);
    assert_int_equal(p9_client_fid_alloc(c, &fid), 0);
    assert_int_equal(fid, 700001);
    assert_int_equal(p9_client_fid_alloc(c, &fid), -ENFILE);
}

static void test_lopen_fd_closed_when_caller_wants_none(void **state)
{
    fake_of(state)->donate_fd = make_donor_file("x");
    int before = count_open_fds();

    assert_int_equal(p9_client_lopen(client_of(state), 6, O_RDONLY, NULL, NULL, NULL), 0);
    assert_int_equal(count_open_fds(), before);
}

static void test_lopen_extra_fds_closed(void **state)
{
    struct fake *f = fake_of(state);
    int fd = -2;

    f->donate_fd = make_donor_file("two");
    f->mode = FAKE_TWO_FDS;
    int before = count_open_fds();
    assert_int_equal(p9_client_lopen(client_of(state), 6, O_RDONLY, NULL, NULL, &fd), 0);
    assert_true(fd >= 0);
    assert_int_equal(count_open_fds(), before + 1);
    close(fd);
}

static void test_fd_on_unexpected_reply_is_closed(void **state)
{
    struct fake *f = fake_of(state);
    struct p9_attr attr;
    int fd = -2;

    f->donate_fd = make_donor_file("stray");
    int before = count_open_fds();
    f->mode = FAKE_FD_ON_REPLY;
    assert_int_equal(p9_client_getattr(client_of(state), 5, P9_GETATTR_ALL, &attr), 0);
    assert_int_equal(attr.qid.path, 5);
    assert_int_equal(count_open_fds(), before);
    f->mode = FAKE_ERROR_WITH_FD;
    f->error_code = EACCES;
    assert_int_equal(p9_client_lopen(client_of(state), 6, O_RDONLY, NULL, NULL, &fd), -EACCES);
    assert_int_equal(fd, -1);
    assert_int_equal(count_open_fds(), before);
    assert_false(p9_client_is_dead(client_of(state)));
}

static void test_read_oversize_reply_is_eio(void **state)
{
    uint8_t buf[64];

    fake_of(state)->mode = FAKE_OVERSIZE_READ;
    assert_int_equal(p9_client_read(client_of(state), 9, 0, buf, sizeof(buf)), -EIO);
    assert_dead_and_silent(state);
}

static void test_rlerror_becomes_minus_errno(void **state)
{
    static const uint32_t codes[] = {EPERM, ENOENT, EACCES, ENOTDIR, EROFS, ELOOP, ENOTEMPTY, 4095};
    struct fake *f = fake_of(state);
    struct p9_attr attr;
    const char *name[] = {"x"};
    uint16_t n;

    f->mode = FAKE_ERROR;
    for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
        f->error_code = codes[i];
        assert_int_equal(p9_client_getattr(client_of(state), 1, 1, &attr), -(int)codes[i]);
        assert_int_equal(p9_client_walk(client_of(state), 1, 2, 1, name, NULL, &n), -(int)codes[i]);
        assert_int_equal(p9_client_read(client_of(state), 1, 0, &attr, 8), -(int)codes[i]);
    }
    assert_false(p9_client_is_dead(client_of(state)));
}

static void test_encode_failure_keeps_connection(void **state)
{
    char *target = malloc(5000);

    memset(target, 't', 4999);
    target[4999] = '\0';
    /* msize 4096: the message cannot be sent, but nothing is wrong with the connection. */
    assert_int_equal(p9_client_symlink(client_of(state), 1, "ln", target, 0, NULL), -ENAMETOOLONG);
    assert_false(p9_client_is_dead(client_of(state)));
    assert_int_equal(p9_client_fsync(client_of(state), 1, false), 0);
    free(target);
}

static void test_hang_up_mid_request_is_eio(void **state)
{
    struct p9_attr attr;

    fake_of(state)->mode = FAKE_HANG_UP;
    assert_int_equal(p9_client_getattr(client_of(state), 1, P9_GETATTR_ALL, &attr), -EIO);
    assert_true(p9_client_is_dead(client_of(state)));
    assert_int_equal(p9_client_write(client_of(state), 1, 0, "x", 1), -EIO);
    assert_int_equal(p9_client_readlink(client_of(state), 1, (char[4]){0}, 4), -EIO);
}

static void run_broken_reply(void **state, enum fake_mode mode)
{
    struct p9_attr attr;

    fake_of(state)->mode = mode;
    assert_int_equal(p9_client_getattr(client_of(state), 1, P9_GETATTR_ALL, &attr), -EIO);
    assert_dead_and_silent(state);
}

static void test_garbage_reply_is_eio(void **state)
{
    run_broken_reply(state, FAKE_GARBAGE);
}

static void test_wrong_tag_is_eio(void **state)
{
    run_broken_reply(state, FAKE_WRONG_TAG);
}

static void test_wrong_type_is_eio(void **state)
{
    run_broken_reply(state, FAKE_WRONG_TYPE);
}

static void test_rlerror_zero_is_eio(void **state)
{
    run_broken_reply(state, FAKE_BAD_ERRNO);
}

static void test_packet_over_msize_is_eio(void **state)
{
    run_broken_reply(state, FAKE_HUGE);
}

static void *getattr_thread(void *arg)
{
    struct p9_attr attr;

    return (void *)(intptr_t)p9_client_getattr(arg, 1, P9_GETATTR_ALL, &attr);
}

static void test_shutdown_unblocks_waiting_call(void **state)
{
    pthread_t thread;
    void *ret;

    fake_of(state)->mode = FAKE_SILENT;
    assert_int_equal(pthread_create(&thread, NULL, getattr_thread, client_of(state)), 0);
    while (fake_of(state)->requests < 2) /* Tversion, then the Tgetattr it will not answer */
        usleep(1000);
    p9_client_shutdown(client_of(state));
    assert_int_equal(pthread_join(thread, &ret), 0);
    assert_int_equal((intptr_t)ret, -EIO);
    assert_true(p9_client_is_dead(client_of(state)));
}

static void test_tags_differ_between_requests(void **state)
{
    struct fake *f = fake_of(state);

    for (int i = 0; i < 3; i++)
        assert_int_equal(p9_client_fsync(client_of(state), 1, false), 0);
    assert_int_not_equal(f->tags[0], f->tags[1]);
    assert_int_not_equal(f->tags[1], f->tags[2]);
    for (int i = 0; i < 3; i++)
        assert_int_not_equal(f->tags[i], P9_NOTAG);
}

#define CONC_THREADS 8
#define CONC_CALLS 1000

struct conc_arg {
    struct p9_client *client;
    uint32_t base;
    int mismatches;
};

static void *conc_thread(void *arg)
{
    struct conc_arg *a = arg;

    for (uint32_t i = 0; i < CONC_CALLS; i++) {
        struct p9_attr attr;
        uint32_t fid = a->base + i;
        if (p9_client_getattr(a->client, fid, P9_GETATTR_ALL, &attr) != 0 || attr.qid.path != fid ||
            attr.size != (uint64_t)fid * 7)
            a->mismatches++;
    }
    return NULL;
}

static void test_concurrent_getattr_each_gets_its_answer(void **state)
{
    pthread_t threads[CONC_THREADS];
    struct conc_arg args[CONC_THREADS];

    for (int i = 0; i < CONC_THREADS; i++) {
        args[i] = (struct conc_arg){.client = client_of(state), .base = (uint32_t)i * 100000};
        assert_int_equal(pthread_create(&threads[i], NULL, conc_thread, &args[i]), 0);
    }
    for (int i = 0; i < CONC_THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(args[i].mismatches, 0);
    }
    assert_int_equal(fake_of(state)->requests, 1 + CONC_THREADS * CONC_CALLS);
    assert_false(p9_client_is_dead(client_of(state)));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_SMALL(fn) cmocka_unit_test_setup_teardown(fn, setup_small, teardown)
#define T_BARE(fn) cmocka_unit_test_setup_teardown(fn, setup_fake_only, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_version_offers_131072_and_adopts_answer),
        T_SMALL(test_version_smaller_msize_honoured),
        T_BARE(test_version_unknown_is_eprotonosupport),
        T_BARE(test_version_msize_below_floor_is_eio),
        T_BARE(test_create_refuses_stream_socket_and_non_socket),
        T(test_fid_alloc_lowest_free_and_bounded),
        T(test_lopen_fd_closed_when_caller_wants_none),
        T(test_lopen_extra_fds_closed),
        T(test_fd_on_unexpected_reply_is_closed),
        T(test_read_oversize_reply_is_eio),
        T(test_rlerror_becomes_minus_errno),
        T_SMALL(test_encode_failure_keeps_connection),
        T(test_hang_up_mid_request_is_eio),
        T(test_garbage_reply_is_eio),
        T(test_wrong_tag_is_eio),
        T(test_wrong_type_is_eio),
        T(test_rlerror_zero_is_eio),
        T_SMALL(test_packet_over_msize_is_eio),
        T(test_shutdown_unblocks_waiting_call),
        T(test_tags_differ_between_requests),
        T(test_concurrent_getattr_each_gets_its_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
