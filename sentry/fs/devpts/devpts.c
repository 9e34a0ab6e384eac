/* The devpts filesystem: its root directory (ptmx and one node per live pty), the pty number
 * table, and the lifetime of a pty pair. */
#include "sentry/fs/devpts/devpts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "sentry/fs/dev/dev.h"
#include "sentry/fs/devpts/devpts_internal.h"
#include "sentry/kernel/kernel.h"

/* Linux's default kernel.pty.max. */
#define PTY_MAX 4096
#define PTS_MAJOR 136
#define TTY_GID 5
#define ROOT_INO 1
#define PTMX_INO 2

pthread_mutex_t pty_ctrl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pty *ptys[PTY_MAX];      /* pty_ctrl_lock */
static struct super_block *devpts_sb;  /* set once by devpts_create */
static struct inode *ptmx_inode;       /* set once by devpts_create; the root's reference */

void pty_get(struct pty *p)
{
    pthread_mutex_lock(&pty_ctrl_lock);
    p->refs++;
    pthread_mutex_unlock(&pty_ctrl_lock);
}

void pty_put(struct pty *p)
{
    pthread_mutex_lock(&pty_ctrl_lock);
    bool last = --p->refs == 0;
    if (last)
        ptys[p->index] = NULL; /* the number is free again */
    pthread_mutex_unlock(&pty_ctrl_lock);
    if (!last)
        return;
    waitqueue_destroy(&p->wait);
    pthread_mutex_destroy(&p->lock);
    free(p->out);
    free(p);
}

struct pty *pty_find_session(int sid)
{
    for (int i = 0; i < PTY_MAX && sid; i++) {
        if (ptys[i] && ptys[i]->session == sid)
            return ptys[i];
    }
    return NULL;
}

/* ---- /dev/pts/N ---- */

static int pts_open(struct inode *inode, int flags, struct file **out)
{
    pthread_mutex_lock(&pty_ctrl_lock);
    struct pty *p = inode->priv;
    if (p)
        p->refs++;
    pthread_mutex_unlock(&pty_ctrl_lock);
    if (!p)
        return -EIO;
    int err = pty_open_slave(p, inode, flags, !(flags & O_NOCTTY), out);
    pty_put(p);
    return err;
}

static bool pts_revalidate(struct inode *inode)
{
    pthread_mutex_lock(&pty_ctrl_lock);
    bool alive = inode->priv != NULL;
    pthread_mutex_unlock(&pty_ctrl_lock);
    return alive;
}

/* chmod and chown on a device node only change the node (grantpt's work). */
static int devpts_setattr(struct inode *inode, const struct vfs_setattr *attr)
{
    if (attr->mask & VFS_ATTR_SIZE)
        return -EINVAL;
    inode_apply_setattr(inode, attr);
    return 0;
}

static const struct inode_ops pts_inode_ops = {
    .open = pts_open,
    .revalidate = pts_revalidate,
    .setattr = devpts_setattr,
};

/* ---- /dev/pts/ptmx ---- */

