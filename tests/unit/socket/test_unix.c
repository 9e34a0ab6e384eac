/* Unit tests for sentry/socket/unix through the generic socket ops: names in a tmpfs, stream and
 * datagram data, files in flight (references dropped when sockets die), blocking between
 * threads, shutdown and readiness, timeouts, and the listener's pending connections. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <linux/sockios.h>

#include "sentry/fs/pipe/pipe.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/kernel/kernel.h"
#include "sentry/socket/socket.h"
#include "sentry/socket/unix/unix.h"
#include "sentry/vfs/vfs.h"

struct fx {
    struct kernel k;
    struct thread_group *tg;
    struct task *t, *t2; /* two threads of one process, for blocking tests */
    struct mount_ns *ns;
    struct fs_context *fs;
    struct vfs_cred cred;
    struct walk_ctx ctx;
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    pthread_mutex_init(&x->k.lock, NULL);
    x->tg = thread_group_alloc(&x->k, 7);
    x->t = task_alloc(&x->k, x->tg, 7);
    x->t2 = task_alloc(&x->k, x->tg, 8);
    x->t->group_next = x->t2;
    x->tg->tasks = x->t;
    x->tg->leader = x->t;
    x->tg->live_tasks = 2;
    x->t->creds = x->t2->creds = (struct creds){.ruid = 1000, .euid = 1001, .suid = 1000, .fsuid = 1001,
                                                 .rgid = 2000, .egid = 2001, .sgid = 2000, .fsgid = 2001};
    struct super_block *sb;
    struct dentry *root;
    assert_int_equal(tmpfs_create(NULL, &sb, &root), 0);
    assert_int_equal(mount_ns_create(sb, root, "tmpfs", 0, &x->ns), 0);
    struct vfs_path rp = {x->ns->root, x->ns->root->root};
    x->fs = fs_context_create(x->ns, &rp);
    fs_context_get(x->fs);
    x->t->fs = x->t2->fs = x->fs;
    x->cred = (struct vfs_cred){.fsuid = 1001, .fsgid = 2001};
    x->ctx = (struct walk_ctx){x->fs, &x->cred, x->fs->root, 0};
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    task_free(x->t); /* frees both tasks, their fs references and the group */
    mount_ns_put(x->ns);
    pthread_mutex_destroy(&x->k.lock);
    free(x);
    return 0;
}

static size_t name(struct sockaddr_storage *ss, const char *path)
{
    struct sockaddr_un *a = (struct sockaddr_un *)ss;
    memset(ss, 0, sizeof(*ss));
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path, path, strlen(path));
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static ssize_t send_str(struct socket *s, struct task *t, const char *str, int flags)
{
    struct socket_send m = {.data = str, .len = strlen(str), .flags = flags};
    return s->ops->sendmsg(s, t, &m);
}

static ssize_t recv_buf(struct socket *s, struct task *t, char *buf, size_t len, int flags)
{
    struct socket_recv m = {.data = buf, .len = len, .flags = flags};
    ssize_t n = s->ops->recvmsg(s, t, &m);
    for (size_t i = 0; i < m.nfiles; i++)
        file_put(m.files[i]);
    free(m.files);
    return n;
}

static void pair(struct fx *x, int type, struct socket **a, struct socket **b)
{
    assert_int_equal(socket_create_pair(x->t, AF_UNIX, type, 0, a, b), 0);
}

