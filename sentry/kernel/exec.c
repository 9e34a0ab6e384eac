/* execve(2): the file found through the VFS, "#!" scripts, a fresh address space loaded by the
 * loader on a fresh platform context, then the point of no return: other threads killed, the
 * old address space dropped, close-on-exec fds closed, handlers reset, a vfork parent released. */
#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "platform/platform.h"
#include "regs.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/kernel.h"
#include "sentry/loader/loader.h"
#include "sentry/mm/mm.h"

#define BINPRM_BUF_SIZE 256      /* Linux reads this much to recognise "#!" */
#define MAX_INTERP_DEPTH 4       /* BINPRM_MAX_RECURSION */

/* How much of the new image's cached file mappings execve maps before it first runs: enough for
 * a static binary's text and data, a bounded cost for a large one. */
#define EXEC_EAGER_FILE_BYTES (2UL << 20)

static void exec_cred(struct task *t, struct vfs_cred *cred)
{
    creds_vfs_cred(&t->creds, cred);
}

/* Opens `path` for execution as execve checks it: a regular file with execute permission on a
 * mount that allows it. */
static int open_exec(struct task *t, const struct vfs_path *start, const char *path,
                     struct file **out)
{
    struct vfs_cred cred;
    exec_cred(t, &cred);
    struct walk_ctx ctx = {.fs = t->fs, .cred = &cred, .start = *start};
    struct vfs_path p;
    int err = vfs_walk(&ctx, path, WALK_FOLLOW, &p);
    if (err)
        return err;
    struct inode *inode = p.dentry->inode;
    if (!S_ISREG(inode->mode) || (p.mnt->flags & MNT_NOEXEC))
        err = -EACCES;
    else
        err = inode_permission(inode, &cred, MAY_EXEC);
    if (!err)
        err = vfs_open_path(&p, &cred, O_RDONLY, out);
    vfs_path_put(&p);
    return err;
}

struct exec_file {
    struct file *file;
    struct mappable *m;
    uint64_t size;
};

static int exec_file_open(struct task *t, const struct vfs_path *start, const char *path,
                          struct exec_file *ef)
{
    int err = open_exec(t, start, path, &ef->file);
    if (err)
        return err;
    struct stat st;
    err = file_stat(ef->file, &st);
    if (!err)
        err = vfs_mappable_for_file(ef->file, t->fs->ns, &ef->m);
    if (err == -ENODEV)
        err = -EACCES;
    if (err) {
        file_put(ef->file);
        return err;
    }
    ef->size = (uint64_t)st.st_size;
    return 0;
}

static void exec_file_close(struct exec_file *ef)
{
    if (ef->m)
        ef->m->ops->put(ef->m);
    if (ef->file)
        file_put(ef->file);
    memset(ef, 0, sizeof(*ef));
}

struct interp_ctx {
    struct task *t;
};

/* The loader's way to the dynamic linker: an absolute path from the task's root. */
static int open_interp(void *arg, const char *path, struct mappable **out, uint64_t *size)
{
    struct interp_ctx *ic = arg;
    pthread_mutex_lock(&ic->t->fs->lock);
    struct vfs_path root = ic->t->fs->root;
    vfs_path_get(&root);
    pthread_mutex_unlock(&ic->t->fs->lock);
    struct exec_file ef = {0};
    int err = exec_file_open(ic->t, &root, path, &ef);
    vfs_path_put(&root);
    if (err)
        return err;
    ef.m->ops->get(ef.m);
    *out = ef.m;
    *size = ef.size;
    exec_file_close(&ef);
    return 0;
}

/* Parses a "#!" line in buf[0, len): the interpreter and its optional single argument, as
 * binfmt_script splits them (leading blanks skipped, the argument is the rest of the line with
 * trailing blanks cut). Returns 1 for a script, 0 for anything else, -ENOEXEC if the
 * interpreter name doesn't fit in the first BINPRM_BUF_SIZE bytes. */
static int parse_shebang(char *buf, size_t len, char **interp, char **arg)
{
    if (len < 2 || buf[0] != '#' || buf[1] != '!')
        return 0;
    char *end = memchr(buf, '\n', len);
    bool truncated = !end;
    if (!end)
        end = buf + len;
    *end = '\0';
    char *p = buf + 2;
    while (*p == ' ' || *p == '\t')
        p++;
    char *line_end = end;
    while (line_end > p && (line_end[-1] == ' ' || line_end[-1] == '\t'))
        *--line_end = '\0';
    if (!*p)
        return -ENOEXEC;
    *interp = p;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    if (truncated && !*p)
        return -ENOEXEC; /* the interpreter's name may go on past what was read */
    *arg = NULL;
    if (*p) {
        *p++ = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p)
            *arg = p;
    }
    return 1;
}

