/* Unit tests for tmpfs file data (sparse pages, truncation, fallocate, mappables), size and inode
 * limits, statfs, xattrs and times, driven through the VFS's file API. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/falloc.h>
#include <linux/magic.h>
#include <sys/xattr.h>

#include "sentry/mm/mm.h"
#include "tmpfs_fixture.h"

#define PAGE TMPFS_PAGE_SIZE

static struct file *open_rw(struct fx *fx, const char *path)
{
    struct file *f;
    assert_int_equal(vfs_open(&fx->ctx, path, O_RDWR | O_CREAT, 0644, &f), 0);
    return f;
}

static bool all_bytes(const char *p, size_t len, char c)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != c)
            return false;
    return true;
}

static void test_sparse_file(void **state)
{
    struct fx *fx = *state;
    struct file *f = open_rw(fx, "/sparse");
    const int64_t off = 1 << 20;
    assert_int_equal(file_pwrite(f, "x", 1, off), 1);
    struct stat st;
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_size, off + 1);
    assert_int_equal(st.st_blocks, 8); /* one page, not 257 */
    char buf[PAGE];
    memset(buf, 'q', sizeof(buf));
    assert_int_equal(file_pread(f, buf, sizeof(buf), 4096), PAGE);
    assert_true(all_bytes(buf, PAGE, 0));
    assert_int_equal(file_pread(f, buf, sizeof(buf), off - 10), 11);
    assert_true(all_bytes(buf, 10, 0));
    assert_int_equal(buf[10], 'x');
    assert_int_equal(file_pread(f, buf, sizeof(buf), off + 1), 0);
    assert_int_equal(file_pread(f, buf, sizeof(buf), off + 100), 0);

    /* A write across a page boundary, read back across it. */
    char big[PAGE + 100];
    memset(big, 'b', sizeof(big));
    assert_int_equal(file_pwrite(f, big, sizeof(big), PAGE - 50), (ssize_t)sizeof(big));
    assert_int_equal(file_pread(f, buf, 200, PAGE - 100), 200);
    assert_true(all_bytes(buf, 50, 0));
    assert_true(all_bytes(buf + 50, 150, 'b'));
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_blocks, 4 * 8); /* pages 0-2 and the one at 1 MiB */

    /* Sequential writes through the file position, and O_APPEND. */
    assert_int_equal(file_llseek(f, 0, SEEK_END), off + 1);
    assert_int_equal(file_write(f, NULL, "yz", 2), 2);
    assert_int_equal(file_pread(f, buf, 3, off), 3);
    assert_memory_equal(buf, "xyz", 3);
    file_put(f);
}

static void test_truncate(void **state)
{
    struct fx *fx = *state;
    struct file *f = open_rw(fx, "/t");
    char data[10000];
    memset(data, 'a', sizeof(data));
    assert_int_equal(file_pwrite(f, data, sizeof(data), 0), (ssize_t)sizeof(data));
    struct vfs_setattr attr = {.mask = VFS_ATTR_SIZE, .size = 5000};
    assert_int_equal(vfs_setattr(f->inode, &fx->root_cred, &attr), 0);
    struct stat st;
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_size, 5000);
    assert_int_equal(st.st_blocks, 2 * 8);
    /* Growing again shows zeros where the cut data was, without allocating. */
    attr.size = 10000;
    assert_int_equal(vfs_setattr(f->inode, &fx->root_cred, &attr), 0);
    char buf[10000];
    assert_int_equal(file_pread(f, buf, sizeof(buf), 0), 10000);
    assert_true(all_bytes(buf, 5000, 'a'));
    assert_true(all_bytes(buf + 5000, 5000, 0));
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_blocks, 2 * 8);
    attr.size = 0;
    assert_int_equal(vfs_setattr(f->inode, &fx->root_cred, &attr), 0);
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_blocks, 0);
    assert_int_equal(file_pread(f, buf, sizeof(buf), 0), 0);
    attr.size = -1;
    assert_int_equal(vfs_setattr(f->inode, &fx->root_cred, &attr), -EINVAL);
    file_put(f);

    assert_int_equal(vfs_mkdir(&fx->ctx, "/dir", 0755), 0);
    struct inode *dir = fx_inode(fx, "/dir");
    attr.size = 0;
    assert_int_equal(vfs_setattr(dir, &fx->root_cred, &attr), -EISDIR);
    inode_put(dir);
}

