/* A fake gofer for the p9_client tests: a thread on a SOCK_SEQPACKET socketpair that answers
 * canned replies, records what it was sent, and misbehaves on demand. Include after cmocka.h. */
#ifndef RUNSC_TESTS_UNIT_P9_FAKE_GOFER_H
#define RUNSC_TESTS_UNIT_P9_FAKE_GOFER_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/p9/p9.h"
#include "lib/p9/p9_client.h"

/* How the fake gofer answers the next requests (everything but Tversion). */
enum fake_mode {
    FAKE_NORMAL,
    FAKE_ERROR,         /* Rlerror(fake.error_code) */
    FAKE_HANG_UP,       /* read the request, then close the socket */
    FAKE_GARBAGE,       /* bytes that are not a 9P message */
    FAKE_WRONG_TAG,     /* the right reply with tag + 1 */
    FAKE_WRONG_TYPE,    /* Rclunk whatever was asked */
    FAKE_BAD_ERRNO,     /* Rlerror(0) */
    FAKE_FD_ON_REPLY,   /* the normal reply, with fake.donate_fd attached */
    FAKE_OVERSIZE_READ, /* Rread with one byte more than asked */
    FAKE_SILENT,        /* never answer */
    FAKE_TWO_FDS,       /* the normal reply, carrying donate_fd twice */
    FAKE_ERROR_WITH_FD, /* Rlerror(fake.error_code) carrying donate_fd */
    FAKE_EMPTY_WALK,    /* Rwalk with no qids, whatever was walked */
    FAKE_HUGE,          /* an Rread of 8000 bytes, whatever was asked: over a 4096 msize */
};

struct fake {
    int fd; /* the server's end */
    pthread_t thread;
    uint32_t msize;      /* the most it answers in Rversion */
    const char *version; /* the version it answers */
    enum fake_mode mode;
    uint32_t error_code;
    int donate_fd;       /* sent with Rlopen/Rlcreate if >= 0 (stays open here) */
    const uint8_t *file; /* Tread serves file[0, file_len) */
    size_t file_len;
    uint32_t write_limit; /* Rwrite count cap (0: all) */
    /* Written by the server thread before it replies, read by the test after the client call
     * returns: the reply orders them. */
    uint8_t last[P9_CLIENT_MSIZE];
    size_t last_len;
    unsigned int requests; /* T-messages seen, Tversion included */
    unsigned int treads;
    uint32_t tread_max_count;
    uint16_t tags[4]; /* tags of the last requests, newest first */
    uint8_t rx[P9_MAX_MSIZE];
    uint8_t tx[P9_MAX_MSIZE];
    uint8_t data[P9_MAX_MSIZE]; /* reply payloads */
};

static const struct p9_qid qid_dir = {.type = P9_QTDIR, .version = 3, .path = 0x1122334455667788};
static const struct p9_qid qid_file = {.type = P9_QTFILE, .version = 9, .path = 77};

static inline void fake_send(struct fake *f, const struct p9_msg *m, int fd, int nfds)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 2)];
    } control;
    ssize_t len = p9_encode(m, f->tx, sizeof(f->tx));
    assert_true(len > 0);
    struct iovec iov = {.iov_base = f->tx, .iov_len = (size_t)len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        int fds[2] = {fd, fd};
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)nfds);
    }
    sendmsg(f->fd, &msg, MSG_NOSIGNAL);
}

/* Three readdir records. */
static inline size_t fake_dirents(uint8_t *buf, size_t cap)
{
    static const char *const names[] = {"alpha", "beta", "a-much-longer-name.txt"};
    size_t len = 0;

    for (size_t i = 0; i < 3; i++) {
        struct p9_dirent d = {.qid = {.type = i == 0 ? P9_QTDIR : P9_QTFILE, .path = 500 + i},
                              .offset = 1000 + i,
                              .type = i == 0 ? DT_DIR : DT_REG,
                              .name = p9_str_from_cstr(names[i])};
        ssize_t n = p9_dirent_encode(&d, buf + len, cap - len);
        if (n < 0)
            break; /* the count asked for is full */
        len += (size_t)n;
    }
    return len;
}

