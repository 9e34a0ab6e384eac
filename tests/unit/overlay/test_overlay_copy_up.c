/* Unit tests for the overlay's copy-up through the VFS: data, attributes, symlinks and device
 * nodes carried to the upper layer, inode numbers kept, files open across a copy-up, truncation,
 * xattrs (the overlay's own hidden), permissions and statfs. Every test ends by checking the
 * lower layer is byte-for-byte what it was. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/magic.h>
#include <pthread.h>

#include "overlay_fixture.h"

static void expect_content(struct fx *fx, const char *path, const char *want)
{
    char buf[256];
    assert_int_equal(get_file(&fx->ovl.ctx, path, buf, sizeof(buf)), (ssize_t)strlen(want));
    assert_string_equal(buf, want);
}

static uint64_t origin_of(struct inode *upper)
{
    unsigned char v[8];
    assert_int_equal(upper->ops->getxattr(upper, OVERLAY_XATTR_ORIGIN, v, sizeof(v)), 8);
    uint64_t ino = 0;
    for (int i = 7; i >= 0; i--)
        ino = ino << 8 | v[i];
    return ino;
}

static void test_write_copies_up_keeping_number(void **state)
{
    struct fx *fx = *state;
    struct stat before, after, lower;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/a", &before), 0);
    struct file *f;
    assert_int_equal(vfs_open(&fx->ovl.ctx, "/dir/a", O_WRONLY, 0, &f), 0);
    assert_int_equal(file_pwrite(f, "A", 1, 0), 1);
    file_put(f);
    expect_content(fx, "/dir/a", "A in lower");
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/a", &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_dev, before.st_dev);
    assert_int_equal(after.st_uid, 1000);
    assert_int_equal(after.st_gid, 100);
    assert_int_equal(after.st_mode, before.st_mode);
    assert_int_equal(after.st_size, 10);
    assert_true(after.st_mtim.tv_sec > 1100000000); /* written after the copy */

    /* The upper copy records its origin and the lower file is untouched. */
    struct inode *u = upper_at(fx, "dir/a");
    assert_non_null(u);
    assert_int_equal(stat_path(&fx->lower.ctx, "/dir/a", &lower), 0);
    assert_int_equal(origin_of(u), lower.st_ino);
    inode_put(u);
    u = upper_at(fx, "dir");
    assert_int_equal(stat_path(&fx->lower.ctx, "/dir", &lower), 0);
    assert_int_equal(origin_of(u), lower.st_ino);
    inode_put(u);
    /* Siblings stay where they were. */
    assert_null(upper_at(fx, "dir/b"));
    /* The listing gives the kept number too. */
    struct dir_list l;
    list_dir(&fx->ovl.ctx, "/dir", &l);
    for (size_t i = 0; i < l.count; i++)
        if (strcmp(l.entries[i].name, "a") == 0)
            assert_int_equal(l.entries[i].ino, before.st_ino);
    dir_list_free(&l);
}

static void test_copy_up_keeps_times_until_written(void **state)
{
    struct fx *fx = *state;
    struct stat dir_before, dir_after;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir", &dir_before), 0);
    /* chown copies up without touching data: mtime stays the lower one. */
    struct vfs_setattr own = {.mask = VFS_ATTR_UID, .uid = 2000};
    set_attr(&fx->ovl.ctx, "/dir/a", &own);
    struct stat st;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/a", &st), 0);
    assert_int_equal(st.st_uid, 2000);
    assert_int_equal(st.st_gid, 100);
    assert_int_equal(st.st_mtim.tv_sec, 1100000000);
    assert_int_equal(st.st_mtim.tv_nsec, 7);
    assert_int_equal(st.st_atim.tv_sec, 1000000000);
    expect_content(fx, "/dir/a", "a in lower");
    /* The copied-up parent kept the lower directory's times. */
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/sub", &st), 0);
    assert_int_equal(st.st_mtim.tv_sec, 1100000000);
    struct inode *u = upper_at(fx, "dir");
    assert_non_null(u);
    assert_int_equal(u->uid, 1000);
    assert_int_equal(u->mode & 07777, 0755);
    inode_put(u);
    /* Copying a child up is no change to its directory. */
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir", &dir_after), 0);
    assert_int_equal(dir_after.st_mtim.tv_sec, dir_before.st_mtim.tv_sec);
    assert_int_equal(dir_after.st_mtim.tv_nsec, dir_before.st_mtim.tv_nsec);
}

