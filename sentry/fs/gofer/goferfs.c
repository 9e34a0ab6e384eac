/* The gofer filesystem's inodes: lookup by Twalk, attributes by Tgetattr, and the directory
 * changes as the matching 9P requests. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "sentry/fs/gofer/gofer_internal.h"

static int statfs_gofer(struct super_block *sb, struct statfs *out)
{
    struct goferfs *fs = sb->priv;
    struct p9_statfs st;
    int err = p9_client_statfs(fs->client, fs->root_fid, &st);
    if (err)
        return err;
    out->f_type = st.type;
    out->f_bsize = st.bsize;
    out->f_blocks = st.blocks;
    out->f_bfree = st.bfree;
    out->f_bavail = st.bavail;
    out->f_files = st.files;
    out->f_ffree = st.ffree;
    out->f_namelen = st.namelen;
    out->f_frsize = st.bsize;
    return 0;
}

static const struct super_block_ops gofer_sb_ops = {.statfs = statfs_gofer};

void gofer_inode_set_attr(struct inode *inode, const struct p9_attr *a)
{
    const struct goferfs *fs = gofer_inode_of(inode)->fs;
    pthread_mutex_lock(&inode->lock);
    inode->mode = a->mode;
    inode->nlink = a->nlink;
    inode->uid = userns_from_host(&fs->uids, a->uid);
    inode->gid = userns_from_host(&fs->gids, a->gid);
    inode->rdev = a->rdev;
    inode->size = (int64_t)a->size;
    inode->blocks = (int64_t)a->blocks;
    inode->atime = (struct timespec){(time_t)a->atime_sec, (long)a->atime_nsec};
    inode->mtime = (struct timespec){(time_t)a->mtime_sec, (long)a->mtime_nsec};
    inode->ctime = (struct timespec){(time_t)a->ctime_sec, (long)a->ctime_nsec};
    pthread_mutex_unlock(&inode->lock);
}

static void gofer_evict(struct inode *inode)
{
    struct gofer_inode *gi = gofer_inode_of(inode);
    if (!gi)
        return;
    p9_client_clunk(gi->fs->client, gi->fid);
    gofer_inode_release_files(gi);
    gofer_inode_release_cache(gi);
    free(gi->link_target);
    free(gi);
}

int gofer_inode_make(struct super_block *sb, struct goferfs *fs, uint32_t fid,
                     const struct p9_attr *attr, struct inode **out)
{
    struct gofer_inode *gi = calloc(1, sizeof(*gi));
    struct inode *inode = gi ? inode_alloc(sb, &gofer_inode_ops, attr->mode, attr->qid.path) : NULL;
    if (!inode) {
        free(gi);
        p9_client_clunk(fs->client, fid);
        return -ENOMEM;
    }
    gi->fs = fs;
    gi->fid = fid;
    gi->read_fd = -1;
    gi->owner = inode;
    inode->priv = gi;
    gofer_inode_set_attr(inode, attr);
    *out = inode;
    return 0;
}

/* Walks one name from dir into a new fid with its attributes. */
static int walk_one(struct goferfs *fs, struct gofer_inode *dir, const char *name, uint32_t *fid,
                    struct p9_attr *attr)
{
    int err = p9_client_fid_alloc(fs->client, fid);
    if (err)
        return err;
    struct p9_qid qid;
    uint16_t nq;
    const char *names[1] = {name};
    err = p9_client_walk(fs->client, dir->fid, *fid, 1, names, &qid, &nq);
    if (err) {
        p9_client_fid_free(fs->client, *fid);
        return err;
    }
    err = p9_client_getattr(fs->client, *fid, P9_GETATTR_BASIC, attr);
    if (err)
        p9_client_clunk(fs->client, *fid);
    return err;
}

static int gofer_lookup(struct inode *dir, const char *name, struct inode **out)
{
    struct gofer_inode *gd = gofer_inode_of(dir);
    uint32_t fid;
    struct p9_attr attr;
    int err = walk_one(gd->fs, gd, name, &fid, &attr);
    if (err)
        return err;
    return gofer_inode_make(dir->sb, gd->fs, fid, &attr, out);
}

/* Before making a file in `dir`: -EROFS on a read-only tree; else the host ids the file gets:
 * the creator's fsuid, and the directory's group if it is set-group-ID, else the creator's
 * fsgid, each mapped to the host's. -EOVERFLOW if the user namespace does not map them (Linux
 * refuses creation then too). */