/* The normal answer to req in *r; returns the fd to donate, or -1. */
static inline int fake_answer(struct fake *f, const struct p9_msg *req, struct p9_msg *r,
                              uint8_t *data)
{
    r->type = (uint8_t)(req->type + 1);
    switch (req->type) {
    case P9_TATTACH:
        r->rattach.qid = qid_dir;
        break;
    case P9_TWALK:
        for (uint16_t i = 0; i < req->twalk.nwname; i++) {
            const struct p9_str *name = &req->twalk.wnames[i];
            if (name->len == 7 && !memcmp(name->ptr, "missing", 7))
                break;
            r->rwalk.wqids[i] = (struct p9_qid){.type = P9_QTDIR, .path = 100 + i};
            r->rwalk.nwqid = (uint16_t)(i + 1);
        }
        if (req->twalk.nwname && !r->rwalk.nwqid) {
            r->type = P9_RLERROR;
            r->rlerror.ecode = ENOENT;
        }
        break;
    case P9_TGETATTR: /* echoes the fid, so a mixed-up reply is visible */
        r->rgetattr.valid = req->tgetattr.request_mask;
        r->rgetattr.qid = (struct p9_qid){.type = P9_QTFILE, .path = req->tgetattr.fid};
        r->rgetattr.mode = 0100644;
        r->rgetattr.size = (uint64_t)req->tgetattr.fid * 7;
        r->rgetattr.mtime_sec = 1700000000;
        break;
    case P9_TLOPEN:
    case P9_TLCREATE:
        r->rlopen.qid = qid_file;
        r->rlopen.iounit = 8192;
        return f->donate_fd;
    case P9_TREAD: {
        uint64_t off = req->tread.offset;
        size_t n = off < f->file_len ? f->file_len - off : 0;
        if (n > req->tread.count)
            n = req->tread.count;
        r->rread.data = (struct p9_data){.ptr = f->file + (n ? off : 0), .len = n};
        break;
    }
    case P9_TWRITE:
        r->rwrite.count = (uint32_t)req->twrite.data.len;
        if (f->write_limit && r->rwrite.count > f->write_limit)
            r->rwrite.count = f->write_limit;
        break;
    case P9_TREADDIR:
        r->rreaddir.data.ptr = data;
        r->rreaddir.data.len = req->treaddir.offset ? 0 : fake_dirents(data, req->treaddir.count);
        break;
    case P9_TMKDIR:
    case P9_TSYMLINK:
    case P9_TMKNOD:
        r->rmkdir.qid = (struct p9_qid){.type = P9_QTDIR, .version = 1, .path = 4242};
        break;
    case P9_TREADLINK:
        r->rreadlink.target = p9_str_from_cstr("../target/of/link");
        break;
    case P9_TSTATFS:
        r->rstatfs = (struct p9_statfs){.type = 0x01021997,
                                        .bsize = 4096,
                                        .blocks = 1000,
                                        .bfree = 500,
                                        .bavail = 400,
                                        .files = 90,
                                        .ffree = 80,
                                        .fsid = 0xabcdef,
                                        .namelen = 255};
        break;
    default: /* the bodiless replies */
        break;
    }
    return -1;
}

static inline void *fake_main(void *arg)
{
    struct fake *f = arg;
    uint8_t *data = f->data;

    for (;;) {
        struct p9_msg req, reply;
        ssize_t n = recv(f->fd, f->rx, sizeof(f->rx), 0);
        if (n <= 0)
            break;
        memcpy(f->last, f->rx, (size_t)n < sizeof(f->last) ? (size_t)n : sizeof(f->last));
        f->last_len = (size_t)n;
        f->requests++;
        if (p9_decode(f->rx, (size_t)n, &req) != 0)
            break;
        memmove(f->tags + 1, f->tags, sizeof(f->tags) - sizeof(f->tags[0]));
        f->tags[0] = req.tag;
        memset(&reply, 0, sizeof(reply));
        reply.tag = req.tag;
        if (req.type == P9_TVERSION) {
            reply.type = P9_RVERSION;
            reply.rversion.msize = req.tversion.msize < f->msize ? req.tversion.msize : f->msize;
            reply.rversion.version = p9_str_from_cstr(f->version);
            fake_send(f, &reply, -1, 0);
            continue;
        }
        if (req.type == P9_TREAD) {
            f->treads++;
            if (req.tread.count > f->tread_max_count)
                f->tread_max_count = req.tread.count;
        }
        int fd = fake_answer(f, &req, &reply, data);
        switch (f->mode) {
        case FAKE_NORMAL:
            fake_send(f, &reply, fd, 1);
            break;
        case FAKE_ERROR:
            reply.type = P9_RLERROR;
            reply.rlerror.ecode = f->error_code;
            fake_send(f, &reply, -1, 0);
            break;
        case FAKE_HANG_UP:
            close(f->fd);
            f->fd = -1;
            return NULL;
        case FAKE_GARBAGE: {
            static const uint8_t junk[] = {0x09, 0, 0, 0, 0xee, 0x01, 0x00, 0xaa, 0xbb};
            send(f->fd, junk, sizeof(junk), MSG_NOSIGNAL);
            break;
        }
        case FAKE_WRONG_TAG:
            reply.tag++;
            fake_send(f, &reply, -1, 0);
            break;
        case FAKE_WRONG_TYPE:
            reply.type = P9_RCLUNK;
            fake_send(f, &reply, -1, 0);
            break;
        case FAKE_BAD_ERRNO:
            reply.type = P9_RLERROR;
            reply.rlerror.ecode = 0;
            fake_send(f, &reply, -1, 0);
            break;
        case FAKE_FD_ON_REPLY:
            fake_send(f, &reply, f->donate_fd, 1);
            break;
        case FAKE_OVERSIZE_READ:
            if (reply.type == P9_RREAD)
                reply.rread.data = (struct p9_data){.ptr = data, .len = req.tread.count + 1u};
            fake_send(f, &reply, -1, 0);
            break;
        case FAKE_SILENT:
            break;
        case FAKE_TWO_FDS:
            fake_send(f, &reply, f->donate_fd, 2);
            break;
        case FAKE_EMPTY_WALK:
            reply.type = P9_RWALK;
            reply.rwalk.nwqid = 0;
            fake_send(f, &reply, -1, 0);
            break;
        case FAKE_HUGE:
            reply.type = P9_RREAD;
            reply.rread.data = (struct p9_data){.ptr = data, .len = 8000};
            fake_send(f, &reply, -1, 0);
            break;
        case FAKE_ERROR_WITH_FD:
            reply.type = P9_RLERROR;
            reply.rlerror.ecode = f->error_code;
            fake_send(f, &reply, f->donate_fd, 1);
            break;
        }
    }
    return NULL;
}