static void test_fallocate(void **state)
{
    struct fx *fx = *state;
    struct file *f = open_rw(fx, "/fa");
    struct stat st;
    assert_int_equal(f->ops->fallocate(f, 0, 0, 3 * PAGE), 0);
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_size, 3 * PAGE);
    assert_int_equal(st.st_blocks, 3 * 8);
    assert_int_equal(f->ops->fallocate(f, FALLOC_FL_KEEP_SIZE, 3 * PAGE, 2 * PAGE), 0);
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_size, 3 * PAGE);
    assert_int_equal(st.st_blocks, 5 * 8);

    char data[3 * PAGE];
    memset(data, 'd', sizeof(data));
    assert_int_equal(file_pwrite(f, data, sizeof(data), 0), (ssize_t)sizeof(data));
    /* A hole from the middle of page 0 to the middle of page 2 frees page 1 only. */
    assert_int_equal(
        f->ops->fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 2 * PAGE), 0);
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_size, 3 * PAGE);
    assert_int_equal(st.st_blocks, 4 * 8);
    char buf[3 * PAGE];
    assert_int_equal(file_pread(f, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    assert_true(all_bytes(buf, 100, 'd'));
    assert_true(all_bytes(buf + 100, 2 * PAGE, 0));
    assert_true(all_bytes(buf + 100 + 2 * PAGE, PAGE - 100, 'd'));

    assert_int_equal(f->ops->fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, PAGE), -EOPNOTSUPP);
    assert_int_equal(f->ops->fallocate(f, FALLOC_FL_COLLAPSE_RANGE, 0, PAGE), -EOPNOTSUPP);
    assert_int_equal(f->ops->fallocate(f, 0, -1, PAGE), -EINVAL);
    assert_int_equal(f->ops->fallocate(f, 0, 0, 0), -EINVAL);
    assert_int_equal(f->ops->fallocate(f, 0, INT64_MAX - 10, 100), -EFBIG);
    file_put(f);
    assert_int_equal(vfs_open(&fx->ctx, "/fa", O_RDONLY, 0, &f), 0);
    assert_int_equal(f->ops->fallocate(f, 0, 0, PAGE), -EBADF);
    file_put(f);
}

static void test_efbig(void **state)
{
    struct fx *fx = *state;
    struct file *f = open_rw(fx, "/huge");
    assert_int_equal(file_pwrite(f, "abc", 3, TMPFS_MAX_FILE_SIZE), -EFBIG);
    /* Up to the limit: a short write. */
    assert_int_equal(file_pwrite(f, "abc", 3, TMPFS_MAX_FILE_SIZE - 2), 2);
    struct stat st;
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_size, TMPFS_MAX_FILE_SIZE);
    char buf[4];
    assert_int_equal(file_pread(f, buf, 4, TMPFS_MAX_FILE_SIZE - 3), 3);
    assert_memory_equal(buf, "\0ab", 3);
    file_put(f);
}

static void test_size_limit(void **state)
{
    struct tmpfs_options opts = {.root_mode = 01777, .size_limit = 4 * PAGE};
    struct fx *fx = fx_create(&opts);
    struct statfs sfs;
    struct vfs_path root = {fx->ns->root, fx->ns->root->root};
    assert_int_equal(vfs_statfs(&root, &sfs), 0);
    assert_int_equal(sfs.f_type, TMPFS_MAGIC);
    assert_int_equal(sfs.f_bsize, PAGE);
    assert_int_equal(sfs.f_blocks, 4);
    assert_int_equal(sfs.f_bfree, 4);
    assert_int_equal(sfs.f_namelen, 255);

    struct file *f = open_rw(fx, "/a");
    char data[3 * PAGE];
    memset(data, 'z', sizeof(data));
    assert_int_equal(file_pwrite(f, data, sizeof(data), 0), (ssize_t)sizeof(data));
    assert_int_equal(vfs_statfs(&root, &sfs), 0);
    assert_int_equal(sfs.f_bfree, 1);
    assert_int_equal(sfs.f_bavail, 1);
    /* Two pages asked, one left: a short write, then ENOSPC. */
    struct file *g = open_rw(fx, "/b");
    assert_int_equal(file_pwrite(g, data, 2 * PAGE, 0), PAGE);
    assert_int_equal(file_pwrite(g, data, 1, PAGE), -ENOSPC);
    /* A long symlink target takes a page too; a short one lives in the inode. */
    char target[200];
    memset(target, 't', sizeof(target) - 1);
    target[sizeof(target) - 1] = '\0';
    assert_int_equal(vfs_symlink(&fx->ctx, target, "/long"), -ENOSPC);
    assert_int_equal(vfs_symlink(&fx->ctx, "short", "/short"), 0);
    /* Rewriting an allocated page needs no space. */
    assert_int_equal(file_pwrite(g, data, 10, 0), 10);
    assert_int_equal(g->ops->fallocate(g, 0, 0, 2 * PAGE), -ENOSPC);
    struct stat st;
    assert_int_equal(file_stat(g, &st), 0);
    assert_int_equal(st.st_size, PAGE); /* a failed fallocate changes nothing */
    file_put(g);
    /* Freeing: truncation and unlinking the last name of a closed file give space back. */
    struct vfs_setattr attr = {.mask = VFS_ATTR_SIZE, .size = PAGE};
    assert_int_equal(vfs_setattr(f->inode, &fx->root_cred, &attr), 0);
    assert_int_equal(vfs_statfs(&root, &sfs), 0);
    assert_int_equal(sfs.f_bfree, 2);
    file_put(f);
    assert_int_equal(vfs_unlink(&fx->ctx, "/b"), 0);
    assert_int_equal(vfs_statfs(&root, &sfs), 0);
    assert_int_equal(sfs.f_bfree, 3);
    fx_destroy(fx);
}

