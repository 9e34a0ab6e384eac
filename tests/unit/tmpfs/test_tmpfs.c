/* Unit tests for sentry/fs/tmpfs through the VFS: names, directories, links, symlinks, renames,
 * permissions and mounts, with the errnos Linux gives. Data, xattrs and limits are in
 * test_tmpfs_data.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <linux/fs.h>
#include <sys/sysmacros.h>

#include "tmpfs_fixture.h"

/* ---- getdents into a list of names ---- */

struct names {
    struct dir_emit e;
    char buf[4096];
    size_t len;
    int limit; /* entries to accept before refusing; -1: all */
};

static bool names_emit(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                       unsigned char type, int64_t next_pos)
{
    struct names *n = (struct names *)e;
    if (n->limit == 0)
        return false;
    if (n->limit > 0)
        n->limit--;
    assert_true(n->len + len + 2 < sizeof(n->buf));
    memcpy(n->buf + n->len, name, len);
    n->len += len;
    n->buf[n->len++] = ' ';
    n->buf[n->len] = '\0';
    return true;
}

/* The names in `path` as "a b c " in getdents order, "." and ".." included. */
static const char *list_dir(struct fx *fx, const char *path, struct names *n)
{
    *n = (struct names){.e.emit = names_emit, .limit = -1};
    struct file *f;
    assert_int_equal(vfs_open(&fx->ctx, path, O_RDONLY | O_DIRECTORY, 0, &f), 0);
    while (file_getdents(f, &n->e) > 0)
        ;
    file_put(f);
    return n->buf;
}

/* ---- creation and lookup ---- */

static void test_create_write_read(void **state)
{
    struct fx *fx = *state;
    fx_write(fx, "/hello", "hello, world");
    char buf[64];
    assert_int_equal(fx_read(fx, "/hello", buf, sizeof(buf)), 12);
    assert_string_equal(buf, "hello, world");
    struct stat st;
    assert_int_equal(fx_stat(fx, "/hello", false, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0644 & ~022);
    assert_int_equal(st.st_size, 12);
    assert_int_equal(st.st_nlink, 1);
    assert_int_equal(st.st_blocks, 8);

    struct file *f;
    assert_int_equal(vfs_open(&fx->ctx, "/hello", O_CREAT | O_EXCL | O_WRONLY, 0600, &f), -EEXIST);
    assert_int_equal(vfs_open(&fx->ctx, "/nothing", O_RDONLY, 0, &f), -ENOENT);
    assert_int_equal(vfs_open(&fx->ctx, "/hello/x", O_RDONLY, 0, &f), -ENOTDIR);
    assert_int_equal(vfs_open(&fx->ctx, "/hello/", O_RDONLY, 0, &f), -ENOTDIR);
    assert_int_equal(vfs_open(&fx->ctx, "/", O_WRONLY, 0, &f), -EISDIR);
    assert_int_equal(vfs_open(&fx->ctx, "/hello", O_RDONLY | O_DIRECTORY, 0, &f), -ENOTDIR);

    /* O_TRUNC empties it. */
    assert_int_equal(vfs_open(&fx->ctx, "/hello", O_WRONLY | O_TRUNC, 0, &f), 0);
    file_put(f);
    assert_int_equal(fx_read(fx, "/hello", buf, sizeof(buf)), 0);
    assert_int_equal(fx_stat(fx, "/hello", false, &st), 0);
    assert_int_equal(st.st_blocks, 0);
}

static void test_mkdir_errors(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_mkdir(&fx->ctx, "/d", 0755), 0);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/d", 0755), -EEXIST);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/d/e/f", 0755), -ENOENT);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/d/e/", 0755), 0);
    fx_write(fx, "/file", "x");
    assert_int_equal(vfs_mkdir(&fx->ctx, "/file/sub", 0755), -ENOTDIR);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/file", 0755), -EEXIST);
    fx_write(fx, "/d/e/inner", "y");
    assert_int_equal(vfs_rmdir(&fx->ctx, "/d"), -ENOTEMPTY);
    assert_int_equal(vfs_rmdir(&fx->ctx, "/file"), -ENOTDIR);
    assert_int_equal(vfs_unlink(&fx->ctx, "/d"), -EISDIR);
    assert_int_equal(vfs_unlink(&fx->ctx, "/d/e/inner"), 0);
    assert_int_equal(vfs_unlink(&fx->ctx, "/d/e/inner"), -ENOENT);
    assert_int_equal(vfs_rmdir(&fx->ctx, "/d/e"), 0);
    assert_int_equal(vfs_rmdir(&fx->ctx, "/d"), 0);
    assert_false(fx_exists(fx, "/d"));
}