/* Kills the other threads of the group (de_thread) and waits until they are gone. */
static int exec_kill_siblings(struct task *t)
{
    struct kernel *k = t->kernel;
    struct thread_group *tg = t->tg;
    struct task *others[64];
    size_t n = 0;
    pthread_mutex_lock(&tg->lock);
    if (tg->exiting || tg->exec_task) {
        pthread_mutex_unlock(&tg->lock);
        return -EINTR; /* a fatal signal or another exec won */
    }
    tg->exec_task = t;
    for (struct task *it = tg->tasks; it; it = it->group_next)
        if (it != t && !it->released && n < sizeof(others) / sizeof(others[0]))
            others[n++] = it;
    pthread_mutex_unlock(&tg->lock);
    for (size_t i = 0; i < n; i++)
        task_interrupt(others[i]);
    pthread_mutex_lock(&k->lock);
    while (tg->live_tasks > 1)
        pthread_cond_wait(&k->changed, &k->lock);
    pthread_mutex_unlock(&k->lock);
    pthread_mutex_lock(&tg->lock);
    tg->exec_task = NULL;
    pthread_mutex_unlock(&tg->lock);
    return 0;
}

/* The part of execve after the new image is loaded: nothing can fail any more. */
static void exec_commit(struct task *t, struct mm *mm, struct platform_ctx *ctx,
                        const struct loader_result *lr, struct file *exe, const char *filename)
{
    /* Robust futexes it holds are released first, as Linux's mm_release does. */
    futex_exit_robust_list(t);
    /* The old address space's clear_child_tid is honoured before it goes (mm_release). */
    if (t->clear_child_tid && t->mm) {
        uint32_t zero = 0;
        if (mm_copy_out(t->mm, t->clear_child_tid, &zero, sizeof(zero)) == 0)
            futex_wake(t, t->clear_child_tid, false, 1, FUTEX_BITSET_MATCH_ANY);
    }
    t->clear_child_tid = 0;
    /* timer_create timers don't survive execve(2); interval timers do. */
    thread_group_release_timers(t->tg, false);
    t->robust_list = 0;
    t->robust_list_len = 0;

    pthread_mutex_lock(&t->wait_lock);
    struct platform_ctx *old_ctx = t->ctx;
    t->ctx = ctx;
    pthread_mutex_unlock(&t->wait_lock);
    if (old_ctx)
        platform_ctx_release(old_ctx);
    struct mm *old_mm = t->mm;
    t->mm = mm;
    if (old_mm)
        mm_put(old_mm);

    platform_ctx_initial_regs(ctx, &t->regs);
    arch_regs_init_exec(&t->regs, lr->entry, lr->sp);
    t->altstack_sp = 0;
    t->altstack_size = 0;
    t->altstack_flags = 0;
    /* The new image's capabilities (capabilities(7)); PR_SET_KEEPCAPS ends at execve. */
    creds_caps_exec(&t->creds);
    t->keepcaps = false;

    struct thread_group *tg = t->tg;
    pthread_mutex_lock(&tg->lock);
    for (int sig = 1; sig <= KERNEL_NSIG; sig++) {
        struct k_sigaction *act = &tg->actions[sig];
        /* Caught signals go back to their default; ignored ones stay ignored. */
        if (act->handler != (uint64_t)SIG_IGN)
            memset(act, 0, sizeof(*act));
        else
            act->flags = 0;
    }
    vfs_path_put(&tg->exe);
    tg->exe = exe->path;
    vfs_path_get(&tg->exe);
    pthread_mutex_unlock(&tg->lock);

    const char *base = strrchr(filename, '/');
    task_set_comm(t, base ? base + 1 : filename);

    fdtable_close_on_exec(t->fds);

    /* A vfork parent waits until its child execs or exits. */
    struct kernel *k = t->kernel;
    pthread_mutex_lock(&k->lock);
    if (!tg->vfork_done) {
        tg->vfork_done = true;
        if (tg->parent)
            waitqueue_wake_all(&tg->parent->child_events);
    }
    pthread_mutex_unlock(&k->lock);
}