static void test_stream_pair(void **state)
{
    struct fx *x = *state;
    struct socket *a, *b;
    char buf[32];

    pair(x, SOCK_STREAM, &a, &b);
    assert_int_equal(send_str(a, x->t, "hello ", 0), 6);
    assert_int_equal(send_str(a, x->t, "world", 0), 5);
    int inq;
    assert_int_equal(b->ops->ioctl(b, SIOCINQ, &inq), 0);
    assert_int_equal(inq, 11);
    /* A stream read joins messages; a peek leaves them. */
    assert_int_equal(recv_buf(b, x->t, buf, 3, MSG_PEEK), 3);
    assert_memory_equal(buf, "hel", 3);
    assert_int_equal(recv_buf(b, x->t, buf, 8, 0), 8);
    assert_memory_equal(buf, "hello wo", 8);
    assert_int_equal(recv_buf(b, x->t, buf, sizeof(buf), 0), 3);
    assert_memory_equal(buf, "rld", 3);
    assert_int_equal(recv_buf(b, x->t, buf, sizeof(buf), MSG_DONTWAIT), -EAGAIN);
    int outq;
    assert_int_equal(a->ops->ioctl(a, SIOCOUTQ, &outq), 0);
    assert_int_equal(outq, 0); /* all read: the sender's budget is back */
    struct stat st;
    assert_int_equal(file_stat(&a->file, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_uid, 1001);
    file_put(&a->file);
    /* The peer is gone: end of file, writes fail with EPIPE. */
    assert_int_equal(recv_buf(b, x->t, buf, sizeof(buf), 0), 0);
    assert_int_equal(send_str(b, x->t, "x", MSG_NOSIGNAL), -EPIPE);
    file_put(&b->file);
}

static void test_bind_connect_accept(void **state)
{
    struct fx *x = *state;
    struct sockaddr_storage addr, got;
    size_t len = name(&addr, "/srv.sock"), glen;
    struct socket *l, *c, *s;

    assert_int_equal(socket_create(x->t, AF_UNIX, SOCK_STREAM, 0, &l), 0);
    assert_int_equal(l->ops->bind(l, x->t, &addr, len), 0);
    /* The name is a socket file made through the VFS, with the umask applied. */
    struct vfs_path p;
    assert_int_equal(vfs_walk(&x->ctx, "/srv.sock", 0, &p), 0);
    assert_true(S_ISSOCK(p.dentry->inode->mode));
    assert_int_equal(p.dentry->inode->mode & 0777, 0777 & ~x->fs->umask);
    vfs_path_put(&p);
    assert_int_equal(l->ops->listen(l, x->t, 2), 0);

    assert_int_equal(socket_create(x->t, AF_UNIX, SOCK_STREAM, 0, &c), 0);
    assert_int_equal(c->ops->connect(c, x->t, &addr, len), 0);
    assert_int_equal(l->ops->accept(l, x->t, 0, &s), 0);
    assert_int_equal(s->ops->getname(s, false, &got, &glen), 0);
    assert_int_equal(glen, len);
    assert_string_equal(((struct sockaddr_un *)&got)->sun_path, "/srv.sock");
    assert_int_equal(s->ops->getname(s, true, &got, &glen), 0);
    assert_int_equal(glen, offsetof(struct sockaddr_un, sun_path)); /* unbound client */
    assert_int_equal(c->ops->getname(c, true, &got, &glen), 0);
    assert_int_equal(glen, len);

    /* SO_PEERCRED: the listener's at listen time, the client's at connect time. */
    struct ucred cr;
    size_t clen;
    assert_int_equal(c->ops->getsockopt(c, x->t, SOL_SOCKET, SO_PEERCRED, &cr, &clen), 0);
    assert_int_equal(clen, sizeof(cr));
    assert_int_equal(cr.pid, 7);
    assert_int_equal(cr.uid, 1001);
    assert_int_equal(cr.gid, 2001);

    char buf[8];
    assert_int_equal(send_str(c, x->t, "ping", 0), 4);
    assert_int_equal(recv_buf(s, x->t, buf, sizeof(buf), 0), 4);

    struct socket *other;
    assert_int_equal(socket_create(x->t, AF_UNIX, SOCK_STREAM, 0, &other), 0);
    assert_int_equal(other->ops->bind(other, x->t, &addr, len), -EADDRINUSE);
    file_put(&other->file);
    file_put(&l->file);
    /* The file stays, but nobody listens on it any more. */
    assert_int_equal(socket_create(x->t, AF_UNIX, SOCK_STREAM, 0, &other), 0);
    assert_int_equal(other->ops->connect(other, x->t, &addr, len), -ECONNREFUSED);
    assert_int_equal(vfs_unlink(&x->ctx, "/srv.sock"), 0);
    assert_int_equal(other->ops->connect(other, x->t, &addr, len), -ENOENT);
    file_put(&other->file);
    file_put(&c->file);
    file_put(&s->file);
}

static void test_listener_close_drops_pending(void **state)
{
    struct fx *x = *state;
    struct sockaddr_storage addr;
    size_t len = name(&addr, "/l.sock");
    struct socket *l, *c[3];
    char buf[4];

    assert_int_equal(socket_create(x->t, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, &l), 0);
    assert_int_equal(l->ops->bind(l, x->t, &addr, len), 0);
    assert_int_equal(l->ops->listen(l, x->t, 1), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(socket_create(x->t, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, &c[i]), 0);
        /* Backlog 1: two fit (the queue is full past the backlog), the third waits. */
        assert_int_equal(c[i]->ops->connect(c[i], x->t, &addr, len), i < 2 ? 0 : -EAGAIN);
    }
    assert_int_equal(l->ops->poll(l, x->t, NULL) & POLLIN, POLLIN);
    assert_int_equal(send_str(c[0], x->t, "lost", 0), 4);
    file_put(&l->file);
    assert_int_equal(recv_buf(c[0], x->t, buf, sizeof(buf), 0), -ECONNRESET);
    assert_int_equal(recv_buf(c[0], x->t, buf, sizeof(buf), 0), 0);
    unsigned ev = c[1]->ops->poll(c[1], x->t, NULL);
    assert_true(ev & POLLHUP);
    assert_true(ev & POLLERR);
    for (int i = 0; i < 3; i++)
        file_put(&c[i]->file);
}

static void test_dgram(void **state)
{
    struct fx *x = *state;
    struct sockaddr_storage addr;
    size_t len = name(&addr, "/d.sock");
    struct socket *srv, *cli;
    char buf[8];

    assert_int_equal(socket_create(x->t, AF_UNIX, SOCK_DGRAM, 0, &srv), 0);
    assert_int_equal(socket_create(x->t, AF_UNIX, SOCK_DGRAM, 0, &cli), 0);
    assert_int_equal(srv->ops->bind(srv, x->t, &addr, len), 0);
    struct socket_send m = {.data = "abcdef", .len = 6, .addr = &addr, .addrlen = len};
    assert_int_equal(cli->ops->sendmsg(cli, x->t, &m), 6);
    m.len = 2;
    assert_int_equal(cli->ops->sendmsg(cli, x->t, &m), 2);
    struct socket_recv r = {.data = buf, .len = 4};
    assert_int_equal(srv->ops->recvmsg(srv, x->t, &r), 4);
    assert_true(r.msg_flags & MSG_TRUNC);
    assert_int_equal(r.addrlen, 0); /* unbound sender */
    assert_int_equal(recv_buf(srv, x->t, buf, sizeof(buf), MSG_TRUNC), 2);
    /* The queue limit: a one-way sender stops after net.unix.max_dgram_qlen + 1. */
    int sent = 0;
    m.flags = MSG_DONTWAIT;
    while (cli->ops->sendmsg(cli, x->t, &m) == 2)
        sent++;
    assert_int_equal(sent, 11);
    assert_int_equal(cli->ops->sendmsg(cli, x->t, &m), -EAGAIN);
    file_put(&srv->file);
    m.flags = 0;
    assert_int_equal(cli->ops->sendmsg(cli, x->t, &m), -ECONNREFUSED);
    file_put(&cli->file);
}

static void test_rights_released_with_sockets(void **state)
{
    struct fx *x = *state;
    struct socket *a, *b;
    struct file *r, *w;

    pair(x, SOCK_STREAM, &a, &b);
    assert_int_equal(pipe_create(0, &r, &w), 0);
    struct socket_send m = {.data = "f", .len = 1, .files = &r, .nfiles = 1};
    assert_int_equal(a->ops->sendmsg(a, x->t, &m), 1);
    file_put(r); /* only the message holds the read end now */
    assert_int_equal(file_write(w, x->t, "x", 1), 1);
    /* Received: the files come out as references. */
    char buf[2];
    struct socket_recv rcv = {.data = buf, .len = sizeof(buf)};
    assert_int_equal(a->ops->sendmsg(a, x->t, &m), 1); /* a second message holds it too */
    assert_int_equal(b->ops->recvmsg(b, x->t, &rcv), 1);
    assert_int_equal(rcv.nfiles, 1);
    assert_ptr_equal(rcv.files[0], r);
    file_put(rcv.files[0]);
    free(rcv.files);
    /* The second message still holds it; closing both sockets drops it, and the pipe's write
     * end sees no reader. */
    file_put(&a->file);
    file_put(&b->file);
    assert_int_equal(file_write(w, x->t, "x", 1), -EPIPE);
    file_put(w);
}

struct blocked {
    struct fx *x;
    struct socket *s;
    ssize_t ret;
    char buf[8];
};

static void *reader(void *arg)
{
    struct blocked *b = arg;
    task_set_current(b->x->t2);
    b->ret = recv_buf(b->s, b->x->t2, b->buf, sizeof(b->buf), MSG_WAITALL);
    return NULL;
}

static void test_blocking_reader(void **state)
{
    struct fx *x = *state;
    struct socket *a, *b;
    pthread_t th;

    pair(x, SOCK_STREAM, &a, &b);
    struct blocked bl = {x, b, 0, {0}};
    assert_int_equal(pthread_create(&th, NULL, reader, &bl), 0);
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 4; i++) {
        nanosleep(&ts, NULL);
        assert_int_equal(send_str(a, x->t, "ab", 0), 2);
    }
    pthread_join(th, NULL);
    assert_int_equal(bl.ret, 8);
    assert_memory_equal(bl.buf, "abababab", 8);

    /* A reader blocked with nothing coming is woken by shutdown: end of file. */
    bl.ret = -1;
    assert_int_equal(pthread_create(&th, NULL, reader, &bl), 0);
    nanosleep(&ts, NULL);
    assert_int_equal(a->ops->shutdown(a, SHUT_WR), 0);
    pthread_join(th, NULL);
    assert_int_equal(bl.ret, 0);
    unsigned ev = b->ops->poll(b, x->t, NULL);
    assert_true(ev & POLLRDHUP);
    assert_false(ev & POLLHUP);
    file_put(&a->file);
    file_put(&b->file);
}

