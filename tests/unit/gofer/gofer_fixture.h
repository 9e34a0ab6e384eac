/* Shared by the gofer unit tests: a temporary tree, a gofer server forked on a SOCK_SEQPACKET
 * socketpair over it (plain, under its seccomp filter, or fully confined), and a small 9P client
 * to drive it. Include after cmocka.h. Every fixture_stop() checks that the server exited 0. */
#ifndef RUNSC_TESTS_UNIT_GOFER_GOFER_FIXTURE_H
#define RUNSC_TESTS_UNIT_GOFER_GOFER_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gofer/gofer.h"
#include "lib/p9/p9.h"

#define ROOT_FID 1
#define MSIZE GOFER_MAX_MSIZE
#define STR(s) ((struct p9_str){.ptr = (s), .len = sizeof(s) - 1})
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum server_mode {
    SERVER_PLAIN,    /* gofer_create + gofer_serve over an fd of the temp dir */
    SERVER_SECCOMP,  /* the same under gofer_install_seccomp */
    SERVER_CONFINED, /* gofer_confine (namespaces, pivot_root, caps) + seccomp */
};

struct fixture {
    char dir[64];     /* the served tree on the host */
    char outside[64]; /* a directory next to it, which must stay out of reach */
    int sock;         /* the client's end */
    pid_t server;
    uint16_t tag;
    int fd; /* the fd that came with the last reply, or -1; the test's to close */
    uint8_t out[MSIZE];
    uint8_t in[MSIZE + 1];
};

static inline void path_in(const struct fixture *f, const char *rel, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", f->dir, rel);
}

