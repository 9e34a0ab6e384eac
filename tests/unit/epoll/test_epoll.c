/* Unit tests for sentry/fs/epoll over eventfds and pipes: level- and edge-triggered reports,
 * one-shot watches, EEXIST/ENOENT, loops and nesting depth, watches dropped when the watched
 * file is released, a blocked waiter woken through the callback waiter, timeouts, signals, and
 * files that can only be polled in slices. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "sentry/fs/epoll/epoll.h"
#include "sentry/fs/eventfd/eventfd.h"
#include "sentry/fs/pipe/pipe.h"
#include "../kernel/task_fixture.h"

static struct task *task;

static int setup(void **state)
{
    vfs_set_file_release_hook(epoll_file_released);
    task = fixture_task(1);
    return 0;
}

static int teardown(void **state)
{
    fixture_task_free(task);
    return 0;
}

static struct timespec after_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* epoll_wait with timeout 0. */
static long poll_now(struct file *ep, struct epoll_record *out, int max)
{
    struct timespec now = after_ms(0);
    return epoll_file_wait(ep, task, out, max, &now);
}

static void add(struct file *ep, int fd, struct file *f, uint32_t events, uint64_t data, int want)
{
    struct epoll_record ev = {events, data};
    assert_int_equal(epoll_file_ctl(ep, EPOLL_CTL_ADD, fd, f, &ev), want);
}

static void efd_write(struct file *f, uint64_t v)
{
    assert_int_equal(file_write(f, task, &v, sizeof(v)), 8);
}

static uint64_t efd_read(struct file *f)
{
    uint64_t v = 0;
    assert_int_equal(file_read(f, task, &v, sizeof(v)), 8);
    return v;
}

static void test_level_triggered(void **state)
{
    struct file *ep, *efd;
    struct epoll_record out[4];

    assert_int_equal(epoll_file_create(&ep), 0);
    assert_int_equal(eventfd_create(0, false, O_NONBLOCK, &efd), 0);
    add(ep, 3, efd, EPOLLIN, 42, 0);
    add(ep, 3, efd, EPOLLIN, 42, -EEXIST);
    add(ep, 4, efd, EPOLLIN, 43, 0); /* another fd of the same file is another watch */
    assert_int_equal(poll_now(ep, out, 4), 0);
    efd_write(efd, 1);
    assert_int_equal(poll_now(ep, out, 4), 2);
    assert_int_equal(out[0].events, EPOLLIN);
    /* Still ready: reported again, and only `max` at a time. */
    assert_int_equal(poll_now(ep, out, 1), 1);
    assert_int_equal(poll_now(ep, out, 4), 2);
    efd_read(efd);
    assert_int_equal(poll_now(ep, out, 4), 0);
    struct epoll_record ev = {EPOLLIN, 0};
    assert_int_equal(epoll_file_ctl(ep, EPOLL_CTL_DEL, 4, efd, NULL), 0);
    assert_int_equal(epoll_file_ctl(ep, EPOLL_CTL_DEL, 4, efd, NULL), -ENOENT);
    assert_int_equal(epoll_file_ctl(ep, EPOLL_CTL_MOD, 4, efd, &ev), -ENOENT);
    file_put(efd);
    file_put(ep);
}

static void test_edge_triggered_and_oneshot(void **state)
{
    struct file *ep, *efd;
    struct epoll_record out[2];

    assert_int_equal(epoll_file_create(&ep), 0);
    assert_int_equal(eventfd_create(0, false, O_NONBLOCK, &efd), 0);
    add(ep, 3, efd, EPOLLIN | EPOLLET, 1, 0);
    efd_write(efd, 1);
    assert_int_equal(poll_now(ep, out, 2), 1);
    assert_int_equal(poll_now(ep, out, 2), 0); /* no new edge */
    efd_write(efd, 1);
    assert_int_equal(poll_now(ep, out, 2), 1); /* a write is an edge */
    struct epoll_record ev = {EPOLLIN | EPOLLONESHOT, 2};
    assert_int_equal(epoll_file_ctl(ep, EPOLL_CTL_MOD, 3, efd, &ev), 0);
    assert_int_equal(poll_now(ep, out, 2), 1);
    assert_int_equal(out[0].data, 2);
    efd_write(efd, 1);
    assert_int_equal(poll_now(ep, out, 2), 0); /* disabled */
    assert_int_equal(epoll_file_ctl(ep, EPOLL_CTL_MOD, 3, efd, &ev), 0);
    assert_int_equal(poll_now(ep, out, 2), 1); /* re-armed and ready */
    file_put(efd);
    file_put(ep);
}

static void test_release_drops_watch(void **state)
{
    struct file *ep, *r, *w;
    struct epoll_record out[2];

    assert_int_equal(epoll_file_create(&ep), 0);
    assert_int_equal(pipe_create(O_NONBLOCK, &r, &w), 0);
    add(ep, 3, r, EPOLLIN, 1, 0);
    add(ep, 4, w, EPOLLOUT, 2, 0);
    assert_int_equal(poll_now(ep, out, 2), 1);
    assert_int_equal(out[0].data, 2);
    assert_non_null(w->epoll_watches);
    file_put(w); /* the read end now hangs up, the write end's watch is gone */
    assert_int_equal(poll_now(ep, out, 2), 1);
    assert_int_equal(out[0].data, 1);
    assert_int_equal(out[0].events, EPOLLHUP);
    file_put(r);
    assert_int_equal(poll_now(ep, out, 2), 0);
    file_put(ep);
}

