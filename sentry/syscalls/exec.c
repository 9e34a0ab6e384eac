/* execve(2) and execveat(2): the guest's path, argv and envp copied in with Linux's limits. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

#define MAX_ARG_STRLEN (32 * 4096) /* Linux: one string at most 32 pages */
#define MAX_ARG_STRINGS 0x7FFFFFFF
/* Bound on everything copied in: Linux allows a quarter of RLIMIT_STACK; the loader enforces
 * that exactly, this cap only keeps a guest from making the sentry allocate without bound. */
#define MAX_ARG_TOTAL (32UL << 20)

struct string_vec {
    char **v;
    size_t n;
};

static void string_vec_free(struct string_vec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

/* Copies a NULL-terminated array of guest strings. A NULL array is empty (Linux allows it). */
static long copy_strings(struct task *t, uint64_t addr, struct string_vec *out, size_t *total)
{
    size_t cap = 16;
    out->n = 0;
    out->v = calloc(cap, sizeof(char *));
    if (!out->v)
        return -ENOMEM;
    if (!addr)
        return 0;
    char *tmp = malloc(MAX_ARG_STRLEN);
    if (!tmp)
        return -ENOMEM;
    long ret = 0;
    for (size_t i = 0;; i++) {
        uint64_t p;
        if (mm_copy_in(t->mm, addr + i * 8, &p, 8)) {
            ret = -EFAULT;
            break;
        }
        if (!p)
            break;
        if (i >= MAX_ARG_STRINGS) {
            ret = -E2BIG;
            break;
        }
        long len = mm_copy_string_in(t->mm, p, tmp, MAX_ARG_STRLEN);
        if (len < 0) {
            ret = len == -ENAMETOOLONG ? -E2BIG : len;
            break;
        }
        *total += (size_t)len + 1 + 8;
        if (*total > MAX_ARG_TOTAL) {
            ret = -E2BIG;
            break;
        }
        if (out->n + 1 >= cap) {
            char **nv = realloc(out->v, cap * 2 * sizeof(char *));
            if (!nv) {
                ret = -ENOMEM;
                break;
            }
            out->v = nv;
            cap *= 2;
        }
        if (!(out->v[out->n] = strdup(tmp))) {
            ret = -ENOMEM;
            break;
        }
        out->v[++out->n] = NULL;
    }
    free(tmp);
    return ret;
}

static long do_execve(struct task *t, int dirfd, uint64_t path_addr, uint64_t argv_addr,
                      uint64_t envp_addr, int flags)
{
    if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
        return -EINVAL;
    char *path = malloc(PATH_MAX);
    struct string_vec argv = {0}, envp = {0};
    long ret = -ENOMEM;
    if (!path)
        goto out;
    if ((ret = path_copy_in(t, path_addr, path)) < 0)
        goto out;
    size_t total = 0;
    if ((ret = copy_strings(t, argv_addr, &argv, &total)) != 0 ||
        (ret = copy_strings(t, envp_addr, &envp, &total)) != 0)
        goto out;
    if (dirfd != AT_FDCWD && path[0] != '/') {
        /* execveat relative to a directory fd: resolved as the path under /proc/self/fd. */
        struct file *f = task_get_file(t, (uint64_t)(unsigned)dirfd);
        if (!f) {
            ret = -EBADF;
            goto out;
        }
        char *full = malloc(PATH_MAX);
        ret = full ? 0 : -ENOMEM;
        if (!ret && !f->path.dentry)
            ret = -ENOTDIR;
        if (!ret) {
            pthread_mutex_lock(&t->fs->lock);
            struct vfs_path root = t->fs->root;
            vfs_path_get(&root);
            pthread_mutex_unlock(&t->fs->lock);
            int n = vfs_path_string(t->fs->ns, &root, &f->path, full, PATH_MAX);
            vfs_path_put(&root);
            if (n < 0)
                ret = n;
            else if (path[0] && (size_t)n + 1 + strlen(path) >= PATH_MAX)
                ret = -ENAMETOOLONG;
            else if (path[0])
                snprintf(full + n, PATH_MAX - (size_t)n, "%s%s", n > 1 ? "/" : "", path);
            else if (!(flags & AT_EMPTY_PATH))
                ret = -ENOENT;
        }
        file_put(f);
        if (ret) {
            free(full);
            goto out;
        }
        free(path);
        path = full;
    } else if (!path[0]) {
        ret = -ENOENT;
        goto out;
    }
    const char *why = NULL;
    ret = task_execve(t, path, argv.v, envp.v, &why);
    if (ret == 0)
        ret = SYSCALL_KEEP_REGS;
out:
    free(path);
    string_vec_free(&argv);
    string_vec_free(&envp);
    return ret;
}

long sys_execve(struct task *t, const struct syscall_args *a)
{
    return do_execve(t, AT_FDCWD, a->a[0], a->a[1], a->a[2], 0);
}

long sys_execveat(struct task *t, const struct syscall_args *a)
{
    return do_execve(t, (int)a->a[0], a->a[1], a->a[2], a->a[3], (int)a->a[4]);
}
