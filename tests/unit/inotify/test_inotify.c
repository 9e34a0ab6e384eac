/* inotify instances on a tmpfs: watches hold their inode and let go of it on rm_watch, on
 * deletion and on close; a full queue ends in one IN_Q_OVERFLOW; repeats coalesce; a watch
 * survives its dentry's eviction from the cache; cookies pair the halves of a rename. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include <sys/inotify.h>

#include "../tmpfs/tmpfs_fixture.h"
#include "sentry/fs/inotify/inotify.h"

/* The queued events of a nonblocking instance, read into `evs` (up to max); returns the count. */
static int read_events(struct file *in, struct inotify_event **evs, char *buf, size_t size, int max)
{
    ssize_t n = file_read(in, NULL, buf, size);
    if (n == -EAGAIN)
        return 0;
    assert_true(n > 0);
    int count = 0;
    for (ssize_t off = 0; off < n && count < max;) {
        evs[count] = (struct inotify_event *)(buf + off);
        off += (ssize_t)(sizeof(struct inotify_event) + evs[count]->len);
        count++;
    }
    return count;
}

static struct file *new_instance(void)
{
    struct file *in;
    assert_int_equal(inotify_create(O_NONBLOCK, &in), 0);
    assert_true(inotify_is_instance(in));
    return in;
}

static int refs_of(struct inode *inode)
{
    return atomic_load(&inode->refs);
}

static void test_watch_holds_and_releases_inode(void **state)
{
    struct fx *fx = *state;
    fx_write(fx, "/f", "x");
    struct inode *inode = fx_inode(fx, "/f");
    int base = refs_of(inode);
    struct file *in = new_instance();
    assert_int_equal(inotify_watch_add(in, inode, IN_MODIFY), 1);
    assert_int_equal(refs_of(inode), base + 1);
    assert_int_equal(inotify_watch_add(in, inode, IN_ATTRIB | IN_MASK_ADD), 1);
    assert_int_equal(refs_of(inode), base + 1);
    assert_int_equal(atomic_load(&inode->notify_mask) & IN_ALL_EVENTS, IN_MODIFY | IN_ATTRIB);
    assert_int_equal(inotify_watch_add(in, inode, IN_ACCESS | IN_MASK_CREATE), -EEXIST);
    assert_int_equal(inotify_watch_remove(in, 1), 0);
    assert_int_equal(refs_of(inode), base);
    assert_int_equal(atomic_load(&inode->notify_mask), 0);
    assert_int_equal(inotify_watch_remove(in, 1), -EINVAL);

    /* Closing the instance drops its watches too. */
    assert_int_equal(inotify_watch_add(in, inode, IN_MODIFY), 2);
    assert_int_equal(refs_of(inode), base + 1);
    file_put(in);
    assert_int_equal(refs_of(inode), base);
    assert_int_equal(atomic_load(&inode->notify_mask), 0);
    inode_put(inode);
}

static void test_delete_self_ends_watch(void **state)
{
    struct fx *fx = *state;
    fx_write(fx, "/gone", "x");
    struct inode *inode = fx_inode(fx, "/gone");
    struct file *in = new_instance();
    assert_int_equal(inotify_watch_add(in, inode, IN_DELETE_SELF), 1);
    assert_int_equal(vfs_unlink(&fx->ctx, "/gone"), 0);
    /* The dentry and the watch let go: only our own reference is left. */
    assert_int_equal(refs_of(inode), 1);
    char buf[256] __attribute__((aligned(8)));
    struct inotify_event *evs[4];
    assert_int_equal(read_events(in, evs, buf, sizeof(buf), 4), 2);
    assert_int_equal(evs[0]->mask, IN_DELETE_SELF);
    assert_int_equal(evs[0]->wd, 1);
    assert_int_equal(evs[1]->mask, IN_IGNORED);
    assert_int_equal(atomic_load(&inode->notify_mask), 0);
    inode_put(inode);
    file_put(in);
}

static void test_overflow_and_coalescing(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_mkdir(&fx->ctx, "/d", 0755), 0);
    struct inode *dir = fx_inode(fx, "/d");
    struct file *in = new_instance();
    assert_int_equal(inotify_watch_add(in, dir, IN_CREATE | IN_DELETE), 1);
    /* Identical consecutive events merge; a different one in between keeps them apart. */
    vfs_notify(dir, IN_CREATE, "a", 0);
    vfs_notify(dir, IN_CREATE, "a", 0);
    vfs_notify(dir, IN_DELETE, "a", 0);
    vfs_notify(dir, IN_CREATE, "a", 0);
    vfs_notify(dir, IN_ACCESS, "a", 0); /* not watched */
    vfs_notify(dir, IN_CREATE, "b", 0);
    char buf[512] __attribute__((aligned(8)));
    struct inotify_event *evs[32];
    assert_int_equal(read_events(in, evs, buf, sizeof(buf), 32), 4);
    assert_string_equal(evs[0]->name, "a");
    assert_int_equal(evs[1]->mask, IN_DELETE);
    assert_int_equal(evs[2]->mask, IN_CREATE);
    assert_string_equal(evs[3]->name, "b");
    assert_int_equal(evs[3]->len, 16);

    /* Past the limit one overflow record stands for everything dropped. */
    char name[32];
    for (int i = 0; i < INOTIFY_MAX_QUEUED_EVENTS + 100; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        vfs_notify(dir, IN_CREATE, name, 0);
    }
    int total = 0, overflows = 0;
    struct inotify_event *last = NULL;
    for (;;) {
        int n = read_events(in, evs, buf, sizeof(buf), 32);
        if (!n)
            break;
        for (int i = 0; i < n; i++) {
            total++;
            if (evs[i]->mask & IN_Q_OVERFLOW) {
                overflows++;
                assert_int_equal(evs[i]->wd, -1);
                assert_int_equal(evs[i]->len, 0);
            }
            last = evs[i];
        }
        if (last->mask & IN_Q_OVERFLOW)
            break;
    }
    assert_int_equal(overflows, 1);
    assert_int_equal(total, INOTIFY_MAX_QUEUED_EVENTS + 1);
    /* Once read, the queue works again. */
    vfs_notify(dir, IN_DELETE, "z", 0);
    assert_int_equal(read_events(in, evs, buf, sizeof(buf), 32), 1);
    assert_string_equal(evs[0]->name, "z");
    file_put(in);
    inode_put(dir);
}

