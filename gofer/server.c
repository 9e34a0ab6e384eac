/* The gofer's request loop: receives one 9P packet at a time on the SOCK_SEQPACKET socket,
 * decodes it, runs its handler and sends the reply (with a donated fd when the handler has one).
 * Also the session-level requests: version, attach, flush, clunk, and the ones we refuse. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gofer/internal.h"

static int handle_version(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    const struct p9_str *v = &req->tversion.version;

    /* A new session: every fid of the old one goes (version(5)). */
    gofer_fid_remove_all(g);
    reply->type = P9_RVERSION;
    /* The reply must fit any Rlerror and Rwalk header at least; smaller is no usable session. */
    if (req->tversion.msize < 512)
        return -EINVAL;
    g->msize = req->tversion.msize < GOFER_MAX_MSIZE ? req->tversion.msize : GOFER_MAX_MSIZE;
    if (v->len == strlen(P9_VERSION_L) && memcmp(v->ptr, P9_VERSION_L, v->len) == 0) {
        reply->rversion.version = p9_str_from_cstr(P9_VERSION_L);
        g->versioned = true;
    } else {
        reply->rversion.version = p9_str_from_cstr("unknown");
        g->versioned = false;
    }
    reply->rversion.msize = g->msize;
    return 0;
}

static int handle_attach(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    const struct p9_str *aname = &req->tattach.aname;
    struct stat st;
    int err;

    struct gofer_fid *fid;
    int tree_fd = g->root_fd;
    bool readonly = g->readonly;

    /* The root is "/" (or no name); an extra tree is "mount<i>" (gofer.h). */
    if (!(aname->len == 0 || (aname->len == 1 && aname->ptr[0] == '/'))) {
        char name[32];
        unsigned i;
        for (i = 0; i < g->ntrees; i++) {
            int n = snprintf(name, sizeof(name), GOFER_TREE_ANAME, i);
            if ((size_t)n == aname->len && memcmp(name, aname->ptr, aname->len) == 0)
                break;
        }
        if (i == g->ntrees)
            return -ENOENT;
        tree_fd = g->trees[i].fd;
        readonly = g->trees[i].readonly;
    }
    if (gofer_fid_lookup(g, req->tattach.fid))
        return -EBADF;
    int fd = fcntl(tree_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if ((err = gofer_stat_fd(fd, &st)) != 0 ||
        (err = gofer_fid_insert(g, req->tattach.fid, fd, st.st_mode, &fid)) != 0) {
        close(fd);
        return err;
    }
    fid->readonly = readonly;
    reply->type = P9_RATTACH;
    reply->rattach.qid = gofer_qid_from_stat(g, &st);
    return 0;
}

static int handle_flush(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    /* Requests run to completion in order, so nothing is ever outstanding to flush. */
    reply->type = P9_RFLUSH;
    return 0;
}

static int handle_clunk(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->tclunk.fid);

    if (!fid)
        return -EBADF;
    gofer_fid_remove(g, fid);
    reply->type = P9_RCLUNK;
    return 0;
}

static int handle_remove(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->tremove.fid);

    /* Tremove clunks the fid even when it fails (remove(5)); 9P2000.L clients use Tunlinkat. */
    if (!fid)
        return -EBADF;
    gofer_fid_remove(g, fid);
    return -EOPNOTSUPP;
}

static int handle_auth(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    /* No authentication: the socket is the capability. */
    return -EOPNOTSUPP;
}

static int handle_rename(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    /* Trename needs the fid's parent, which fids don't keep; clients fall back to Trenameat. */
    struct gofer_fid *fid = gofer_fid_lookup(g, req->trename.fid);
    if (!fid || !gofer_fid_lookup(g, req->trename.dfid))
        return -EBADF;
    return fid->readonly ? -EROFS : -EOPNOTSUPP;
}

static int handle_xattrwalk(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply,
                            int *dfd)
{
    if (!gofer_fid_lookup(g, req->txattrwalk.fid))
        return -EBADF;
    return -EOPNOTSUPP;
}

static int handle_xattrcreate(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply,
                              int *dfd)
{
    struct gofer_fid *fid = gofer_fid_lookup(g, req->txattrcreate.fid);
    if (!fid)
        return -EBADF;
    return fid->readonly ? -EROFS : -EOPNOTSUPP;
}