static inline void write_host_file(const struct fixture *f, const char *rel, const char *text)
{
    char path[256];
    path_in(f, rel, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* The tree every test starts with. */
static inline void make_tree(struct fixture *f)
{
    char path[256];

    snprintf(f->dir, sizeof(f->dir), "/tmp/gofer-test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->outside, sizeof(f->outside), "/tmp/gofer-outside.XXXXXX");
    assert_non_null(mkdtemp(f->outside));
    snprintf(path, sizeof(path), "%s/secret", f->outside);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    close(fd);
    chmod(f->dir, 0755);
    path_in(f, "dir", path, sizeof(path));
    assert_int_equal(mkdir(path, 0755), 0);
    path_in(f, "dir/sub", path, sizeof(path));
    assert_int_equal(mkdir(path, 0700), 0);
    write_host_file(f, "dir/file", "hello, gofer\n");
    write_host_file(f, "dir/second", "2");
    path_in(f, "dir/link", path, sizeof(path));
    assert_int_equal(symlink("file", path), 0);
    path_in(f, "escape", path, sizeof(path));
    assert_int_equal(symlink(f->outside, path), 0);
    path_in(f, "up", path, sizeof(path));
    assert_int_equal(symlink("..", path), 0);
}

static inline int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static inline void fixture_start(struct fixture *f, bool readonly, enum server_mode mode)
{
    int sv[2];

    memset(f, 0, sizeof(*f));
    f->fd = -1;
    make_tree(f);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    f->server = fork();
    assert_true(f->server >= 0);
    if (f->server == 0) {
        struct gofer_config cfg = {.readonly = readonly};
        struct gofer *g;
        char why[256];
        close(sv[0]);
        if (mode == SERVER_CONFINED) {
            if (gofer_confine(f->dir, readonly, &cfg.root_fd, &cfg.proc_fd_dir, why, sizeof(why)) !=
                0) {
                fprintf(stderr, "gofer_confine: %s\n", why);
                _exit(10);
            }
        } else {
            cfg.root_fd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
            cfg.proc_fd_dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (gofer_create(&cfg, &g) != 0)
            _exit(11);
        if (mode != SERVER_PLAIN && gofer_install_seccomp() != 0)
            _exit(12);
        int rc = gofer_serve(g, sv[1]);
        gofer_destroy(g);
        _exit(rc == 0 ? 0 : 13);
    }
    close(sv[1]);
    f->sock = sv[0];
}

/* Hangs up and requires the server to exit 0: it never crashed, whatever it was sent. */
static inline void fixture_stop(struct fixture *f)
{
    int status;

    if (f->fd >= 0)
        close(f->fd);
    close(f->sock);
    assert_int_equal(waitpid(f->server, &status, 0), f->server);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    nftw(f->outside, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (!WIFEXITED(status))
        fail_msg("the gofer died of signal %d", WTERMSIG(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Sends raw bytes as one packet. */
static inline void send_raw(struct fixture *f, const void *buf, size_t len)
{
    assert_int_equal(send(f->sock, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Receives one reply packet into f->in (and its fd into f->fd) and decodes it. */
static inline void receive_reply(struct fixture *f, struct p9_msg *reply)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } control;
    struct iovec iov = {.iov_base = f->in, .iov_len = sizeof(f->in)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf)};

    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    ssize_t n = recvmsg(f->sock, &mh, MSG_CMSG_CLOEXEC);
    if (n <= 0)
        fail_msg("no reply from the gofer (%zd: %s)", n, strerror(errno));
    assert_false(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
    int nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        assert_int_equal(c->cmsg_level, SOL_SOCKET);
        assert_int_equal(c->cmsg_type, SCM_RIGHTS);
        nfds += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        memcpy(&f->fd, CMSG_DATA(c), sizeof(int));
    }
    assert_true(nfds <= 1);
    assert_int_equal(p9_decode(f->in, (size_t)n, reply), 0);
}

/* One round trip: returns 0 for the expected R-message, or -ecode for an Rlerror. */
static inline int rpc(struct fixture *f, struct p9_msg *req, struct p9_msg *reply)
{
    if (req->type != P9_TVERSION)
        req->tag = ++f->tag == P9_NOTAG ? ++f->tag : f->tag;
    ssize_t len = p9_encode(req, f->out, sizeof(f->out));
    assert_true(len > 0);
    send_raw(f, f->out, (size_t)len);
    receive_reply(f, reply);
    assert_int_equal(reply->tag, req->tag);
    if (reply->type == P9_RLERROR) {
        assert_true(reply->rlerror.ecode > 0);
        assert_int_equal(f->fd, -1); /* an error donates nothing */
        return -(int)reply->rlerror.ecode;
    }
    assert_int_equal(reply->type, req->type + 1);
    return 0;
}

static inline int t_version(struct fixture *f, uint32_t msize, const char *version,
                            struct p9_msg *reply)
{
    struct p9_msg req = {.type = P9_TVERSION, .tag = P9_NOTAG};
    req.tversion.msize = msize;
    req.tversion.version = p9_str_from_cstr(version);
    return rpc(f, &req, reply);
}

static inline int t_attach(struct fixture *f, uint32_t fid, const char *aname)
{
    struct p9_msg req = {.type = P9_TATTACH}, reply;
    req.tattach.fid = fid;
    req.tattach.afid = P9_NOFID;
    req.tattach.uname = STR("");
    req.tattach.aname = p9_str_from_cstr(aname);
    req.tattach.n_uname = P9_NONUNAME;
    return rpc(f, &req, &reply);
}

/* Tversion + Tattach of ROOT_FID: where almost every test begins. */
static inline void session_start(struct fixture *f, bool readonly, enum server_mode mode)
{
    struct p9_msg reply;
    fixture_start(f, readonly, mode);
    assert_int_equal(t_version(f, MSIZE, P9_VERSION_L, &reply), 0);
    assert_int_equal(t_attach(f, ROOT_FID, "/"), 0);
}

/* Twalk from fid to newfid through the '/'-separated path ("" walks nothing: a clone). Returns
 * the number of qids on success (*reply holds them), or -errno. */
static inline int t_walk(struct fixture *f, uint32_t fid, uint32_t newfid, const char *path,
                         struct p9_msg *reply)
{
    struct p9_msg req = {.type = P9_TWALK}, local;
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", path);
    req.twalk.fid = fid;
    req.twalk.newfid = newfid;
    for (char *save = NULL, *part = strtok_r(copy, "/", &save); part;
         part = strtok_r(NULL, "/", &save))
        req.twalk.wnames[req.twalk.nwname++] = p9_str_from_cstr(part);
    if (!reply)
        reply = &local;
    int err = rpc(f, &req, reply);
    return err ? err : reply->rwalk.nwqid;
}

/* Twalk with the given wire names, unchecked: for names strtok would not make. */
static inline int t_walk_names(struct fixture *f, uint32_t fid, uint32_t newfid,
                               const struct p9_str *names, uint16_t n)
{
    struct p9_msg req = {.type = P9_TWALK}, reply;
    req.twalk.fid = fid;
    req.twalk.newfid = newfid;
    req.twalk.nwname = n;
    memcpy(req.twalk.wnames, names, n * sizeof(names[0]));
    int err = rpc(f, &req, &reply);
    return err ? err : reply.rwalk.nwqid;
}

static inline int t_lopen(struct fixture *f, uint32_t fid, uint32_t flags, struct p9_msg *reply)
{
    struct p9_msg req = {.type = P9_TLOPEN}, local;
    req.tlopen.fid = fid;
    req.tlopen.flags = flags;
    return rpc(f, &req, reply ? reply : &local);
}

static inline int t_lcreate(struct fixture *f, uint32_t fid, struct p9_str name, uint32_t flags,
                            uint32_t mode)
{
    struct p9_msg req = {.type = P9_TLCREATE}, reply;
    req.tlcreate.fid = fid;
    req.tlcreate.name = name;
    req.tlcreate.flags = flags;
    req.tlcreate.mode = mode;
    return rpc(f, &req, &reply);
}

static inline int t_getattr(struct fixture *f, uint32_t fid, struct p9_attr *attr)
{
    struct p9_msg req = {.type = P9_TGETATTR}, reply;
    req.tgetattr.fid = fid;
    req.tgetattr.request_mask = P9_GETATTR_ALL;
    int err = rpc(f, &req, &reply);
    if (err == 0 && attr)
        *attr = reply.rgetattr;
    return err;
}

/* Tread into buf; returns the byte count or -errno. */
static inline int t_read(struct fixture *f, uint32_t fid, uint64_t offset, uint32_t count,
                         char *buf)
{
    struct p9_msg req = {.type = P9_TREAD}, reply;
    req.tread = (struct p9_io_request){.fid = fid, .offset = offset, .count = count};
    int err = rpc(f, &req, &reply);
    if (err)
        return err;
    assert_true(reply.rread.data.len <= count);
    memcpy(buf, reply.rread.data.ptr, reply.rread.data.len);
    return (int)reply.rread.data.len;
}

static inline int t_write(struct fixture *f, uint32_t fid, uint64_t offset, const char *text)
{
    struct p9_msg req = {.type = P9_TWRITE}, reply;
    req.twrite.fid = fid;
    req.twrite.offset = offset;
    req.twrite.data = (struct p9_data){.ptr = (const uint8_t *)text, .len = strlen(text)};
    int err = rpc(f, &req, &reply);
    return err ? err : (int)reply.rwrite.count;
}

static inline int t_clunk(struct fixture *f, uint32_t fid)
{
    struct p9_msg req = {.type = P9_TCLUNK}, reply;
    req.tclunk.fid = fid;
    return rpc(f, &req, &reply);
}

static inline int t_mkdir(struct fixture *f, uint32_t dfid, struct p9_str name, uint32_t mode)
{
    struct p9_msg req = {.type = P9_TMKDIR}, reply;
    req.tmkdir.dfid = dfid;
    req.tmkdir.name = name;
    req.tmkdir.mode = mode;
    return rpc(f, &req, &reply);
}

static inline int t_symlink(struct fixture *f, uint32_t dfid, struct p9_str name,
                            const char *target)
{
    struct p9_msg req = {.type = P9_TSYMLINK}, reply;
    req.tsymlink.dfid = dfid;
    req.tsymlink.name = name;
    req.tsymlink.target = p9_str_from_cstr(target);
    return rpc(f, &req, &reply);
}

static inline int t_mknod(struct fixture *f, uint32_t dfid, struct p9_str name, uint32_t mode)
{
    struct p9_msg req = {.type = P9_TMKNOD}, reply;
    req.tmknod.dfid = dfid;
    req.tmknod.name = name;
    req.tmknod.mode = mode;
    return rpc(f, &req, &reply);
}

static inline int t_link(struct fixture *f, uint32_t dfid, uint32_t fid, struct p9_str name)
{
    struct p9_msg req = {.type = P9_TLINK}, reply;
    req.tlink.dfid = dfid;
    req.tlink.fid = fid;
    req.tlink.name = name;
    return rpc(f, &req, &reply);
}

static inline int t_renameat(struct fixture *f, uint32_t olddir, struct p9_str oldname,
                             uint32_t newdir, struct p9_str newname)
{
    struct p9_msg req = {.type = P9_TRENAMEAT}, reply;
    req.trenameat.olddirfid = olddir;
    req.trenameat.oldname = oldname;
    req.trenameat.newdirfid = newdir;
    req.trenameat.newname = newname;
    return rpc(f, &req, &reply);
}

static inline int t_unlinkat(struct fixture *f, uint32_t dir, struct p9_str name, uint32_t flags)
{
    struct p9_msg req = {.type = P9_TUNLINKAT}, reply;
    req.tunlinkat.dirfid = dir;
    req.tunlinkat.name = name;
    req.tunlinkat.flags = flags;
    return rpc(f, &req, &reply);
}

static inline int t_setattr(struct fixture *f, uint32_t fid, const struct p9_setattr *attr)
{
    struct p9_msg req = {.type = P9_TSETATTR}, reply;
    req.tsetattr.fid = fid;
    req.tsetattr.attr = *attr;
    return rpc(f, &req, &reply);
}

static inline int t_readlink(struct fixture *f, uint32_t fid, char *buf, size_t size)
{
    struct p9_msg req = {.type = P9_TREADLINK}, reply;
    req.treadlink.fid = fid;
    int err = rpc(f, &req, &reply);
    if (err)
        return err;
    assert_true(reply.rreadlink.target.len < size);
    memcpy(buf, reply.rreadlink.target.ptr, reply.rreadlink.target.len);
    buf[reply.rreadlink.target.len] = '\0';
    return 0;
}

/* Reads a whole directory with Treaddir calls of `count` bytes, appending each name and a '\n'
 * to names (sorted by the caller if needed). Returns the number of entries or -errno. */
static inline int t_readdir_all(struct fixture *f, uint32_t fid, uint32_t count, char *names,
                                size_t size)
{
    uint64_t offset = 0;
    int entries = 0;
    names[0] = '\0';
    for (;;) {
        struct p9_msg req = {.type = P9_TREADDIR}, reply;
        req.treaddir = (struct p9_io_request){.fid = fid, .offset = offset, .count = count};
        int err = rpc(f, &req, &reply);
        if (err)
            return err;
        /* Entries never straddle the count. */
        assert_true(reply.rreaddir.data.len <= count);
        if (reply.rreaddir.data.len == 0)
            return entries;
        for (size_t pos = 0; pos < reply.rreaddir.data.len;) {
            struct p9_dirent d;
            assert_int_equal(
                p9_dirent_decode(reply.rreaddir.data.ptr, reply.rreaddir.data.len, &pos, &d), 0);
            size_t used = strlen(names);
            assert_true(used + d.name.len + 2 < size);
            memcpy(names + used, d.name.ptr, d.name.len);
            names[used + d.name.len] = '\n';
            names[used + d.name.len + 1] = '\0';
            offset = d.offset;
            entries++;
        }
    }
}

#endif
