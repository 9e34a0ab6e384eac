/* Naming and describing files: Twalk (one component at a time, never following a symlink),
 * Tgetattr, Tsetattr, Tstatfs and Treadlink. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "gofer/internal.h"

/* Opens one component below dir_fd as an O_PATH fd. O_NOFOLLOW makes a symlink name itself, and
 * a symlink (or any non-directory) as dir_fd makes the lookup fail ENOTDIR: no walk ever goes
 * through a symlink, so none can lead out of the root. */
static int walk_one(int dir_fd, const char *name)
{
    int fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

int gofer_handle_walk(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    char names[P9_MAXWELEM][NAME_MAX + 1];
    uint16_t nwname = req->twalk.nwname;
    struct gofer_fid *fid = gofer_fid_lookup(g, req->twalk.fid);
    struct stat st = {0};
    int err = 0, cur_fd = -1; /* cur_fd: owned, the last component reached */
    uint16_t i;

    if (!fid)
        return -EBADF;
    if (req->twalk.newfid != req->twalk.fid && gofer_fid_lookup(g, req->twalk.newfid))
        return -EBADF;
    /* An open fid keeps naming the file it has open (walk(5): it can't be walked itself). */
    if (req->twalk.newfid == req->twalk.fid && fid->opened)
        return -EBUSY;
    /* A bad name anywhere is a bad request, not a partial walk: "..", "." and "a/b" never
     * reach a lookup. */
    for (i = 0; i < nwname; i++) {
        if ((err = gofer_name_copy(&req->twalk.wnames[i], names[i])) != 0)
            return err;
    }
    if (nwname == 0) {
        cur_fd = fcntl(fid->path_fd, F_DUPFD_CLOEXEC, 0);
        if (cur_fd < 0)
            return -errno;
        if ((err = gofer_stat_fd(cur_fd, &st)) != 0)
            goto out_cur;
    }
    for (i = 0; i < nwname; i++) {
        int next = walk_one(cur_fd >= 0 ? cur_fd : fid->path_fd, names[i]);
        if (next < 0) {
            err = next;
            break;
        }
        if (cur_fd >= 0)
            close(cur_fd);
        cur_fd = next;
        if ((err = gofer_stat_fd(cur_fd, &st)) != 0)
            break;
        reply->rwalk.wqids[i] = gofer_qid_from_stat(g, &st);
    }
    reply->type = P9_RWALK;
    reply->rwalk.nwqid = i;
    if (i < nwname) {
        /* walk(5): an error on the first element is an error; later, the qids so far, and
         * newfid is not made. */
        if (cur_fd >= 0)
            close(cur_fd);
        return i == 0 ? err : 0;
    }
    if (req->twalk.newfid == req->twalk.fid) {
        close(fid->path_fd);
        fid->path_fd = cur_fd;
        fid->type = st.st_mode & S_IFMT;
        return 0;
    }
    struct gofer_fid *newfid;
    if ((err = gofer_fid_insert(g, req->twalk.newfid, cur_fd, st.st_mode, &newfid)) != 0)
        goto out_cur;
    newfid->readonly = fid->readonly; /* a walk stays in its tree */
    return 0;
out_cur:
    close(cur_fd);
    return err;
}

int gofer_handle_getattr(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->tgetattr.fid);
    struct p9_attr *a = &reply->rgetattr;
    struct stat st;
    int err;

    if (!fid)
        return -EBADF;
    if ((err = gofer_stat_fd(fid->path_fd, &st)) != 0)
        return err;
    reply->type = P9_RGETATTR;
    /* Everything stat(2) has, whatever was asked (the mask is a hint: getattr in diod's
     * protocol.md); no birth time, generation or data version. */
    a->valid = P9_GETATTR_BASIC;
    a->qid = gofer_qid_from_stat(g, &st);
    a->mode = st.st_mode;
    a->uid = st.st_uid;
    a->gid = st.st_gid;
    a->nlink = st.st_nlink;
    a->rdev = st.st_rdev;
    a->size = (uint64_t)st.st_size;
    a->blksize = (uint64_t)st.st_blksize;
    a->blocks = (uint64_t)st.st_blocks;
    a->atime_sec = (uint64_t)st.st_atim.tv_sec;
    a->atime_nsec = (uint64_t)st.st_atim.tv_nsec;
    a->mtime_sec = (uint64_t)st.st_mtim.tv_sec;
    a->mtime_nsec = (uint64_t)st.st_mtim.tv_nsec;
    a->ctime_sec = (uint64_t)st.st_ctim.tv_sec;
    a->ctime_nsec = (uint64_t)st.st_ctim.tv_nsec;
    return 0;
}

/* A Tsetattr time: the given one, "now", or unchanged. */
static struct timespec setattr_time(uint32_t valid, uint32_t bit, uint32_t set_bit, uint64_t sec,
                                    uint64_t nsec)
{
    if (!(valid & bit))
        return (struct timespec){.tv_nsec = UTIME_OMIT};
    if (!(valid & set_bit))
        return (struct timespec){.tv_nsec = UTIME_NOW};
    return (struct timespec){.tv_sec = (time_t)sec, .tv_nsec = (long)nsec};
}

