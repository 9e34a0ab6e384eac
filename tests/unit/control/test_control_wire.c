/* The control socket's wire and client: round trips, fds, errors, oversized and malformed
 * messages, and a peer that is gone. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/control/control.h"

static void seqpacket_pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static const char *get_str(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static int64_t get_int(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -12345;
}

static void test_round_trip(void **state)
{
    int sv[2], fds[CONTROL_MAX_FDS];
    size_t nfds = 99;
    struct json_object *msg = json_object_new_object(), *got;

    seqpacket_pair(sv);
    json_object_object_add(msg, "method", json_object_new_string("Signal"));
    json_object_object_add(msg, "signo", json_object_new_int(15));
    json_object_object_add(msg, "big", json_object_new_int64(1LL << 40));
    assert_int_equal(control_msg_send(sv[0], msg, NULL, 0), 0);
    json_object_put(msg);
    assert_int_equal(control_msg_recv(sv[1], &got, fds, &nfds), 0);
    assert_int_equal(nfds, 0);
    assert_string_equal(get_str(got, "method"), "Signal");
    assert_int_equal(get_int(got, "signo"), 15);
    assert_int_equal(get_int(got, "big"), 1LL << 40);
    json_object_put(got);
    close(sv[0]);
    close(sv[1]);
}

static void test_fds_travel(void **state)
{
    int sv[2], p[2], fds[CONTROL_MAX_FDS];
    size_t nfds;
    struct json_object *msg = json_object_new_object(), *got;
    char buf[8] = "";

    seqpacket_pair(sv);
    assert_int_equal(pipe(p), 0);
    int send_fds[2] = {p[1], p[1]};
    assert_int_equal(control_msg_send(sv[0], msg, send_fds, 2), 0);
    close(p[1]); /* the sender's copy: only the received ones keep the pipe open */
    assert_int_equal(control_msg_recv(sv[1], &got, fds, &nfds), 0);
    assert_int_equal(nfds, 2);
    assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
    assert_int_equal(write(fds[0], "ab", 2), 2);
    assert_int_equal(write(fds[1], "c", 1), 1);
    close(fds[0]);
    close(fds[1]);
    assert_int_equal(read(p[0], buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(read(p[0], buf, sizeof(buf)), 0); /* all writers gone */
    json_object_put(msg);
    json_object_put(got);
    close(p[0]);
    close(sv[0]);
    close(sv[1]);
}

static void test_too_many_fds_refused(void **state)
{
    int sv[2], fds[CONTROL_MAX_FDS + 1];
    struct json_object *msg = json_object_new_object();

    seqpacket_pair(sv);
    for (int i = 0; i <= CONTROL_MAX_FDS; i++)
        fds[i] = sv[0];
    assert_int_equal(control_msg_send(sv[0], msg, fds, CONTROL_MAX_FDS + 1), -EMSGSIZE);
    json_object_put(msg);
    close(sv[0]);
    close(sv[1]);
}

static void test_error_reply(void **state)
{
    int sv[2], fds[CONTROL_MAX_FDS];
    size_t nfds;
    struct json_object *got;

    seqpacket_pair(sv);
    assert_int_equal(control_reply_error(sv[0], ESRCH, "no such process"), 0);
    assert_int_equal(control_msg_recv(sv[1], &got, fds, &nfds), 0);
    assert_int_equal(get_int(got, "errno"), ESRCH);
    assert_string_equal(get_str(got, "error"), "no such process");
    json_object_put(got);
    close(sv[0]);
    close(sv[1]);
}

static void test_oversized_and_malformed(void **state)
{
    int sv[2], fds[CONTROL_MAX_FDS], p[2];
    size_t nfds;
    struct json_object *got = (void *)1;

    seqpacket_pair(sv);
    /* Too big to send through the API... */
    struct json_object *msg = json_object_new_object();
    char *big = malloc(CONTROL_MAX_MSG + 10);
    memset(big, 'x', CONTROL_MAX_MSG + 9);
    big[CONTROL_MAX_MSG + 9] = '\0';
    json_object_object_add(msg, "blob", json_object_new_string(big));
    assert_int_equal(control_msg_send(sv[0], msg, NULL, 0), -EMSGSIZE);
    json_object_put(msg);
    /* ...and refused when a peer sends it raw, with its fds closed. */
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){1 << 20}, sizeof(int)), 0);
    assert_int_equal(send(sv[0], big, CONTROL_MAX_MSG + 9, 0), CONTROL_MAX_MSG + 9);
    assert_int_equal(control_msg_recv(sv[1], &got, fds, &nfds), -EMSGSIZE);
    assert_null(got);
    assert_int_equal(nfds, 0);
    free(big);
    /* Not JSON, trailing garbage, not an object: -EPROTO, and the fd that came along is shut. */
    assert_int_equal(pipe(p), 0);
    struct iovec iov = {.iov_base = "{\"a\":", .iov_len = 5};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } cbuf;
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = cbuf.buf,
                        .msg_controllen = sizeof(cbuf.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
    assert_int_equal(sendmsg(sv[0], &mh, 0), 5);
    close(p[1]);
    assert_int_equal(control_msg_recv(sv[1], &got, fds, &nfds), -EPROTO);
    char c;
    assert_int_equal(read(p[0], &c, 1), 0); /* the received write end was closed */
    close(p[0]);
    assert_int_equal(send(sv[0], "{} x", 4, 0), 4);
    assert_int_equal(control_msg_recv(sv[1], &got, fds, &nfds), -EPROTO);
    assert_int_equal(send(sv[0], "[1,2]", 5, 0), 5);
    assert_int_equal(control_msg_recv(sv[1], &got, fds, &nfds), -EPROTO);
    close(sv[0]);
    close(sv[1]);
}