int task_execve(struct task *t, const char *path, char *const *argv, char *const *envp,
                const char **why)
{
    int err;
    char *const *cur_argv = argv;
    char **script_argv = NULL;
    char *script_buf = NULL;
    const char *filename = path; /* what the guest asked for, for AT_EXECFN and comm */
    struct exec_file ef = {0};
    struct vfs_path cwd;
    pthread_mutex_lock(&t->fs->lock);
    cwd = t->fs->cwd;
    vfs_path_get(&cwd);
    pthread_mutex_unlock(&t->fs->lock);

    const char *target = path;
    for (int depth = 0;; depth++) {
        if ((err = exec_file_open(t, &cwd, target, &ef)) != 0)
            goto out;
        char head[BINPRM_BUF_SIZE + 1];
        ssize_t n = ef.m->ops->read(ef.m, head, BINPRM_BUF_SIZE, 0);
        if (n < 0) {
            err = (int)n;
            goto out;
        }
        char *interp, *arg;
        int script = parse_shebang(head, (size_t)n, &interp, &arg);
        if (script < 0) {
            err = script;
            *why = "bad interpreter line";
            goto out;
        }
        if (!script)
            break;
        if (depth >= MAX_INTERP_DEPTH) {
            err = -ELOOP;
            goto out;
        }
        /* argv becomes: interpreter, [argument], the script's path, argv[1...]. */
        size_t argc = 0;
        while (cur_argv[argc])
            argc++;
        size_t extra = arg ? 2 : 1;
        char **nargv = calloc(argc + extra + 2, sizeof(*nargv));
        char *buf = malloc(BINPRM_BUF_SIZE + 1 + strlen(target) + 1);
        if (!nargv || !buf) {
            free(nargv);
            free(buf);
            err = -ENOMEM;
            goto out;
        }
        size_t ilen = strlen(interp) + 1, alen = arg ? strlen(arg) + 1 : 0;
        memcpy(buf, interp, ilen);
        if (arg)
            memcpy(buf + ilen, arg, alen);
        char *script_path = buf + ilen + alen;
        strcpy(script_path, target);
        size_t k = 0;
        nargv[k++] = buf;
        if (arg)
            nargv[k++] = buf + ilen;
        nargv[k++] = script_path;
        for (size_t i = 1; i < argc; i++)
            nargv[k++] = cur_argv[i];
        nargv[k] = NULL;
        free(script_argv);
        free(script_buf);
        script_argv = nargv;
        script_buf = buf;
        cur_argv = nargv;
        target = buf;
        exec_file_close(&ef);
    }

    struct mm *mm;
    struct platform_as *as;
    struct platform_ctx *ctx = NULL;
    if ((err = mm_create(t->kernel->cfg.memfile,
                         platform_max_user_address(t->kernel->cfg.platform), &mm)) != 0)
        goto out;
    if ((err = platform_as_create(t->kernel->cfg.platform, &as)) != 0) {
        *why = "cannot create the guest address space";
        mm_put(mm);
        goto out;
    }
    mm_set_platform_as(mm, as);
    if ((err = platform_ctx_create(as, &ctx)) != 0) {
        *why = "cannot create the guest context";
        mm_put(mm);
        goto out;
    }
    struct interp_ctx ic = {.t = t};
    struct loader_args la = {
        .file = ef.m,
        .file_size = ef.size,
        .execfn = filename,
        .argv = cur_argv,
        .envp = envp,
        .uid = t->creds.ruid,
        .euid = t->creds.euid,
        .gid = t->creds.rgid,
        .egid = t->creds.egid,
        .open_interp = open_interp,
        .open_ctx = &ic,
        .vdso = t->kernel->vdso,
    };
    pthread_mutex_lock(&t->tg->lock);
    la.stack_limit = t->tg->rlimits[RLIMIT_STACK].rlim_cur;
    pthread_mutex_unlock(&t->tg->lock);
    struct loader_result lr;
    err = loader_load(mm, &la, &lr, why);
    /* The new image's own growth is bounded by the limits execve keeps. */
    task_apply_mm_limits(t, mm);
    struct arch_fpstate *fp = err ? NULL : malloc(sizeof(*fp));
    if (!err && !fp)
        err = -ENOMEM;
    if (!err && (err = platform_ctx_get_fpstate(ctx, fp)) == 0) {
        arch_fpstate_init(fp);
        err = platform_ctx_set_fpstate(ctx, fp);
    }
    free(fp);
    if (!err) {
        task_publish_image(mm);
        /* The name exec_commit gives the task, for the new context's host thread now (a
         * failure only costs host tools' view), so that task_run finds it given. */
        const char *base = strrchr(filename, '/');
        platform_ctx_set_name(ctx, base ? base + 1 : filename);
        /* Not fatal: whatever is not mapped now faults in later. After the image and the
         * name, which a platform may give the host in the same batch. */
        mm_map_eager(mm, EXEC_EAGER_FILE_BYTES);
    }
    if (!err)
        err = exec_kill_siblings(t);
    if (err) {
        platform_ctx_release(ctx);
        mm_put(mm);
        goto out;
    }
    exec_commit(t, mm, ctx, &lr, ef.file, filename);
out:
    exec_file_close(&ef);
    vfs_path_put(&cwd);
    free(script_argv);
    free(script_buf);
    return err;
}