static int new_owner(struct inode *dir, const struct vfs_cred *cred, uint32_t *uid, uint32_t *gid)
{
    const struct goferfs *fs = gofer_inode_of(dir)->fs;
    if (fs->readonly)
        return -EROFS;
    pthread_mutex_lock(&dir->lock);
    gid_t group = (dir->mode & S_ISGID) ? dir->gid : cred->fsgid;
    pthread_mutex_unlock(&dir->lock);
    *uid = userns_to_host(&fs->uids, cred->fsuid);
    *gid = userns_to_host(&fs->gids, group);
    return *uid == USERNS_INVALID_ID || *gid == USERNS_INVALID_ID ? -EOVERFLOW : 0;
}

/* After a 9P request created `name` in dir: walk to it for a fid and its attributes, and give
 * it its owner. The gofer creates with its own credentials (host root); a file made by anyone
 * else, or through a user namespace, is chowned to the host ids the creator maps to, so the
 * host sees what it would see had the creator made it under runc. */
static int made(struct inode *dir, const char *name, uint32_t uid, uint32_t gid, struct inode **out)
{
    struct gofer_inode *gd = gofer_inode_of(dir);
    struct p9_client *client = gd->fs->client;
    uint32_t fid;
    struct p9_attr attr;
    int err = walk_one(gd->fs, gd, name, &fid, &attr);
    if (err)
        return err;
    if (attr.uid != uid || attr.gid != gid) {
        struct p9_setattr s = {.valid = P9_SETATTR_UID | P9_SETATTR_GID, .uid = uid, .gid = gid};
        err = p9_client_setattr(client, fid, &s);
        if (err == 0)
            err = p9_client_getattr(client, fid, P9_GETATTR_BASIC, &attr);
        if (err) {
            p9_client_clunk(client, fid);
            return err;
        }
    }
    return gofer_inode_make(dir->sb, gd->fs, fid, &attr, out);
}

static int refresh(struct inode *inode)
{
    struct gofer_inode *gi = gofer_inode_of(inode);
    struct p9_attr attr;
    int err = p9_client_getattr(gi->fs->client, gi->fid, P9_GETATTR_BASIC, &attr);
    if (!err)
        gofer_inode_set_attr(inode, &attr);
    return err;
}

static int gofer_create(struct inode *dir, const char *name, mode_t mode,
                        const struct vfs_cred *cred, struct inode **out)
{
    struct gofer_inode *gd = gofer_inode_of(dir);
    uint32_t uid, gid;
    int err = new_owner(dir, cred, &uid, &gid);
    if (err)
        return err;
    /* Tlcreate turns the fid it is given into the new open file: walk a clone to use. */
    uint32_t fid;
    err = p9_client_fid_alloc(gd->fs->client, &fid);
    if (err)
        return err;
    uint16_t nq;
    err = p9_client_walk(gd->fs->client, gd->fid, fid, 0, NULL, NULL, &nq);
    if (err) {
        p9_client_fid_free(gd->fs->client, fid);
        return err;
    }
    int fd = -1;
    err = p9_client_lcreate(gd->fs->client, fid, name, O_RDWR | O_EXCL, mode & 07777, gid, NULL,
                            NULL, &fd);
    p9_client_clunk(gd->fs->client, fid);
    if (fd >= 0)
        close(fd);
    if (err)
        return err;
    refresh(dir);
    return made(dir, name, uid, gid, out);
}

static int gofer_mkdir(struct inode *dir, const char *name, mode_t mode,
                       const struct vfs_cred *cred, struct inode **out)
{
    struct gofer_inode *gd = gofer_inode_of(dir);
    uint32_t uid, gid;
    int err = new_owner(dir, cred, &uid, &gid);
    if (err == 0)
        err = p9_client_mkdir(gd->fs->client, gd->fid, name, mode & 07777, gid, NULL);
    if (err)
        return err;
    refresh(dir);
    return made(dir, name, uid, gid, out);
}

static int gofer_mknod(struct inode *dir, const char *name, mode_t mode, dev_t rdev,
                       const struct vfs_cred *cred, struct inode **out)
{
    struct gofer_inode *gd = gofer_inode_of(dir);
    uint32_t uid, gid;
    int err = new_owner(dir, cred, &uid, &gid);
    if (err == 0)
        err = p9_client_mknod(gd->fs->client, gd->fid, name, mode, major(rdev), minor(rdev), gid,
                              NULL);
    if (err)
        return err;
    return made(dir, name, uid, gid, out);
}

