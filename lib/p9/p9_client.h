/* The sentry's 9P2000.L client: one connection to a gofer over an AF_UNIX SOCK_SEQPACKET socket
 * (one 9P message per packet), fid numbering, and one typed call per message the gofer
 * filesystem needs. Every call returns 0 / a value, or -errno. */
#ifndef RUNSC_LIB_P9_P9_CLIENT_H
#define RUNSC_LIB_P9_P9_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/p9/p9.h"

/* The msize offered in Tversion; the server may answer less (never less than
 * P9_CLIENT_MIN_MSIZE, Linux's net/9p floor). */
#define P9_CLIENT_MSIZE 131072u
#define P9_CLIENT_MIN_MSIZE 4096u
/* Fids are numbered [0, P9_CLIENT_MAX_FIDS); p9_client_fid_alloc() fails with -ENFILE beyond. */
#define P9_CLIENT_MAX_FIDS (1u << 20)

/* A connection. Thread safety: every call below may be made from many threads at once, except
 * p9_client_destroy(), which must be the last call. One mutex serializes each request/reply
 * round trip, so at most one request is outstanding; tags still differ from one request to the
 * next, and a reply whose tag or type does not answer the request breaks the connection.
 *
 * Dead connection: EOF, ECONNRESET, EPIPE or any other socket error, and any protocol violation
 * (a reply p9_decode() refuses, an oversized or truncated packet, a wrong tag or type, a count
 * larger than asked for, an empty Rwalk for a non-empty walk, an Rlerror errno outside 1..4095)
 * mark the client dead. The call that saw it and every later call return -EIO at once, without
 * touching the socket. Lock order (inside the client): the rpc lock and the fid lock are never
 * held together. */
struct p9_client;

/* Takes ownership of sock_fd (closed on failure too), checks it is a SOCK_SEQPACKET socket
 * (-ENOTSOCK / -EINVAL), makes it blocking, and negotiates Tversion "9P2000.L" with msize
 * P9_CLIENT_MSIZE, adopting the server's answer. Returns -EPROTONOSUPPORT if the server answers
 * another version, -EIO if the server hangs up or answers with a bad msize, the server's errno
 * if it answers Rlerror, -ENOMEM. */
int p9_client_create(int sock_fd, struct p9_client **out);

/* Closes the socket and frees the client. No other call may be running or follow. */
void p9_client_destroy(struct p9_client *c);

/* Marks the client dead and shuts the socket down, so a call blocked waiting for the gofer
 * returns -EIO instead of waiting forever (for sentry teardown). */
void p9_client_shutdown(struct p9_client *c);

bool p9_client_is_dead(const struct p9_client *c);

/* The negotiated msize, and the most data one Tread/Twrite/Treaddir moves (msize minus
 * P9_IOHDR_SIZE). */
uint32_t p9_client_msize(const struct p9_client *c);
uint32_t p9_client_io_size(const struct p9_client *c);

/* Fid numbers are the client's to hand out. p9_client_fid_alloc() reserves the lowest free
 * number (-ENFILE when all P9_CLIENT_MAX_FIDS are taken, -ENOMEM). p9_client_fid_free() only
 * returns the number: use it for a fid the server never took (a failed walk or attach); a fid
 * the server holds is given back with p9_client_clunk(). Freeing a free fid is a caller bug. */
int p9_client_fid_alloc(struct p9_client *c, uint32_t *fid);
void p9_client_fid_free(struct p9_client *c, uint32_t fid);

/* Tattach with no auth fid, uname "" and aname "/": allocates the root fid and returns it with
 * the root's qid. On failure no fid is left allocated. */
int p9_client_attach(struct p9_client *c, uint32_t *root_fid, struct p9_qid *qid);
/* The same for the tree the server names `aname` (the gofer's "mount<i>" trees). */
int p9_client_attach_name(struct p9_client *c, const char *aname, uint32_t *root_fid,
                          struct p9_qid *qid);

/* Twalk from fid to newfid (allocated by the caller, not yet known to the server) through
 * names[0, nwname), each a single component (p9_name_is_valid(), else -EINVAL; nwname at most
 * P9_MAXWELEM, else -EINVAL). nwname == 0 clones fid. qids[] (room for nwname) receives the qid
 * of each component walked and *nqids their number.
 *  - All walked: returns 0, *nqids == nwname, newfid now names the last component.
 *  - Partial walk (the server walked *nqids < nwname components, at least one): returns -ENOENT
 *    and the walked qids; per 9P, newfid was NOT created, so there is nothing to clunk: the caller
 *    gives the number back with p9_client_fid_free() (or reuses it). names[*nqids] is the
 *    component that failed; its real errno is unknown (walk it alone to learn it).
 *  - Rlerror (the first component failed): returns -errno, *nqids == 0, newfid not created.
 *  - Any other error (-EIO, -EINVAL): *nqids == 0, newfid not created. */
int p9_client_walk(struct p9_client *c, uint32_t fid, uint32_t newfid, uint16_t nwname,
                   const char *const names[], struct p9_qid *qids, uint16_t *nqids);

