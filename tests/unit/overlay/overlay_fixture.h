/* An overlay of two tmpfs layers mounted as a namespace's root, for the overlay unit tests. The
 * lower layer is populated through its own namespace, snapshotted (names, attributes, contents,
 * xattrs), and compared with the snapshot at teardown: the overlay must never change it. The
 * upper layer is inspected through its inode ops only (its dentry cache is not the overlay's).
 * Include after cmocka.h. */
#ifndef RUNSC_TESTS_UNIT_OVERLAY_FIXTURE_H
#define RUNSC_TESTS_UNIT_OVERLAY_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sentry/fs/overlay/overlay.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/vfs/vfs.h"

struct ns_ctx {
    struct mount_ns *ns;
    struct fs_context *fs;
    struct walk_ctx ctx;
};

struct fx {
    struct vfs_cred root_cred, user_cred;
    struct ns_ctx lower; /* only read once the overlay exists */
    struct ns_ctx ovl;
    struct walk_ctx user; /* the overlay as uid/gid 1000 without capabilities */
    struct dentry *upper_root;
    struct super_block *ovl_sb;
    char *lower_snapshot;
};

static inline void ns_ctx_init(struct ns_ctx *n, struct super_block *sb, struct dentry *root,
                               const char *source, const struct vfs_cred *cred)
{
    assert_int_equal(mount_ns_create(sb, root, source, 0, &n->ns), 0);
    struct vfs_path rp = {n->ns->root, n->ns->root->root};
    n->fs = fs_context_create(n->ns, &rp);
    assert_non_null(n->fs);
    n->ctx = (struct walk_ctx){n->fs, cred, n->fs->root, 0};
}

static inline void ns_ctx_fini(struct ns_ctx *n)
{
    fs_context_put(n->fs);
    mount_ns_put(n->ns);
}

/* ---- helpers on a namespace ---- */

static inline void put_file(const struct walk_ctx *ctx, const char *path, const char *data)
{
    struct file *f;
    assert_int_equal(vfs_open(ctx, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f), 0);
    size_t len = strlen(data);
    assert_int_equal(file_write(f, NULL, data, len), (ssize_t)len);
    file_put(f);
}

/* The whole file (up to size - 1 bytes) NUL-terminated in buf; its length or -errno. */
static inline ssize_t get_file(const struct walk_ctx *ctx, const char *path, char *buf, size_t size)
{
    struct file *f;
    int err = vfs_open(ctx, path, O_RDONLY, 0, &f);
    if (err)
        return err;
    ssize_t n = file_pread(f, buf, size - 1, 0);
    file_put(f);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

static inline int stat_path(const struct walk_ctx *ctx, const char *path, struct stat *st)
{
    struct vfs_path p;
    int err = vfs_walk(ctx, path, 0, &p);
    if (err)
        return err;
    err = inode_stat(p.dentry->inode, st);
    vfs_path_put(&p);
    return err;
}

/* The inode at path (not following a last symlink), referenced. */
static inline struct inode *inode_at(const struct walk_ctx *ctx, const char *path)
{
    struct vfs_path p;
    assert_int_equal(vfs_walk(ctx, path, 0, &p), 0);
    struct inode *inode = p.dentry->inode;
    inode_get(inode);
    vfs_path_put(&p);
    return inode;
}

static inline void set_attr(const struct walk_ctx *ctx, const char *path,
                            const struct vfs_setattr *attr)
{
    struct inode *inode = inode_at(ctx, path);
    assert_int_equal(vfs_setattr(inode, ctx->cred, attr), 0);
    inode_put(inode);
}

/* getdents of a directory into a listing (without "." and ".."). */
struct listing {
    struct dir_emit e;
    struct dir_list l;
};

static inline bool listing_emit(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                                unsigned char type, int64_t next_pos)
{
    struct listing *ls = (struct listing *)e;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return true;
    assert_int_equal(dir_list_add(&ls->l, name, len, ino, type), 0);
    return true;
}

static inline void list_dir(const struct walk_ctx *ctx, const char *path, struct dir_list *out)
{
    struct listing ls = {.e.emit = listing_emit};
    struct file *f;
    assert_int_equal(vfs_open(ctx, path, O_RDONLY | O_DIRECTORY, 0, &f), 0);
    int n;
    while ((n = file_getdents(f, &ls.e)) > 0)
        ;
    assert_true(n >= 0);
    file_put(f);
    *out = ls.l;
}

static inline int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct dir_entry *)a)->name, ((const struct dir_entry *)b)->name);
}

