/* /sys through the VFS: CPU ranges and directories, transparent hugepages, fs/cgroup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/fs/sys/sys.h"

struct sx {
    struct super_block *sb;
    struct dentry *root;
    struct mount_ns *ns;
    struct fs_context *fs;
    struct vfs_cred cred;
    struct walk_ctx ctx;
};

static int sx_setup_n(void **state, unsigned ncpus)
{
    struct sx *x = calloc(1, sizeof(*x));
    assert_int_equal(sysfs_create(ncpus, &x->sb, &x->root), 0);
    dentry_get(x->root);
    assert_int_equal(mount_ns_create(x->sb, x->root, "sysfs", 0, &x->ns), 0);
    struct vfs_path root = {x->ns->root, x->root};
    x->fs = fs_context_create(x->ns, &root);
    x->cred = (struct vfs_cred){.dac_override = true};
    x->ctx = (struct walk_ctx){.fs = x->fs, .cred = &x->cred, .start = root};
    *state = x;
    return 0;
}

static int sx_setup(void **state)
{
    return sx_setup_n(state, 4);
}

static int sx_setup_one(void **state)
{
    return sx_setup_n(state, 1);
}

static int sx_teardown(void **state)
{
    struct sx *x = *state;
    fs_context_put(x->fs);
    mount_ns_put(x->ns);
    sysfs_destroy(x->sb, x->root);
    free(x);
    return 0;
}

static char *sx_read(struct sx *x, const char *path, int *err)
{
    struct file *f;
    *err = vfs_open(&x->ctx, path, O_RDONLY, 0, &f);
    if (*err)
        return NULL;
    char *buf = calloc(1, 4096);
    ssize_t n = file_read(f, NULL, buf, 4095);
    file_put(f);
    if (n < 0) {
        *err = (int)n;
        free(buf);
        return NULL;
    }
    return buf;
}

struct names {
    struct dir_emit e;
    char out[1024];
};

static bool emit(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                 unsigned char type, int64_t next)
{
    struct names *n = (struct names *)e;
    size_t used = strlen(n->out);
    snprintf(n->out + used, sizeof(n->out) - used, "%s%.*s", used ? " " : "", (int)len, name);
    return true;
}

static void list(struct sx *x, const char *path, char *out, size_t size)
{
    struct names n = {.e.emit = emit};
    struct file *f;
    assert_int_equal(vfs_open(&x->ctx, path, O_RDONLY | O_DIRECTORY, 0, &f), 0);
    assert_true(file_getdents(f, &n.e) >= 0);
    file_put(f);
    snprintf(out, size, "%s", n.out);
}

static void test_cpu_files(void **state)
{
    struct sx *x = *state;
    int err;
    const char *files[] = {"online", "possible", "present"};
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/devices/system/cpu/%s", files[i]);
        char *s = sx_read(x, path, &err);
        assert_non_null(s);
        assert_string_equal(s, "0-3\n");
        free(s);
    }
    char names[1024];
    list(x, "/devices/system/cpu", names, sizeof(names));
    assert_string_equal(names, ". .. online possible present cpu0 cpu1 cpu2 cpu3");
    struct vfs_path p;
    assert_int_equal(vfs_walk(&x->ctx, "/devices/system/cpu/cpu3", WALK_DIRECTORY, &p), 0);
    vfs_path_put(&p);
    assert_int_equal(vfs_walk(&x->ctx, "/devices/system/cpu/cpu4", 0, &p), -ENOENT);
    assert_int_equal(vfs_walk(&x->ctx, "/devices/system/cpu/cpu01", 0, &p), -ENOENT);
    assert_int_equal(vfs_walk(&x->ctx, "/devices/system/cpu/cpux", 0, &p), -ENOENT);
}

static void test_one_cpu(void **state)
{
    struct sx *x = *state;
    int err;
    char *s = sx_read(x, "/devices/system/cpu/online", &err);
    assert_string_equal(s, "0\n");
    free(s);
}

static void test_thp_and_cgroup(void **state)
{
    struct sx *x = *state;
    int err;
    char *s = sx_read(x, "/kernel/mm/transparent_hugepage/enabled", &err);
    assert_string_equal(s, "always [madvise] never\n");
    free(s);
    char names[1024];
    list(x, "/fs/cgroup", names, sizeof(names));
    assert_string_equal(names, ". ..");
    list(x, "/", names, sizeof(names));
    assert_string_equal(names, ". .. devices fs kernel");
    struct file *f;
    assert_int_equal(vfs_open(&x->ctx, "/devices/system/cpu/online", O_RDWR, 0, &f), -EACCES);
    struct statfs sfs;
    struct vfs_path p;
    assert_int_equal(vfs_walk(&x->ctx, "/", 0, &p), 0);
    assert_int_equal(vfs_statfs(&p, &sfs), 0);
    assert_int_equal(sfs.f_type, 0x62656572);
    vfs_path_put(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cpu_files, sx_setup, sx_teardown),
        cmocka_unit_test_setup_teardown(test_one_cpu, sx_setup_one, sx_teardown),
        cmocka_unit_test_setup_teardown(test_thp_and_cgroup, sx_setup, sx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
