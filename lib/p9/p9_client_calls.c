/* The sentry's 9P2000.L client: one typed call per message the gofer filesystem needs, each a
 * p9_client_rpc() round trip, and the readdir record iterator. Names are checked before
 * sending; replies were checked against their request by p9_client_rpc(). */
#include "lib/p9/p9_client.h"
#include "lib/p9/p9_client_internal.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

/* A name the client sends for one path component: as p9_name_is_valid() wants, with Linux's
 * errno for an over-long one. */
static int p9_client_check_name(const char *name, struct p9_str *out)
{
    if (!name)
        return -EINVAL;
    *out = p9_str_from_cstr(name);
    if (out->len > P9_NAME_MAX)
        return -ENAMETOOLONG;
    return p9_name_is_valid(out->ptr, out->len) ? 0 : -EINVAL;
}

int p9_client_attach(struct p9_client *c, uint32_t *root_fid, struct p9_qid *qid)
{
    return p9_client_attach_name(c, "/", root_fid, qid);
}

int p9_client_attach_name(struct p9_client *c, const char *aname, uint32_t *root_fid,
                          struct p9_qid *qid)
{
    struct p9_msg req = {.type = P9_TATTACH};
    struct p9_msg reply;
    uint32_t fid;
    int err;

    err = p9_client_fid_alloc(c, &fid);
    if (err)
        return err;
    req.tattach.fid = fid;
    req.tattach.afid = P9_NOFID;
    req.tattach.uname = p9_str_from_cstr("");
    req.tattach.aname = p9_str_from_cstr(aname);
    req.tattach.n_uname = P9_NONUNAME;
    err = p9_client_call(c, &req, &reply);
    if (err) {
        p9_client_fid_free(c, fid);
        return err;
    }
    *root_fid = fid;
    if (qid)
        *qid = reply.rattach.qid;
    return 0;
}

int p9_client_walk(struct p9_client *c, uint32_t fid, uint32_t newfid, uint16_t nwname,
                   const char *const names[], struct p9_qid *qids, uint16_t *nqids)
{
    struct p9_msg req = {.type = P9_TWALK};
    struct p9_msg reply;
    int err;

    *nqids = 0;
    if (nwname > P9_MAXWELEM)
        return -EINVAL;
    req.twalk.fid = fid;
    req.twalk.newfid = newfid;
    req.twalk.nwname = nwname;
    for (uint16_t i = 0; i < nwname; i++) {
        err = p9_client_check_name(names[i], &req.twalk.wnames[i]);
        if (err)
            return err;
    }
    err = p9_client_call(c, &req, &reply);
    if (err)
        return err;
    /* 9P walk(5): a walk that fails at its first element is an error reply, so an Rwalk with
     * no qids for a non-empty walk is a server bug. */
    if (nwname > 0 && reply.rwalk.nwqid == 0) {
        p9_client_mark_dead(c);
        return -EIO;
    }
    if (reply.rwalk.nwqid)
        memcpy(qids, reply.rwalk.wqids, reply.rwalk.nwqid * sizeof(*qids));
    *nqids = reply.rwalk.nwqid;
    return reply.rwalk.nwqid == nwname ? 0 : -ENOENT;
}

int p9_client_getattr(struct p9_client *c, uint32_t fid, uint64_t request_mask, struct p9_attr *out)
{
    struct p9_msg req = {.type = P9_TGETATTR};
    struct p9_msg reply;
    int err;

    req.tgetattr.fid = fid;
    req.tgetattr.request_mask = request_mask;
    err = p9_client_call(c, &req, &reply);
    if (err)
        return err;
    *out = reply.rgetattr;
    return 0;
}

int p9_client_setattr(struct p9_client *c, uint32_t fid, const struct p9_setattr *attr)
{
    struct p9_msg req = {.type = P9_TSETATTR};
    struct p9_msg reply;

    req.tsetattr.fid = fid;
    req.tsetattr.attr = *attr;
    return p9_client_call(c, &req, &reply);
}

/* Rlopen and Rlcreate: the open body, and the donated fd to the caller or closed. */
static int p9_client_open_call(struct p9_client *c, struct p9_msg *req, struct p9_qid *qid,
                               uint32_t *iounit, int *donated_fd)
{
    struct p9_msg reply;
    int fd;
    int err;

    if (donated_fd)
        *donated_fd = -1;
    err = p9_client_rpc(c, req, &reply, NULL, &fd);
    if (err)
        return err;
    const struct p9_open_body *body = reply.type == P9_RLOPEN ? &reply.rlopen : &reply.rlcreate;
    if (qid)
        *qid = body->qid;
    if (iounit)
        *iounit = body->iounit;
    if (donated_fd)
        *donated_fd = fd;
    else if (fd >= 0)
        close(fd);
    return 0;
}

