/* Unit tests for sentry/fs/overlay through the VFS, with two tmpfs layers: the merged view,
 * whiteouts, opaque directories, removal, re-creation, rename rules and hard links. Copy-up of
 * data and attributes, inode numbers, xattrs and open files are in test_overlay_copy_up.c. Every
 * test ends by checking the lower layer is byte-for-byte what it was. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/fs.h>

#include "overlay_fixture.h"

static void expect_names(struct fx *fx, const char *path, const char *want)
{
    char *got = names_of(&fx->ovl.ctx, path);
    assert_string_equal(got, want);
    free(got);
}

static void expect_content(struct fx *fx, const char *path, const char *want)
{
    char buf[256];
    assert_int_equal(get_file(&fx->ovl.ctx, path, buf, sizeof(buf)), (ssize_t)strlen(want));
    assert_string_equal(buf, want);
}

/* ---- the merged view ---- */

static void test_lower_visible_through_overlay(void **state)
{
    struct fx *fx = *state;
    expect_names(fx, "/", "big dir empty file hard1 hard2 link null other secret");
    expect_names(fx, "/dir", "a b sub");
    expect_content(fx, "/file", "lower file");
    expect_content(fx, "/dir/sub/deep", "deep in lower");
    expect_content(fx, "/link", "a in lower"); /* followed */
    char target[64];
    ssize_t n = vfs_readlink(&fx->ovl.ctx, "/link", target, sizeof(target));
    assert_int_equal(n, 5);
    assert_memory_equal(target, "dir/a", 5);

    /* The overlay's device; lower-origin objects keep the lower numbers and attributes. */
    struct stat ost, lst;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/a", &ost), 0);
    assert_int_equal(stat_path(&fx->lower.ctx, "/dir/a", &lst), 0);
    assert_int_equal(ost.st_dev, fx->ovl_sb->dev);
    assert_int_not_equal(ost.st_dev, lst.st_dev);
    assert_int_equal(ost.st_ino, lst.st_ino);
    assert_int_equal(ost.st_mode, lst.st_mode);
    assert_int_equal(ost.st_uid, 1000);
    assert_int_equal(ost.st_mtim.tv_sec, 1100000000);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/", &ost), 0);
    assert_int_equal(stat_path(&fx->lower.ctx, "/", &lst), 0);
    assert_int_equal(ost.st_ino, lst.st_ino);

    /* Nothing was copied up by reading. */
    struct inode *u = upper_at(fx, "dir");
    assert_null(u);
}

static void test_readdir_merges_without_duplicates(void **state)
{
    struct fx *fx = *state;
    put_file(&fx->ovl.ctx, "/dir/new", "upper only");
    put_file(&fx->ovl.ctx, "/dir/a", "a rewritten"); /* in both layers now */
    assert_int_equal(vfs_unlink(&fx->ovl.ctx, "/dir/b"), 0);
    expect_names(fx, "/dir", "a new sub");

    /* Each entry's number is the one stat gives. */
    struct dir_list l;
    list_dir(&fx->ovl.ctx, "/dir", &l);
    assert_int_equal(l.count, 3);
    for (size_t i = 0; i < l.count; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/dir/%s", l.entries[i].name);
        struct stat st;
        assert_int_equal(stat_path(&fx->ovl.ctx, path, &st), 0);
        assert_int_equal(l.entries[i].ino, st.st_ino);
        assert_int_equal(l.entries[i].type, vfs_dtype(st.st_mode));
    }
    dir_list_free(&l);
    /* The upper directory holds the whiteout the listing hides. */
    assert_true(upper_is_whiteout(fx, "dir/b"));
}

/* ---- removal and whiteouts ---- */

static void test_unlink_lower_file_leaves_whiteout(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_unlink(&fx->ovl.ctx, "/dir/sub/deep"), 0);
    struct stat st;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/sub/deep", &st), -ENOENT);
    char buf[16];
    assert_int_equal(get_file(&fx->ovl.ctx, "/dir/sub/deep", buf, sizeof(buf)), -ENOENT);
    assert_int_equal(vfs_unlink(&fx->ovl.ctx, "/dir/sub/deep"), -ENOENT);
    expect_names(fx, "/dir/sub", "");
    assert_true(upper_is_whiteout(fx, "dir/sub/deep"));
    /* The parents were copied up to hold it, with their attributes. */
    struct inode *sub = upper_at(fx, "dir/sub");
    assert_non_null(sub);
    assert_true(S_ISDIR(sub->mode));
    assert_int_equal(sub->mode & 07777, 0700);
    assert_int_equal(sub->uid, 1000);
    assert_int_equal(sub->gid, 100);
    inode_put(sub);
    /* The other entries of the merged parent are still there. */
    expect_names(fx, "/dir", "a b sub");
}

