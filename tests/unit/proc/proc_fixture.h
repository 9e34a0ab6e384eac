/* Shared by the /proc unit tests: a kernel with two processes made by hand (pid 1 "init" with an
 * address space holding argv/envp, pid 2 with a second thread, tid 3), a mount namespace whose
 * root is a procfs (so "/1/status" is /proc/1/status) with a sysfs on /sys/fs, fd tables, and
 * helpers to read files through the VFS. Include after cmocka.h. */
#ifndef RUNSC_TESTS_UNIT_PROC_PROC_FIXTURE_H
#define RUNSC_TESTS_UNIT_PROC_PROC_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "sentry/fs/pipe/pipe.h"
#include "sentry/fs/proc/proc.h"
#include "sentry/fs/sys/sys.h"
#include "sentry/kernel/kernel.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/vfs.h"

#define FX_MAX_ADDR 0x7ffffffff000UL
#define FX_STACK_TOP 0x7ff000000000UL
#define FX_STACK_LEN (128UL << 10)
#define FX_BRK 0x10000000UL

struct fx {
    struct memfile *mf;
    struct kernel *k;
    struct thread_group *g1, *g2;
    struct task *t1, *t2, *t3;
    struct super_block *sb, *sys_sb;
    struct dentry *root, *sys_root;
    struct mount_ns *ns;
    struct vfs_cred cred;
    struct walk_ctx ctx;
    struct file *read_end, *write_end;
    uint64_t arg_start;
};

static inline struct task *fx_task(struct kernel *k, struct thread_group *g, int tid)
{
    struct task *t = task_alloc(k, g, tid);
    assert_non_null(t);
    t->group_next = g->tasks;
    g->tasks = t;
    g->live_tasks++;
    t->creds = (struct creds){.ruid = 1000,
                              .euid = 1000,
                              .suid = 1000,
                              .fsuid = 1000,
                              .rgid = 100,
                              .egid = 100,
                              .sgid = 100,
                              .fsgid = 100,
                              .cap_bounding = CREDS_CAP_ALL};
    return t;
}

/* Lays out argv and envp at the top of a stack, as the loader would. */
static inline void fx_mm(struct fx *x, struct task *t)
{
    assert_int_equal(mm_create(x->mf, FX_MAX_ADDR, &t->mm), 0);
    mm_set_layout(t->mm, FX_BRK, 0x7f0000000000UL);
    struct mm_map_request stack = {.addr = FX_STACK_TOP - FX_STACK_LEN,
                                   .len = FX_STACK_LEN,
                                   .prot = PROT_READ | PROT_WRITE,
                                   .vma_flags = VMA_GROWSDOWN,
                                   .fixed = true};
    assert_true(mm_map(t->mm, &stack) > 0);
    static const char strings[] = "init\0-v\0A=1\0";
    uint64_t at = FX_STACK_TOP - 64;
    assert_int_equal(mm_copy_out(t->mm, at, strings, sizeof(strings) - 1), 0);
    uint64_t auxv[4] = {6 /* AT_PAGESZ */, 4096, 0, 0};
    assert_int_equal(mm_copy_out(t->mm, at - 64, auxv, sizeof(auxv)), 0);
    struct mm_proc_ranges r = {.start_code = 0x400000,
                               .end_code = 0x401234,
                               .start_stack = at - 128,
                               .arg_start = at,
                               .arg_end = at + 8,
                               .env_start = at + 8,
                               .env_end = at + 12,
                               .auxv_start = at - 64,
                               .auxv_end = at - 32};
    mm_set_proc_ranges(t->mm, &r);
    assert_int_equal(mm_brk(t->mm, FX_BRK + 8192), FX_BRK + 8192);
    x->arg_start = at;
}