int p9_client_lopen(struct p9_client *c, uint32_t fid, uint32_t flags, struct p9_qid *qid,
                    uint32_t *iounit, int *donated_fd)
{
    struct p9_msg req = {.type = P9_TLOPEN};

    req.tlopen.fid = fid;
    req.tlopen.flags = flags;
    return p9_client_open_call(c, &req, qid, iounit, donated_fd);
}

int p9_client_lcreate(struct p9_client *c, uint32_t fid, const char *name, uint32_t flags,
                      uint32_t mode, uint32_t gid, struct p9_qid *qid, uint32_t *iounit,
                      int *donated_fd)
{
    struct p9_msg req = {.type = P9_TLCREATE};
    int err;

    if (donated_fd)
        *donated_fd = -1;
    err = p9_client_check_name(name, &req.tlcreate.name);
    if (err)
        return err;
    req.tlcreate.fid = fid;
    req.tlcreate.flags = flags;
    req.tlcreate.mode = mode;
    req.tlcreate.gid = gid;
    return p9_client_open_call(c, &req, qid, iounit, donated_fd);
}

/* read(2) and write(2) return ssize_t: a longer request is cut to what that can report. */
static size_t p9_clamp_io_len(size_t len)
{
    return len > SSIZE_MAX ? SSIZE_MAX : len;
}

ssize_t p9_client_read(struct p9_client *c, uint32_t fid, uint64_t offset, void *buf, size_t len)
{
    size_t io_size = p9_client_io_size(c);
    size_t done = 0;
    size_t chunk;

    len = p9_clamp_io_len(len);
    do {
        struct p9_msg req = {.type = P9_TREAD};
        struct p9_msg reply;
        chunk = len - done < io_size ? len - done : io_size;
        struct p9_sink sink = {(uint8_t *)buf + done, chunk};
        int err;

        req.tread.fid = fid;
        req.tread.offset = offset + done;
        req.tread.count = (uint32_t)chunk;
        err = p9_client_rpc(c, &req, &reply, &sink, NULL);
        if (err)
            return done ? (ssize_t)done : err;
        done += reply.rread.data.len;
        if (reply.rread.data.len < chunk)
            break; /* end of file, or a short read: the next one would start there anyway */
    } while (done < len);
    return (ssize_t)done;
}

ssize_t p9_client_write(struct p9_client *c, uint32_t fid, uint64_t offset, const void *buf,
                        size_t len)
{
    size_t io_size = p9_client_io_size(c);
    size_t done = 0;
    size_t chunk;

    len = p9_clamp_io_len(len);
    do {
        struct p9_msg req = {.type = P9_TWRITE};
        struct p9_msg reply;
        int err;

        chunk = len - done < io_size ? len - done : io_size;
        req.twrite.fid = fid;
        req.twrite.offset = offset + done;
        req.twrite.data = (struct p9_data){.ptr = (const uint8_t *)buf + done, .len = chunk};
        err = p9_client_call(c, &req, &reply);
        if (err)
            return done ? (ssize_t)done : err;
        done += reply.rwrite.count;
        if (reply.rwrite.count < chunk)
            break;
    } while (done < len);
    return (ssize_t)done;
}

ssize_t p9_client_readdir(struct p9_client *c, uint32_t fid, uint64_t offset, void *buf, size_t len)
{
    size_t io_size = p9_client_io_size(c);
    size_t count = len < io_size ? len : io_size;
    struct p9_msg req = {.type = P9_TREADDIR};
    struct p9_msg reply;
    struct p9_sink sink = {buf, count};
    int err;

    req.treaddir.fid = fid;
    req.treaddir.offset = offset;
    req.treaddir.count = (uint32_t)count;
    err = p9_client_rpc(c, &req, &reply, &sink, NULL);
    if (err)
        return err;
    return (ssize_t)reply.rreaddir.data.len;
}

int p9_client_dirent_next(const void *buf, size_t len, size_t *pos, struct p9_client_dirent *out)
{
    struct p9_dirent dirent;
    size_t next = *pos;

    if (next >= len)
        return 0;
    if (p9_dirent_decode(buf, len, &next, &dirent) != 0)
        return -EIO;
    const struct p9_str *name = &dirent.name;
    if (name->len == 0 || name->len > P9_NAME_MAX || memchr(name->ptr, '/', name->len))
        return -EIO; /* p9_dirent_decode() already refused a NUL */
    out->qid = dirent.qid;
    out->offset = dirent.offset;
    out->type = dirent.type;
    out->name_len = name->len;
    memcpy(out->name, name->ptr, name->len);
    out->name[name->len] = '\0';
    *pos = next;
    return 1;
}

