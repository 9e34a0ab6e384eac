/* Opening files and I/O through the gofer: Tlopen and Tlcreate (which donate a host fd for a
 * regular file), Tread, Twrite, Treaddir and Tfsync on the gofer's own copy of the open file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gofer/internal.h"

/* Tlopen/Tlcreate flags are Linux's generic open flags (diod's protocol.md); these are the ones
 * the gofer honours, with the same values on every architecture. */
#define P9_DOTL_ACCMODE 03
#define P9_DOTL_TRUNC 01000
#define P9_DOTL_APPEND 02000

/* Rread and Rreaddir: size[4] type[1] tag[2] count[4] before the data. */
#define P9_RREAD_HEADER 11u

static uint32_t io_count_max(const struct gofer *g)
{
    return g->msize - P9_RREAD_HEADER;
}

/* Records fd as fid's open file and makes the copy to donate, for a regular file. */
static int fid_set_open(struct gofer_fid *fid, int fd, int flags, int *donate_fd)
{
    if (S_ISREG(fid->type)) {
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (copy < 0)
            return -errno;
        *donate_fd = copy;
    }
    fid->open_fd = fd;
    fid->opened = true;
    fid->open_flags = flags;
    return 0;
}

int gofer_handle_lopen(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->tlopen.fid);
    uint32_t flags = req->tlopen.flags;
    int access = (int)(flags & P9_DOTL_ACCMODE), open_flags;
    bool writes = access != O_RDONLY || (flags & P9_DOTL_TRUNC);
    struct stat st;
    char name[16];
    int fd, err;

    if (!fid)
        return -EBADF;
    if (fid->opened)
        return -EINVAL;
    if (access == P9_DOTL_ACCMODE)
        return -EINVAL;
    /* The gofer never follows a symlink, not even the last one (open(2) with O_NOFOLLOW). */
    if (S_ISLNK(fid->type))
        return -ELOOP;
    if (writes && fid->readonly)
        return -EROFS;
    if (S_ISDIR(fid->type)) {
        if (writes)
            return -EISDIR;
        open_flags = O_RDONLY | O_DIRECTORY;
    } else if (S_ISREG(fid->type)) {
        open_flags = access | (flags & P9_DOTL_APPEND ? O_APPEND : 0) |
                     (flags & P9_DOTL_TRUNC ? O_TRUNC : 0);
    } else {
        /* Fifos, sockets and devices are the sentry's to implement: opening a host fifo would
         * block the gofer, and a host device is no business of the container's. */
        if ((err = gofer_stat_fd(fid->path_fd, &st)) != 0)
            return err;
        fid->opened = true;
        fid->open_flags = access;
        reply->type = P9_RLOPEN;
        reply->rlopen.qid = gofer_qid_from_stat(g, &st);
        reply->rlopen.iounit = io_count_max(g);
        return 0;
    }
    /* Reopening /proc/self/fd/N opens the very file the O_PATH fd names, with the permission
     * checks of an open; the type was checked above, so no symlink is followed. */
    gofer_fd_name(fid->path_fd, name);
    fd = openat(g->proc_fd_dir, name, open_flags | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    if ((err = gofer_stat_fd(fd, &st)) != 0 ||
        (err = fid_set_open(fid, fd, open_flags & (O_ACCMODE | O_APPEND), dfd)) != 0) {
        close(fd);
        return err;
    }
    reply->type = P9_RLOPEN;
    reply->rlopen.qid = gofer_qid_from_stat(g, &st);
    reply->rlopen.iounit = io_count_max(g);
    return 0;
}

int gofer_handle_lcreate(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->tlcreate.fid);
    uint32_t flags = req->tlcreate.flags;
    int access = (int)(flags & P9_DOTL_ACCMODE);
    char name[NAME_MAX + 1];
    struct stat st;
    int fd, path_fd, err;

    if (!fid)
        return -EBADF;
    if ((err = gofer_name_copy(&req->tlcreate.name, name)) != 0)
        return err;
    if (fid->readonly)
        return -EROFS;
    if (fid->opened)
        return -EINVAL;
    if (!S_ISDIR(fid->type))
        return -ENOTDIR;
    if (access == P9_DOTL_ACCMODE)
        return -EINVAL;
    int open_flags = access | (flags & P9_DOTL_APPEND ? O_APPEND : 0);
    /* Always a new file: the sentry looks a name up before it creates one, so an existing file
     * here is a race it must hear about. */
    fd = openat(fid->path_fd, name,
                open_flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                req->tlcreate.mode & 07777);
    if (fd < 0)
        return -errno;
    if ((err = gofer_stat_fd(fd, &st)) != 0)
        goto out_unlink;
    path_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (path_fd < 0) {
        err = -errno;
        goto out_unlink;
    }
    /* lcreate: the fid now stands for the new file, open (diod's protocol.md). */
    int old_path_fd = fid->path_fd;
    mode_t old_type = fid->type;
    fid->path_fd = path_fd;
    fid->type = S_IFREG;
    if ((err = fid_set_open(fid, fd, open_flags, dfd)) != 0) {
        fid->path_fd = old_path_fd;
        fid->type = old_type;
        close(path_fd);
        goto out_unlink;
    }
    close(old_path_fd);
    reply->type = P9_RLCREATE;
    reply->rlcreate.qid = gofer_qid_from_stat(g, &st);
    reply->rlcreate.iounit = io_count_max(g);
    return 0;