static void *writer(void *arg)
{
    struct blocked *b = arg;
    static char big[300000];
    task_set_current(b->x->t2);
    struct socket_send m = {.data = big, .len = sizeof(big)};
    b->ret = b->s->ops->sendmsg(b->s, b->x->t2, &m);
    return NULL;
}

static void test_blocking_writer(void **state)
{
    struct fx *x = *state;
    struct socket *a, *b;
    pthread_t th;
    static char buf[65536];

    pair(x, SOCK_STREAM, &a, &b);
    struct blocked bl = {x, a, 0, {0}};
    assert_int_equal(pthread_create(&th, NULL, writer, &bl), 0);
    size_t total = 0;
    while (total < 300000) {
        ssize_t n = recv_buf(b, x->t, buf, sizeof(buf), 0);
        assert_true(n > 0);
        total += (size_t)n;
    }
    pthread_join(th, NULL);
    assert_int_equal(bl.ret, 300000);
    file_put(&a->file);
    file_put(&b->file);
}

static void test_timeout(void **state)
{
    struct fx *x = *state;
    struct socket *a, *b;
    char buf[4];
    struct timeval tv = {0, 50000};

    pair(x, SOCK_SEQPACKET, &a, &b);
    assert_int_equal(b->ops->setsockopt(b, x->t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(recv_buf(b, x->t, buf, sizeof(buf), 0), -EAGAIN);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 45);
    tv.tv_usec = 1000000;
    assert_int_equal(b->ops->setsockopt(b, x->t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), -EDOM);
    assert_int_equal(b->ops->setsockopt(b, x->t, SOL_SOCKET, SO_RCVTIMEO, &tv, 4), -EINVAL);
    /* Seqpacket keeps records. */
    assert_int_equal(send_str(a, x->t, "rec1", 0), 4);
    assert_int_equal(send_str(a, x->t, "r2", 0), 2);
    assert_int_equal(recv_buf(b, x->t, buf, 2, 0), 2);
    assert_int_equal(recv_buf(b, x->t, buf, sizeof(buf), 0), 2);
    assert_memory_equal(buf, "r2", 2);
    file_put(&a->file);
    file_put(&b->file);
}

static void test_abstract_and_autobind(void **state)
{
    struct fx *x = *state;
    struct sockaddr_storage addr, got;
    size_t glen;
    struct socket *a, *b;

    memset(&addr, 0, sizeof(addr));
    addr.ss_family = AF_UNIX;
    memcpy(((struct sockaddr_un *)&addr)->sun_path + 1, "abs", 3);
    size_t len = offsetof(struct sockaddr_un, sun_path) + 4;
    assert_int_equal(socket_create(x->t, AF_UNIX, SOCK_DGRAM, 0, &a), 0);
    assert_int_equal(socket_create(x->t, AF_UNIX, SOCK_DGRAM, 0, &b), 0);
    assert_int_equal(a->ops->bind(a, x->t, &addr, len), 0);
    assert_int_equal(b->ops->bind(b, x->t, &addr, len), -EADDRINUSE);
    /* SO_PASSCRED makes a send autobind the sender, and carries credentials. */
    int on = 1;
    assert_int_equal(b->ops->setsockopt(b, x->t, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
    struct socket_send m = {.data = "x", .len = 1, .addr = &addr, .addrlen = len};
    assert_int_equal(b->ops->sendmsg(b, x->t, &m), 1);
    assert_int_equal(b->ops->getname(b, false, &got, &glen), 0);
    assert_int_equal(glen, offsetof(struct sockaddr_un, sun_path) + 6);
    char buf[2];
    struct socket_recv r = {.data = buf, .len = sizeof(buf)};
    assert_int_equal(a->ops->recvmsg(a, x->t, &r), 1);
    assert_int_equal(r.addrlen, glen);
    assert_false(r.has_creds); /* the receiver did not ask */
    assert_int_equal(a->ops->setsockopt(a, x->t, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
    assert_int_equal(b->ops->sendmsg(b, x->t, &m), 1);
    memset(&r, 0, sizeof(r));
    r.data = buf;
    r.len = sizeof(buf);
    assert_int_equal(a->ops->recvmsg(a, x->t, &r), 1);
    assert_true(r.has_creds);
    assert_int_equal(r.creds.pid, 7);
    assert_int_equal(r.creds.uid, 1000); /* the real ids */
    assert_int_equal(r.creds.gid, 2000);
    file_put(&a->file);
    file_put(&b->file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_connect_accept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listener_close_drops_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dgram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rights_released_with_sockets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abstract_and_autobind, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