/* Tgetattr: only fields with their bit in out->valid are meaningful. */
int p9_client_getattr(struct p9_client *c, uint32_t fid, uint64_t request_mask,
                      struct p9_attr *out);
int p9_client_setattr(struct p9_client *c, uint32_t fid, const struct p9_setattr *attr);

/* Tlopen: flags are Linux open(2) flags as 9P2000.L carries them. *donated_fd receives the host
 * fd the gofer sent with the reply (O_CLOEXEC, owned by the caller from now on), or -1 if none
 * came. qid, iounit and donated_fd may be NULL (a donated fd is then closed). */
int p9_client_lopen(struct p9_client *c, uint32_t fid, uint32_t flags, struct p9_qid *qid,
                    uint32_t *iounit, int *donated_fd);

/* Tlcreate: creates name in the directory fid and opens it; fid then names the new open file.
 * The donated fd is handled as for p9_client_lopen(). */
int p9_client_lcreate(struct p9_client *c, uint32_t fid, const char *name, uint32_t flags,
                      uint32_t mode, uint32_t gid, struct p9_qid *qid, uint32_t *iounit,
                      int *donated_fd);

/* Tread, in as many requests of at most p9_client_io_size() bytes as len needs, stopping at the
 * first short reply (end of file). Returns the bytes read, or -errno if the first request
 * fails (a later failure returns what was read before it). */
ssize_t p9_client_read(struct p9_client *c, uint32_t fid, uint64_t offset, void *buf, size_t len);

/* Twrite, split like p9_client_read(); stops at the first short write. */
ssize_t p9_client_write(struct p9_client *c, uint32_t fid, uint64_t offset, const void *buf,
                        size_t len);

/* The longest readdir record: qid[13] offset[8] type[1] name[s] with a P9_NAME_MAX name. */
#define P9_CLIENT_DIRENT_MAX (13u + 8u + 1u + 2u + P9_NAME_MAX)

/* One Treaddir of at most min(len, p9_client_io_size()) bytes from the cookie offset (0 to
 * start, else an entry's offset). Copies the raw Rreaddir records into buf and returns their
 * length; 0 means end of directory, which only holds if len >= P9_CLIENT_DIRENT_MAX (a smaller
 * count may be too small for the next record). Walk them with p9_client_dirent_next(). */
ssize_t p9_client_readdir(struct p9_client *c, uint32_t fid, uint64_t offset, void *buf,
                          size_t len);

/* One readdir record with its name copied and NUL-terminated. */
struct p9_client_dirent {
    struct p9_qid qid;
    uint64_t offset; /* the cookie that resumes after this entry */
    uint8_t type;    /* DT_* as the gofer reported it */
    size_t name_len;
    char name[P9_NAME_MAX + 1];
};

/* Reads the record at buf[*pos] of p9_client_readdir()'s output and advances *pos. Returns 1 with
 * *out filled, 0 at the end of buf, or -EIO if the record is malformed: truncated, or a name that
 * is empty, longer than P9_NAME_MAX, or holds '/' or NUL ("." and ".." pass through). The gofer
 * is not trusted: nothing in buf can make this read outside buf[0, len). */
int p9_client_dirent_next(const void *buf, size_t len, size_t *pos, struct p9_client_dirent *out);

/* Tmkdir, Tsymlink, Tmknod in the directory dfid; qid may be NULL. */
int p9_client_mkdir(struct p9_client *c, uint32_t dfid, const char *name, uint32_t mode,
                    uint32_t gid, struct p9_qid *qid);
int p9_client_symlink(struct p9_client *c, uint32_t dfid, const char *name, const char *target,
                      uint32_t gid, struct p9_qid *qid);
int p9_client_mknod(struct p9_client *c, uint32_t dfid, const char *name, uint32_t mode,
                    uint32_t major, uint32_t minor, uint32_t gid, struct p9_qid *qid);

/* Treadlink: copies at most size bytes of the target into buf, not NUL-terminated, and returns
 * the number copied (readlink(2) semantics: a longer target is cut short silently). */
ssize_t p9_client_readlink(struct p9_client *c, uint32_t fid, char *buf, size_t size);

/* Tlink: a new name in dfid for the file fid. */
int p9_client_link(struct p9_client *c, uint32_t dfid, uint32_t fid, const char *name);
int p9_client_renameat(struct p9_client *c, uint32_t olddirfid, const char *oldname,
                       uint32_t newdirfid, const char *newname);
/* flags: 0 or AT_REMOVEDIR. */
int p9_client_unlinkat(struct p9_client *c, uint32_t dirfid, const char *name, uint32_t flags);
int p9_client_statfs(struct p9_client *c, uint32_t fid, struct p9_statfs *out);
int p9_client_fsync(struct p9_client *c, uint32_t fid, bool datasync);

/* Tclunk, then gives the fid number back whatever the outcome: per 9P the fid is gone even
 * when the server answers Rlerror, and on a dead connection there is no server to hold it. */
int p9_client_clunk(struct p9_client *c, uint32_t fid);

#endif