static void test_name_too_long(void **state)
{
    struct fx *fx = *state;
    char name[NAME_MAX + 3];
    name[0] = '/';
    memset(name + 1, 'n', NAME_MAX + 1);
    name[NAME_MAX + 2] = '\0';
    struct file *f;
    assert_int_equal(vfs_open(&fx->ctx, name, O_CREAT | O_WRONLY, 0644, &f), -ENAMETOOLONG);
    assert_int_equal(vfs_mkdir(&fx->ctx, name, 0755), -ENAMETOOLONG);
    name[NAME_MAX + 1] = '\0'; /* exactly NAME_MAX: fine */
    assert_int_equal(vfs_mkdir(&fx->ctx, name, 0755), 0);
    assert_true(fx_exists(fx, name));
}

static void test_dir_nlink(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(fx_nlink(fx, "/"), 2);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/a", 0755), 0);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/a/b", 0755), 0);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/a/c", 0755), 0);
    fx_write(fx, "/a/file", "z");
    assert_int_equal(fx_nlink(fx, "/"), 3);
    assert_int_equal(fx_nlink(fx, "/a"), 4);
    assert_int_equal(fx_nlink(fx, "/a/b"), 2);
    struct stat st;
    assert_int_equal(fx_stat(fx, "/a", false, &st), 0);
    assert_int_equal(st.st_size, 5 * 20); /* two for . and .., one per entry */
    assert_int_equal(vfs_rmdir(&fx->ctx, "/a/b"), 0);
    assert_int_equal(fx_nlink(fx, "/a"), 3);
}