/* Truncates the regular file fid names, through a write-only reopen as truncate(2) would. */
static int setattr_size(struct gofer *g, struct gofer_fid *fid, uint64_t size)
{
    char name[16];

    if (S_ISDIR(fid->type))
        return -EISDIR;
    if (!S_ISREG(fid->type))
        return -EINVAL;
    if (size > (uint64_t)INT64_MAX)
        return -EINVAL;
    gofer_fd_name(fid->path_fd, name);
    int fd = openat(g->proc_fd_dir, name, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    int err = ftruncate(fd, (off_t)size) == 0 ? 0 : -errno;
    close(fd);
    return err;
}

int gofer_handle_setattr(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->tsetattr.fid);
    const struct p9_setattr *a = &req->tsetattr.attr;
    bool is_link;
    char name[16];
    int err;

    if (!fid)
        return -EBADF;
    if (fid->readonly)
        return -EROFS;
    is_link = S_ISLNK(fid->type);
    /* Mode and times go through /proc/self/fd/N, which names the file itself; Linux has no
     * chmod for a symlink, and its times would need the parent, which a fid doesn't keep. */
    gofer_fd_name(fid->path_fd, name);
    if (a->valid & P9_SETATTR_MODE) {
        if (is_link)
            return -EOPNOTSUPP;
        if (fchmodat(g->proc_fd_dir, name, a->mode & 07777, 0) != 0)
            return -errno;
    }
    if (a->valid & (P9_SETATTR_UID | P9_SETATTR_GID)) {
        uid_t uid = a->valid & P9_SETATTR_UID ? a->uid : (uid_t)-1;
        gid_t gid = a->valid & P9_SETATTR_GID ? a->gid : (gid_t)-1;
        if (fchownat(fid->path_fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
            return -errno;
    }
    if (a->valid & P9_SETATTR_SIZE && (err = setattr_size(g, fid, a->size)) != 0)
        return err;
    if (a->valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)) {
        struct timespec ts[2] = {
            setattr_time(a->valid, P9_SETATTR_ATIME, P9_SETATTR_ATIME_SET, a->atime_sec,
                         a->atime_nsec),
            setattr_time(a->valid, P9_SETATTR_MTIME, P9_SETATTR_MTIME_SET, a->mtime_sec,
                         a->mtime_nsec),
        };
        if (is_link)
            return -EOPNOTSUPP;
        if (utimensat(g->proc_fd_dir, name, ts, 0) != 0)
            return -errno;
    }
    /* ctime alone: a chown to the same owner changes nothing else and sets ctime to now. */
    if ((a->valid & (P9_SETATTR_MODE | P9_SETATTR_UID | P9_SETATTR_GID | P9_SETATTR_SIZE |
                     P9_SETATTR_ATIME | P9_SETATTR_MTIME)) == 0 &&
        a->valid & P9_SETATTR_CTIME &&
        fchownat(fid->path_fd, "", (uid_t)-1, (gid_t)-1, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    reply->type = P9_RSETATTR;
    return 0;
}

int gofer_handle_statfs(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->tstatfs.fid);
    struct statfs sf;

    if (!fid)
        return -EBADF;
    if (fstatfs(fid->path_fd, &sf) != 0)
        return -errno;
    reply->type = P9_RSTATFS;
    reply->rstatfs = (struct p9_statfs){
        .type = (uint32_t)sf.f_type,
        .bsize = (uint32_t)sf.f_bsize,
        .blocks = sf.f_blocks,
        .bfree = sf.f_bfree,
        .bavail = sf.f_bavail,
        .files = sf.f_files,
        .ffree = sf.f_ffree,
        .fsid = (uint64_t)(uint32_t)sf.f_fsid.__val[0] | (uint64_t)(uint32_t)sf.f_fsid.__val[1]
                                                             << 32,
        .namelen = (uint32_t)sf.f_namelen,
    };
    return 0;
}

int gofer_handle_readlink(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->treadlink.fid);
    char *buf = (char *)g->scratch;

    if (!fid)
        return -EBADF;
    /* readlink(2) of anything but a symlink (readlinkat on "" would say ENOENT). */
    if (!S_ISLNK(fid->type))
        return -EINVAL;
    /* The target as text, resolved by the sentry, never here. readlinkat(2) on "" reads the
     * symlink an O_PATH fd names. */
    ssize_t n = readlinkat(fid->path_fd, "", buf, PATH_MAX);
    if (n < 0)
        return -errno;
    if (n >= PATH_MAX)
        return -ENAMETOOLONG;
    reply->type = P9_RREADLINK;
    reply->rreadlink.target = (struct p9_str){.ptr = buf, .len = (size_t)n};
    return 0;
}