static void test_inode_limit(void **state)
{
    struct tmpfs_options opts = {.root_mode = 0755, .nr_inodes = 3};
    struct fx *fx = fx_create(&opts);
    struct vfs_path root = {fx->ns->root, fx->ns->root->root};
    struct statfs sfs;
    assert_int_equal(vfs_statfs(&root, &sfs), 0);
    assert_int_equal(sfs.f_files, 3);
    assert_int_equal(sfs.f_ffree, 2);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/a", 0755), 0);
    assert_int_equal(vfs_symlink(&fx->ctx, "a", "/b"), 0);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/c", 0755), -ENOSPC);
    assert_int_equal(vfs_statfs(&root, &sfs), 0);
    assert_int_equal(sfs.f_ffree, 0);
    assert_int_equal(vfs_unlink(&fx->ctx, "/b"), 0);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/c", 0755), 0);
    fx_destroy(fx);
}

static void test_unlimited_statfs(void **state)
{
    struct fx *fx = *state;
    struct vfs_path root = {fx->ns->root, fx->ns->root->root};
    struct statfs sfs;
    assert_int_equal(vfs_statfs(&root, &sfs), 0);
    assert_int_equal(sfs.f_type, TMPFS_MAGIC);
    assert_int_equal(sfs.f_blocks, 0);
    assert_int_equal(sfs.f_files, 0);
    assert_true(tmpfs_is_tmpfs(fx->ns->root->sb));
}

static void test_mappable(void **state)
{
    struct fx *fx = *state;
    struct file *f = open_rw(fx, "/m");
    assert_int_equal(file_pwrite(f, "mapped", 6, 0), 6);
    struct mappable *m;
    assert_int_equal(f->ops->mmap(f, &m), 0);
    file_put(f);
    assert_int_equal(vfs_unlink(&fx->ctx, "/m"), 0); /* the mappable keeps the data */
    char buf[PAGE];
    memset(buf, 'q', sizeof(buf));
    assert_int_equal(m->ops->read(m, buf, sizeof(buf), 0), 6);
    assert_memory_equal(buf, "mapped", 6);
    assert_int_equal(m->ops->read(m, buf, sizeof(buf), PAGE), 0);
    m->ops->get(m);
    m->ops->put(m);
    assert_int_equal(m->ops->read(m, buf, 3, 3), 3);
    assert_memory_equal(buf, "ped", 3);
    m->ops->put(m);
}

static void test_times(void **state)
{
    struct fx *fx = *state;
    struct file *f = open_rw(fx, "/times");
    struct vfs_setattr attr = {
        .mask = VFS_ATTR_ATIME | VFS_ATTR_MTIME, .atime = {1, 0}, .mtime = {2, 0}};
    assert_int_equal(vfs_setattr(f->inode, &fx->root_cred, &attr), 0);
    struct stat st;
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_atim.tv_sec, 1);
    assert_int_equal(st.st_mtim.tv_sec, 2);
    assert_true(st.st_ctim.tv_sec > 1000);
    char buf[4];
    assert_int_equal(file_pread(f, buf, sizeof(buf), 0), 0);
    assert_int_equal(file_pwrite(f, "w", 1, 0), 1);
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_atim.tv_sec, 1); /* reads leave atime */
    assert_true(st.st_mtim.tv_sec > 1000);
    file_put(f);

    /* Creating in a directory changes its mtime. */
    struct inode *root = fx->ns->root->root->inode;
    attr.mask = VFS_ATTR_MTIME;
    assert_int_equal(vfs_setattr(root, &fx->root_cred, &attr), 0);
    assert_int_equal(root->mtime.tv_sec, 2);
    fx_write(fx, "/new", "n");
    assert_true(root->mtime.tv_sec > 1000);
}