static void test_hard_links(void **state)
{
    struct fx *fx = *state;
    fx_write(fx, "/f", "shared");
    assert_int_equal(vfs_link(&fx->ctx, "/f", &fx->ctx, "/g", 0), 0);
    assert_int_equal(fx_nlink(fx, "/f"), 2);
    assert_int_equal(vfs_link(&fx->ctx, "/f", &fx->ctx, "/g", 0), -EEXIST);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/dir", 0755), 0);
    assert_int_equal(vfs_link(&fx->ctx, "/dir", &fx->ctx, "/dir2", 0), -EPERM);
    assert_int_equal(vfs_link(&fx->ctx, "/missing", &fx->ctx, "/h", 0), -ENOENT);
    struct stat a, b;
    assert_int_equal(fx_stat(fx, "/f", false, &a), 0);
    assert_int_equal(fx_stat(fx, "/g", false, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    fx_write(fx, "/g", "changed");
    char buf[32];
    assert_int_equal(fx_read(fx, "/f", buf, sizeof(buf)), 7);
    assert_string_equal(buf, "changed");
    assert_int_equal(vfs_unlink(&fx->ctx, "/f"), 0);
    assert_int_equal(fx_nlink(fx, "/g"), 1);
    assert_int_equal(fx_read(fx, "/g", buf, sizeof(buf)), 7);
}

static void test_unlinked_open_file(void **state)
{
    struct fx *fx = *state;
    fx_write(fx, "/gone", "still here");
    struct file *f;
    assert_int_equal(vfs_open(&fx->ctx, "/gone", O_RDWR, 0, &f), 0);
    assert_int_equal(vfs_unlink(&fx->ctx, "/gone"), 0);
    assert_false(fx_exists(fx, "/gone"));
    char buf[16] = {0};
    assert_int_equal(file_pread(f, buf, sizeof(buf), 0), 10);
    assert_string_equal(buf, "still here");
    struct stat st;
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_nlink, 0);
    /* An unlinked file can't be linked back by name. */
    struct inode *root = fx->ns->root->root->inode;
    assert_int_equal(root->ops->link(root, "back", f->inode), -ENOENT);
    file_put(f);
}

static void test_readdir_order(void **state)
{
    struct fx *fx = *state;
    struct names n;
    assert_string_equal(list_dir(fx, "/", &n), ". .. ");
    fx_write(fx, "/c", "");
    assert_int_equal(vfs_mkdir(&fx->ctx, "/a", 0755), 0);
    assert_int_equal(vfs_symlink(&fx->ctx, "c", "/b"), 0);
    assert_string_equal(list_dir(fx, "/", &n), ". .. c a b ");
    assert_int_equal(vfs_rmdir(&fx->ctx, "/a"), 0);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/a", 0755), 0);
    assert_string_equal(list_dir(fx, "/", &n), ". .. c b a ");

    /* Types and a listing resumed across calls. */
    struct dir_list l = {0};
    struct inode *root = fx->ns->root->root->inode;
    assert_int_equal(root->ops->readdir(root, &l), 0);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.entries[0].type, DT_REG);
    assert_int_equal(l.entries[1].type, DT_LNK);
    assert_int_equal(l.entries[2].type, DT_DIR);
    dir_list_free(&l);

    struct file *f;
    assert_int_equal(vfs_open(&fx->ctx, "/", O_RDONLY | O_DIRECTORY, 0, &f), 0);
    n = (struct names){.e.emit = names_emit, .limit = 3};
    assert_int_equal(file_getdents(f, &n.e), 3);
    n.limit = -1;
    assert_int_equal(file_getdents(f, &n.e), 2);
    assert_int_equal(file_getdents(f, &n.e), 0);
    assert_string_equal(n.buf, ". .. c b a ");
    file_put(f);
}

