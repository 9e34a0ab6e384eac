/* The sentry's 9P2000.L client: the request/reply round trip over a SOCK_SEQPACKET socket (with
 * SCM_RIGHTS fd donation), version negotiation, fid numbering, and the typed calls.
 * Reply checks follow Linux's net/9p/client.c; the gofer is not trusted, so every reply is
 * decoded with p9_decode() and checked against the request before anything is used. */
#include "lib/p9/p9_client.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Control-message room for this many fds: the gofer sends at most one; more are closed. */
#define P9_CLIENT_RX_FDS 8
/* Linux's largest errno (MAX_ERRNO): an Rlerror code above it is not an errno. */
#define P9_CLIENT_MAX_ERRNO 4095u
#define FID_WORD_BITS 64u

/* Lock order: rpc_lock and fid_lock are never held together. */
struct p9_client {
    int sock_fd;    /* owned; set by create, closed by destroy */
    uint32_t msize; /* set by create (Tversion), constant afterwards */
    /* Set once, never cleared. Relaxed loads and stores: the flag guards no other memory; a call
     * that misses a just-set flag takes rpc_lock and reads it again there, or fails on the
     * socket itself (shut down or broken) and gets -EIO that way. */
    atomic_bool dead;

    /* Serializes round trips: one request outstanding at a time. Held across sendmsg and the
     * blocking recvmsg on purpose, since the reply must be read by the thread that sent the
     * request; a gofer that never answers is unblocked by p9_client_shutdown(). */
    pthread_mutex_t rpc_lock;
    uint16_t next_tag; /* rpc_lock */
    uint8_t *tx;       /* rpc_lock; P9_CLIENT_MSIZE bytes, the request being sent */
    uint8_t *rx;       /* rpc_lock; P9_CLIENT_MSIZE bytes, the reply being read */

    pthread_mutex_t fid_lock; /* protects the three fields below */
    uint64_t *fid_words;      /* bitmap of fids in use, grown on demand */
    size_t fid_nwords;
    size_t fid_hint; /* every word below this one is full */
};

/* Where a call wants the variable part of its reply (Rread/Rreaddir data, Rreadlink target)
 * copied while rpc_lock still keeps rx stable. */
struct p9_sink {
    void *buf;
    size_t cap;
};

static void p9_client_mark_dead(struct p9_client *c)
{
    atomic_store_explicit(&c->dead, true, memory_order_relaxed);
}

bool p9_client_is_dead(const struct p9_client *c)
{
    return atomic_load_explicit(&c->dead, memory_order_relaxed);
}

uint32_t p9_client_msize(const struct p9_client *c)
{
    return c->msize;
}

uint32_t p9_client_io_size(const struct p9_client *c)
{
    return c->msize - P9_IOHDR_SIZE;
}

static void p9_close_fds(const int *fds, size_t nfds)
{
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
}

/* Sends tx[0, len) as one packet. MSG_NOSIGNAL: a gone gofer is EPIPE, never SIGPIPE. */
static int p9_client_send(struct p9_client *c, size_t len)
{
    ssize_t n;

    do {
        n = send(c->sock_fd, c->tx, len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)len ? 0 : -EIO; /* SOCK_SEQPACKET sends all or nothing */
}

/* Receives one packet into rx and the fds that came with it (up to P9_CLIENT_RX_FDS; the
 * kernel closes any beyond the control buffer). Returns its length, or -EIO if the peer hung
 * up, the socket failed, or the packet was longer than msize (MSG_TRUNC). */
static ssize_t p9_client_recv(struct p9_client *c, int *fds, size_t *nfds)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * P9_CLIENT_RX_FDS)];
    } control;
    struct iovec iov = {.iov_base = c->rx, .iov_len = c->msize};
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof(control.buf),
    };
    ssize_t n;

    *nfds = 0;
    do {
        n = recvmsg(c->sock_fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -EIO;
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count && *nfds < P9_CLIENT_RX_FDS; i++)
            memcpy(&fds[(*nfds)++], CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
    }
    if (n == 0 || (msg.msg_flags & MSG_TRUNC))
        return -EIO;
    return n;
}

/* Whether a well-formed reply answers req within what req asked for (and fits the sink, which
 * may be NULL for a reply with no variable part). */
static bool p9_reply_fits_request(const struct p9_msg *req, const struct p9_msg *reply,
                                  const struct p9_sink *sink)
{
    size_t sink_cap = sink ? sink->cap : 0;

    switch (reply->type) {
    case P9_RWALK:
        return reply->rwalk.nwqid <= req->twalk.nwname;
    case P9_RREAD:
        return reply->rread.data.len <= req->tread.count && reply->rread.data.len <= sink_cap;
    case P9_RREADDIR:
        return reply->rreaddir.data.len <= req->treaddir.count &&
               reply->rreaddir.data.len <= sink_cap;
    case P9_RWRITE:
        return reply->rwrite.count <= req->twrite.data.len;
    default:
        return true;
    }
}

