/* The sentry's 9P2000.L client connection: the request/reply round trip over a SOCK_SEQPACKET
 * socket (with SCM_RIGHTS fd donation), version negotiation and fid numbering.
 * Reply checks follow Linux's net/9p/client.c; the gofer is not trusted, so every reply is
 * decoded with p9_decode() and checked against the request before anything is used. */
#include "lib/p9/p9_client.h"
#include "lib/p9/p9_client_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
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

void p9_client_mark_dead(struct p9_client *c)
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

/* See p9_client_internal.h. Every fd received is closed unless it goes to *fd_out. */
int p9_client_rpc(struct p9_client *c, struct p9_msg *req, struct p9_msg *reply,
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

int p9_client_call(struct p9_client *c, struct p9_msg *req, struct p9_msg *reply)
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
    /* The version string points into rx, outside rpc_lock: safe only because create is the
     * client's one thread so far. */
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
