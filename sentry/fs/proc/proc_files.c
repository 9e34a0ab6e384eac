/* /proc/PID/{fd/,fdinfo/,exe,cwd,root,mounts,mountinfo}: open files, the paths a process holds
 * and its mount namespace. fd/N, exe, cwd and root are magic links: following one opens the
 * object itself, not whatever its name now resolves to. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "sentry/fs/pipe/pipe.h"
#include "sentry/fs/proc/proc.h"
#include "sentry/fs/proc/proc_internal.h"

/* Appends `p` as seen from the task's root (Linux's d_path), " (deleted)" if unlinked. */
static int put_path(struct kernfs_buf *b, struct fs_context *fs, const struct vfs_path *p)
{
    if (!fs)
        return -ENOENT;
    pthread_mutex_lock(&fs->lock);
    struct vfs_path root = fs->root;
    vfs_path_get(&root);
    pthread_mutex_unlock(&fs->lock);
    char *buf = malloc(PATH_MAX);
    if (!buf) {
        vfs_path_put(&root);
        return -ENOMEM;
    }
    int n = vfs_path_string(fs->ns, &root, p, buf, PATH_MAX);
    vfs_path_put(&root);
    if (n >= 0) {
        kernfs_put(b, buf, (size_t)n);
        if (p->dentry->dead)
            kernfs_printf(b, " (deleted)");
    }
    free(buf);
    return n < 0 ? n : 0;
}

/* ---- fd/ and fdinfo/ ---- */

/* The file at the node's fd (a reference) and the task's fs context, or -ENOENT. */
static int node_file(const struct kernfs_node *n, struct file **f, bool *cloexec,
                     struct fs_context **fs)
{
    struct proc_task pt;
    int err = proc_node_task(n, PROC_TASK_FDS | PROC_TASK_FS, &pt);
    if (err)
        return -ENOENT;
    *f = pt.fds ? fdtable_get(pt.fds, n->num) : NULL;
    if (*f && cloexec)
        *cloexec = fdtable_get_cloexec(pt.fds, n->num) == 1;
    if (fs) {
        *fs = pt.fs;
        pt.fs = NULL;
    }
    proc_task_put(&pt);
    if (!*f) {
        if (fs)
            fs_context_put(*fs);
        return -ENOENT;
    }
    return 0;
}

static bool fd_scope_valid(const struct kernfs_node *n)
{
    struct file *f;
    if (node_file(n, &f, NULL, NULL) != 0)
        return false;
    file_put(f);
    return true;
}

static void fd_scope_owner(const struct kernfs_node *n, uid_t *uid, gid_t *gid)
{
    proc_task_scope.owner(n, uid, gid);
}

static const struct kernfs_scope fd_scope = {.valid = fd_scope_valid, .owner = fd_scope_owner};

static int fd_readlink(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct file *f;
    struct fs_context *fs;
    int err = node_file(n, &f, NULL, &fs);
    if (err)
        return err;
    if (f->path.dentry && !pipe_is_anonymous(f)) {
        err = put_path(b, fs, &f->path);
    } else {
        char name[256];
        int len = f->ops->name ? f->ops->name(f, name, sizeof(name)) : -ENOENT;
        if (len >= 0)
            kernfs_put(b, name, (size_t)len);
        else
            kernfs_printf(b, "anon_inode:[unknown]");
    }
    file_put(f);
    fs_context_put(fs);
    return err;
}

static int fd_get_link(const struct kernfs_node *n, struct vfs_path *out)
{
    struct file *f;
    int err = node_file(n, &f, NULL, NULL);
    if (err)
        return err;
    /* A file without a path: an anonymous pipe reopens through a pipefs inode; the rest
     * (sockets, eventfd and other anonymous-inode files) can't be opened (Linux: ENXIO). */
    if (f->path.dentry) {
        *out = f->path;
        vfs_path_get(out);
    } else {
        err = pipe_reopen_path(f, out);
    }
    file_put(f);
    return err;
}