static int handle_lock(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    if (!gofer_fid_lookup(g, req->tlock.fid))
        return -EBADF;
    /* Record locks are the sentry's business: every lock is granted here. */
    reply->type = P9_RLOCK;
    reply->rlock.status = P9_LOCK_SUCCESS;
    return 0;
}

static int handle_getlock(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd)
{
    if (!gofer_fid_lookup(g, req->tgetlock.fid))
        return -EBADF;
    /* As fcntl(F_GETLK) with no conflicting lock: the request comes back as unlocked. */
    reply->type = P9_RGETLOCK;
    reply->rgetlock.type = P9_LOCK_TYPE_UNLCK;
    reply->rgetlock.start = req->tgetlock.start;
    reply->rgetlock.length = req->tgetlock.length;
    reply->rgetlock.proc_id = req->tgetlock.proc_id;
    reply->rgetlock.client_id = req->tgetlock.client_id;
    return 0;
}

static const gofer_handler handlers[128] = {
    [P9_TVERSION] = handle_version,
    [P9_TAUTH] = handle_auth,
    [P9_TATTACH] = handle_attach,
    [P9_TFLUSH] = handle_flush,
    [P9_TCLUNK] = handle_clunk,
    [P9_TREMOVE] = handle_remove,
    [P9_TRENAME] = handle_rename,
    [P9_TXATTRWALK] = handle_xattrwalk,
    [P9_TXATTRCREATE] = handle_xattrcreate,
    [P9_TLOCK] = handle_lock,
    [P9_TGETLOCK] = handle_getlock,
    [P9_TWALK] = gofer_handle_walk,
    [P9_TGETATTR] = gofer_handle_getattr,
    [P9_TSETATTR] = gofer_handle_setattr,
    [P9_TSTATFS] = gofer_handle_statfs,
    [P9_TREADLINK] = gofer_handle_readlink,
    [P9_TLOPEN] = gofer_handle_lopen,
    [P9_TLCREATE] = gofer_handle_lcreate,
    [P9_TREAD] = gofer_handle_read,
    [P9_TWRITE] = gofer_handle_write,
    [P9_TREADDIR] = gofer_handle_readdir,
    [P9_TFSYNC] = gofer_handle_fsync,
    [P9_TMKDIR] = gofer_handle_mkdir,
    [P9_TSYMLINK] = gofer_handle_symlink,
    [P9_TMKNOD] = gofer_handle_mknod,
    [P9_TLINK] = gofer_handle_link,
    [P9_TRENAMEAT] = gofer_handle_renameat,
    [P9_TUNLINKAT] = gofer_handle_unlinkat,
};

int gofer_create(const struct gofer_config *cfg, struct gofer **out)
{
    struct gofer *g = calloc(1, sizeof(*g));

    if (!g)
        goto out_fds;
    g->request = malloc(GOFER_MAX_MSIZE + 1);
    g->reply = malloc(GOFER_MAX_MSIZE);
    g->scratch = malloc(GOFER_MAX_MSIZE);
    g->dirents = malloc(GOFER_MAX_MSIZE);
    if (!g->request || !g->reply || !g->scratch || !g->dirents)
        goto out_buffers;
    g->root_fd = cfg->root_fd;
    g->proc_fd_dir = cfg->proc_fd_dir;
    g->readonly = cfg->readonly;
    if (cfg->ntrees) {
        g->trees = calloc(cfg->ntrees, sizeof(*g->trees));
        if (!g->trees)
            goto out_buffers;
        memcpy(g->trees, cfg->trees, cfg->ntrees * sizeof(*g->trees));
        g->ntrees = cfg->ntrees;
    }
    g->msize = GOFER_MAX_MSIZE;
    umask(0);
    *out = g;
    return 0;
out_buffers:
    free(g->dirents);
    free(g->scratch);
    free(g->reply);
    free(g->request);
    free(g);
out_fds:
    close(cfg->root_fd);
    close(cfg->proc_fd_dir);
    for (unsigned i = 0; i < cfg->ntrees; i++)
        close(cfg->trees[i].fd);
    return -ENOMEM;
}

