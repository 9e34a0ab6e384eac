/* Changing the tree: Tmkdir, Tsymlink, Tmknod, Tlink, Trenameat and Tunlinkat, each on one
 * checked name in a directory the client holds a fid for. Created files belong to the gofer's
 * credentials; the requests' gid is not applied: the sentry, which knows the creator and its
 * user namespace, gives a new file its owner with a Tsetattr when it is not the gofer's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "gofer/internal.h"

/* Tunlinkat's flags: Linux's AT_REMOVEDIR value, the only one defined (diod's protocol.md). */
#define P9_DOTL_AT_REMOVEDIR 0x200

/* The common prologue: the directory fid and the name in it. Returns 0 or -errno. */
static int dir_and_name(struct gofer *g, uint32_t dir_id, const struct p9_str *wire_name,
                        struct gofer_fid **dir, char *name)
{
    int err;

    *dir = gofer_fid_lookup(g, dir_id);
    if (!*dir)
        return -EBADF;
    if ((err = gofer_name_copy(wire_name, name)) != 0)
        return err;
    if ((*dir)->readonly)
        return -EROFS;
    if (!S_ISDIR((*dir)->type))
        return -ENOTDIR;
    return 0;
}

/* The qid of what was just made at dir/name. */
static int created_qid(struct gofer *g, struct gofer_fid *dir, const char *name, struct p9_qid *qid)
{
    struct stat st;

    if (fstatat(dir->path_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    *qid = gofer_qid_from_stat(g, &st);
    return 0;
}

int gofer_handle_mkdir(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *dir;
    char name[NAME_MAX + 1];
    int err;

    if ((err = dir_and_name(g, req->tmkdir.dfid, &req->tmkdir.name, &dir, name)) != 0)
        return err;
    if (mkdirat(dir->path_fd, name, req->tmkdir.mode & 07777) != 0)
        return -errno;
    reply->type = P9_RMKDIR;
    return created_qid(g, dir, name, &reply->rmkdir.qid);
}

int gofer_handle_symlink(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    const struct p9_str *target = &req->tsymlink.target;
    struct gofer_fid *dir;
    char name[NAME_MAX + 1], text[PATH_MAX];
    int err;

    if ((err = dir_and_name(g, req->tsymlink.dfid, &req->tsymlink.name, &dir, name)) != 0)
        return err;
    /* symlink(2): an empty target is ENOENT; the text is never resolved here. */
    if (target->len == 0)
        return -ENOENT;
    if (target->len >= sizeof(text))
        return -ENAMETOOLONG;
    memcpy(text, target->ptr, target->len);
    text[target->len] = '\0';
    if (symlinkat(text, dir->path_fd, name) != 0)
        return -errno;
    reply->type = P9_RSYMLINK;
    return created_qid(g, dir, name, &reply->rsymlink.qid);
}

int gofer_handle_mknod(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *dir;
    char name[NAME_MAX + 1];
    mode_t mode = req->tmknod.mode;
    int err;

    if ((err = dir_and_name(g, req->tmknod.dfid, &req->tmknod.name, &dir, name)) != 0)
        return err;
    /* mknod(2): a zero type is a regular file; directories and symlinks have their own calls. */
    switch (mode & S_IFMT) {
    case 0:
        mode |= S_IFREG;
        break;
    case S_IFREG:
    case S_IFIFO:
    case S_IFSOCK:
    case S_IFCHR:
    case S_IFBLK:
        break;
    default:
        return -EINVAL;
    }
    if (mknodat(dir->path_fd, name, mode & (S_IFMT | 07777),
                makedev(req->tmknod.major, req->tmknod.minor)) != 0)
        return -errno;
    reply->type = P9_RMKNOD;
    return created_qid(g, dir, name, &reply->rmknod.qid);
}

int gofer_handle_link(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *dir, *target = gofer_fid_lookup(g, req->tlink.fid);
    char name[NAME_MAX + 1], target_name[16];
    int err;

    if (!target)
        return -EBADF;
    if ((err = dir_and_name(g, req->tlink.dfid, &req->tlink.name, &dir, name)) != 0)
        return err;
    if (S_ISDIR(target->type))
        return -EPERM; /* link(2): no hard links to directories */
    /* Through /proc/self/fd/N, which names the file itself (a symlink too: the magic link jumps
     * to the inode, and nothing further is followed). AT_EMPTY_PATH would need
     * CAP_DAC_READ_SEARCH before Linux 6.10. */
    gofer_fd_name(target->path_fd, target_name);
    if (linkat(g->proc_fd_dir, target_name, dir->path_fd, name, AT_SYMLINK_FOLLOW) != 0)
        return -errno;
    reply->type = P9_RLINK;
    return 0;
}

int gofer_handle_renameat(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *old_dir, *new_dir;
    char old_name[NAME_MAX + 1], new_name[NAME_MAX + 1];
    int err;

    if ((err = dir_and_name(g, req->trenameat.olddirfid, &req->trenameat.oldname, &old_dir,
                            old_name)) != 0 ||
        (err = dir_and_name(g, req->trenameat.newdirfid, &req->trenameat.newname, &new_dir,
                            new_name)) != 0)
        return err;
    if (renameat(old_dir->path_fd, old_name, new_dir->path_fd, new_name) != 0)
        return -errno;
    reply->type = P9_RRENAMEAT;
    return 0;
}

int gofer_handle_unlinkat(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *dir;
    char name[NAME_MAX + 1];
    uint32_t flags = req->tunlinkat.flags;
    int err;

    if ((err = dir_and_name(g, req->tunlinkat.dirfid, &req->tunlinkat.name, &dir, name)) != 0)
        return err;
    if (flags & ~(uint32_t)P9_DOTL_AT_REMOVEDIR)
        return -EINVAL;
    if (unlinkat(dir->path_fd, name, flags & P9_DOTL_AT_REMOVEDIR ? AT_REMOVEDIR : 0) != 0)
        return -errno;
    reply->type = P9_RUNLINKAT;
    return 0;
}