static int gofer_symlink(struct inode *dir, const char *name, const char *target,
                         const struct vfs_cred *cred, struct inode **out)
{
    struct gofer_inode *gd = gofer_inode_of(dir);
    uint32_t uid, gid;
    int err = new_owner(dir, cred, &uid, &gid);
    if (err == 0)
        err = p9_client_symlink(gd->fs->client, gd->fid, name, target, gid, NULL);
    if (err)
        return err;
    return made(dir, name, uid, gid, out);
}

static int gofer_link(struct inode *dir, const char *name, struct inode *target)
{
    struct gofer_inode *gd = gofer_inode_of(dir);
    if (gd->fs->readonly)
        return -EROFS;
    int err = p9_client_link(gd->fs->client, gd->fid, gofer_inode_of(target)->fid, name);
    if (!err)
        refresh(target);
    return err;
}

static int gofer_unlink(struct inode *dir, const char *name, struct inode *victim)
{
    struct gofer_inode *gd = gofer_inode_of(dir);
    if (gd->fs->readonly)
        return -EROFS;
    int err = p9_client_unlinkat(gd->fs->client, gd->fid, name, 0);
    if (!err) {
        pthread_mutex_lock(&victim->lock);
        if (victim->nlink)
            victim->nlink--;
        pthread_mutex_unlock(&victim->lock);
    }
    return err;
}

static int gofer_rmdir(struct inode *dir, const char *name, struct inode *victim)
{
    (void)victim;
    struct gofer_inode *gd = gofer_inode_of(dir);
    if (gd->fs->readonly)
        return -EROFS;
    int err = p9_client_unlinkat(gd->fs->client, gd->fid, name, AT_REMOVEDIR);
    if (!err)
        refresh(dir);
    return err;
}

static int gofer_rename(struct inode *old_dir, const char *old_name, struct inode *new_dir,
                        const char *new_name, unsigned flags)
{
    struct gofer_inode *od = gofer_inode_of(old_dir), *nd = gofer_inode_of(new_dir);
    if (od->fs->readonly)
        return -EROFS;
    if (flags)
        return -EINVAL; /* Trenameat has no flags: NOREPLACE/EXCHANGE can't be made atomic */
    int err = p9_client_renameat(od->fs->client, od->fid, old_name, nd->fid, new_name);
    if (!err) {
        refresh(old_dir);
        if (new_dir != old_dir)
            refresh(new_dir);
    }
    return err;
}

static ssize_t gofer_readlink(struct inode *inode, char *buf, size_t size)
{
    struct gofer_inode *gi = gofer_inode_of(inode);
    pthread_mutex_lock(&inode->lock);
    if (!gi->link_target) {
        char *target = malloc(4096);
        ssize_t n = target ? p9_client_readlink(gi->fs->client, gi->fid, target, 4096) : -ENOMEM;
        if (n < 0) {
            free(target);
            pthread_mutex_unlock(&inode->lock);
            return n;
        }
        gi->link_target = target;
        gi->link_len = (size_t)n;
    }
    size_t n = gi->link_len < size ? gi->link_len : size;
    memcpy(buf, gi->link_target, n);
    pthread_mutex_unlock(&inode->lock);
    return (ssize_t)n;
}

static int gofer_setattr(struct inode *inode, const struct vfs_setattr *attr)
{
    struct gofer_inode *gi = gofer_inode_of(inode);
    if (gi->fs->readonly)
        return -EROFS;
    struct p9_setattr s = {0};
    if (attr->mask & VFS_ATTR_MODE) {
        s.valid |= P9_SETATTR_MODE;
        s.mode = attr->mode;
    }
    if (attr->mask & VFS_ATTR_UID) {
        s.valid |= P9_SETATTR_UID;
        s.uid = userns_to_host(&gi->fs->uids, attr->uid);
    }
    if (attr->mask & VFS_ATTR_GID) {
        s.valid |= P9_SETATTR_GID;
        s.gid = userns_to_host(&gi->fs->gids, attr->gid);
    }
    /* The syscalls refuse ids outside the map (EINVAL) before they get here. */
    if (s.uid == USERNS_INVALID_ID || s.gid == USERNS_INVALID_ID)
        return -EINVAL;
    if (attr->mask & VFS_ATTR_SIZE) {
        s.valid |= P9_SETATTR_SIZE;
        s.size = (uint64_t)attr->size;
    }
    if (attr->mask & VFS_ATTR_ATIME) {
        s.valid |= P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET;
        s.atime_sec = (uint64_t)attr->atime.tv_sec;
        s.atime_nsec = (uint64_t)attr->atime.tv_nsec;
    }
    if (attr->mask & VFS_ATTR_MTIME) {
        s.valid |= P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
        s.mtime_sec = (uint64_t)attr->mtime.tv_sec;
        s.mtime_nsec = (uint64_t)attr->mtime.tv_nsec;
    }
    if (attr->mask & VFS_ATTR_CTIME)
        s.valid |= P9_SETATTR_CTIME;
    int err = p9_client_setattr(gi->fs->client, gi->fid, &s);
    return err ? err : refresh(inode);
}