static void test_loops_and_depth(void **state)
{
    struct file *eps[7];
    struct epoll_record out[1];

    for (int i = 0; i < 7; i++)
        assert_int_equal(epoll_file_create(&eps[i]), 0);
    add(eps[0], 10, eps[1], EPOLLIN, 1, 0);
    add(eps[1], 11, eps[2], EPOLLIN, 2, 0);
    add(eps[2], 12, eps[0], EPOLLIN, 3, -ELOOP);
    add(eps[1], 11, eps[0], EPOLLIN, 3, -ELOOP);
    /* A chain of five epolls is the most (0 <- 1 <- 2 <- 3 <- 4), built top down... */
    add(eps[2], 13, eps[3], EPOLLIN, 4, 0);
    add(eps[3], 14, eps[4], EPOLLIN, 5, 0);
    add(eps[4], 15, eps[5], EPOLLIN, 6, -ELOOP);
    /* ...or bottom up: 5 <- 6 can't go below 3, nor 0 above 5. */
    add(eps[5], 16, eps[6], EPOLLIN, 7, 0);
    add(eps[3], 17, eps[5], EPOLLIN, 8, -ELOOP);
    add(eps[5], 18, eps[0], EPOLLIN, 9, -ELOOP);
    add(eps[2], 19, eps[5], EPOLLIN, 10, 0);
    /* Readiness flows up the chain. */
    struct file *efd;
    assert_int_equal(eventfd_create(1, false, 0, &efd), 0);
    add(eps[4], 20, efd, EPOLLIN, 11, 0);
    assert_int_equal(poll_now(eps[0], out, 1), 1);
    assert_int_equal(out[0].data, 1);
    file_put(efd);
    assert_int_equal(poll_now(eps[0], out, 1), 0);
    for (int i = 6; i >= 0; i--)
        file_put(eps[i]);
}

struct writer_arg {
    struct file *efd;
    struct task *t;
    int delay_ms;
};

static void *writer_thread(void *arg)
{
    struct writer_arg *a = arg;
    uint64_t v = 5;
    fixture_sleep_ms(a->delay_ms);
    file_write(a->efd, a->t, &v, sizeof(v));
    return NULL;
}

static void test_blocked_wait_is_woken(void **state)
{
    struct file *ep, *efd;
    struct epoll_record out[1];
    pthread_t th;

    assert_int_equal(epoll_file_create(&ep), 0);
    assert_int_equal(eventfd_create(0, false, 0, &efd), 0);
    add(ep, 3, efd, EPOLLIN, 9, 0);
    struct task *other = fixture_task(2);
    struct writer_arg a = {efd, other, 50};
    pthread_create(&th, NULL, writer_thread, &a);
    assert_int_equal(epoll_file_wait(ep, task, out, 1, NULL), 1);
    assert_int_equal(out[0].data, 9);
    pthread_join(th, NULL);
    /* A timeout. */
    efd_read(efd);
    struct timespec start = after_ms(0), deadline = after_ms(30);
    assert_int_equal(epoll_file_wait(ep, task, out, 1, &deadline), 0);
    struct timespec end = after_ms(0);
    assert_true((end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000 >= 29);
    fixture_task_free(other);
    file_put(efd);
    file_put(ep);
}

struct signal_arg {
    struct task *t;
};

static void *signal_thread(void *arg)
{
    struct signal_arg *a = arg;
    fixture_sleep_ms(30);
    fixture_task_signal(a->t, SIGUSR1);
    return NULL;
}

static void test_signal_interrupts(void **state)
{
    struct file *ep;
    struct epoll_record out[1];
    pthread_t th;
    struct task *t = fixture_task(3);
    struct signal_arg a = {t};

    assert_int_equal(epoll_file_create(&ep), 0);
    pthread_create(&th, NULL, signal_thread, &a);
    assert_int_equal(epoll_file_wait(ep, t, out, 1, NULL), -EINTR);
    pthread_join(th, NULL);
    fixture_task_free(t);
    file_put(ep);
}

/* A file like a host fd: it can't register, so it asks to be polled in slices. */
static atomic_uint slice_events;

static unsigned slice_poll(struct file *f, struct task *t, struct waiter *w, bool *slice)
{
    *slice = true;
    return atomic_load(&slice_events);
}

static void slice_release(struct file *f)
{
    file_release_common(f);
    free(f);
}

static const struct file_ops slice_ops = {.poll = slice_poll, .release = slice_release};

static void *slice_thread(void *arg)
{
    fixture_sleep_ms(40);
    atomic_store(&slice_events, POLLIN);
    return NULL;
}

static void test_slice_files_are_polled_again(void **state)
{
    struct file *ep, *f = calloc(1, sizeof(*f));
    struct epoll_record out[1];
    pthread_t th;

    file_init(f, &slice_ops, O_RDWR);
    atomic_store(&slice_events, 0);
    assert_int_equal(epoll_file_create(&ep), 0);
    add(ep, 3, f, EPOLLIN, 11, 0);
    assert_int_equal(poll_now(ep, out, 1), 0);
    pthread_create(&th, NULL, slice_thread, NULL);
    /* No wake ever comes: the wait must look again by itself. */
    struct timespec deadline = after_ms(5000);
    assert_int_equal(epoll_file_wait(ep, task, out, 1, &deadline), 1);
    assert_int_equal(out[0].data, 11);
    pthread_join(th, NULL);
    file_put(f);
    file_put(ep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_triggered),
        cmocka_unit_test(test_edge_triggered_and_oneshot),
        cmocka_unit_test(test_release_drops_watch),
        cmocka_unit_test(test_loops_and_depth),
        cmocka_unit_test(test_blocked_wait_is_woken),
        cmocka_unit_test(test_signal_interrupts),
        cmocka_unit_test(test_slice_files_are_polled_again),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
