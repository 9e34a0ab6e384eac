/* Unit tests for sentry/fs/devpts/console.c: the sandbox's console pty as the host's bridge
 * drives it without a task (input through the line discipline, output, watch, resize, hang-up). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>

#include "sentry/fs/devpts/devpts.h"
#include "sentry/fs/devpts/devpts_internal.h"
#include "sentry/kernel/waitqueue.h"
#include "sentry/vfs/vfs.h"

struct fx {
    struct file *master, *slave;
};

/* The devpts root, as its mount would hold it. */
static struct dentry *devpts_root;

static int setup(void **state)
{
    static struct fx fx;
    if (!devpts_root) {
        struct super_block *sb;
        assert_int_equal(devpts_create(&sb, &devpts_root), 0);
    }
    /* No session: input processing raises no signals (there is no kernel to send them). */
    struct devpts_console_config cfg = {.owner = 1000, .winsize = {.ws_row = 30, .ws_col = 100}};
    assert_int_equal(devpts_console_create(NULL, &cfg, &fx.master, &fx.slave), 0);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    file_put(fx->slave);
    file_put(fx->master);
    return 0;
}

/* Everything the slave side wrote so far, as the bridge takes it. */
static size_t take_output(struct fx *fx, char *buf, size_t size)
{
    size_t n = 0, got;
    while (n < size && (got = devpts_console_output(fx->master, buf + n, size - n)) > 0)
        n += got;
    return n;
}

static void test_console_is_a_pts_owned_by_the_guest(void **state)
{
    struct fx *fx = *state;
    char name[32];
    int n = fx->slave->ops->name(fx->slave, name, sizeof(name));
    assert_true(n > 0);
    assert_memory_equal(name, "/dev/pts/", 9);
    assert_int_equal(major(fx->slave->inode->rdev), 136);
    assert_int_equal(fx->slave->inode->uid, 1000);
    assert_true(S_ISCHR(fx->slave->inode->mode));
    struct pty *p = pty_file_pty(fx->slave);
    assert_int_equal(p->winsize.ws_row, 30);
    assert_int_equal(p->winsize.ws_col, 100);
    assert_false(p->locked);
}

static void test_typed_line_is_echoed_and_read(void **state)
{
    struct fx *fx = *state;
    char out[64], in[64];

    /* Enter sends CR: ICRNL makes it NL, ECHO and ONLCR show it as CR NL. */
    assert_int_equal(devpts_console_input(fx->master, "ls\r", 3), 3);
    size_t n = take_output(fx, out, sizeof(out));
    assert_int_equal(n, 4);
    assert_memory_equal(out, "ls\r\n", 4);
    ssize_t r = fx->slave->ops->read(fx->slave, NULL, in, sizeof(in));
    assert_int_equal(r, 3);
    assert_memory_equal(in, "ls\n", 3);
}

static void test_slave_output_reaches_the_bridge(void **state)
{
    struct fx *fx = *state;
    char out[64];

    assert_int_equal(fx->slave->ops->write(fx->slave, NULL, "a\nb", 3), 3);
    size_t n = take_output(fx, out, sizeof(out));
    assert_int_equal(n, 4);
    assert_memory_equal(out, "a\r\nb", 4);
    assert_int_equal(devpts_console_output(fx->master, out, sizeof(out)), 0);
}

static void test_full_raw_input_waits_for_the_reader(void **state)
{
    struct fx *fx = *state;
    static char line[2 * PTY_IN_CAP];
    char buf[16];

    /* Raw, as a full-screen program sets it: input beyond the buffer waits (canonical input
     * beyond a full line would be dropped, as n_tty does). */
    struct pty *p = pty_file_pty(fx->slave);
    pthread_mutex_lock(&p->lock);
    struct ktermios raw = p->termios;
    raw.c_lflag &= ~(uint32_t)(ICANON | ECHO);
    ldisc_set_termios(p, &raw);
    pthread_mutex_unlock(&p->lock);
    memset(line, 'x', sizeof(line));
    assert_int_equal(devpts_console_input(fx->master, line, sizeof(line)), PTY_IN_CAP);
    assert_int_equal(devpts_console_input(fx->master, "y", 1), 0);
    assert_int_equal(fx->slave->ops->read(fx->slave, NULL, buf, sizeof(buf)), sizeof(buf));
    assert_int_equal(devpts_console_input(fx->master, line, sizeof(line)), sizeof(buf));
}

static int notified;
static void count_notify(struct waiter *w)
{
    notified++;
}

static void test_watch_sees_guest_output(void **state)
{
    struct fx *fx = *state;
    struct waiter w;
    char out[8];

    waiter_init_callback(&w, count_notify);
    devpts_console_watch(fx->master, &w);
    notified = 0;
    assert_int_equal(fx->slave->ops->write(fx->slave, NULL, "z", 1), 1);
    assert_true(notified > 0);
    devpts_console_unwatch(fx->master, &w);
    notified = 0;
    assert_int_equal(fx->slave->ops->write(fx->slave, NULL, "z", 1), 1);
    assert_int_equal(notified, 0);
    take_output(fx, out, sizeof(out));
}

static void test_resize_sets_the_size(void **state)
{
    struct fx *fx = *state;
    struct winsize ws = {.ws_row = 25, .ws_col = 90};

    devpts_console_resize(fx->master, &ws);
    struct pty *p = pty_file_pty(fx->slave);
    assert_int_equal(p->winsize.ws_row, 25);
    assert_int_equal(p->winsize.ws_col, 90);
}

static void test_hangup_ends_the_slave(void **state)
{
    struct fx *fx = *state;
    char buf[8];

    devpts_console_hangup(fx->master);
    /* A hung-up terminal reads end of file and refuses writes (tty_hung_up_p). */
    assert_int_equal(fx->slave->ops->read(fx->slave, NULL, buf, sizeof(buf)), 0);
    assert_int_equal(fx->slave->ops->write(fx->slave, NULL, "q", 1), -EIO);
    /* Again (the master's close does it once more): nothing changes. */
    devpts_console_hangup(fx->master);
    assert_int_equal(fx->slave->ops->read(fx->slave, NULL, buf, sizeof(buf)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_console_is_a_pts_owned_by_the_guest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_line_is_echoed_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slave_output_reaches_the_bridge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_raw_input_waits_for_the_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_sees_guest_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resize_sets_the_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hangup_ends_the_slave, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (devpts_root)
        dentry_put(devpts_root);
    return failed;
}