static void test_xattrs(void **state)
{
    struct fx *fx = *state;
    fx_write(fx, "/x", "");
    struct inode *inode = fx_inode(fx, "/x");
    const struct inode_ops *ops = inode->ops;
    char buf[64];
    assert_int_equal(ops->getxattr(inode, "user.a", buf, sizeof(buf)), -ENODATA);
    assert_int_equal(ops->listxattr(inode, buf, sizeof(buf)), 0);
    assert_int_equal(ops->setxattr(inode, "user.a", "1234", 4, 0), 0);
    assert_int_equal(ops->setxattr(inode, "trusted.overlay.opaque", "y", 1, XATTR_CREATE), 0);
    assert_int_equal(ops->setxattr(inode, "user.a", "x", 1, XATTR_CREATE), -EEXIST);
    assert_int_equal(ops->setxattr(inode, "user.b", "x", 1, XATTR_REPLACE), -ENODATA);
    assert_int_equal(ops->setxattr(inode, "user.empty", "", 0, 0), 0);
    assert_int_equal(ops->getxattr(inode, "user.empty", buf, sizeof(buf)), 0);
    assert_int_equal(ops->getxattr(inode, "user.a", NULL, 0), 4);
    assert_int_equal(ops->getxattr(inode, "user.a", buf, 3), -ERANGE);
    assert_int_equal(ops->getxattr(inode, "user.a", buf, 4), 4);
    assert_memory_equal(buf, "1234", 4);
    assert_int_equal(ops->setxattr(inode, "user.a", "56", 2, XATTR_REPLACE), 0);
    assert_int_equal(ops->getxattr(inode, "user.a", buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "56", 2);

    const char names[] = "user.a\0trusted.overlay.opaque\0user.empty";
    assert_int_equal(ops->listxattr(inode, NULL, 0), sizeof(names));
    assert_int_equal(ops->listxattr(inode, buf, 5), -ERANGE);
    assert_int_equal(ops->listxattr(inode, buf, sizeof(buf)), sizeof(names));
    assert_memory_equal(buf, names, sizeof(names));

    assert_int_equal(ops->removexattr(inode, "user.a"), 0);
    assert_int_equal(ops->removexattr(inode, "user.a"), -ENODATA);
    assert_int_equal(ops->getxattr(inode, "user.a", buf, sizeof(buf)), -ENODATA);
    assert_int_equal(ops->setxattr(inode, "bogus.a", "x", 1, 0), -EOPNOTSUPP);
    assert_int_equal(ops->setxattr(inode, "user.", "x", 1, 0), -EINVAL);
    assert_int_equal(ops->setxattr(inode, "user.a", "x", 1, 4), -EINVAL);
    char *big = calloc(1, 65537);
    assert_non_null(big);
    assert_int_equal(ops->setxattr(inode, "user.big", big, 65537, 0), -E2BIG);
    assert_int_equal(ops->setxattr(inode, "user.big", big, 65536, 0), 0);
    free(big);
    char longname[300];
    memset(longname, 'n', sizeof(longname));
    memcpy(longname, "user.", 5);
    longname[299] = '\0';
    assert_int_equal(ops->setxattr(inode, longname, "x", 1, 0), -ERANGE);
    inode_put(inode);

    /* user. attributes only on regular files and directories. */
    assert_int_equal(vfs_symlink(&fx->ctx, "x", "/sl"), 0);
    inode = fx_inode(fx, "/sl");
    assert_int_equal(ops->setxattr(inode, "user.a", "x", 1, 0), -EPERM);
    assert_int_equal(ops->setxattr(inode, "trusted.a", "x", 1, 0), 0);
    assert_int_equal(ops->getxattr(inode, "trusted.a", buf, sizeof(buf)), 1);
    inode_put(inode);
}

/* Concurrent writers to disjoint ranges of one file and a reader: data lands intact. */
struct writer_arg {
    struct file *f;
    char byte;
};

static void *writer(void *p)
{
    struct writer_arg *a = p;
    char page[PAGE];
    memset(page, a->byte, sizeof(page));
    for (int i = 0; i < 64; i++)
        if (file_pwrite(a->f, page, sizeof(page), ((int64_t)i * 2 + (a->byte - 'a')) * PAGE) !=
            PAGE)
            return (void *)1;
    return NULL;
}

static void test_concurrent_writes(void **state)
{
    struct fx *fx = *state;
    struct file *f = open_rw(fx, "/c");
    pthread_t t[2];
    struct writer_arg args[2] = {{f, 'a'}, {f, 'b'}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, &args[i]), 0);
    for (int i = 0; i < 2; i++) {
        void *ret;
        assert_int_equal(pthread_join(t[i], &ret), 0);
        assert_null(ret);
    }
    char page[PAGE];
    for (int i = 0; i < 128; i++) {
        assert_int_equal(file_pread(f, page, sizeof(page), (int64_t)i * PAGE), PAGE);
        assert_true(all_bytes(page, PAGE, i % 2 ? 'b' : 'a'));
    }
    file_put(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sparse_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_truncate, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fallocate, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_efbig, fx_setup, fx_teardown),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_inode_limit),
        cmocka_unit_test_setup_teardown(test_unlimited_statfs, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_mappable, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_times, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_xattrs, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writes, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