static void test_peer_gone(void **state)
{
    int sv[2], fds[CONTROL_MAX_FDS];
    size_t nfds;
    struct json_object *msg = json_object_new_object(), *got;

    /* SIGPIPE's default action would end this test: a send to a closed peer must not raise it. */
    signal(SIGPIPE, SIG_DFL);
    seqpacket_pair(sv);
    close(sv[1]);
    assert_int_equal(control_msg_send(sv[0], msg, NULL, 0), -EPIPE);
    assert_int_equal(control_msg_recv(sv[0], &got, fds, &nfds), -ECONNRESET);
    json_object_put(msg);
    close(sv[0]);
}

/* A one-connection fake sandbox: answers each request by `answer`. */
struct fake_server {
    int listen_fd;
    char path[108];
    pthread_t thread;
    char last_method[32];
    int got_fds;
    char fd_text[16]; /* what was read from the first fd received */
};

static void answer(struct fake_server *f, int sock, struct json_object *req, int *fds, size_t n)
{
    const char *m = get_str(req, "method");
    struct json_object *rep = json_object_new_object();

    snprintf(f->last_method, sizeof(f->last_method), "%s", m ? m : "");
    f->got_fds = (int)n;
    if (n) {
        ssize_t r = read(fds[0], f->fd_text, sizeof(f->fd_text) - 1);
        if (r > 0)
            f->fd_text[r] = '\0';
    }
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    if (strcmp(m, "Signal") == 0 && get_int(req, "pid") == 42) {
        json_object_put(rep);
        control_reply_error(sock, ESRCH, "no such process: 42");
        return;
    }
    json_object_object_add(rep, "ok", json_object_new_boolean(1));
    if (strcmp(m, "Wait") == 0 || strcmp(m, "WaitPID") == 0)
        json_object_object_add(rep, "status", json_object_new_int(3 << 8));
    if (strcmp(m, "Execute") == 0)
        json_object_object_add(rep, "pid", json_object_new_int(get_int(req, "uid") + 1000));
    if (strcmp(m, "Processes") == 0) {
        struct json_object *list = json_object_new_array(), *p = json_object_new_object();
        json_object_object_add(p, "pid", json_object_new_int(1));
        json_object_object_add(p, "host_pid", json_object_new_int(77));
        json_object_object_add(p, "cmdline", json_object_new_string("sleep 100"));
        json_object_object_add(p, "comm", json_object_new_string("sleep"));
        json_object_array_add(list, p);
        json_object_object_add(rep, "processes", list);
    }
    if (strcmp(m, "Event") == 0)
        json_object_object_add(rep, "cpu_total_ns", json_object_new_int64(5000000000LL));
    control_msg_send(sock, rep, NULL, 0);
    json_object_put(rep);
}