static int fdinfo_generate(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct file *f;
    bool cloexec = false;
    int err = node_file(n, &f, &cloexec, NULL);
    if (err)
        return err;
    pthread_mutex_lock(&f->pos_lock);
    long long pos = f->pos;
    pthread_mutex_unlock(&f->pos_lock);
    unsigned flags = (unsigned)atomic_load_explicit(&f->status_flags, memory_order_relaxed);
    if (cloexec)
        flags |= O_CLOEXEC;
    unsigned long long ino = 0;
    struct stat st;
    if (f->inode)
        ino = f->inode->ino;
    else if (file_stat(f, &st) == 0)
        ino = st.st_ino;
    kernfs_printf(b, "pos:\t%lld\nflags:\t0%o\nmnt_id:\t%d\nino:\t%llu\n", pos, flags,
                  f->path.mnt ? f->path.mnt->id : 0, ino);
    /* pidfd_show_fdinfo: the pid in the reader's namespace, -1 once reaped. */
    if (pidfd_file_is(f)) {
        int pid = pidfd_file_pid(f);
        kernfs_printf(b, "Pid:\t%d\nNSpid:\t%d\n", pid, pid);
    }
    file_put(f);
    return 0;
}

static const struct kernfs_entry fd_link = {
    .name = "fd",
    .mode = S_IFLNK | 0700,
    .readlink = fd_readlink,
    .get_link = fd_get_link,
};

static const struct kernfs_entry fdinfo_file = {
    .name = "fdinfo",
    .mode = S_IFREG | 0444,
    .generate = fdinfo_generate,
};

static int fd_lookup_entry(const struct kernfs_node *dir, const char *name,
                           const struct kernfs_entry *e, struct kernfs_node *out)
{
    int fd;
    if (proc_parse_id(name, &fd) != 0)
        return -ENOENT;
    out->entry = e;
    out->scope = &fd_scope;
    out->num = fd;
    return fd_scope_valid(out) ? 0 : -ENOENT;
}

int proc_fd_lookup(const struct kernfs_node *dir, const char *name, struct kernfs_node *out)
{
    return fd_lookup_entry(dir, name, &fd_link, out);
}

int proc_fdinfo_lookup(const struct kernfs_node *dir, const char *name, struct kernfs_node *out)
{
    return fd_lookup_entry(dir, name, &fdinfo_file, out);
}

static int fd_list(const struct kernfs_node *dir, struct dir_list *out, unsigned char type)
{
    struct proc_task pt;
    int err = proc_node_task(dir, PROC_TASK_FDS, &pt);
    if (err)
        return err;
    if (!pt.fds)
        return 0;
    for (int fd = 0;; fd++) {
        pthread_mutex_lock(&pt.fds->lock);
        bool end = fd >= pt.fds->size;
        bool open = !end && pt.fds->files[fd];
        pthread_mutex_unlock(&pt.fds->lock);
        if (end)
            break;
        if (!open)
            continue;
        char name[16];
        int len = snprintf(name, sizeof(name), "%d", fd);
        if ((err = dir_list_add(out, name, (size_t)len, 0, type)) != 0)
            break;
    }
    proc_task_put(&pt);
    return err;
}

int proc_fd_readdir(const struct kernfs_node *dir, struct dir_list *out)
{
    return fd_list(dir, out, strcmp(dir->entry->name, "fdinfo") == 0 ? DT_REG : DT_LNK);
}

/* ---- exe, cwd, root ---- */

enum held_path { HELD_EXE, HELD_CWD, HELD_ROOT };

static int held_path(const struct kernfs_node *n, enum held_path which, struct vfs_path *out,
                     struct proc_task *pt)
{
    int err = proc_node_task(n, PROC_TASK_FS | PROC_TASK_EXE, pt);
    if (err)
        return err;
    *out = (struct vfs_path){0};
    if (which == HELD_EXE) {
        *out = pt->exe;
        vfs_path_get(out);
    } else if (pt->fs) {
        pthread_mutex_lock(&pt->fs->lock);
        *out = which == HELD_CWD ? pt->fs->cwd : pt->fs->root;
        vfs_path_get(out);
        pthread_mutex_unlock(&pt->fs->lock);
    }
    return 0;
}

static int readlink_held(const struct kernfs_node *n, enum held_path which, struct kernfs_buf *b)
{
    struct proc_task pt;
    struct vfs_path p;
    int err = held_path(n, which, &p, &pt);
    if (err)
        return err;
    err = p.dentry ? put_path(b, pt.fs, &p) : -ENOENT;
    vfs_path_put(&p);
    proc_task_put(&pt);
    return err;
}

static int get_link_held(const struct kernfs_node *n, enum held_path which, struct vfs_path *out)
{
    struct proc_task pt;
    int err = held_path(n, which, out, &pt);
    proc_task_put(&pt);
    if (!err && !out->dentry)
        err = -ENOENT;
    return err;
}

int proc_readlink_exe(const struct kernfs_node *n, struct kernfs_buf *b)
{
    return readlink_held(n, HELD_EXE, b);
}

