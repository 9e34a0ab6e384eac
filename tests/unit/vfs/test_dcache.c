/* The dentry cache stays bounded: walking more files than its limit evicts dentries no one holds,
 * oldest first, while held ones (open files, a cwd) stay, and every name still resolves to the
 * same inode afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "../tmpfs/tmpfs_fixture.h"

#define NFILES 20000 /* more than the cache's high-water mark (16384) */

static void test_cache_is_bounded_and_names_survive(void **state)
{
    struct fx *fx = *state;
    char path[64];
    assert_int_equal(vfs_mkdir(&fx->ctx, "/d", 0755), 0);
    struct file *held = NULL;
    for (int i = 0; i < NFILES; i++) {
        snprintf(path, sizeof(path), "/d/f%d", i);
        struct file *f;
        assert_int_equal(vfs_open(&fx->ctx, path, O_CREAT | O_WRONLY, 0644, &f), 0);
        if (i == 0)
            held = f; /* the oldest: first in line for eviction unless held */
        else
            file_put(f);
    }
    long cached = dcache_cached_count();
    assert_true(cached <= 16384);
    assert_true(cached > 0);

    /* The held file's dentry is still the one its name resolves to. */
    struct vfs_path p;
    assert_int_equal(vfs_walk(&fx->ctx, "/d/f0", 0, &p), 0);
    assert_ptr_equal(p.dentry, held->path.dentry);
    vfs_path_put(&p);

    /* Every name resolves again, to inodes numbered as before eviction. */
    struct stat first, again;
    assert_int_equal(vfs_walk(&fx->ctx, "/d/f1", 0, &p), 0);
    assert_int_equal(inode_stat(p.dentry->inode, &first), 0);
    vfs_path_put(&p);
    for (int i = 0; i < NFILES; i++) {
        snprintf(path, sizeof(path), "/d/f%d", i);
        assert_int_equal(vfs_walk(&fx->ctx, path, 0, &p), 0);
        vfs_path_put(&p);
    }
    assert_int_equal(vfs_walk(&fx->ctx, "/d/f1", 0, &p), 0);
    assert_int_equal(inode_stat(p.dentry->inode, &again), 0);
    vfs_path_put(&p);
    assert_int_equal(first.st_ino, again.st_ino);
    assert_true(dcache_cached_count() <= 16384);

    /* Listing the directory still shows them all. */
    struct dir_list l = {0};
    struct vfs_path d;
    assert_int_equal(vfs_walk(&fx->ctx, "/d", 0, &d), 0);
    assert_int_equal(d.dentry->inode->ops->readdir(d.dentry->inode, &l), 0);
    assert_int_equal((int)l.count, NFILES);
    dir_list_free(&l);
    vfs_path_put(&d);
    file_put(held);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cache_is_bounded_and_names_survive, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