static inline int fx_setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    assert_int_equal(memfile_create(64UL << 20, &x->mf), 0);
    struct kernel *k = x->k = calloc(1, sizeof(*k));
    pthread_mutex_init(&k->lock, NULL);
    sysctl_table_init(&k->sysctl);
    clock_gettime(CLOCK_MONOTONIC, &k->boot_time);
    k->cfg.memfile = x->mf;
    k->cfg.hostname = "testhost";
    k->next_pid = 4;
    k->ntasks = 3;

    x->g1 = thread_group_alloc(k, 1);
    x->g2 = thread_group_alloc(k, 2);
    x->t1 = fx_task(k, x->g1, 1);
    x->t2 = fx_task(k, x->g2, 2);
    x->t3 = fx_task(k, x->g2, 3);
    x->g1->leader = x->t1;
    x->g2->leader = x->t2;
    x->g2->parent = x->g1;
    x->g1->children = x->g2;
    x->g1->pgid = x->g1->sid = 1;
    x->g2->pgid = x->g2->sid = 1;
    x->g1->next = x->g2;
    k->groups = x->g1;
    strcpy(x->t1->comm, "init");
    strcpy(x->t2->comm, "worker");
    strcpy(x->t3->comm, "worker-thread");
    x->g1->actions[SIGINT].handler = (uint64_t)(uintptr_t)SIG_IGN;
    x->g1->actions[SIGTERM].handler = 0x401000;
    x->t1->blocked = SIGBIT(SIGUSR1);
    fx_mm(x, x->t1);

    assert_int_equal(procfs_create(k, &x->sb, &x->root), 0);
    dentry_get(x->root); /* the namespace takes one */
    assert_int_equal(mount_ns_create(x->sb, x->root, "proc", 0, &x->ns), 0);
    struct vfs_path root = {x->ns->root, x->root};
    x->t1->fs = fs_context_create(x->ns, &root);
    x->t2->fs = fs_context_create(x->ns, &root);
    fs_context_get(x->t2->fs);
    x->t3->fs = x->t2->fs;
    x->cred = (struct vfs_cred){
        .fsuid = 0, .fsgid = 0, .dac_override = true, .fowner = true, .mknod = true};
    x->ctx = (struct walk_ctx){.fs = x->t1->fs, .cred = &x->cred, .start = root};

    /* sysfs on /sys/fs */
    assert_int_equal(sysfs_create(4, &x->sys_sb, &x->sys_root), 0);
    struct vfs_path at;
    assert_int_equal(vfs_walk(&x->ctx, "/sys/fs", WALK_FOLLOW, &at), 0);
    dentry_get(x->sys_root);
    assert_int_equal(mount_ns_add(x->ns, &at, x->sys_sb, x->sys_root, "sysfs", "", MNT_NOSUID), 0);
    vfs_path_put(&at);

    /* fds: a pipe's ends at 0 and 1 (close-on-exec), and /proc/meminfo open at 3 */
    x->t1->fds = fdtable_alloc();
    x->t2->fds = fdtable_alloc();
    fdtable_get_ref(x->t2->fds);
    x->t3->fds = x->t2->fds;
    assert_int_equal(pipe_create(0, &x->read_end, &x->write_end), 0);
    assert_int_equal(fdtable_install_at(x->t1->fds, 0, x->read_end, false), 0);
    assert_int_equal(fdtable_install_at(x->t1->fds, 1, x->write_end, true), 1);
    struct file *f;
    assert_int_equal(vfs_open(&x->ctx, "/meminfo", O_RDONLY, 0, &f), 0);
    assert_int_equal(fdtable_install_at(x->t1->fds, 3, f, false), 3);
    file_put(f);

    task_set_current(x->t1);
    *state = x;
    return 0;
}

static inline int fx_teardown(void **state)
{
    struct fx *x = *state;
    task_set_current(NULL);
    file_put(x->read_end);
    file_put(x->write_end);
    struct thread_group *groups[] = {x->g1, x->g2};
    for (int i = 0; i < 2; i++) {
        for (struct task *t = groups[i]->tasks; t; t = t->group_next) {
            mm_put(t->mm);
            fdtable_put_ref(t->fds);
            fs_context_put(t->fs);
            t->fs = NULL; /* task_free would put it again */
        }
        vfs_path_put(&groups[i]->exe);
    }
    task_free(x->t1);
    task_free(x->t2);
    mount_ns_put(x->ns);
    sysfs_destroy(x->sys_sb, x->sys_root);
    procfs_destroy(x->sb, x->root);
    pthread_mutex_destroy(&x->k->lock);
    free(x->k);
    memfile_destroy(x->mf);
    free(x);
    return 0;
}

/* The whole file at `path` (NUL-terminated; *len without it) or NULL with *err set. */
static inline char *fx_read(struct fx *x, const char *path, size_t *len, int *err)
{
    struct file *f;
    *err = vfs_open(&x->ctx, path, O_RDONLY, 0, &f);
    if (*err)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        ssize_t r = file_read(f, NULL, buf + n, cap - n);
        if (r < 0) {
            *err = (int)r;
            free(buf);
            file_put(f);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    file_put(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static inline char *fx_read_ok(struct fx *x, const char *path)
{
    int err;
    char *s = fx_read(x, path, NULL, &err);
    if (!s)
        fail_msg("reading %s: %d", path, err);
    return s;
}

static inline char *fx_readlink(struct fx *x, const char *path, int *err)
{
    static char buf[4096];
    ssize_t n = vfs_readlink(&x->ctx, path, buf, sizeof(buf) - 1);
    *err = n < 0 ? (int)n : 0;
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return buf;
}

/* A directory's names, space-separated, from getdents without "." and "..". */
struct fx_names {
    struct dir_emit e;
    char out[8192];
};

static inline bool fx_emit(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                           unsigned char type, int64_t next)
{
    struct fx_names *n = (struct fx_names *)e;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return true;
    size_t used = strlen(n->out);
    snprintf(n->out + used, sizeof(n->out) - used, "%s%.*s", used ? " " : "", (int)len, name);
    return true;
}

static inline const char *fx_list(struct fx *x, const char *path)
{
    static struct fx_names n;
    memset(&n, 0, sizeof(n));
    n.e.emit = fx_emit;
    struct file *f;
    int err = vfs_open(&x->ctx, path, O_RDONLY | O_DIRECTORY, 0, &f);
    if (err)
        fail_msg("opening %s: %d", path, err);
    assert_true(file_getdents(f, &n.e) >= 0);
    file_put(f);
    return n.out;
}

#endif