int pty_create(struct kernel *k, uid_t owner, struct pty **out)
{
    if (!devpts_sb)
        return -ENODEV; /* no devpts yet: nothing to name the pty by */
    struct pty *p = calloc(1, sizeof(*p));

    if (!p || !(p->out = malloc(PTY_OUT_CAP))) {
        free(p);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    waitqueue_init(&p->wait);
    ldisc_init_termios(&p->termios);
    p->master_open = true;
    p->locked = true; /* until unlockpt (ptmx_open sets TTY_PTY_LOCK) */
    p->kernel = k;
    p->refs = 1;
    pthread_mutex_lock(&pty_ctrl_lock);
    int index = 0;
    while (index < PTY_MAX && ptys[index])
        index++;
    if (index == PTY_MAX) {
        pthread_mutex_unlock(&pty_ctrl_lock);
        goto out_free;
    }
    struct inode *inode = inode_alloc(devpts_sb, &pts_inode_ops, S_IFCHR | 0620,
                                      (uint64_t)index + 3);
    if (!inode) {
        pthread_mutex_unlock(&pty_ctrl_lock);
        goto out_free;
    }
    inode->uid = owner;
    inode->gid = TTY_GID;
    inode->rdev = makedev(PTS_MAJOR, index);
    inode->nlink = 1;
    inode->priv = p;
    p->inode = inode;
    p->index = index;
    ptys[index] = p;
    pthread_mutex_unlock(&pty_ctrl_lock);
    *out = p;
    return 0;
out_free:
    waitqueue_destroy(&p->wait);
    pthread_mutex_destroy(&p->lock);
    free(p->out);
    free(p);
    return index == PTY_MAX ? -ENOSPC : -ENOMEM;
}

/* A pty whose master was never opened: its node goes with it. */
static void pty_forget_node(struct pty *p)
{
    pthread_mutex_lock(&pty_ctrl_lock);
    struct inode *node = p->inode;
    p->inode = NULL;
    node->priv = NULL;
    pthread_mutex_unlock(&pty_ctrl_lock);
    inode_put(node);
}

static int ptmx_open(struct inode *inode, int flags, struct file **out)
{
    struct task *t = task_current();
    struct pty *p;
    int err = pty_create(t ? t->kernel : NULL, t ? t->creds.fsuid : 0, &p);
    if (err)
        return err;
    err = pty_open_master(p, inode, flags, out);
    if (err)
        pty_forget_node(p);
    pty_put(p);
    return err;
}

int devpts_console_create(struct kernel *k, const struct devpts_console_config *cfg,
                          struct file **master, struct file **slave)
{
    struct pty *p;
    int err = pty_create(k, cfg->owner, &p);
    if (err)
        return err;
    pthread_mutex_lock(&p->lock);
    p->locked = false; /* nobody is left to unlockpt it */
    p->winsize = cfg->winsize;
    pthread_mutex_unlock(&p->lock);
    if ((err = pty_open_master(p, ptmx_inode, O_RDWR, master)) != 0) {
        pty_forget_node(p);
        goto out_put;
    }
    pthread_mutex_lock(&pty_ctrl_lock);
    struct inode *node = p->inode;
    inode_get(node);
    pthread_mutex_unlock(&pty_ctrl_lock);
    err = pty_open_slave(p, node, O_RDWR, false, slave);
    inode_put(node);
    if (err) {
        file_put(*master); /* hangs the pty up, and its node goes */
        goto out_put;
    }
    /* As TIOCSCTTY by the session's leader would make it, with its group in the foreground. */
    pthread_mutex_lock(&pty_ctrl_lock);
    if (cfg->sid && !pty_find_session(cfg->sid)) {
        p->session = cfg->sid;
        p->pgrp = cfg->pgrp;
    }
    pthread_mutex_unlock(&pty_ctrl_lock);
out_put:
    pty_put(p);
    return err;
}

static const struct inode_ops ptmx_inode_ops = {
    .open = ptmx_open,
    .setattr = devpts_setattr,
};

/* ---- the root directory ---- */

static int root_lookup(struct inode *dir, const char *name, struct inode **out)
{
    if (strcmp(name, "ptmx") == 0) {
        inode_get(ptmx_inode);
        *out = ptmx_inode;
        return 0;
    }
    char *end;
    long n = strtol(name, &end, 10);
    /* Only the canonical spelling: "01" or "+1" name nothing. */
    if (*end || n < 0 || n >= PTY_MAX || (name[0] == '0' && name[1]) || name[0] == '+' ||
        name[0] == '-')
        return -ENOENT;
    pthread_mutex_lock(&pty_ctrl_lock);
    struct inode *inode = ptys[n] ? ptys[n]->inode : NULL;
    if (inode)
        inode_get(inode);
    pthread_mutex_unlock(&pty_ctrl_lock);
    if (!inode)
        return -ENOENT;
    *out = inode;
    return 0;
}

static int root_readdir(struct inode *dir, struct dir_list *out)
{
    int err = dir_list_add(out, "ptmx", 4, PTMX_INO, DT_CHR);

    pthread_mutex_lock(&pty_ctrl_lock);
    for (int i = 0; i < PTY_MAX && !err; i++) {
        if (!ptys[i] || !ptys[i]->inode)
            continue;
        char name[16];
        int len = snprintf(name, sizeof(name), "%d", i);
        err = dir_list_add(out, name, (size_t)len, (uint64_t)i + 3, DT_CHR);
    }
    pthread_mutex_unlock(&pty_ctrl_lock);
    return err;
}

static void root_evict(struct inode *inode)
{
    /* The filesystem goes with its root (never, while mounted). */
}

static const struct inode_ops root_inode_ops = {
    .lookup = root_lookup,
    .readdir = root_readdir,
    .setattr = devpts_setattr,
    .evict = root_evict,
};

static int devpts_statfs(struct super_block *sb, struct statfs *out)
{
    memset(out, 0, sizeof(*out));
    out->f_type = 0x1cd1; /* DEVPTS_SUPER_MAGIC */
    out->f_bsize = 4096;
    out->f_namelen = 255;
    return 0;
}

static const struct super_block_ops devpts_sb_ops = {
    .statfs = devpts_statfs,
};

int devpts_create(struct super_block **sb, struct dentry **root)
{
    if (!devpts_sb) {
        devpts_sb = super_block_create("devpts", &devpts_sb_ops, NULL);
        if (!devpts_sb)
            return -ENOMEM;
        ptmx_inode = inode_alloc(devpts_sb, &ptmx_inode_ops, S_IFCHR | 0666, PTMX_INO);
        if (!ptmx_inode)
            return -ENOMEM;
        ptmx_inode->rdev = makedev(5, 2);
        ptmx_inode->nlink = 1;
    }
    struct inode *dir = inode_alloc(devpts_sb, &root_inode_ops, S_IFDIR | 0755, ROOT_INO);
    if (!dir)
        return -ENOMEM;
    dir->nlink = 2;
    struct dentry *d = dentry_alloc_root(dir);
    if (!d)
        return -ENOMEM;
    *sb = devpts_sb;
    *root = d;
    return 0;
}

int devpts_open_peer(struct file *master, int flags, struct file **out)
{
    struct pty *p = pty_file_pty(master);

    pthread_mutex_lock(&pty_ctrl_lock);
    struct inode *inode = p->inode;
    if (inode)
        inode_get(inode);
    pthread_mutex_unlock(&pty_ctrl_lock);
    if (!inode)
        return -EIO;
    int err = pty_open_slave(p, inode, flags & (O_ACCMODE | O_NONBLOCK | O_NOCTTY),
                             !(flags & O_NOCTTY), out);
    /* Named as /dev/pts/N next to the ptmx the master was opened by. */
    struct dentry *dir = master->path.dentry ? master->path.dentry->parent : NULL;
    if (!err && dir) {
        char name[16];
        struct dentry *d;
        snprintf(name, sizeof(name), "%d", p->index);
        if (vfs_lookup_child(dir, name, false, &d) == 0) {
            (*out)->path.mnt = master->path.mnt;
            (*out)->path.dentry = d;
        }
    }
    inode_put(inode);
    return err;
}

int devpts_open_ctty(int flags, struct file **out)
{
    struct task *t = task_current();

    if (!t)
        return -ENXIO;
    pthread_mutex_lock(&pty_ctrl_lock);
    pthread_mutex_lock(&t->kernel->lock);
    int sid = t->tg->sid;
    bool detached = t->tg->ctty_detached;
    pthread_mutex_unlock(&t->kernel->lock);
    struct pty *p = detached ? NULL : pty_find_session(sid);
    struct inode *inode = p ? p->inode : NULL;
    if (p) {
        p->refs++;
        inode_get(inode);
    }
    pthread_mutex_unlock(&pty_ctrl_lock);
    if (!p)
        return -ENXIO;
    int err = pty_open_slave(p, inode, flags, false, out);
    inode_put(inode);
    pty_put(p);
    return err;
}

/* The kernel's foreground hook: the foreground group of session sid's terminal, 0 if none. */
static int pty_session_foreground(struct kernel *k, int sid)
{
    pthread_mutex_lock(&pty_ctrl_lock);
    struct pty *p = pty_find_session(sid);
    int fg = p ? p->pgrp : 0;
    pthread_mutex_unlock(&pty_ctrl_lock);
    return fg;
}

void devpts_install_hooks(void)
{
    dev_set_tty_open(devpts_open_ctty);
    kernel_set_session_end_hook(pty_session_end);
    kernel_set_foreground_hook(pty_session_foreground);
}
