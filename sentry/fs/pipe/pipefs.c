/* pipefs: anonymous pipes reopened through /proc/PID/fd/N. Linux gives every pipe an inode in
 * an internal filesystem, so the magic link names an S_IFIFO inode whose open is fifo_open.
 * Here a pipe gets such an inode (and a root dentry on one internal, namespace-less mount) only
 * when a walk follows the link; each inode pins its pipe until it is evicted. Opening it is a
 * FIFO open of the same pipe: a new open file description with the open's access mode. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "sentry/fs/pipe/pipe.h"
#include "sentry/fs/pipe/pipe_internal.h"

/* statfs(2)'s f_type for pipefs (Linux's PIPEFS_MAGIC). */
#define PIPEFS_MAGIC 0x50495045

static pthread_once_t pipefs_once = PTHREAD_ONCE_INIT;
/* Set once by pipefs_init, then immutable. The mount is in no namespace: paths on it are only
 * reached through /proc's magic links. */
static struct super_block *pipefs_sb;
static struct mount pipefs_mnt;

static int pipefs_statfs(struct super_block *sb, struct statfs *out)
{
    (void)sb;
    memset(out, 0, sizeof(*out));
    out->f_type = PIPEFS_MAGIC;
    out->f_bsize = 4096;
    out->f_namelen = 255;
    out->f_frsize = 4096;
    return 0;
}

static const struct super_block_ops pipefs_sb_ops = {.statfs = pipefs_statfs};

static void pipefs_init(void)
{
    pipefs_sb = super_block_create("pipefs", &pipefs_sb_ops, NULL);
    pipefs_mnt.sb = pipefs_sb;
}

struct super_block *pipefs_super(void)
{
    pthread_once(&pipefs_once, pipefs_init);
    return pipefs_sb;
}

/* fifo_open() on a pipefs inode: an anonymous pipe never waits for a partner and never refuses
 * one (Linux's is_pipe case, checked against Linux here): a reader may open a pipe whose writers
 * are all gone and read end of file, and a writer one without readers, O_NONBLOCK or not. */
static int pipefs_open(struct inode *inode, int flags, struct file **out)
{
    struct pipe *p = inode->priv; /* pinned by the inode */
    int acc = flags & O_ACCMODE;
    enum pipe_end end = acc == O_RDONLY   ? PIPE_READ_END
                        : acc == O_WRONLY ? PIPE_WRITE_END
                                          : PIPE_BOTH_ENDS;
    struct pipe_file *pf = pipe_file_alloc(p, end);
    if (!pf)
        return -ENOMEM;
    pthread_mutex_lock(&p->lock);
    if (end != PIPE_WRITE_END) {
        p->readers++;
        p->r_counter++;
    }
    if (end != PIPE_READ_END) {
        p->writers++;
        p->w_counter++;
    }
    pf->w_counter_seen = p->w_counter;
    if (end != PIPE_WRITE_END)
        pipe_wake_writers(p);
    if (end != PIPE_READ_END)
        pipe_wake_readers(p);
    pthread_mutex_unlock(&p->lock);
    file_init_inode(&pf->base, pipe_file_ops(end), flags, inode);
    *out = &pf->base;
    return 0;
}

/* The inode's pin on its pipe goes; the pipe with it if no end is left either. */
static void pipefs_evict(struct inode *inode)
{
    struct pipe *p = inode->priv;

    pthread_mutex_lock(&p->lock);
    p->inodes--;
    bool last = p->readers == 0 && p->writers == 0 && p->inodes == 0;
    pthread_mutex_unlock(&p->lock);
    if (last)
        pipe_free(p);
}

static const struct inode_ops pipefs_inode_ops = {
    .open = pipefs_open,
    .evict = pipefs_evict,
};

int pipe_reopen_path(struct file *f, struct vfs_path *out)
{
    if (!pipe_is_pipe(f))
        return -ENXIO;
    struct pipe *p = ((struct pipe_file *)f)->pipe;
    if (p->fifo_inode)
        return -ENXIO; /* a FIFO's ends have its path */
    struct super_block *sb = pipefs_super();
    if (!sb)
        return -ENOMEM;
    struct inode *inode = inode_alloc(sb, &pipefs_inode_ops, S_IFIFO | 0600, p->ino);
    if (!inode)
        return -ENOMEM;
    inode->uid = p->uid;
    inode->gid = p->gid;
    inode->priv = p;
    /* f holds an end, so p is alive here; from now on the inode pins it. */
    pthread_mutex_lock(&p->lock);
    p->inodes++;
    pthread_mutex_unlock(&p->lock);
    struct dentry *d = dentry_alloc_root(inode);
    if (!d) {
        inode_put(inode);
        return -ENOMEM;
    }
    out->mnt = &pipefs_mnt;
    out->dentry = d;
    return 0;
}

bool pipe_is_anonymous(const struct file *f)
{
    return pipe_is_pipe(f) && !((const struct pipe_file *)f)->pipe->fifo_inode;
}
