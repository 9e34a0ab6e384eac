/* Unit tests for sentry/fs/dev: /dev's entries, and the devices' read/write/seek semantics
 * whether opened from devfs, from a node made in another tmpfs, or by number. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sentry/fs/dev/dev.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/vfs/vfs.h"

struct fx {
    struct mount_ns *ns;
    struct fs_context *fs;
    struct vfs_cred root_cred, user_cred;
    struct walk_ctx ctx, user;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    struct super_block *sb;
    struct dentry *root;
    assert_int_equal(devfs_create(&sb, &root), 0);
    assert_int_equal(mount_ns_create(sb, root, "devfs", 0, &fx->ns), 0);
    struct vfs_path rp = {fx->ns->root, fx->ns->root->root};
    fx->fs = fs_context_create(fx->ns, &rp);
    assert_non_null(fx->fs);
    fx->root_cred = (struct vfs_cred){.dac_override = true, .fowner = true, .mknod = true};
    fx->user_cred = (struct vfs_cred){.fsuid = 1000, .fsgid = 1000};
    fx->ctx = (struct walk_ctx){fx->fs, &fx->root_cred, fx->fs->root, 0};
    fx->user = (struct walk_ctx){fx->fs, &fx->user_cred, fx->fs->root, 0};
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    fs_context_put(fx->fs);
    mount_ns_put(fx->ns);
    free(fx);
    return 0;
}

static struct file *open_or_fail(struct fx *fx, const char *path, int flags)
{
    struct file *f;
    assert_int_equal(vfs_open(&fx->user, path, flags, 0, &f), 0);
    return f;
}

static bool all_zero(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

struct names {
    struct dir_emit e;
    char buf[512];
    size_t len;
};

static bool names_emit(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                       unsigned char type, int64_t next_pos)
{
    struct names *n = (struct names *)e;
    assert_true(n->len + len + 2 < sizeof(n->buf));
    memcpy(n->buf + n->len, name, len);
    n->len += len;
    n->buf[n->len++] = ' ';
    n->buf[n->len] = '\0';
    return true;
}

static void test_entries(void **state)
{
    struct fx *fx = *state;
    struct file *f = open_or_fail(fx, "/", O_RDONLY | O_DIRECTORY);
    struct names n = {.e.emit = names_emit};
    while (file_getdents(f, &n.e) > 0)
        ;
    file_put(f);
    assert_string_equal(n.buf, ". .. null zero full random urandom tty fd stdin stdout stderr "
                               "shm pts ptmx ");

    struct {
        const char *path;
        const char *target;
    } links[] = {{"/fd", "/proc/self/fd"},
                 {"/stdin", "/proc/self/fd/0"},
                 {"/stdout", "/proc/self/fd/1"},
                 {"/stderr", "/proc/self/fd/2"},
                 {"/ptmx", "pts/ptmx"}};
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        char buf[64];
        ssize_t len = vfs_readlink(&fx->ctx, links[i].path, buf, sizeof(buf));
        assert_int_equal(len, (ssize_t)strlen(links[i].target));
        assert_memory_equal(buf, links[i].target, (size_t)len);
    }

    struct {
        const char *path;
        mode_t mode;
        unsigned major, minor;
    } nodes[] = {{"/null", S_IFCHR | 0666, 1, 3},    {"/zero", S_IFCHR | 0666, 1, 5},
                 {"/full", S_IFCHR | 0666, 1, 7},    {"/random", S_IFCHR | 0666, 1, 8},
                 {"/urandom", S_IFCHR | 0666, 1, 9}, {"/tty", S_IFCHR | 0666, 5, 0},
                 {"/shm", S_IFDIR | 01777, 0, 0},    {"/pts", S_IFDIR | 0755, 0, 0},
                 {"/", S_IFDIR | 0755, 0, 0}};
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        struct vfs_path p;
        assert_int_equal(vfs_walk(&fx->ctx, nodes[i].path, 0, &p), 0);
        struct stat st;
        assert_int_equal(inode_stat(p.dentry->inode, &st), 0);
        vfs_path_put(&p);
        assert_int_equal(st.st_mode, nodes[i].mode);
        assert_int_equal(st.st_uid, 0);
        if (S_ISCHR(st.st_mode))
            assert_int_equal(st.st_rdev, makedev(nodes[i].major, nodes[i].minor));
    }
    /* pts/ is empty until devpts is mounted on it. */
    f = open_or_fail(fx, "/pts", O_RDONLY | O_DIRECTORY);
    n = (struct names){.e.emit = names_emit};
    while (file_getdents(f, &n.e) > 0)
        ;
    file_put(f);
    assert_string_equal(n.buf, ". .. ");
}