/* Copies the reply's variable part into the sink and points the reply at the copy. */
static void p9_reply_copy_out(struct p9_msg *reply, const struct p9_sink *sink)
{
    struct p9_data *data = NULL;

    if (reply->type == P9_RREAD)
        data = &reply->rread.data;
    else if (reply->type == P9_RREADDIR)
        data = &reply->rreaddir.data;
    if (data) {
        if (data->len)
            memcpy(sink->buf, data->ptr, data->len);
        data->ptr = sink->buf;
    } else if (reply->type == P9_RREADLINK) {
        struct p9_str *target = &reply->rreadlink.target;
        if (target->len > sink->cap)
            target->len = sink->cap; /* readlink(2) truncates silently */
        if (target->len)
            memcpy(sink->buf, target->ptr, target->len);
        target->ptr = sink->buf;
    }
}

/* One round trip: sends req (its tag is set here), waits for the reply and checks it answers
 * req. Returns 0 with *reply filled, -errno for an Rlerror, -EINVAL / -ENAMETOOLONG if req
 * cannot be encoded (the connection stays up), or -EIO with the client marked dead. The reply's
 * data or string, if any, has been copied into the sink (NULL for replies with none; a reply
 * carrying data then counts as too long). If fd_out is not NULL, it receives the
 * first fd sent with a successful reply, or -1; every other fd received is closed. */
static int p9_client_rpc(struct p9_client *c, struct p9_msg *req, struct p9_msg *reply,
                         const struct p9_sink *sink, int *fd_out)
{
    int fds[P9_CLIENT_RX_FDS];
    size_t nfds = 0;
    ssize_t len;
    int err;

    if (fd_out)
        *fd_out = -1;
    if (p9_client_is_dead(c))
        return -EIO;
    pthread_mutex_lock(&c->rpc_lock);
    if (p9_client_is_dead(c)) {
        err = -EIO;
        goto out_unlock;
    }
    if (req->type == P9_TVERSION) {
        req->tag = P9_NOTAG;
    } else {
        req->tag = c->next_tag++;
        if (c->next_tag == P9_NOTAG)
            c->next_tag = 0;
    }
    len = p9_encode(req, c->tx, c->msize);
    if (len < 0) {
        /* Only strings can outgrow msize: the calls split their data to fit. */
        err = len == -EMSGSIZE ? -ENAMETOOLONG : -EINVAL;
        goto out_unlock;
    }
    err = p9_client_send(c, (size_t)len);
    if (err)
        goto out_dead;
    len = p9_client_recv(c, fds, &nfds);
    if (len < 0)
        goto out_dead;
    if (p9_decode(c->rx, (size_t)len, reply) != 0 || reply->tag != req->tag)
        goto out_dead;
    if (reply->type == P9_RLERROR) {
        uint32_t ecode = reply->rlerror.ecode;
        if (ecode == 0 || ecode > P9_CLIENT_MAX_ERRNO)
            goto out_dead;
        err = -(int)ecode;
        goto out_close_fds;
    }
    if (reply->type != req->type + 1 || !p9_reply_fits_request(req, reply, sink))
        goto out_dead;
    if (sink)
        p9_reply_copy_out(reply, sink);
    if (fd_out && nfds > 0) {
        *fd_out = fds[0];
        p9_close_fds(fds + 1, nfds - 1);
        nfds = 0;
    }
    err = 0;
    goto out_close_fds;

out_dead:
    p9_client_mark_dead(c);
    err = -EIO;
out_close_fds:
    p9_close_fds(fds, nfds);
out_unlock:
    pthread_mutex_unlock(&c->rpc_lock);
    return err;
}

/* A round trip whose reply has no variable part. */
static int p9_client_call(struct p9_client *c, struct p9_msg *req, struct p9_msg *reply)
{
    return p9_client_rpc(c, req, reply, NULL, NULL);
}

static int p9_client_version(struct p9_client *c)
{
    struct p9_msg req = {.type = P9_TVERSION};
    struct p9_msg reply;
    int err;

    req.tversion.msize = P9_CLIENT_MSIZE;
    req.tversion.version = p9_str_from_cstr(P9_VERSION_L);
    err = p9_client_call(c, &req, &reply);
    if (err)
        return err;
    const struct p9_str *version = &reply.rversion.version;
    if (version->len != strlen(P9_VERSION_L) || memcmp(version->ptr, P9_VERSION_L, version->len))
        return -EPROTONOSUPPORT;
    if (reply.rversion.msize < P9_CLIENT_MIN_MSIZE || reply.rversion.msize > P9_CLIENT_MSIZE)
        return -EIO;
    c->msize = reply.rversion.msize;
    return 0;
}