static void test_open_trunc_and_truncate(void **state)
{
    struct fx *fx = *state;
    struct file *f;
    assert_int_equal(vfs_open(&fx->ovl.ctx, "/file", O_WRONLY | O_TRUNC, 0, &f), 0);
    struct stat st;
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(file_write(f, NULL, "short", 5), 5);
    file_put(f);
    expect_content(fx, "/file", "short");

    /* An O_TRUNC open copies no data; an open for writing that never writes copies nothing. */
    assert_int_equal(vfs_open(&fx->ovl.ctx, "/big", O_RDWR | O_TRUNC, 0, &f), 0);
    struct inode *u = upper_at(fx, "big");
    assert_non_null(u);
    assert_int_equal(u->size, 0);
    assert_int_equal(u->blocks, 0);
    inode_put(u);
    assert_int_equal(file_pwrite(f, "xy", 2, 0), 2);
    char two[8];
    assert_int_equal(file_pread(f, two, sizeof(two), 0), 2);
    assert_memory_equal(two, "xy", 2);
    file_put(f);
    assert_int_equal(vfs_open(&fx->ovl.ctx, "/hard2", O_RDWR, 0, &f), 0);
    assert_int_equal(file_pread(f, two, 6, 0), 6);
    assert_memory_equal(two, "linked", 6);
    file_put(f);
    assert_null(upper_at(fx, "hard2"));

    /* A truncation copies no more than it keeps. */
    struct vfs_setattr cut = {.mask = VFS_ATTR_SIZE, .size = 4};
    set_attr(&fx->ovl.ctx, "/dir/b", &cut);
    expect_content(fx, "/dir/b", "b in");
    u = upper_at(fx, "dir/b");
    assert_non_null(u);
    assert_int_equal(u->size, 4);
    inode_put(u);
}

static void test_read_only_open_follows_copy_up(void **state)
{
    struct fx *fx = *state;
    struct file *ro;
    assert_int_equal(vfs_open(&fx->ovl.ctx, "/file", O_RDONLY, 0, &ro), 0);
    char buf[32] = {0};
    assert_int_equal(file_pread(ro, buf, sizeof(buf) - 1, 0), 10);
    assert_string_equal(buf, "lower file");
    assert_false(file_writable(ro));
    put_file(&fx->ovl.ctx, "/file", "upper data!");
    /* Linux since 4.19: reads after the copy-up see the upper copy. */
    memset(buf, 0, sizeof(buf));
    assert_int_equal(file_pread(ro, buf, sizeof(buf) - 1, 0), 11);
    assert_string_equal(buf, "upper data!");
    struct stat st;
    assert_int_equal(file_stat(ro, &st), 0);
    assert_int_equal(st.st_size, 11);
    file_put(ro);
}

/* More than one copy chunk, after a hole the copy keeps as a hole. */
static void test_copy_up_large_sparse_file(void **state)
{
    struct fx *fx = *state;
    struct file *f;
    assert_int_equal(vfs_open(&fx->ovl.ctx, "/big", O_RDWR, 0, &f), 0);
    assert_int_equal(file_pwrite(f, "!", 1, BIG_OFFSET + 1), 1);
    file_put(f);
    struct inode *u = upper_at(fx, "big");
    assert_non_null(u);
    assert_int_equal(u->size, BIG_OFFSET + BIG_LEN);
    /* Only the data pages were allocated: the hole before them stayed one. */
    assert_true(u->blocks <= (BIG_LEN + 2 * 4096) / 512);
    inode_put(u);

    static char want[BIG_OFFSET + BIG_LEN], got[BIG_OFFSET + BIG_LEN];
    big_pattern(want + BIG_OFFSET);
    want[BIG_OFFSET + 1] = '!';
    assert_int_equal(vfs_open(&fx->ovl.ctx, "/big", O_RDONLY, 0, &f), 0);
    assert_int_equal(file_pread(f, got, sizeof(got), 0), (ssize_t)sizeof(got));
    file_put(f);
    assert_memory_equal(got, want, sizeof(want));
}