static void test_recreate_after_delete(void **state)
{
    struct fx *fx = *state;
    struct stat before, after;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/file", &before), 0);
    assert_int_equal(vfs_unlink(&fx->ovl.ctx, "/file"), 0);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/file", &after), -ENOENT);
    put_file(&fx->ovl.ctx, "/file", "new");
    expect_content(fx, "/file", "new");
    assert_int_equal(stat_path(&fx->ovl.ctx, "/file", &after), 0);
    assert_int_not_equal(after.st_ino, before.st_ino); /* a new file, not the lower one */
    assert_true((after.st_ino & OVERLAY_UPPER_INO_BIT) != 0);
    assert_false(upper_is_whiteout(fx, "file"));
    expect_names(fx, "/", "big dir empty file hard1 hard2 link null other secret");

    /* Deleting the new one brings the whiteout back, not the lower file. */
    assert_int_equal(vfs_unlink(&fx->ovl.ctx, "/file"), 0);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/file", &after), -ENOENT);
    assert_true(upper_is_whiteout(fx, "file"));
    /* And a directory where the file was. */
    assert_int_equal(vfs_mkdir(&fx->ovl.ctx, "/file", 0755), 0);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/file", &after), 0);
    assert_true(S_ISDIR(after.st_mode));
    expect_names(fx, "/file", "");
}

static void test_unlink_upper_only_file_leaves_no_whiteout(void **state)
{
    struct fx *fx = *state;
    put_file(&fx->ovl.ctx, "/fresh", "x");
    assert_int_equal(vfs_unlink(&fx->ovl.ctx, "/fresh"), 0);
    struct inode *u = upper_at(fx, "fresh");
    assert_null(u);
    struct stat st;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/fresh", &st), -ENOENT);
    /* A lower-only empty directory goes with a whiteout alone. */
    assert_int_equal(vfs_rmdir(&fx->ovl.ctx, "/empty"), 0);
    assert_true(upper_is_whiteout(fx, "empty"));
    assert_int_equal(stat_path(&fx->ovl.ctx, "/empty", &st), -ENOENT);
}

static void test_rmdir_merged_dir(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_rmdir(&fx->ovl.ctx, "/other"), -ENOTEMPTY);
    assert_int_equal(vfs_unlink(&fx->ovl.ctx, "/other/x"), 0);
    /* Empty in the merged view, though its upper copy holds a whiteout. */
    expect_names(fx, "/other", "");
    assert_true(upper_is_whiteout(fx, "other/x"));
    assert_int_equal(vfs_rmdir(&fx->ovl.ctx, "/other"), 0);
    struct stat st;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/other", &st), -ENOENT);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/other/x", &st), -ENOENT);
    assert_true(upper_is_whiteout(fx, "other"));

    /* An upper file makes it non-empty too. */
    put_file(&fx->ovl.ctx, "/empty/f", "f");
    assert_int_equal(vfs_rmdir(&fx->ovl.ctx, "/empty"), -ENOTEMPTY);
    assert_int_equal(vfs_unlink(&fx->ovl.ctx, "/empty/f"), 0);
    assert_int_equal(vfs_rmdir(&fx->ovl.ctx, "/empty"), 0);
    assert_true(upper_is_whiteout(fx, "empty"));
    assert_int_equal(vfs_rmdir(&fx->ovl.ctx, "/empty"), -ENOENT);
    expect_names(fx, "/", "big dir file hard1 hard2 link null secret");
}