void gofer_destroy(struct gofer *g)
{
    if (!g)
        return;
    gofer_fid_remove_all(g);
    close(g->root_fd);
    close(g->proc_fd_dir);
    for (unsigned i = 0; i < g->ntrees; i++)
        close(g->trees[i].fd);
    free(g->trees);
    free(g->dirents);
    free(g->scratch);
    free(g->reply);
    free(g->request);
    free(g);
}

/* Receives one packet into g->request. Returns its length, 0 at end of file, or -errno. A packet
 * longer than the buffer comes back as GOFER_MAX_MSIZE + 1 bytes (and so fails to decode). Fds
 * the client sends are closed: nothing in the protocol carries them this way. */
static ssize_t receive_packet(struct gofer *g, int sock_fd)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 16)];
    } control;
    struct iovec iov = {.iov_base = g->request, .iov_len = GOFER_MAX_MSIZE + 1};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf)};
    ssize_t n;

    do {
        n = recvmsg(sock_fd, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < nfds; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            close(fd);
        }
    }
    if (mh.msg_flags & MSG_TRUNC)
        return GOFER_MAX_MSIZE + 1;
    return n;
}

/* Sends reply[0, len), with donate_fd in SCM_RIGHTS when it is >= 0. Returns 0 or -errno. */
static int send_packet(struct gofer *g, int sock_fd, size_t len, int donate_fd)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec iov = {.iov_base = g->reply, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n;

    if (donate_fd >= 0) {
        memset(&control, 0, sizeof(control));
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof(control.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &donate_fd, sizeof(int));
    }
    do {
        n = sendmsg(sock_fd, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EMSGSIZE;
}

/* The tag of a packet that did not decode, if it has a header at all. */
static uint16_t packet_tag(const uint8_t *buf, size_t len)
{
    return len >= P9_HEADER_SIZE ? (uint16_t)(buf[5] | buf[6] << 8) : P9_NOTAG;
}

/* Decodes and handles one request; leaves the encoded reply in g->reply. Returns its length. */
static size_t handle_packet(struct gofer *g, size_t len, int *donate_fd)
{
    struct p9_msg req, reply;
    int err;

    memset(&reply, 0, sizeof(reply));
    err = p9_decode(g->request, len, &req);
    if (err != 0) {
        /* A well-framed message of a type we don't know is a protocol we don't speak. */
        reply.tag = packet_tag(g->request, len);
        err = err == -EPROTONOSUPPORT ? -EOPNOTSUPP : -EBADMSG;
    } else {
        reply.tag = req.tag;
        gofer_handler h = req.type < 128 ? handlers[req.type] : NULL;
        if (!h)
            err = -EOPNOTSUPP; /* an R-message, or a T-message of 9P2000 proper */
        else if (!g->versioned && req.type != P9_TVERSION)
            err = -EPROTO; /* the session starts with Tversion (version(5)) */
        else
            err = h(g, &req, &reply, donate_fd);
    }
    if (err == 0) {
        ssize_t n = p9_encode(&reply, g->reply, g->msize);
        if (n > 0)
            return (size_t)n;
        err = (int)n;
    }
    if (*donate_fd >= 0) {
        close(*donate_fd);
        *donate_fd = -1;
    }
    struct p9_msg error = {.type = P9_RLERROR, .tag = reply.tag, .rlerror.ecode = (uint32_t)-err};
    /* An Rlerror is 11 bytes: it always fits. */
    return (size_t)p9_encode(&error, g->reply, GOFER_MAX_MSIZE);
}

int gofer_serve(struct gofer *g, int sock_fd)
{
    for (;;) {
        int donate_fd = -1;
        ssize_t n = receive_packet(g, sock_fd);
        if (n == 0)
            return 0;
        if (n < 0)
            return n == -ECONNRESET ? 0 : (int)n;
        size_t len = handle_packet(g, (size_t)n, &donate_fd);
        int err = send_packet(g, sock_fd, len, donate_fd);
        if (donate_fd >= 0)
            close(donate_fd);
        /* A client that hung up before reading its reply has gone all the same. */
        if (err == -EPIPE || err == -ECONNRESET)
            return 0;
        if (err != 0)
            return err;
    }
}