static void test_symlink_and_device_copy_up(void **state)
{
    struct fx *fx = *state;
    struct stat before, after;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/link", &before), 0);
    struct vfs_setattr own = {.mask = VFS_ATTR_UID | VFS_ATTR_GID, .uid = 7, .gid = 8};
    set_attr(&fx->ovl.ctx, "/link", &own);
    struct inode *u = upper_at(fx, "link");
    assert_non_null(u);
    assert_true(S_ISLNK(u->mode));
    char target[32];
    assert_int_equal(u->ops->readlink(u, target, sizeof(target)), 5);
    assert_memory_equal(target, "dir/a", 5);
    inode_put(u);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/link", &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_uid, 7);
    expect_content(fx, "/link", "a in lower");

    struct stat lower;
    assert_int_equal(stat_path(&fx->lower.ctx, "/null", &lower), 0);
    set_attr(&fx->ovl.ctx, "/null", &own);
    u = upper_at(fx, "null");
    assert_non_null(u);
    assert_true(S_ISCHR(u->mode));
    assert_int_equal(u->rdev, makedev(1, 3));
    assert_int_equal(u->mode, lower.st_mode);
    inode_put(u);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/null", &after), 0);
    assert_int_equal(after.st_rdev, makedev(1, 3));
}

static void test_copy_up_breaks_lower_hard_links(void **state)
{
    struct fx *fx = *state;
    struct stat h1, h2;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/hard1", &h1), 0);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/hard2", &h2), 0);
    assert_int_equal(h1.st_ino, h2.st_ino);
    assert_int_equal(h1.st_nlink, 2);
    put_file(&fx->ovl.ctx, "/hard1", "changed");
    /* overlayfs without index=on: the other name still shows the lower file. */
    expect_content(fx, "/hard1", "changed");
    expect_content(fx, "/hard2", "linked in lower");
    assert_int_equal(stat_path(&fx->ovl.ctx, "/hard1", &h1), 0);
    assert_int_equal(h1.st_nlink, 1);
}

static void test_xattrs(void **state)
{
    struct fx *fx = *state;
    struct inode *a = inode_at(&fx->ovl.ctx, "/dir/a");
    char v[16];
    assert_int_equal(a->ops->getxattr(a, "user.color", v, sizeof(v)), 4);
    assert_memory_equal(v, "blue", 4);
    assert_null(upper_at(fx, "dir/a")); /* reading needs no copy-up */
    assert_int_equal(a->ops->removexattr(a, "user.none"), -ENODATA);
    assert_null(upper_at(fx, "dir/a"));

    assert_int_equal(a->ops->setxattr(a, "user.shape", "round", 5, 0), 0);
    assert_int_equal(a->ops->setxattr(a, OVERLAY_XATTR_OPAQUE, "y", 1, 0), -EPERM);
    assert_int_equal(a->ops->removexattr(a, OVERLAY_XATTR_ORIGIN), -EPERM);
    assert_int_equal(a->ops->getxattr(a, OVERLAY_XATTR_ORIGIN, v, sizeof(v)), -ENODATA);
    /* The list hides the origin record the copy-up left. */
    char list[128];
    ssize_t n = a->ops->listxattr(a, NULL, 0);
    assert_int_equal(n, (ssize_t)sizeof("user.color") + (ssize_t)sizeof("user.shape"));
    assert_int_equal(a->ops->listxattr(a, list, 3), -ERANGE);
    assert_int_equal(a->ops->listxattr(a, list, sizeof(list)), n);
    assert_memory_equal(list, "user.color\0user.shape", (size_t)n);
    struct inode *u = upper_at(fx, "dir/a");
    assert_non_null(u);
    assert_true(u->ops->listxattr(u, NULL, 0) > n); /* it is there, below */
    inode_put(u);
    inode_put(a);
    /* The directory's copy-up records its origin too, hidden the same way. */
    struct inode *d = inode_at(&fx->ovl.ctx, "/dir");
    assert_int_equal(d->ops->listxattr(d, NULL, 0), 0);
    inode_put(d);
}