/* The names of a directory sorted, as "a b c". */
static inline char *names_of(const struct walk_ctx *ctx, const char *path)
{
    struct dir_list l;
    list_dir(ctx, path, &l);
    if (l.count)
        qsort(l.entries, l.count, sizeof(*l.entries), entry_cmp);
    char *s = calloc(1, 4096);
    assert_non_null(s);
    for (size_t i = 0; i < l.count; i++) {
        if (i)
            strcat(s, " ");
        assert_true(strlen(s) + strlen(l.entries[i].name) < 4000);
        strcat(s, l.entries[i].name);
    }
    dir_list_free(&l);
    return s;
}

/* ---- a byte-exact record of a tree ---- */

static inline void snapshot_tree(const struct walk_ctx *ctx, const char *path, FILE *out)
{
    struct dir_list l;
    list_dir(ctx, path, &l);
    if (l.count)
        qsort(l.entries, l.count, sizeof(*l.entries), entry_cmp);
    for (size_t i = 0; i < l.count; i++) {
        char child[PATH_MAX];
        snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", l.entries[i].name);
        struct stat st;
        assert_int_equal(stat_path(ctx, child, &st), 0);
        fprintf(out,
                "%s ino=%llu dt=%u mode=%o nlink=%lu uid=%u gid=%u rdev=%lx size=%lld "
                "mtime=%lld.%ld ctime=%lld.%ld",
                child, (unsigned long long)st.st_ino, l.entries[i].type, st.st_mode,
                (unsigned long)st.st_nlink, st.st_uid, st.st_gid, (unsigned long)st.st_rdev,
                (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
        struct inode *inode = inode_at(ctx, child);
        char xattrs[1024];
        ssize_t xn = inode->ops->listxattr(inode, xattrs, sizeof(xattrs));
        for (ssize_t j = 0; j < xn; j += (ssize_t)strlen(xattrs + j) + 1)
            fprintf(out, " xattr=%s", xattrs + j);
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = inode->ops->readlink(inode, target, sizeof(target));
            assert_true(n > 0);
            fprintf(out, " -> %.*s", (int)n, target);
        }
        inode_put(inode);
        if (S_ISREG(st.st_mode)) {
            struct file *f;
            assert_int_equal(vfs_open(ctx, child, O_RDONLY, 0, &f), 0);
            fputs(" data=", out);
            unsigned char buf[4096];
            ssize_t n;
            for (int64_t off = 0; (n = file_pread(f, buf, sizeof(buf), off)) > 0; off += n)
                for (ssize_t j = 0; j < n; j++)
                    fprintf(out, "%02x", buf[j]);
            file_put(f);
        }
        fputc('\n', out);
        if (S_ISDIR(st.st_mode))
            snapshot_tree(ctx, child, out);
    }
    dir_list_free(&l);
}

static inline char *snapshot(const struct walk_ctx *ctx)
{
    char *buf;
    size_t len;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    snapshot_tree(ctx, "/", out);
    fclose(out);
    return buf;
}

/* Fails naming the first line (an object) that differs, cut short. */
static inline void expect_same_tree(const char *want, const char *got)
{
    size_t line = 0;
    for (size_t i = 0;; i++) {
        if (want[i] != got[i]) {
            print_error("lower layer changed at \"%.160s\": now \"%.160s\"\n", want + line,
                        got + line);
            fail();
        }
        if (!want[i])
            return;
        if (want[i] == '\n')
            line = i + 1;
    }
}

/* ---- the upper layer, through inode ops ---- */

/* The upper object at `path` ("a/b"), referenced, or NULL. */
static inline struct inode *upper_at(struct fx *fx, const char *path)
{
    struct inode *cur = fx->upper_root->inode;
    inode_get(cur);
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", path);
    char *save;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        struct inode *next;
        int err = cur->ops->lookup(cur, c, &next);
        inode_put(cur);
        if (err)
            return NULL;
        cur = next;
    }
    return cur;
}

static inline bool upper_is_whiteout(struct fx *fx, const char *path)
{
    struct inode *inode = upper_at(fx, path);
    bool wh = inode && S_ISCHR(inode->mode) && inode->rdev == makedev(0, 0);
    inode_put(inode);
    return wh;
}

static inline bool upper_is_opaque(struct fx *fx, const char *path)
{
    struct inode *inode = upper_at(fx, path);
    char v[4];
    bool opaque = inode && inode->ops->getxattr(inode, OVERLAY_XATTR_OPAQUE, v, sizeof(v)) == 1 &&
                  v[0] == 'y';
    inode_put(inode);
    return opaque;
}

/* ---- setup ---- */

/* /big in the lower layer: a hole, then BIG_LEN bytes of a pattern. */
#define BIG_OFFSET 200000
#define BIG_LEN 150000