static void *fake_main(void *arg)
{
    struct fake_server *f = arg;
    int sock = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    struct json_object *req;
    int fds[CONTROL_MAX_FDS];
    size_t n;

    while (sock >= 0 && control_msg_recv(sock, &req, fds, &n) == 0) {
        answer(f, sock, req, fds, n);
        json_object_put(req);
    }
    if (sock >= 0)
        close(sock);
    return NULL;
}

static void fake_start(struct fake_server *f)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};

    memset(f, 0, sizeof(*f));
    snprintf(f->path, sizeof(f->path), "/tmp/test_control_%d.sock", getpid());
    strcpy(addr.sun_path, f->path);
    unlink(f->path);
    f->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    assert_true(f->listen_fd >= 0);
    assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(f->listen_fd, 1), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake_server *f)
{
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    unlink(f->path);
}

static void test_client_calls(void **state)
{
    struct fake_server f;
    struct control_conn *c;
    int status = 0, p[2];

    fake_start(&f);
    assert_int_equal(control_connect(f.path, &c), 0);
    assert_int_equal(control_start(c, "ctr"), 0);
    assert_string_equal(f.last_method, "Start");
    assert_int_equal(control_wait(c, "ctr", &status), 0);
    assert_int_equal(status, 3 << 8);
    /* The sandbox's error comes back as its errno and message. */
    assert_int_equal(control_signal(c, "ctr", SIGTERM, CONTROL_SIGNAL_PROCESS, 42), -ESRCH);
    assert_string_equal(control_last_error(c), "no such process: 42");
    assert_int_equal(control_signal(c, "ctr", SIGTERM, CONTROL_SIGNAL_INIT, 0), 0);

    struct control_process *ps;
    size_t n;
    assert_int_equal(control_processes(c, "ctr", &ps, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ps[0].host_pid, 77);
    assert_string_equal(ps[0].cmdline, "sleep 100");
    free(ps);

    /* Execute's stdio fds reach the server. */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "stdin!", 6), 6);
    char *argv[] = {"true", NULL};
    struct control_exec e = {.argv = argv, .uid = 5, .stdio = {p[0], -1, -1}, .console_fd = -1};
    pid_t pid = 0;
    assert_int_equal(control_execute(c, "ctr", &e, &pid), 0);
    assert_int_equal(pid, 1005);
    assert_int_equal(f.got_fds, 1);
    assert_string_equal(f.fd_text, "stdin!");
    close(p[0]);
    close(p[1]);

    struct control_stats st;
    assert_int_equal(control_event(c, "ctr", &st), 0);
    assert_int_equal(st.cpu_total_ns, 5000000000ULL);
    control_close(c);
    fake_stop(&f);

    /* With the sandbox gone: nobody at the path. */
    assert_int_equal(control_connect(f.path, &c), -ENOENT);
}

static void test_client_sandbox_vanishes(void **state)
{
    struct control_conn *c;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int status;

    signal(SIGPIPE, SIG_DFL);
    snprintf(addr.sun_path, sizeof(addr.sun_path), "/tmp/test_control_%d.gone", getpid());
    int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    unlink(addr.sun_path);
    assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(control_connect(addr.sun_path, &c), 0);
    /* The sandbox accepts, then dies mid-call: the call fails cleanly, without SIGPIPE. */
    close(accept(lfd, NULL, NULL));
    int err = control_wait(c, "ctr", &status);
    assert_true(err == -EPIPE || err == -ECONNRESET);
    assert_non_null(strstr(control_last_error(c), "control socket"));
    control_close(c);
    close(lfd);
    /* Bound, but no one listens any more: refused. */
    assert_int_equal(control_connect(addr.sun_path, &c), -ECONNREFUSED);
    unlink(addr.sun_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_fds_travel),
        cmocka_unit_test(test_too_many_fds_refused),
        cmocka_unit_test(test_error_reply),
        cmocka_unit_test(test_oversized_and_malformed),
        cmocka_unit_test(test_peer_gone),
        cmocka_unit_test(test_client_calls),
        cmocka_unit_test(test_client_sandbox_vanishes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