static void test_permissions_checked_before_copy_up(void **state)
{
    struct fx *fx = *state;
    struct file *f;
    assert_int_equal(vfs_open(&fx->user, "/secret", O_RDONLY, 0, &f), -EACCES);
    assert_int_equal(vfs_open(&fx->user, "/file", O_WRONLY, 0, &f), -EACCES);
    assert_int_equal(vfs_unlink(&fx->user, "/file"), -EACCES);
    assert_null(upper_at(fx, "file"));
    /* The owner of /dir (uid 1000) may create in it: the copy-up works for them. */
    assert_int_equal(vfs_open(&fx->user, "/dir/mine", O_WRONLY | O_CREAT, 0600, &f), 0);
    assert_int_equal(file_write(f, NULL, "m", 1), 1);
    file_put(f);
    struct stat st;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/mine", &st), 0);
    assert_int_equal(st.st_uid, 1000);
    assert_int_equal(st.st_gid, 1000);
}

static void test_statfs_and_new_file_numbers(void **state)
{
    struct fx *fx = *state;
    struct vfs_path root = {fx->ovl.ns->root, fx->ovl.ns->root->root};
    struct statfs sfs;
    assert_int_equal(vfs_statfs(&root, &sfs), 0);
    assert_int_equal(sfs.f_type, OVERLAYFS_SUPER_MAGIC);
    assert_true(sfs.f_namelen > 0);

    /* Upper-only objects never share a number with a lower one. */
    put_file(&fx->ovl.ctx, "/n1", "1");
    assert_int_equal(vfs_mkdir(&fx->ovl.ctx, "/n2", 0755), 0);
    struct stat a, b, l;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/n1", &a), 0);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/n2", &b), 0);
    assert_int_not_equal(a.st_ino, b.st_ino);
    const char *lower_names[] = {"/file", "/dir", "/dir/a", "/hard1", "/null", "/"};
    for (size_t i = 0; i < sizeof(lower_names) / sizeof(*lower_names); i++) {
        assert_int_equal(stat_path(&fx->lower.ctx, lower_names[i], &l), 0);
        assert_int_not_equal(a.st_ino, l.st_ino);
        assert_int_not_equal(b.st_ino, l.st_ino);
    }
}

/* Writers racing on one lower file: one copy-up, every write lands in it. */
struct racer {
    struct file *f;
    int index;
};

#define RACERS 4

static void *race_write(void *arg)
{
    struct racer *r = arg;
    char c = (char)('A' + r->index);
    for (int i = 0; i < 50; i++)
        assert_int_equal(file_pwrite(r->f, &c, 1, BIG_OFFSET + r->index * 100 + i), 1);
    return NULL;
}

static void test_concurrent_writers_copy_up_once(void **state)
{
    struct fx *fx = *state;
    struct racer r[RACERS];
    pthread_t threads[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i].index = i;
        assert_int_equal(vfs_open(&fx->ovl.ctx, "/big", O_WRONLY, 0, &r[i].f), 0);
    }
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, race_write, &r[i]), 0);
    for (int i = 0; i < RACERS; i++) {
        pthread_join(threads[i], NULL);
        file_put(r[i].f);
    }
    static char want[BIG_OFFSET + BIG_LEN], got[BIG_OFFSET + BIG_LEN];
    big_pattern(want + BIG_OFFSET);
    for (int i = 0; i < RACERS; i++)
        memset(want + BIG_OFFSET + i * 100, 'A' + i, 50);
    struct file *f;
    assert_int_equal(vfs_open(&fx->ovl.ctx, "/big", O_RDONLY, 0, &f), 0);
    assert_int_equal(file_pread(f, got, sizeof(got), 0), (ssize_t)sizeof(got));
    file_put(f);
    assert_memory_equal(got, want, sizeof(want));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_copies_up_keeping_number, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_copy_up_keeps_times_until_written, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_trunc_and_truncate, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_read_only_open_follows_copy_up, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_copy_up_large_sparse_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_and_device_copy_up, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_copy_up_breaks_lower_hard_links, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_xattrs, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_permissions_checked_before_copy_up, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_statfs_and_new_file_numbers, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers_copy_up_once, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