static inline void big_pattern(char *buf)
{
    for (size_t i = 0; i < BIG_LEN; i++)
        buf[i] = (char)('a' + i % 23);
}

/* The lower tree every test starts from. */
static inline void populate_lower(const struct walk_ctx *c)
{
    put_file(c, "/file", "lower file");
    assert_int_equal(vfs_mkdir(c, "/dir", 0755), 0);
    put_file(c, "/dir/a", "a in lower");
    put_file(c, "/dir/b", "b in lower");
    assert_int_equal(vfs_mkdir(c, "/dir/sub", 0700), 0);
    put_file(c, "/dir/sub/deep", "deep in lower");
    assert_int_equal(vfs_mkdir(c, "/empty", 0755), 0);
    assert_int_equal(vfs_mkdir(c, "/other", 0755), 0);
    put_file(c, "/other/x", "x in lower");
    assert_int_equal(vfs_symlink(c, "dir/a", "/link"), 0);
    put_file(c, "/hard1", "linked in lower");
    assert_int_equal(vfs_link(c, "/hard1", c, "/hard2", 0), 0);
    put_file(c, "/secret", "root only");
    assert_int_equal(vfs_mknod(c, "/null", S_IFCHR | 0666, makedev(1, 3)), 0);
    struct file *f;
    assert_int_equal(vfs_open(c, "/big", O_WRONLY | O_CREAT, 0644, &f), 0);
    static char big[BIG_LEN];
    big_pattern(big);
    assert_int_equal(file_pwrite(f, big, BIG_LEN, BIG_OFFSET), BIG_LEN);
    file_put(f);

    /* Ownership, modes and times the copy-up must carry over. */
    struct vfs_setattr own = {.mask = VFS_ATTR_UID | VFS_ATTR_GID, .uid = 1000, .gid = 100};
    set_attr(c, "/dir", &own);
    set_attr(c, "/dir/sub", &own);
    set_attr(c, "/dir/a", &own);
    struct vfs_setattr mode = {.mask = VFS_ATTR_MODE, .mode = 0600};
    set_attr(c, "/secret", &mode);
    struct vfs_setattr times = {.mask = VFS_ATTR_ATIME | VFS_ATTR_MTIME,
                                .atime = {1000000000, 5},
                                .mtime = {1100000000, 7}};
    set_attr(c, "/dir/a", &times);
    set_attr(c, "/dir/sub", &times);
    struct inode *a = inode_at(c, "/dir/a");
    assert_int_equal(a->ops->setxattr(a, "user.color", "blue", 4, 0), 0);
    inode_put(a);
}

/* `prepare_upper`, when given, fills the upper layer before the overlay is made. */
static inline struct fx *fx_create(void (*prepare_upper)(struct fx *fx))
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->root_cred = (struct vfs_cred){.dac_override = true, .fowner = true, .mknod = true};
    fx->user_cred = (struct vfs_cred){.fsuid = 1000, .fsgid = 1000};

    struct tmpfs_options opts = {.root_mode = 0755};
    struct super_block *lower_sb, *upper_sb;
    struct dentry *lower_root;
    assert_int_equal(tmpfs_create(&opts, &lower_sb, &lower_root), 0);
    ns_ctx_init(&fx->lower, lower_sb, lower_root, "lower", &fx->root_cred);
    populate_lower(&fx->lower.ctx);
    fx->lower_snapshot = snapshot(&fx->lower.ctx);

    assert_int_equal(tmpfs_create(&opts, &upper_sb, &fx->upper_root), 0);
    if (prepare_upper)
        prepare_upper(fx);
    struct dentry *root;
    assert_int_equal(overlay_create(fx->lower.ns->root->root, fx->upper_root, &fx->ovl_sb, &root),
                     0);
    ns_ctx_init(&fx->ovl, fx->ovl_sb, root, "overlay", &fx->root_cred);
    fx->user = (struct walk_ctx){fx->ovl.fs, &fx->user_cred, fx->ovl.fs->root, 0};
    return fx;
}

static inline void fx_destroy(struct fx *fx)
{
    ns_ctx_fini(&fx->ovl);
    char *now = snapshot(&fx->lower.ctx);
    expect_same_tree(fx->lower_snapshot, now); /* the lower layer is never written */
    free(now);
    free(fx->lower_snapshot);
    ns_ctx_fini(&fx->lower);
    dentry_put(fx->upper_root);
    free(fx);
}

static inline int fx_setup(void **state)
{
    *state = fx_create(NULL);
    return 0;
}

static inline int fx_teardown(void **state)
{
    fx_destroy(*state);
    return 0;
}

#endif