int p9_client_mkdir(struct p9_client *c, uint32_t dfid, const char *name, uint32_t mode,
                    uint32_t gid, struct p9_qid *qid)
{
    struct p9_msg req = {.type = P9_TMKDIR};
    struct p9_msg reply;
    int err;

    err = p9_client_check_name(name, &req.tmkdir.name);
    if (err)
        return err;
    req.tmkdir.dfid = dfid;
    req.tmkdir.mode = mode;
    req.tmkdir.gid = gid;
    err = p9_client_call(c, &req, &reply);
    if (!err && qid)
        *qid = reply.rmkdir.qid;
    return err;
}

int p9_client_symlink(struct p9_client *c, uint32_t dfid, const char *name, const char *target,
                      uint32_t gid, struct p9_qid *qid)
{
    struct p9_msg req = {.type = P9_TSYMLINK};
    struct p9_msg reply;
    int err;

    err = p9_client_check_name(name, &req.tsymlink.name);
    if (err)
        return err;
    if (!target)
        return -EINVAL;
    req.tsymlink.target = p9_str_from_cstr(target);
    if (req.tsymlink.target.len == 0)
        return -ENOENT; /* symlink(2) with an empty target */
    req.tsymlink.dfid = dfid;
    req.tsymlink.gid = gid;
    err = p9_client_call(c, &req, &reply);
    if (!err && qid)
        *qid = reply.rsymlink.qid;
    return err;
}

int p9_client_mknod(struct p9_client *c, uint32_t dfid, const char *name, uint32_t mode,
                    uint32_t major, uint32_t minor, uint32_t gid, struct p9_qid *qid)
{
    struct p9_msg req = {.type = P9_TMKNOD};
    struct p9_msg reply;
    int err;

    err = p9_client_check_name(name, &req.tmknod.name);
    if (err)
        return err;
    req.tmknod.dfid = dfid;
    req.tmknod.mode = mode;
    req.tmknod.major = major;
    req.tmknod.minor = minor;
    req.tmknod.gid = gid;
    err = p9_client_call(c, &req, &reply);
    if (!err && qid)
        *qid = reply.rmknod.qid;
    return err;
}

ssize_t p9_client_readlink(struct p9_client *c, uint32_t fid, char *buf, size_t size)
{
    struct p9_msg req = {.type = P9_TREADLINK};
    struct p9_msg reply;
    struct p9_sink sink = {buf, size};
    int err;

    req.treadlink.fid = fid;
    err = p9_client_rpc(c, &req, &reply, &sink, NULL);
    if (err)
        return err;
    return (ssize_t)reply.rreadlink.target.len;
}

int p9_client_link(struct p9_client *c, uint32_t dfid, uint32_t fid, const char *name)
{
    struct p9_msg req = {.type = P9_TLINK};
    struct p9_msg reply;
    int err;

    err = p9_client_check_name(name, &req.tlink.name);
    if (err)
        return err;
    req.tlink.dfid = dfid;
    req.tlink.fid = fid;
    return p9_client_call(c, &req, &reply);
}

int p9_client_renameat(struct p9_client *c, uint32_t olddirfid, const char *oldname,
                       uint32_t newdirfid, const char *newname)
{
    struct p9_msg req = {.type = P9_TRENAMEAT};
    struct p9_msg reply;
    int err;

    err = p9_client_check_name(oldname, &req.trenameat.oldname);
    if (!err)
        err = p9_client_check_name(newname, &req.trenameat.newname);
    if (err)
        return err;
    req.trenameat.olddirfid = olddirfid;
    req.trenameat.newdirfid = newdirfid;
    return p9_client_call(c, &req, &reply);
}

int p9_client_unlinkat(struct p9_client *c, uint32_t dirfid, const char *name, uint32_t flags)
{
    struct p9_msg req = {.type = P9_TUNLINKAT};
    struct p9_msg reply;
    int err;

    err = p9_client_check_name(name, &req.tunlinkat.name);
    if (err)
        return err;
    req.tunlinkat.dirfid = dirfid;
    req.tunlinkat.flags = flags;
    return p9_client_call(c, &req, &reply);
}

int p9_client_statfs(struct p9_client *c, uint32_t fid, struct p9_statfs *out)
{
    struct p9_msg req = {.type = P9_TSTATFS};
    struct p9_msg reply;
    int err;

    req.tstatfs.fid = fid;
    err = p9_client_call(c, &req, &reply);
    if (err)
        return err;
    *out = reply.rstatfs;
    return 0;
}

int p9_client_fsync(struct p9_client *c, uint32_t fid, bool datasync)
{
    struct p9_msg req = {.type = P9_TFSYNC};
    struct p9_msg reply;

    req.tfsync.fid = fid;
    req.tfsync.datasync = datasync ? 1 : 0;
    return p9_client_call(c, &req, &reply);
}

int p9_client_clunk(struct p9_client *c, uint32_t fid)
{
    struct p9_msg req = {.type = P9_TCLUNK};
    struct p9_msg reply;
    int err;

    req.tclunk.fid = fid;
    err = p9_client_call(c, &req, &reply);
    p9_client_fid_free(c, fid);
    return err;
}