/* A fake gofer, and a client connected to it. */
struct fixture {
    struct fake *fake;
    struct p9_client *client;
    int client_fd; /* the client's end, for the tests that create the client themselves */
};

static inline struct fake *fake_start(struct fixture *fx, uint32_t msize, const char *version)
{
    int sv[2];
    struct fake *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    f->fd = sv[0];
    f->msize = msize;
    f->version = version;
    f->donate_fd = -1;
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
    fx->fake = f;
    fx->client_fd = sv[1];
    return f;
}

static inline int setup_msize(void **state, uint32_t msize)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fake_start(fx, msize, P9_VERSION_L);
    assert_int_equal(p9_client_create(fx->client_fd, &fx->client), 0);
    *state = fx;
    alarm(60); /* a call that hangs fails the test instead of stalling it */
    return 0;
}

static inline int setup(void **state)
{
    return setup_msize(state, P9_CLIENT_MSIZE);
}

static inline int setup_small(void **state)
{
    return setup_msize(state, 4096);
}

/* Only the fake: the test makes the client. */
static inline int setup_fake_only(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    *state = fx;
    alarm(60);
    return 0;
}

static inline int teardown(void **state)
{
    struct fixture *fx = *state;

    alarm(0);
    if (fx->client)
        p9_client_destroy(fx->client); /* EOF ends the fake */
    if (fx->fake) {
        pthread_join(fx->fake->thread, NULL);
        if (fx->fake->fd >= 0)
            close(fx->fake->fd);
        if (fx->fake->donate_fd >= 0)
            close(fx->fake->donate_fd);
        free(fx->fake);
    }
    free(fx);
    return 0;
}

/* The last request the fake saw, decoded (views into fake->last). */
static inline struct p9_msg last_request(struct fake *f)
{
    struct p9_msg m;

    assert_int_equal(p9_decode(f->last, f->last_len, &m), 0);
    return m;
}

static inline void assert_str(struct p9_str s, const char *want)
{
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
}

static inline int count_open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    int n = 0;

    assert_non_null(dir);
    while (readdir(dir))
        n++;
    closedir(dir);
    return n;
}

static inline struct p9_client *client_of(void **state)
{
    return ((struct fixture *)*state)->client;
}

static inline struct fake *fake_of(void **state)
{
    return ((struct fixture *)*state)->fake;
}

/* The client is dead, and a later call fails at once without reaching the fake. */
static inline void assert_dead_and_silent(void **state)
{
    struct p9_client *c = client_of(state);
    struct fake *f = fake_of(state);
    struct p9_attr attr;

    assert_true(p9_client_is_dead(c));
    unsigned int before = f->requests;
    assert_int_equal(p9_client_getattr(c, 1, P9_GETATTR_ALL, &attr), -EIO);
    assert_int_equal(p9_client_statfs(c, 1, &(struct p9_statfs){0}), -EIO);
    assert_int_equal(f->requests, before);
}

/* A file holding text, for the fake to donate. */
static inline int make_donor_file(const char *text)
{
    int fd = memfd_create("donor", MFD_CLOEXEC);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    return fd;
}

static inline uint8_t *make_pattern(size_t len)
{
    uint8_t *p = malloc(len);

    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 31 + i / 251);
    return p;
}

#endif