int proc_get_link_exe(const struct kernfs_node *n, struct vfs_path *out)
{
    return get_link_held(n, HELD_EXE, out);
}

int proc_readlink_cwd(const struct kernfs_node *n, struct kernfs_buf *b)
{
    return readlink_held(n, HELD_CWD, b);
}

int proc_get_link_cwd(const struct kernfs_node *n, struct vfs_path *out)
{
    return get_link_held(n, HELD_CWD, out);
}

int proc_readlink_root(const struct kernfs_node *n, struct kernfs_buf *b)
{
    return readlink_held(n, HELD_ROOT, b);
}

int proc_get_link_root(const struct kernfs_node *n, struct vfs_path *out)
{
    return get_link_held(n, HELD_ROOT, out);
}

/* ---- mounts ---- */

struct mount_list {
    struct mount **mounts;
    size_t count, cap;
    bool failed;
};

static void collect_mount(struct mount *m, void *arg)
{
    struct mount_list *l = arg;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct mount **a = realloc(l->mounts, cap * sizeof(*a));
        if (!a) {
            l->failed = true;
            return;
        }
        l->mounts = a;
        l->cap = cap;
    }
    l->mounts[l->count++] = m;
}

/* Linux's show_mnt_opts after ro/rw: the per-mount flags (relatime is Linux's default). */
static void put_mount_flags(struct kernfs_buf *b, const struct mount *m)
{
    kernfs_printf(b, "%s", m->flags & MNT_READONLY ? "ro" : "rw");
    if (m->flags & MNT_NOSUID)
        kernfs_printf(b, ",nosuid");
    if (m->flags & MNT_NODEV)
        kernfs_printf(b, ",nodev");
    if (m->flags & MNT_NOEXEC)
        kernfs_printf(b, ",noexec");
    kernfs_printf(b, ",relatime");
}

static int gen_mount_table(const struct kernfs_node *n, struct kernfs_buf *b, bool info)
{
    struct proc_task pt;
    int err = proc_node_task(n, PROC_TASK_FS, &pt);
    if (err)
        return err;
    if (!pt.fs)
        return 0;
    struct mount_list l = {0};
    /* Mounts live as long as their namespace, which pt.fs holds. */
    mount_ns_for_each(pt.fs->ns, collect_mount, &l);
    err = l.failed ? -ENOMEM : 0;
    static const char esc[] = " \t\n\\";
    for (size_t i = 0; i < l.count && !err; i++) {
        struct mount *m = l.mounts[i];
        struct kernfs_buf point = {0};
        struct vfs_path p = {m, m->root};
        err = put_path(&point, pt.fs, &p);
        if (err || point.err) {
            err = err ? err : point.err;
            kernfs_buf_free(&point);
            break;
        }
        if (info) {
            kernfs_printf(b, "%d %d %u:%u / ", m->id, m->parent ? m->parent->id : m->id,
                          major(m->sb->dev), minor(m->sb->dev));
            proc_put_escaped(b, point.data, esc);
            kernfs_put(b, " ", 1);
            put_mount_flags(b, m);
            kernfs_printf(b, " - %s ", m->sb->fs_name);
            proc_put_escaped(b, m->source, esc);
            kernfs_printf(b, " %s%s%s\n", m->flags & MNT_READONLY ? "ro" : "rw",
                          m->options[0] ? "," : "", m->options);
        } else {
            proc_put_escaped(b, m->source, esc);
            kernfs_put(b, " ", 1);
            proc_put_escaped(b, point.data, esc);
            kernfs_printf(b, " %s ", m->sb->fs_name);
            put_mount_flags(b, m);
            kernfs_printf(b, "%s%s 0 0\n", m->options[0] ? "," : "", m->options);
        }
        kernfs_buf_free(&point);
    }
    free(l.mounts);
    proc_task_put(&pt);
    return err;
}

int proc_gen_mounts(const struct kernfs_node *n, struct kernfs_buf *b)
{
    return gen_mount_table(n, b, false);
}

int proc_gen_mountinfo(const struct kernfs_node *n, struct kernfs_buf *b)
{
    return gen_mount_table(n, b, true);
}

int procfs_file_tgid(struct file *f)
{
    if (!f->inode || strcmp(f->inode->sb->fs_name, "proc") != 0)
        return -EBADF;
    const struct kernfs_node *n = kernfs_node_of(f->inode);
    return n && n->entry == &proc_pid_dir ? n->pid : -EBADF;
}