static void test_mkdir_over_whiteout_is_opaque(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_unlink(&fx->ovl.ctx, "/dir/sub/deep"), 0);
    assert_int_equal(vfs_rmdir(&fx->ovl.ctx, "/dir/sub"), 0);
    assert_int_equal(vfs_mkdir(&fx->ovl.ctx, "/dir/sub", 0755), 0);
    assert_true(upper_is_opaque(fx, "dir/sub"));
    expect_names(fx, "/dir/sub", ""); /* the lower "deep" stays hidden */
    struct stat st;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/sub/deep", &st), -ENOENT);
    put_file(&fx->ovl.ctx, "/dir/sub/deep", "new deep");
    expect_content(fx, "/dir/sub/deep", "new deep");
    /* The opaque mark is the overlay's own: not visible as an xattr. */
    struct inode *sub = inode_at(&fx->ovl.ctx, "/dir/sub");
    char v[4];
    assert_int_equal(sub->ops->getxattr(sub, OVERLAY_XATTR_OPAQUE, v, sizeof(v)), -ENODATA);
    inode_put(sub);
    /* mkdir where nothing was below is not opaque. */
    assert_int_equal(vfs_mkdir(&fx->ovl.ctx, "/dir/plain", 0755), 0);
    assert_false(upper_is_opaque(fx, "dir/plain"));
}

/* ---- a pre-populated upper layer: whiteouts and opaque directories found by lookup ---- */

static void prepare_upper(struct fx *fx)
{
    struct inode *root = fx->upper_root->inode, *dir, *wh;
    assert_int_equal(root->ops->mkdir(root, "dir", S_IFDIR | 0755, &fx->root_cred, &dir), 0);
    assert_int_equal(dir->ops->setxattr(dir, OVERLAY_XATTR_OPAQUE, "y", 1, 0), 0);
    inode_put(dir);
    assert_int_equal(root->ops->mknod(root, "file", S_IFCHR, makedev(0, 0), &fx->root_cred, &wh),
                     0);
    inode_put(wh);
    /* A non-directory over a lower directory hides it. */
    assert_int_equal(root->ops->create(root, "other", S_IFREG | 0644, &fx->root_cred, &wh), 0);
    inode_put(wh);
}

static int fx_setup_prepared(void **state)
{
    *state = fx_create(prepare_upper);
    return 0;
}

static void test_lookup_rules(void **state)
{
    struct fx *fx = *state;
    expect_names(fx, "/", "big dir empty hard1 hard2 link null other secret");
    expect_names(fx, "/dir", ""); /* opaque */
    struct stat st;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/a", &st), -ENOENT);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/file", &st), -ENOENT); /* whited out */
    assert_int_equal(stat_path(&fx->ovl.ctx, "/other", &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_true((st.st_ino & OVERLAY_UPPER_INO_BIT) != 0);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/other/x", &st), -ENOTDIR);
    /* Creating over the whiteout replaces it. */
    put_file(&fx->ovl.ctx, "/file", "replaced");
    expect_content(fx, "/file", "replaced");
}

/* ---- rename ---- */

static void test_rename_lower_file(void **state)
{
    struct fx *fx = *state;
    struct stat before, after;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/a", &before), 0);
    assert_int_equal(vfs_rename(&fx->ovl.ctx, "/dir/a", &fx->ovl.ctx, "/moved", 0), 0);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/a", &after), -ENOENT);
    assert_true(upper_is_whiteout(fx, "dir/a"));
    expect_content(fx, "/moved", "a in lower");
    assert_int_equal(stat_path(&fx->ovl.ctx, "/moved", &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_uid, 1000);
    assert_int_equal(after.st_mtim.tv_sec, 1100000000);
    expect_names(fx, "/dir", "b sub");

    /* Over another lower file: the victim goes, no whiteout at the source's old upper name
     * beyond the one needed, and the new name shows the moved data. */
    assert_int_equal(vfs_rename(&fx->ovl.ctx, "/moved", &fx->ovl.ctx, "/dir/b", 0), 0);
    expect_content(fx, "/dir/b", "a in lower");
    assert_int_equal(stat_path(&fx->ovl.ctx, "/moved", &after), -ENOENT);
    assert_null(upper_at(fx, "moved")); /* upper-only name: no whiteout needed */
    expect_names(fx, "/dir", "b sub");
    /* And the moved object is still the one the dentry cache holds: writes go to it. */
    put_file(&fx->ovl.ctx, "/dir/b", "rewritten");
    expect_content(fx, "/dir/b", "rewritten");
}

static void test_rename_lower_dir_is_exdev(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_rename(&fx->ovl.ctx, "/dir", &fx->ovl.ctx, "/dir2", 0), -EXDEV);
    /* Copied up (merged) directories too. */
    put_file(&fx->ovl.ctx, "/other/y", "y");
    assert_int_equal(vfs_rename(&fx->ovl.ctx, "/other", &fx->ovl.ctx, "/other2", 0), -EXDEV);
    expect_names(fx, "/", "big dir empty file hard1 hard2 link null other secret");
}

static void test_rename_upper_dir(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_mkdir(&fx->ovl.ctx, "/new", 0755), 0);
    put_file(&fx->ovl.ctx, "/new/f", "f");
    assert_int_equal(vfs_rename(&fx->ovl.ctx, "/new", &fx->ovl.ctx, "/new2", 0), 0);
    expect_content(fx, "/new2/f", "f");
    assert_null(upper_at(fx, "new"));

    /* Over an empty lower directory: the result must not merge with it. */
    assert_int_equal(vfs_rename(&fx->ovl.ctx, "/new2", &fx->ovl.ctx, "/empty", 0), 0);
    expect_names(fx, "/empty", "f");
    assert_true(upper_is_opaque(fx, "empty"));
    /* Over a merged directory that is empty only in the merged view. */
    assert_int_equal(vfs_unlink(&fx->ovl.ctx, "/other/x"), 0);
    assert_int_equal(vfs_rename(&fx->ovl.ctx, "/empty", &fx->ovl.ctx, "/other", 0), 0);
    expect_names(fx, "/other", "f");
    struct stat st;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/other/x", &st), -ENOENT);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/empty", &st), -ENOENT);
    assert_true(upper_is_whiteout(fx, "empty"));
    /* Over a non-empty merged directory: ENOTEMPTY. */
    assert_int_equal(vfs_mkdir(&fx->ovl.ctx, "/new3", 0755), 0);
    assert_int_equal(vfs_rename(&fx->ovl.ctx, "/new3", &fx->ovl.ctx, "/dir", 0), -ENOTEMPTY);
}