static int gofer_readdir(struct inode *dir, struct dir_list *out)
{
    struct gofer_inode *gd = gofer_inode_of(dir);
    struct p9_client *c = gd->fs->client;
    uint32_t fid;
    int err = p9_client_fid_alloc(c, &fid);
    if (err)
        return err;
    uint16_t nq;
    err = p9_client_walk(c, gd->fid, fid, 0, NULL, NULL, &nq);
    if (err) {
        p9_client_fid_free(c, fid);
        return err;
    }
    err = p9_client_lopen(c, fid, O_RDONLY | O_DIRECTORY, NULL, NULL, NULL);
    size_t cap = p9_client_io_size(c);
    char *buf = err ? NULL : malloc(cap);
    if (!err && !buf)
        err = -ENOMEM;
    uint64_t cookie = 0;
    while (!err) {
        ssize_t n = p9_client_readdir(c, fid, cookie, buf, cap);
        if (n <= 0) {
            err = (int)n;
            break;
        }
        size_t pos = 0;
        struct p9_client_dirent de;
        int r;
        while ((r = p9_client_dirent_next(buf, (size_t)n, &pos, &de)) == 1) {
            cookie = de.offset;
            if (strcmp(de.name, ".") == 0 || strcmp(de.name, "..") == 0)
                continue;
            if ((err = dir_list_add(out, de.name, de.name_len, de.qid.path, de.type)) != 0)
                break;
        }
        if (r < 0)
            err = r;
    }
    free(buf);
    p9_client_clunk(c, fid);
    return err;
}

const struct inode_ops gofer_inode_ops = {
    .lookup = gofer_lookup,
    .create = gofer_create,
    .mkdir = gofer_mkdir,
    .mknod = gofer_mknod,
    .symlink = gofer_symlink,
    .link = gofer_link,
    .unlink = gofer_unlink,
    .rmdir = gofer_rmdir,
    .rename = gofer_rename,
    .readlink = gofer_readlink,
    .setattr = gofer_setattr,
    .readdir = gofer_readdir,
    .open = gofer_open,
    .evict = gofer_evict,
};

/* Attaches to `aname` and makes the super block; on failure the client is destroyed only if
 * `owns_client`. */
static int goferfs_attach(struct p9_client *client, const char *aname,
                          const struct goferfs_options *o, bool owns_client,
                          struct super_block **sb_out, struct dentry **root_out)
{
    struct goferfs *fs = calloc(1, sizeof(*fs));
    if (!fs) {
        if (owns_client)
            p9_client_destroy(client);
        return -ENOMEM;
    }
    fs->client = client;
    fs->readonly = o->readonly;
    if (o->uids)
        fs->uids = *o->uids;
    if (o->gids)
        fs->gids = *o->gids;
    uint32_t root_fid;
    struct p9_qid qid;
    int err = p9_client_attach_name(client, aname, &root_fid, &qid);
    bool attached = !err;
    struct p9_attr attr;
    if (!err)
        err = p9_client_getattr(client, root_fid, P9_GETATTR_BASIC, &attr);
    fs->root_fid = root_fid;
    struct super_block *sb = err ? NULL : super_block_create("9p", &gofer_sb_ops, fs);
    if (!err && !sb)
        err = -ENOMEM;
    if (err) {
        if (owns_client)
            p9_client_destroy(client);
        else if (attached)
            p9_client_clunk(client, root_fid);
        free(fs);
        return err;
    }
    struct inode *root;
    if ((err = gofer_inode_make(sb, fs, root_fid, &attr, &root)) != 0)
        return err;
    struct dentry *d = dentry_alloc_root(root);
    if (!d) {
        inode_put(root);
        return -ENOMEM;
    }
    *sb_out = sb;
    *root_out = d;
    return 0;
}

int goferfs_create(struct p9_client *client, const struct goferfs_options *o,
                   struct super_block **sb_out, struct dentry **root_out)
{
    return goferfs_attach(client, "/", o, true, sb_out, root_out);
}

int goferfs_create_tree(struct p9_client *client, const char *aname,
                        const struct goferfs_options *o, struct super_block **sb_out,
                        struct dentry **root_out)
{
    return goferfs_attach(client, aname, o, false, sb_out, root_out);
}