static void test_symlinks(void **state)
{
    struct fx *fx = *state;
    fx_write(fx, "/target", "via link");
    assert_int_equal(vfs_symlink(&fx->ctx, "target", "/link"), 0);
    assert_int_equal(vfs_symlink(&fx->ctx, "target", "/link"), -EEXIST);
    char buf[64];
    assert_int_equal(vfs_readlink(&fx->ctx, "/link", buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "target", 6);
    assert_int_equal(vfs_readlink(&fx->ctx, "/link", buf, 3), 3);
    assert_memory_equal(buf, "tar", 3);
    assert_int_equal(vfs_readlink(&fx->ctx, "/target", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(fx_read(fx, "/link", buf, sizeof(buf)), 8);
    assert_string_equal(buf, "via link");
    struct stat st;
    assert_int_equal(fx_stat(fx, "/link", false, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(st.st_size, 6);
    assert_int_equal(st.st_mode & 07777, 0777);

    struct file *f;
    assert_int_equal(vfs_open(&fx->ctx, "/link", O_RDONLY | O_NOFOLLOW, 0, &f), -ELOOP);
    assert_int_equal(vfs_symlink(&fx->ctx, "loop2", "/loop1"), 0);
    assert_int_equal(vfs_symlink(&fx->ctx, "loop1", "/loop2"), 0);
    assert_int_equal(vfs_open(&fx->ctx, "/loop1", O_RDONLY, 0, &f), -ELOOP);
    assert_int_equal(vfs_symlink(&fx->ctx, "/nowhere", "/dangling"), 0);
    assert_int_equal(vfs_open(&fx->ctx, "/dangling", O_RDONLY, 0, &f), -ENOENT);
    /* O_CREAT through a dangling link creates its target. */
    assert_int_equal(vfs_open(&fx->ctx, "/dangling", O_CREAT | O_WRONLY, 0644, &f), 0);
    file_put(f);
    assert_true(fx_exists(fx, "/nowhere"));

    /* A directory link in the middle of a path, and an absolute target. */
    assert_int_equal(vfs_mkdir(&fx->ctx, "/real", 0755), 0);
    fx_write(fx, "/real/in", "inside");
    assert_int_equal(vfs_symlink(&fx->ctx, "/real", "/alias"), 0);
    assert_int_equal(fx_read(fx, "/alias/in", buf, sizeof(buf)), 6);
    assert_int_equal(vfs_symlink(&fx->ctx, "", "/empty"), -ENOENT);

    /* A target too long for a page (shmem_symlink). */
    char *longt = malloc(TMPFS_PAGE_SIZE + 1);
    assert_non_null(longt);
    memset(longt, 'x', TMPFS_PAGE_SIZE);
    longt[TMPFS_PAGE_SIZE] = '\0';
    struct inode *root = fx->ns->root->root->inode, *out;
    assert_int_equal(root->ops->symlink(root, "long", longt, &fx->root_cred, &out), -ENAMETOOLONG);
    longt[200] = '\0';
    assert_int_equal(root->ops->symlink(root, "long", longt, &fx->root_cred, &out), 0);
    assert_int_equal(out->blocks, 8);
    inode_put(out);
    free(longt);
}

static void test_permissions(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_mkdir(&fx->ctx, "/secret", 0700), 0);
    fx_write(fx, "/secret/file", "hidden");
    struct file *f;
    assert_int_equal(vfs_open(&fx->user, "/secret/file", O_RDONLY, 0, &f), -EACCES);
    assert_int_equal(vfs_open(&fx->user, "/secret/new", O_CREAT | O_WRONLY, 0644, &f), -EACCES);
    assert_int_equal(vfs_mkdir(&fx->user, "/secret/d", 0755), -EACCES);
    assert_int_equal(vfs_open(&fx->user, "/secret", O_RDONLY, 0, &f), -EACCES);

    /* The user's own files in the sticky root: created with the user's ids. */
    assert_int_equal(vfs_open(&fx->user, "/mine", O_CREAT | O_WRONLY, 0600, &f), 0);
    file_put(f);
    struct stat st;
    assert_int_equal(fx_stat(fx, "/mine", false, &st), 0);
    assert_int_equal(st.st_uid, 1000);
    assert_int_equal(st.st_gid, 1000);
    /* Root's file in the sticky root can't be removed by the user. */
    fx_write(fx, "/roots", "r");
    assert_int_equal(vfs_unlink(&fx->user, "/roots"), -EPERM);
    assert_int_equal(vfs_unlink(&fx->user, "/mine"), 0);

    /* setattr: chmod by a non-owner fails; the owner may. */
    struct inode *inode = fx_inode(fx, "/roots");
    struct vfs_setattr attr = {.mask = VFS_ATTR_MODE, .mode = 0600};
    assert_int_equal(vfs_setattr(inode, &fx->user_cred, &attr), -EPERM);
    assert_int_equal(vfs_setattr(inode, &fx->root_cred, &attr), 0);
    assert_int_equal(inode->mode, S_IFREG | 0600);
    inode_put(inode);
}

static void test_setgid_dir(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_mkdir(&fx->ctx, "/sg", 0777), 0);
    struct inode *dir = fx_inode(fx, "/sg");
    struct vfs_setattr attr = {.mask = VFS_ATTR_MODE | VFS_ATTR_GID, .mode = 02777, .gid = 50};
    assert_int_equal(vfs_setattr(dir, &fx->root_cred, &attr), 0);
    inode_put(dir);
    assert_int_equal(vfs_mkdir(&fx->user, "/sg/sub", 0755), 0);
    struct stat st;
    assert_int_equal(fx_stat(fx, "/sg/sub", false, &st), 0);
    assert_int_equal(st.st_gid, 50);
    assert_true(st.st_mode & S_ISGID);
    assert_int_equal(st.st_uid, 1000);
}

/* ---- renames ---- */

static void test_rename_basic(void **state)
{
    struct fx *fx = *state;
    fx_write(fx, "/a", "A");
    fx_write(fx, "/b", "B");
    assert_int_equal(vfs_rename(&fx->ctx, "/a", &fx->ctx, "/b", 0), 0);
    assert_false(fx_exists(fx, "/a"));
    char buf[8];
    assert_int_equal(fx_read(fx, "/b", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "A");
    assert_int_equal(vfs_rename(&fx->ctx, "/missing", &fx->ctx, "/b", 0), -ENOENT);

    /* NOREPLACE */
    fx_write(fx, "/c", "C");
    assert_int_equal(vfs_rename(&fx->ctx, "/c", &fx->ctx, "/b", RENAME_NOREPLACE), -EEXIST);
    assert_int_equal(vfs_rename(&fx->ctx, "/c", &fx->ctx, "/d", RENAME_NOREPLACE), 0);

    /* Type mismatches and directories. */
    assert_int_equal(vfs_mkdir(&fx->ctx, "/dir", 0755), 0);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/empty", 0755), 0);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/full", 0755), 0);
    fx_write(fx, "/full/x", "x");
    assert_int_equal(vfs_rename(&fx->ctx, "/d", &fx->ctx, "/dir", 0), -EISDIR);
    assert_int_equal(vfs_rename(&fx->ctx, "/dir", &fx->ctx, "/d", 0), -ENOTDIR);
    assert_int_equal(vfs_rename(&fx->ctx, "/dir", &fx->ctx, "/full", 0), -ENOTEMPTY);
    assert_int_equal(vfs_rename(&fx->ctx, "/dir", &fx->ctx, "/dir/sub", 0), -EINVAL);
    assert_int_equal(fx_nlink(fx, "/"), 5);
    assert_int_equal(vfs_rename(&fx->ctx, "/dir", &fx->ctx, "/empty", 0), 0);
    assert_false(fx_exists(fx, "/dir"));
    assert_int_equal(fx_nlink(fx, "/"), 4);

    /* A directory moving between parents carries its ".." link. */
    assert_int_equal(vfs_rename(&fx->ctx, "/empty", &fx->ctx, "/full/moved", 0), 0);
    assert_int_equal(fx_nlink(fx, "/"), 3);
    assert_int_equal(fx_nlink(fx, "/full"), 3);
    struct names n;
    assert_string_equal(list_dir(fx, "/full", &n), ". .. x moved ");
    /* Replacing an empty directory in another parent. */
    assert_int_equal(vfs_mkdir(&fx->ctx, "/other", 0755), 0);
    assert_int_equal(vfs_rename(&fx->ctx, "/other", &fx->ctx, "/full/moved", 0), 0);
    assert_int_equal(fx_nlink(fx, "/"), 3);
    assert_int_equal(fx_nlink(fx, "/full"), 3);
}

static void test_rename_hard_link_noop(void **state)
{
    struct fx *fx = *state;
    fx_write(fx, "/one", "1");
    assert_int_equal(vfs_link(&fx->ctx, "/one", &fx->ctx, "/two", 0), 0);
    struct file *f;
    assert_int_equal(vfs_open(&fx->ctx, "/two", O_RDONLY, 0, &f), 0);
    /* rename(2): two names of one file: nothing happens, both stay, no name goes stale. */
    assert_int_equal(vfs_rename(&fx->ctx, "/one", &fx->ctx, "/two", 0), 0);
    assert_false(f->path.dentry->dead);
    assert_string_equal(f->path.dentry->name, "two");
    file_put(f);
    assert_true(fx_exists(fx, "/one"));
    assert_true(fx_exists(fx, "/two"));
    assert_int_equal(fx_nlink(fx, "/one"), 2);
}

static void test_rename_exchange(void **state)
{
    struct fx *fx = *state;
    fx_write(fx, "/f", "file");
    assert_int_equal(vfs_mkdir(&fx->ctx, "/p", 0755), 0);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/p/d", 0755), 0);
    fx_write(fx, "/p/d/inner", "in");
    assert_int_equal(vfs_rename(&fx->ctx, "/f", &fx->ctx, "/nope", RENAME_EXCHANGE), -ENOENT);
    assert_int_equal(
        vfs_rename(&fx->ctx, "/f", &fx->ctx, "/p/d", RENAME_EXCHANGE | RENAME_NOREPLACE), -EINVAL);
    assert_int_equal(fx_nlink(fx, "/"), 3);
    assert_int_equal(fx_nlink(fx, "/p"), 3);
    assert_int_equal(vfs_rename(&fx->ctx, "/f", &fx->ctx, "/p/d", RENAME_EXCHANGE), 0);
    /* Now /f is the directory and /p/d the file; link counts follow the directory. */
    char buf[16];
    assert_int_equal(fx_read(fx, "/f/inner", buf, sizeof(buf)), 2);
    assert_int_equal(fx_read(fx, "/p/d", buf, sizeof(buf)), 4);
    assert_string_equal(buf, "file");
    assert_int_equal(fx_nlink(fx, "/"), 4);
    assert_int_equal(fx_nlink(fx, "/p"), 2);
    /* Exchanging a directory with its own child's parent is refused. */
    assert_int_equal(vfs_rename(&fx->ctx, "/f/inner", &fx->ctx, "/f", RENAME_EXCHANGE), -EINVAL);
    struct names n;
    assert_string_equal(list_dir(fx, "/", &n), ". .. f p ");
}

/* ---- mounts ---- */

static void test_exdev_across_mounts(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_mkdir(&fx->ctx, "/mnt", 0755), 0);
    struct super_block *sb;
    struct dentry *root;
    struct tmpfs_options opts = {.root_mode = 0755};
    assert_int_equal(tmpfs_create(&opts, &sb, &root), 0);
    struct vfs_path at;
    assert_int_equal(vfs_walk(&fx->ctx, "/mnt", 0, &at), 0);
    assert_int_equal(mount_ns_add(fx->ns, &at, sb, root, "tmpfs", "", 0), 0);
    vfs_path_put(&at);

    fx_write(fx, "/f", "outer");
    fx_write(fx, "/mnt/g", "inner");
    assert_int_equal(vfs_rename(&fx->ctx, "/f", &fx->ctx, "/mnt/f", 0), -EXDEV);
    assert_int_equal(vfs_link(&fx->ctx, "/f", &fx->ctx, "/mnt/f", 0), -EXDEV);
    assert_int_equal(vfs_rename(&fx->ctx, "/mnt/g", &fx->ctx, "/g", 0), -EXDEV);
    assert_int_equal(vfs_rmdir(&fx->ctx, "/mnt"), -EBUSY);
    struct stat st;
    assert_int_equal(fx_stat(fx, "/mnt", true, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_dev, sb->dev);
    /* ".." from the mounted root climbs back into the parent mount. */
    assert_int_equal(fx_stat(fx, "/mnt/../f", true, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    struct names n;
    assert_string_equal(list_dir(fx, "/mnt", &n), ". .. g ");
}

/* A tree shared by two namespaces: when one goes, its mount no longer pins the other's
 * directory, and the tree stays whole for the survivor. */
static void test_namespace_teardown_shared_tree(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_mkdir(&fx->ctx, "/mnt", 0755), 0);
    assert_int_equal(vfs_mkdir(&fx->ctx, "/keep", 0755), 0);
    fx_write(fx, "/keep/file", "kept");
    struct dentry *shared = fx->ns->root->root;
    dentry_get(shared);
    struct mount_ns *ns2;
    assert_int_equal(mount_ns_create(fx->ns->root->sb, shared, "tmpfs", 0, &ns2), 0);
    struct vfs_path root2 = {ns2->root, shared};
    struct fs_context *fs2 = fs_context_create(ns2, &root2);
    assert_non_null(fs2);
    struct walk_ctx ctx2 = {fs2, &fx->root_cred, fs2->root, 0};

    struct super_block *sb;
    struct dentry *root;
    assert_int_equal(tmpfs_create(NULL, &sb, &root), 0);
    struct vfs_path at;
    assert_int_equal(vfs_walk(&ctx2, "/mnt", 0, &at), 0);
    assert_int_equal(mount_ns_add(ns2, &at, sb, root, "tmpfs", "", 0), 0);
    vfs_path_put(&at);
    assert_int_equal(vfs_rmdir(&fx->ctx, "/mnt"), -EBUSY);
    struct file *held; /* keeps the /mnt dentry from being pruned with ns2 */
    assert_int_equal(vfs_open(&fx->ctx, "/mnt", O_PATH, 0, &held), 0);
    fs_context_put(fs2);
    mount_ns_put(ns2);
    assert_false(held->path.dentry->dead);
    file_put(held);
    char buf[8];
    assert_int_equal(fx_read(fx, "/keep/file", buf, sizeof(buf)), 4);
    assert_int_equal(vfs_rmdir(&fx->ctx, "/mnt"), 0);
}

/* ---- special files ---- */

static int hook_calls;
static dev_t hook_rdev;

static int counting_hook(struct inode *inode, int flags, struct file **out)
{
    hook_calls++;
    hook_rdev = inode->rdev;
    return -EPERM;
}

static void test_special_files(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(vfs_mknod(&fx->ctx, "/fifo", S_IFIFO | 0644, 0), 0);
    assert_int_equal(vfs_mknod(&fx->ctx, "/null", S_IFCHR | 0666, makedev(1, 3)), 0);
    assert_int_equal(vfs_mknod(&fx->ctx, "/sock", S_IFSOCK | 0644, 0), 0);
    assert_int_equal(vfs_mknod(&fx->user, "/chr", S_IFCHR | 0666, makedev(1, 3)), -EPERM);
    assert_int_equal(vfs_mknod(&fx->ctx, "/fifo", S_IFIFO | 0644, 0), -EEXIST);
    struct stat st;
    assert_int_equal(fx_stat(fx, "/null", false, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(1, 3));
    assert_int_equal(fx_stat(fx, "/fifo", false, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));

    struct file *f;
    assert_int_equal(vfs_open(&fx->ctx, "/fifo", O_RDONLY | O_NONBLOCK, 0, &f), -ENXIO);
    tmpfs_set_special_open(counting_hook);
    hook_calls = 0;
    assert_int_equal(vfs_open(&fx->ctx, "/null", O_RDWR, 0, &f), -EPERM);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_rdev, makedev(1, 3));
    tmpfs_set_special_open(NULL);
    assert_int_equal(vfs_open(&fx->ctx, "/null", O_RDWR, 0, &f), -ENXIO);
    assert_int_equal(hook_calls, 1);
    struct names n;
    assert_string_equal(list_dir(fx, "/", &n), ". .. fifo null sock ");
}

/* A deep tree made without dentries is freed without recursion when its root goes. */
static void test_deep_tree_teardown(void **state)
{
    struct super_block *sb;
    struct dentry *root;
    assert_int_equal(tmpfs_create(NULL, &sb, &root), 0);
    struct vfs_cred cred = {.dac_override = true};
    struct inode *dir = root->inode;
    inode_get(dir);
    for (int i = 0; i < 100000; i++) {
        struct inode *sub;
        assert_int_equal(dir->ops->mkdir(dir, "d", 0755, &cred, &sub), 0);
        inode_put(dir);
        dir = sub;
    }
    inode_put(dir);
    dentry_put(root); /* frees everything, super block included (ASan checks) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_write_read, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_mkdir_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_name_too_long, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dir_nlink, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hard_links, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unlinked_open_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_readdir_order, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_symlinks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_permissions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_setgid_dir, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rename_basic, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rename_hard_link_noop, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rename_exchange, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_exdev_across_mounts, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_namespace_teardown_shared_tree, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_special_files, fx_setup, fx_teardown),
        cmocka_unit_test(test_deep_tree_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