static void test_rename_exchange_and_noreplace(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_rename(&fx->ovl.ctx, "/file", &fx->ovl.ctx, "/dir/a", RENAME_NOREPLACE),
                     -EEXIST);
    assert_int_equal(vfs_rename(&fx->ovl.ctx, "/file", &fx->ovl.ctx, "/dir/a", RENAME_EXCHANGE), 0);
    expect_content(fx, "/file", "a in lower");
    expect_content(fx, "/dir/a", "lower file");
    /* NOREPLACE onto a whited-out name works: the name is free in the merged view. */
    assert_int_equal(vfs_unlink(&fx->ovl.ctx, "/dir/b"), 0);
    assert_int_equal(vfs_rename(&fx->ovl.ctx, "/dir/a", &fx->ovl.ctx, "/dir/b", RENAME_NOREPLACE),
                     0);
    expect_content(fx, "/dir/b", "lower file");
    expect_names(fx, "/dir", "b sub");
}

/* ---- hard links ---- */

static void test_hard_link_lower_file(void **state)
{
    struct fx *fx = *state;
    struct stat a, b;
    assert_int_equal(stat_path(&fx->ovl.ctx, "/file", &a), 0);
    assert_int_equal(vfs_link(&fx->ovl.ctx, "/file", &fx->ovl.ctx, "/dir/file-link", 0), 0);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/file-link", &b), 0);
    assert_int_equal(b.st_ino, a.st_ino);
    assert_int_equal(b.st_nlink, 2);
    assert_int_equal(stat_path(&fx->ovl.ctx, "/file", &a), 0);
    assert_int_equal(a.st_nlink, 2);
    put_file(&fx->ovl.ctx, "/dir/file-link", "through the link");
    expect_content(fx, "/file", "through the link");
    assert_int_equal(vfs_unlink(&fx->ovl.ctx, "/file"), 0);
    expect_content(fx, "/dir/file-link", "through the link");
    assert_int_equal(stat_path(&fx->ovl.ctx, "/dir/file-link", &b), 0);
    assert_int_equal(b.st_nlink, 1);
    assert_true(upper_is_whiteout(fx, "file"));
    /* Linking over a whiteout. */
    assert_int_equal(vfs_link(&fx->ovl.ctx, "/dir/file-link", &fx->ovl.ctx, "/file", 0), 0);
    expect_content(fx, "/file", "through the link");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lower_visible_through_overlay, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_readdir_merges_without_duplicates, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_unlink_lower_file_leaves_whiteout, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_recreate_after_delete, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unlink_upper_only_file_leaves_no_whiteout, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_rmdir_merged_dir, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_mkdir_over_whiteout_is_opaque, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_lookup_rules, fx_setup_prepared, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rename_lower_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rename_lower_dir_is_exdev, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rename_upper_dir, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rename_exchange_and_noreplace, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hard_link_lower_file, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
