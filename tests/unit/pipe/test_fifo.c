/* Unit tests for FIFOs (sentry/fs/pipe/fifo.c): the registry gives every open of one inode the
 * same pipe while any end is open and a fresh one after, O_WRONLY|O_NONBLOCK without a reader
 * is ENXIO, and a blocking O_RDONLY open waits for a writer's open (or a signal). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>

#include "sentry/fs/pipe/pipe.h"
#include "../kernel/task_fixture.h"

static const struct inode_ops fifo_inode_ops;
static struct super_block *sb;
static struct task *task;

static int setup(void **state)
{
    sb = super_block_create("fifotest", NULL, NULL);
    task = fixture_task(1);
    task_set_current(task);
    return sb ? 0 : -1;
}

static int teardown(void **state)
{
    fixture_task_free(task);
    return 0;
}

static struct inode *fifo_inode(void)
{
    struct inode *inode = inode_alloc(sb, &fifo_inode_ops, S_IFIFO | 0600, 0);
    assert_non_null(inode);
    return inode;
}

static void test_opens_share_one_pipe(void **state)
{
    struct inode *a = fifo_inode(), *b = fifo_inode();
    struct file *r, *w, *other, *rw;
    char buf[8];

    assert_int_equal(pipe_fifo_open(a, O_WRONLY | O_NONBLOCK, &w), -ENXIO);
    assert_int_equal(pipe_fifo_open(a, O_RDONLY | O_NONBLOCK, &r), 0);
    assert_int_equal(pipe_fifo_open(a, O_WRONLY | O_NONBLOCK, &w), 0);
    assert_ptr_equal(r->inode, a);
    assert_int_equal(file_write(w, task, "abc", 3), 3);
    /* Another inode is another pipe. */
    assert_int_equal(pipe_fifo_open(b, O_RDWR | O_NONBLOCK, &other), 0);
    assert_int_equal(file_read(other, task, buf, sizeof(buf)), -EAGAIN);
    assert_int_equal(file_read(r, task, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "abc", 3);
    file_put(w);
    assert_int_equal(file_read(r, task, buf, sizeof(buf)), 0); /* no writers: end of file */
    file_put(r);
    /* Every end closed: data left behind is gone with the pipe. */
    assert_int_equal(pipe_fifo_open(a, O_RDWR, &rw), 0);
    assert_int_equal(file_write(rw, task, "x", 1), 1);
    file_put(rw);
    assert_int_equal(pipe_fifo_open(a, O_RDWR | O_NONBLOCK, &rw), 0);
    assert_int_equal(file_read(rw, task, buf, sizeof(buf)), -EAGAIN);
    file_put(rw);
    file_put(other);
    inode_put(a);
    inode_put(b);
}

struct opener {
    struct inode *inode;
    int flags;
    int delay_ms;
    int err;
    struct file *f;
    struct task *t;
};

static void *open_thread(void *arg)
{
    struct opener *o = arg;
    task_set_current(o->t);
    fixture_sleep_ms(o->delay_ms);
    o->err = pipe_fifo_open(o->inode, o->flags, &o->f);
    return NULL;
}

static long ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static void test_reader_waits_for_writer(void **state)
{
    struct inode *a = fifo_inode();
    struct opener o = {a, O_WRONLY, 50, -1, NULL, fixture_task(2)};
    struct file *r;
    struct timespec start;
    pthread_t th;

    clock_gettime(CLOCK_MONOTONIC, &start);
    pthread_create(&th, NULL, open_thread, &o);
    assert_int_equal(pipe_fifo_open(a, O_RDONLY, &r), 0);
    assert_true(ms_since(&start) >= 50);
    pthread_join(th, NULL);
    assert_int_equal(o.err, 0);
    file_put(o.f);
    file_put(r);
    fixture_task_free(o.t);
    inode_put(a);
}

struct signaller {
    struct task *t;
};

static void *signal_thread(void *arg)
{
    struct signaller *s = arg;
    fixture_sleep_ms(30);
    fixture_task_signal(s->t, SIGUSR1);
    return NULL;
}

static void test_signal_interrupts_open(void **state)
{
    struct inode *a = fifo_inode();
    struct task *t = fixture_task(3);
    struct signaller s = {t};
    struct opener o = {a, O_WRONLY, 0, -1, NULL, t};
    pthread_t sig_th, open_th;

    pthread_create(&open_th, NULL, open_thread, &o);
    pthread_create(&sig_th, NULL, signal_thread, &s);
    pthread_join(open_th, NULL);
    pthread_join(sig_th, NULL);
    assert_int_equal(o.err, -ERESTARTSYS);
    /* The interrupted open left no count behind: a nonblocking writer still finds no reader. */
    struct file *w;
    assert_int_equal(pipe_fifo_open(a, O_WRONLY | O_NONBLOCK, &w), -ENXIO);
    fixture_task_free(t);
    inode_put(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opens_share_one_pipe),
        cmocka_unit_test(test_reader_waits_for_writer),
        cmocka_unit_test(test_signal_interrupts_open),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