out_unlink:
    /* O_EXCL made it ours: nobody else has seen it. */
    close(fd);
    unlinkat(fid->path_fd, name, 0);
    return err;
}

int gofer_handle_read(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->tread.fid);
    uint32_t count = req->tread.count;

    if (!fid || !fid->opened || (fid->open_flags & O_ACCMODE) == O_WRONLY)
        return -EBADF;
    if (S_ISDIR(fid->type))
        return -EISDIR;
    if (fid->open_fd < 0)
        return -EINVAL;
    if (req->tread.offset > (uint64_t)INT64_MAX)
        return -EINVAL;
    if (count > io_count_max(g))
        count = io_count_max(g);
    ssize_t n = pread(fid->open_fd, g->scratch, count, (off_t)req->tread.offset);
    if (n < 0)
        return -errno;
    reply->type = P9_RREAD;
    reply->rread.data = (struct p9_data){.ptr = g->scratch, .len = (size_t)n};
    return 0;
}

int gofer_handle_write(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->twrite.fid);

    if (!fid)
        return -EBADF;
    if (fid->readonly)
        return -EROFS;
    if (!fid->opened || (fid->open_flags & O_ACCMODE) == O_RDONLY)
        return -EBADF;
    if (fid->open_fd < 0)
        return -EINVAL;
    if (req->twrite.offset > (uint64_t)INT64_MAX)
        return -EINVAL;
    /* With O_APPEND, Linux's pwrite appends whatever the offset (pwrite(2), BUGS). */
    ssize_t n =
        pwrite(fid->open_fd, req->twrite.data.ptr, req->twrite.data.len, (off_t)req->twrite.offset);
    if (n < 0)
        return -errno;
    reply->type = P9_RWRITE;
    reply->rwrite.count = (uint32_t)n;
    return 0;
}

/* DT_* to a qid type. */
static uint8_t dirent_qid_type(uint8_t d_type)
{
    return d_type == DT_DIR ? P9_QTDIR : d_type == DT_LNK ? P9_QTSYMLINK : P9_QTFILE;
}

/* Appends the records of one getdents64 batch to the reply payload at scratch[*used, count).
 * Returns 1 when the payload is full, 0 when the whole batch fit, or -errno. */
static int readdir_fill(struct gofer *g, int dir_fd, const struct stat *dir_st, size_t batch,
                        size_t count, size_t *used)
{
    for (size_t pos = 0; pos < batch;) {
        struct dirent64 *d = (struct dirent64 *)(g->dirents + pos);
        pos += d->d_reclen;
        /* The sentry makes "." and ".." itself. */
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
            continue;
        uint8_t type = d->d_type;
        /* The directory's device: a mount point's entry has the inode number of the directory
         * under the mount, so its qid differs from the one Twalk gives (as Linux's d_ino does
         * from stat's st_ino). */
        struct stat st = {.st_dev = dir_st->st_dev, .st_ino = d->d_ino};
        if (type == DT_UNKNOWN && fstatat(dir_fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            type = (uint8_t)IFTODT(st.st_mode);
        struct p9_qid qid = gofer_qid_from_stat(g, &st);
        qid.type = dirent_qid_type(type);
        struct p9_dirent de = {
            .qid = qid,
            .offset = (uint64_t)d->d_off,
            .type = type,
            .name = p9_str_from_cstr(d->d_name),
        };
        ssize_t n = p9_dirent_encode(&de, g->scratch + *used, count - *used);
        if (n == -EMSGSIZE)
            return *used == 0 ? -EINVAL : 1; /* getdents(2): EINVAL, buffer too small */
        if (n < 0)
            continue; /* a name the wire can't carry: there is none on Linux, but skip it */
        *used += (size_t)n;
    }
    return 0;
}

int gofer_handle_readdir(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->treaddir.fid);
    size_t count = req->treaddir.count, used = 0;
    struct stat dir_st;
    int err = 0;

    if (!fid || !fid->opened)
        return -EBADF;
    if (!S_ISDIR(fid->type))
        return -ENOTDIR;
    if (req->treaddir.offset > (uint64_t)INT64_MAX)
        return -EINVAL;
    if (count > io_count_max(g))
        count = io_count_max(g);
    if ((err = gofer_stat_fd(fid->open_fd, &dir_st)) != 0)
        return err;
    /* The offset is a cookie from an earlier entry's d_off (0: the start); seeking to it makes
     * every Treaddir independent of the last. */
    if (lseek(fid->open_fd, (off_t)req->treaddir.offset, SEEK_SET) < 0)
        return -errno;
    for (;;) {
        ssize_t batch = getdents64(fid->open_fd, g->dirents, GOFER_MAX_MSIZE);
        if (batch < 0) {
            if (used > 0)
                break;
            return -errno;
        }
        if (batch == 0)
            break;
        err = readdir_fill(g, fid->open_fd, &dir_st, (size_t)batch, count, &used);
        if (err < 0)
            return err;
        if (err > 0)
            break;
    }
    reply->type = P9_RREADDIR;
    reply->rreaddir.data = (struct p9_data){.ptr = g->scratch, .len = used};
    return 0;
}

int gofer_handle_fsync(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->tfsync.fid);

    if (!fid || !fid->opened || fid->open_fd < 0)
        return -EBADF;
    if ((req->tfsync.datasync ? fdatasync(fid->open_fd) : fsync(fid->open_fd)) != 0)
        return -errno;
    reply->type = P9_RFSYNC;
    return 0;
}