/* The socket must be a blocking SOCK_SEQPACKET socket: one 9P message per packet. */
static int p9_client_check_socket(int sock_fd)
{
    int type = 0;
    socklen_t type_len = sizeof(type);
    int flags;

    if (getsockopt(sock_fd, SOL_SOCKET, SO_TYPE, &type, &type_len) < 0)
        return -errno;
    if (type != SOCK_SEQPACKET)
        return -EINVAL;
    flags = fcntl(sock_fd, F_GETFL);
    if (flags < 0)
        return -errno;
    if ((flags & O_NONBLOCK) && fcntl(sock_fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

int p9_client_create(int sock_fd, struct p9_client **out)
{
    struct p9_client *c;
    int err;

    err = p9_client_check_socket(sock_fd);
    if (err)
        goto out_close;
    c = calloc(1, sizeof(*c));
    if (!c) {
        err = -ENOMEM;
        goto out_close;
    }
    c->sock_fd = sock_fd;
    c->msize = P9_CLIENT_MSIZE;
    atomic_init(&c->dead, false);
    c->tx = malloc(P9_CLIENT_MSIZE);
    c->rx = malloc(P9_CLIENT_MSIZE);
    if (!c->tx || !c->rx) {
        err = -ENOMEM;
        goto out_free;
    }
    err = -pthread_mutex_init(&c->rpc_lock, NULL);
    if (err)
        goto out_free;
    err = -pthread_mutex_init(&c->fid_lock, NULL);
    if (err)
        goto out_rpc_lock;
    err = p9_client_version(c);
    if (err)
        goto out_fid_lock;
    *out = c;
    return 0;

out_fid_lock:
    pthread_mutex_destroy(&c->fid_lock);
out_rpc_lock:
    pthread_mutex_destroy(&c->rpc_lock);
out_free:
    free(c->rx);
    free(c->tx);
    free(c);
out_close:
    close(sock_fd);
    return err;
}

void p9_client_destroy(struct p9_client *c)
{
    if (!c)
        return;
    close(c->sock_fd);
    pthread_mutex_destroy(&c->fid_lock);
    pthread_mutex_destroy(&c->rpc_lock);
    free(c->fid_words);
    free(c->rx);
    free(c->tx);
    free(c);
}

void p9_client_shutdown(struct p9_client *c)
{
    p9_client_mark_dead(c);
    /* Wakes a recvmsg blocked in another thread with EOF; sends then fail with EPIPE. */
    shutdown(c->sock_fd, SHUT_RDWR);
}

/* ---- fids ---- */

int p9_client_fid_alloc(struct p9_client *c, uint32_t *fid)
{
    const size_t max_words = P9_CLIENT_MAX_FIDS / FID_WORD_BITS;
    size_t i;
    int err = 0;

    pthread_mutex_lock(&c->fid_lock);
    for (i = c->fid_hint; i < c->fid_nwords; i++) {
        if (c->fid_words[i] != UINT64_MAX)
            break;
    }
    if (i == c->fid_nwords) {
        if (i == max_words) {
            err = -ENFILE;
            goto out_unlock;
        }
        size_t nwords = c->fid_nwords ? c->fid_nwords * 2 : 16;
        if (nwords > max_words)
            nwords = max_words;
        uint64_t *words = realloc(c->fid_words, nwords * sizeof(*words));
        if (!words) {
            err = -ENOMEM;
            goto out_unlock;
        }
        memset(words + c->fid_nwords, 0, (nwords - c->fid_nwords) * sizeof(*words));
        c->fid_words = words;
        c->fid_nwords = nwords;
    }
    unsigned int bit = (unsigned int)__builtin_ctzll(~c->fid_words[i]);
    c->fid_words[i] |= 1ULL << bit;
    c->fid_hint = i;
    *fid = (uint32_t)(i * FID_WORD_BITS + bit);
out_unlock:
    pthread_mutex_unlock(&c->fid_lock);
    return err;
}

void p9_client_fid_free(struct p9_client *c, uint32_t fid)
{
    size_t word = fid / FID_WORD_BITS;
    uint64_t mask = 1ULL << (fid % FID_WORD_BITS);

    pthread_mutex_lock(&c->fid_lock);
    assert(word < c->fid_nwords && (c->fid_words[word] & mask));
    if (word < c->fid_nwords) {
        c->fid_words[word] &= ~mask;
        if (word < c->fid_hint)
            c->fid_hint = word;
    }
    pthread_mutex_unlock(&c->fid_lock);
}

/* ---- typed calls ---- */

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
    req.tattach.aname = p9_str_from_cstr("/");
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

int p9_client_getattr(struct p9_client *c, uint32_t fid, uint64_t request_mask,
                      struct p9_attr *out)
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

ssize_t p9_client_readdir(struct p9_client *c, uint32_t fid, uint64_t offset, void *buf,
                          size_t len)
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