static void test_read_too_small_keeps_event(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_mkdir(&fx->ctx, "/r", 0755), 0);
    struct inode *dir = fx_inode(fx, "/r");
    struct file *in = new_instance();
    assert_int_equal(inotify_watch_add(in, dir, IN_CREATE), 1);
    fx_write(fx, "/r/sixteen-chars-xx", "");
    char buf[64] __attribute__((aligned(8)));
    assert_int_equal(file_read(in, NULL, buf, 47), -EINVAL);
    assert_int_equal(file_read(in, NULL, buf, 48), 48);
    struct inotify_event *ev = (struct inotify_event *)buf;
    assert_int_equal(ev->len, 32);
    assert_string_equal(ev->name, "sixteen-chars-xx");
    for (size_t i = strlen(ev->name); i < ev->len; i++)
        assert_int_equal(ev->name[i], 0);
    assert_int_equal(file_read(in, NULL, buf, sizeof(buf)), -EAGAIN);
    file_put(in);
    inode_put(dir);
}

/* The dentry cache may evict a watched file's dentry; the watch keeps the inode, and the name
 * still leads to it. */
static void test_watch_survives_dentry_eviction(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_mkdir(&fx->ctx, "/e", 0755), 0);
    fx_write(fx, "/e/watched", "x");
    struct inode *inode = fx_inode(fx, "/e/watched");
    struct file *in = new_instance();
    assert_int_equal(inotify_watch_add(in, inode, IN_MODIFY), 1);
    inode_put(inode);
    char path[64];
    for (int i = 0; i < 20000; i++) {
        snprintf(path, sizeof(path), "/e/f%d", i);
        struct file *f;
        assert_int_equal(vfs_open(&fx->ctx, path, O_CREAT | O_WRONLY, 0644, &f), 0);
        file_put(f);
    }
    dcache_shrink();
    struct file *f;
    assert_int_equal(vfs_open(&fx->ctx, "/e/watched", O_WRONLY, 0, &f), 0);
    assert_int_equal(file_write(f, NULL, "y", 1), 1);
    file_put(f);
    char buf[64] __attribute__((aligned(8)));
    struct inotify_event *evs[2];
    assert_int_equal(read_events(in, evs, buf, sizeof(buf), 2), 1);
    assert_int_equal(evs[0]->mask, IN_MODIFY);
    assert_int_equal(evs[0]->wd, 1);
    file_put(in);
}

static void test_rename_cookies(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_mkdir(&fx->ctx, "/x", 0755), 0);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/y", 0755), 0);
    fx_write(fx, "/x/f", "1");
    struct inode *x = fx_inode(fx, "/x"), *y = fx_inode(fx, "/y"), *f = fx_inode(fx, "/x/f");
    struct file *in = new_instance();
    assert_int_equal(inotify_watch_add(in, x, IN_MOVE), 1);
    assert_int_equal(inotify_watch_add(in, y, IN_MOVE), 2);
    assert_int_equal(inotify_watch_add(in, f, IN_MOVE_SELF), 3);
    assert_int_equal(vfs_rename(&fx->ctx, "/x/f", &fx->ctx, "/y/g", 0), 0);
    assert_int_equal(vfs_rename(&fx->ctx, "/y/g", &fx->ctx, "/x/f", 0), 0);
    char buf[512] __attribute__((aligned(8)));
    struct inotify_event *evs[8];
    assert_int_equal(read_events(in, evs, buf, sizeof(buf), 8), 6);
    assert_int_equal(evs[0]->mask, IN_MOVED_FROM);
    assert_int_equal(evs[0]->wd, 1);
    assert_int_equal(evs[1]->mask, IN_MOVED_TO);
    assert_int_equal(evs[1]->wd, 2);
    assert_string_equal(evs[1]->name, "g");
    assert_int_equal(evs[2]->mask, IN_MOVE_SELF);
    assert_int_equal(evs[2]->wd, 3);
    assert_int_not_equal(evs[0]->cookie, 0);
    assert_int_equal(evs[0]->cookie, evs[1]->cookie);
    assert_int_equal(evs[3]->cookie, evs[4]->cookie);
    assert_int_not_equal(evs[0]->cookie, evs[3]->cookie);
    file_put(in);
    inode_put(x);
    inode_put(y);
    inode_put(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_watch_holds_and_releases_inode, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete_self_ends_watch, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_overflow_and_coalescing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_read_too_small_keeps_event, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_watch_survives_dentry_eviction, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rename_cookies, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