static void test_null(void **state)
{
    struct fx *fx = *state;
    struct file *f = open_or_fail(fx, "/null", O_RDWR);
    char buf[16] = "unchanged";
    assert_int_equal(file_read(f, NULL, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "unchanged");
    assert_int_equal(file_write(f, NULL, buf, 9), 9);
    assert_int_equal(file_pread(f, buf, sizeof(buf), 100), 0);
    assert_int_equal(file_pwrite(f, buf, 5, 100), 5);
    assert_int_equal(file_llseek(f, 100, SEEK_SET), 0);
    assert_true(f->ops->poll == NULL); /* always ready */
    struct stat st;
    assert_int_equal(file_stat(f, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(1, 3));
    assert_true(f->inode != NULL);
    file_put(f);

    f = open_or_fail(fx, "/null", O_RDONLY);
    assert_true(file_readable(f));
    assert_false(file_writable(f));
    file_put(f);
}

static void test_zero_and_full(void **state)
{
    struct fx *fx = *state;
    struct file *f = open_or_fail(fx, "/zero", O_RDWR);
    unsigned char buf[8192];
    memset(buf, 0xaa, sizeof(buf));
    assert_int_equal(file_read(f, NULL, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    assert_true(all_zero(buf, sizeof(buf)));
    assert_int_equal(file_write(f, NULL, buf, 100), 100);
    assert_int_equal(file_llseek(f, 0, SEEK_CUR), 0);
    assert_true(dev_is_zero(f));
    assert_null(f->ops->mmap); /* anonymous memory: the mmap syscall's job */
    file_put(f);

    f = open_or_fail(fx, "/full", O_RDWR);
    memset(buf, 0xaa, sizeof(buf));
    assert_int_equal(file_read(f, NULL, buf, 100), 100);
    assert_true(all_zero(buf, 100));
    assert_int_equal(file_write(f, NULL, buf, 1), -ENOSPC);
    assert_int_equal(file_pwrite(f, buf, 1, 0), -ENOSPC);
    assert_false(dev_is_zero(f));
    file_put(f);
}

static void test_random(void **state)
{
    struct fx *fx = *state;
    const char *paths[] = {"/random", "/urandom"};
    for (size_t i = 0; i < 2; i++) {
        struct file *f = open_or_fail(fx, paths[i], O_RDWR);
        unsigned char a[64] = {0}, b[64] = {0};
        assert_int_equal(file_read(f, NULL, a, sizeof(a)), 64);
        assert_int_equal(file_read(f, NULL, b, sizeof(b)), 64);
        /* 512 random bits: equal or all zero only if the device is broken. */
        assert_memory_not_equal(a, b, sizeof(a));
        assert_false(all_zero(a, sizeof(a)));
        assert_int_equal(file_write(f, NULL, a, sizeof(a)), 64);
        assert_int_equal(file_llseek(f, 10, SEEK_SET), 0);
        file_put(f);
    }
}

static struct file *tty_file;
static int tty_flags;

static int fake_tty_open(int flags, struct file **out)
{
    tty_flags = flags;
    file_get(tty_file);
    *out = tty_file;
    return 0;
}

static void test_tty(void **state)
{
    struct fx *fx = *state;
    struct file *f;
    assert_int_equal(vfs_open(&fx->user, "/tty", O_RDWR, 0, &f), -ENXIO);
    assert_int_equal(dev_open_char(makedev(5, 0), O_RDWR, &f), -ENXIO);
    assert_int_equal(dev_open_char(makedev(1, 5), O_RDWR, &tty_file), 0);
    dev_set_tty_open(fake_tty_open);
    assert_int_equal(vfs_open(&fx->user, "/tty", O_RDWR | O_NONBLOCK, 0, &f), 0);
    assert_ptr_equal(f, tty_file);
    assert_int_equal(tty_flags & (O_ACCMODE | O_NONBLOCK), O_RDWR | O_NONBLOCK);
    file_put(f);
    dev_set_tty_open(NULL);
    assert_int_equal(vfs_open(&fx->user, "/tty", O_RDWR, 0, &f), -ENXIO);
    file_put(tty_file);
}

static void test_open_by_number(void **state)
{
    struct file *f;
    assert_int_equal(dev_open_char(makedev(1, 3), O_WRONLY, &f), 0);
    assert_null(f->inode);
    struct stat st;
    assert_int_equal(file_stat(f, &st), 0);
    assert_int_equal(st.st_mode, S_IFCHR | 0666);
    assert_int_equal(st.st_rdev, makedev(1, 3));
    assert_int_equal(file_write(f, NULL, "x", 1), 1);
    file_put(f);
    assert_int_equal(dev_open_char(makedev(1, 1), O_RDONLY, &f), -ENXIO); /* /dev/mem: no */
    assert_int_equal(dev_open_char(makedev(42, 0), O_RDONLY, &f), -ENXIO);
}

/* A node made with mknod in an ordinary tmpfs opens the same device through the global hook. */
static int kernel_hook(struct inode *inode, int flags, struct file **out)
{
    /* -EPIPE marks a FIFO reaching the kernel (which would make a pipe end). */
    return S_ISCHR(inode->mode) ? dev_open_inode(inode, flags, out) : -EPIPE;
}

static void test_node_in_tmpfs(void **state)
{
    struct fx *fx = *state;
    struct super_block *sb;
    struct dentry *root;
    assert_int_equal(tmpfs_create(NULL, &sb, &root), 0);
    struct vfs_path at;
    assert_int_equal(vfs_walk(&fx->ctx, "/shm", 0, &at), 0);
    assert_int_equal(mount_ns_add(fx->ns, &at, sb, root, "tmpfs", "", 0), 0);
    vfs_path_put(&at);
    assert_int_equal(vfs_mknod(&fx->ctx, "/shm/myzero", S_IFCHR | 0666, makedev(1, 5)), 0);
    assert_int_equal(vfs_mknod(&fx->ctx, "/shm/fifo", S_IFIFO | 0666, 0), 0);
    struct file *f;
    assert_int_equal(vfs_open(&fx->ctx, "/shm/myzero", O_RDONLY, 0, &f), -ENXIO);
    tmpfs_set_special_open(kernel_hook);
    assert_int_equal(vfs_open(&fx->ctx, "/shm/myzero", O_RDONLY, 0, &f), 0);
    assert_true(dev_is_zero(f));
    unsigned char buf[32];
    memset(buf, 1, sizeof(buf));
    assert_int_equal(file_read(f, NULL, buf, sizeof(buf)), 32);
    assert_true(all_zero(buf, sizeof(buf)));
    file_put(f);
    assert_int_equal(vfs_open(&fx->ctx, "/shm/fifo", O_RDONLY, 0, &f), -EPIPE);
    /* A FIFO made in /dev itself also goes to the kernel's hook. */
    assert_int_equal(vfs_mknod(&fx->ctx, "/myfifo", S_IFIFO | 0666, 0), 0);
    assert_int_equal(vfs_open(&fx->ctx, "/myfifo", O_RDONLY, 0, &f), -EPIPE);
    tmpfs_set_special_open(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_and_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tty, setup, teardown),
        cmocka_unit_test(test_open_by_number),
        cmocka_unit_test_setup_teardown(test_node_in_tmpfs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
