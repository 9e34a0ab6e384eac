/* 9P2000.L message codec shared by the sentry and the gofer: wire constants, one tagged message
 * struct, and zero-copy decode / bounded encode. No I/O, no allocation, no global state.
 * Wire format: diod's protocol.md "9P2000.L" and Linux's net/9p/{protocol,client}.c. */
#ifndef RUNSC_LIB_P9_P9_H
#define RUNSC_LIB_P9_P9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Message types: Linux include/net/9p/9p.h enum p9_msg_t. An R-message is its T-message + 1.
 * Tlerror is reserved and never sent; 9P2000's Topen/Tcreate/Tstat/Twstat/Rerror are not part of
 * 9P2000.L, so p9_decode() treats them like any unknown type. */
enum p9_msg_type {
    P9_TLERROR = 6,
    P9_RLERROR = 7,
    P9_TSTATFS = 8,
    P9_RSTATFS = 9,
    P9_TLOPEN = 12,
    P9_RLOPEN = 13,
    P9_TLCREATE = 14,
    P9_RLCREATE = 15,
    P9_TSYMLINK = 16,
    P9_RSYMLINK = 17,
    P9_TMKNOD = 18,
    P9_RMKNOD = 19,
    P9_TRENAME = 20,
    P9_RRENAME = 21,
    P9_TREADLINK = 22,
    P9_RREADLINK = 23,
    P9_TGETATTR = 24,
    P9_RGETATTR = 25,
    P9_TSETATTR = 26,
    P9_RSETATTR = 27,
    P9_TXATTRWALK = 30,
    P9_RXATTRWALK = 31,
    P9_TXATTRCREATE = 32,
    P9_RXATTRCREATE = 33,
    P9_TREADDIR = 40,
    P9_RREADDIR = 41,
    P9_TFSYNC = 50,
    P9_RFSYNC = 51,
    P9_TLOCK = 52,
    P9_RLOCK = 53,
    P9_TGETLOCK = 54,
    P9_RGETLOCK = 55,
    P9_TLINK = 70,
    P9_RLINK = 71,
    P9_TMKDIR = 72,
    P9_RMKDIR = 73,
    P9_TRENAMEAT = 74,
    P9_RRENAMEAT = 75,
    P9_TUNLINKAT = 76,
    P9_RUNLINKAT = 77,
    P9_TVERSION = 100,
    P9_RVERSION = 101,
    P9_TAUTH = 102,
    P9_RAUTH = 103,
    P9_TATTACH = 104,
    P9_RATTACH = 105,
    P9_TFLUSH = 108,
    P9_RFLUSH = 109,
    P9_TWALK = 110,
    P9_RWALK = 111,
    P9_TREAD = 116,
    P9_RREAD = 117,
    P9_TWRITE = 118,
    P9_RWRITE = 119,
    P9_TCLUNK = 120,
    P9_RCLUNK = 121,
    P9_TREMOVE = 122,
    P9_RREMOVE = 123,
};

#define P9_VERSION_L "9P2000.L"
#define P9_NOTAG ((uint16_t)0xffff) /* the tag of Tversion/Rversion */
#define P9_NOFID ((uint32_t)0xffffffff)
#define P9_NONUNAME ((uint32_t)0xffffffff) /* Tattach/Tauth n_uname: "use uname instead" */

/* size[4] type[1] tag[2]: every message starts with these 7 bytes. */
#define P9_HEADER_SIZE 7u
/* Largest message either side accepts (the ceiling for Tversion's msize). */
#define P9_MAX_MSIZE (1u << 20)
/* Twrite's fixed part, header included: size type tag fid[4] offset[8] count[4]. */
#define P9_IOHDR_SIZE 23u
/* Largest count in Tread/Treaddir and largest data in Rread/Rreaddir/Twrite. */
#define P9_MAX_IO_COUNT (P9_MAX_MSIZE - P9_IOHDR_SIZE)
/* Walk elements per Twalk and qids per Rwalk: Plan 9 walk(5) MAXWELEM. */
#define P9_MAXWELEM 16
/* A string's length field is 16 bits. */
#define P9_MAX_STRING 65535u
/* Linux NAME_MAX: the longest single path component p9_name_is_valid() accepts. */
#define P9_NAME_MAX 255u

/* qid.type bits (Linux enum p9_qid_t). */
#define P9_QTDIR 0x80
#define P9_QTAPPEND 0x40
#define P9_QTEXCL 0x20
#define P9_QTMOUNT 0x10
#define P9_QTAUTH 0x08
#define P9_QTTMP 0x04
#define P9_QTSYMLINK 0x02
#define P9_QTLINK 0x01
#define P9_QTFILE 0x00

/* Tgetattr request_mask / Rgetattr valid bits. */
#define P9_GETATTR_MODE 0x00000001ULL
#define P9_GETATTR_NLINK 0x00000002ULL
#define P9_GETATTR_UID 0x00000004ULL
#define P9_GETATTR_GID 0x00000008ULL
#define P9_GETATTR_RDEV 0x00000010ULL
#define P9_GETATTR_ATIME 0x00000020ULL
#define P9_GETATTR_MTIME 0x00000040ULL
#define P9_GETATTR_CTIME 0x00000080ULL
#define P9_GETATTR_INO 0x00000100ULL
#define P9_GETATTR_SIZE 0x00000200ULL
#define P9_GETATTR_BLOCKS 0x00000400ULL
#define P9_GETATTR_BTIME 0x00000800ULL
#define P9_GETATTR_GEN 0x00001000ULL
#define P9_GETATTR_DATA_VERSION 0x00002000ULL
#define P9_GETATTR_BASIC 0x000007ffULL
#define P9_GETATTR_ALL 0x00003fffULL

/* Tsetattr valid bits. A time bit without its _SET bit means "now, on the server". */
#define P9_SETATTR_MODE 0x00000001U
#define P9_SETATTR_UID 0x00000002U
#define P9_SETATTR_GID 0x00000004U
#define P9_SETATTR_SIZE 0x00000008U
#define P9_SETATTR_ATIME 0x00000010U
#define P9_SETATTR_MTIME 0x00000020U
#define P9_SETATTR_CTIME 0x00000040U
#define P9_SETATTR_ATIME_SET 0x00000080U
#define P9_SETATTR_MTIME_SET 0x00000100U

/* Tlock/Tgetlock type, Tlock flags, Rlock status. */
#define P9_LOCK_TYPE_RDLCK 0
#define P9_LOCK_TYPE_WRLCK 1
#define P9_LOCK_TYPE_UNLCK 2
#define P9_LOCK_FLAGS_BLOCK 1
#define P9_LOCK_FLAGS_RECLAIM 2
#define P9_LOCK_SUCCESS 0
#define P9_LOCK_BLOCKED 1
#define P9_LOCK_ERROR 2
#define P9_LOCK_GRACE 3

/* A string on the wire (length[2] bytes, no NUL). After p9_decode() `ptr` points into the
 * decoded buffer and is NOT NUL-terminated; it never contains a NUL byte either, because the
 * codec refuses strings that would be silently cut short by a C string API. */
struct p9_str {
    const char *ptr;
    size_t len;
};

/* Opaque bytes (Rread, Twrite, Rreaddir): after p9_decode(), a view into the decoded buffer. */
struct p9_data {
    const uint8_t *ptr;
    size_t len;
};

/* type[1] version[4] path[8]: 13 bytes on the wire. */
struct p9_qid {
    uint8_t type;
    uint32_t version;
    uint64_t path;
};

/* Rgetattr body, in wire order. Only fields with their bit set in `valid` are meaningful. */
struct p9_attr {
    uint64_t valid;
    struct p9_qid qid;
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
    uint64_t nlink;
    uint64_t rdev;
    uint64_t size;
    uint64_t blksize;
    uint64_t blocks;
    uint64_t atime_sec;
    uint64_t atime_nsec;
    uint64_t mtime_sec;
    uint64_t mtime_nsec;
    uint64_t ctime_sec;
    uint64_t ctime_nsec;
    uint64_t btime_sec;
    uint64_t btime_nsec;
    uint64_t gen;
    uint64_t data_version;
};

/* Tsetattr body after fid, in wire order. */
struct p9_setattr {
    uint32_t valid;
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
    uint64_t size;
    uint64_t atime_sec;
    uint64_t atime_nsec;
    uint64_t mtime_sec;
    uint64_t mtime_nsec;
};

/* Rstatfs body, in wire order (statfs(2)). */
struct p9_statfs {
    uint32_t type;
    uint32_t bsize;
    uint64_t blocks;
    uint64_t bfree;
    uint64_t bavail;
    uint64_t files;
    uint64_t ffree;
    uint64_t fsid;
    uint32_t namelen;
};

/* One record of Rreaddir's data: qid[13] offset[8] type[1] name[s]. */
struct p9_dirent {
    struct p9_qid qid;
    uint64_t offset; /* where the next Treaddir resumes after this entry */
    uint8_t type;    /* DT_* */
    struct p9_str name;
};

/* Bodies shared by several messages. */
struct p9_fid_body { /* Tstatfs, Treadlink, Tclunk, Tremove */
    uint32_t fid;
};
struct p9_qid_body { /* Rauth, Rattach, Rsymlink, Rmknod, Rmkdir */
    struct p9_qid qid;
};
struct p9_open_body { /* Rlopen, Rlcreate */
    struct p9_qid qid;
    uint32_t iounit;
};
struct p9_io_request { /* Tread, Treaddir */
    uint32_t fid;
    uint64_t offset;
    uint32_t count;
};
struct p9_data_body { /* Rread, Rreaddir */
    struct p9_data data;
};
struct p9_version_body { /* Tversion, Rversion */
    uint32_t msize;
    struct p9_str version;
};

/* A decoded (or to-be-encoded) message: `type` selects the union member named after it
 * (P9_TWALK -> msg.twalk). Replies without a body (Rflush, Rclunk, Rremove, Rrename, Rsetattr,
 * Rxattrcreate, Rfsync, Rlink, Rrenameat, Runlinkat) use no member.
 * Rlopen's SCM_RIGHTS fd donation travels in the same sendmsg's ancillary data, outside the
 * message bytes, so it is the transport's business, not this codec's. */
struct p9_msg {
    uint8_t type;
    uint16_t tag;
    union {
        struct p9_version_body tversion, rversion;
        struct {
            uint32_t afid;
            struct p9_str uname, aname;
            uint32_t n_uname;
        } tauth;
        struct p9_qid_body rauth;
        struct {
            uint32_t fid, afid;
            struct p9_str uname, aname;
            uint32_t n_uname;
        } tattach;
        struct p9_qid_body rattach;
        struct {
            uint32_t ecode; /* a positive Linux errno */
        } rlerror;
        struct {
            uint16_t oldtag;
        } tflush;
        struct {
            uint32_t fid, newfid;
            uint16_t nwname;
            struct p9_str wnames[P9_MAXWELEM];
        } twalk;
        struct {
            uint16_t nwqid;
            struct p9_qid wqids[P9_MAXWELEM];
        } rwalk;
        struct p9_io_request tread;
        struct p9_data_body rread;
        struct {
            uint32_t fid;
            uint64_t offset;
            struct p9_data data;
        } twrite;
        struct {
            uint32_t count;
        } rwrite;
        struct p9_fid_body tclunk, tremove, tstatfs, treadlink;
        struct p9_statfs rstatfs;
        struct {
            uint32_t fid, flags;
        } tlopen;
        struct p9_open_body rlopen, rlcreate;
        struct {
            uint32_t fid;
            struct p9_str name;
            uint32_t flags, mode, gid;
        } tlcreate;
        struct {
            uint32_t dfid;
            struct p9_str name, target;
            uint32_t gid;
        } tsymlink;
        struct p9_qid_body rsymlink, rmknod, rmkdir;
        struct {
            uint32_t dfid;
            struct p9_str name;
            uint32_t mode, major, minor, gid;
        } tmknod;
        struct {
            uint32_t fid, dfid;
            struct p9_str name;
        } trename;
        struct {
            struct p9_str target;
        } rreadlink;
        struct {
            uint32_t fid;
            uint64_t request_mask;
        } tgetattr;
        struct p9_attr rgetattr;
        struct {
            uint32_t fid;
            struct p9_setattr attr;
        } tsetattr;
        struct {
            uint32_t fid, newfid;
            struct p9_str name; /* empty: list the names */
        } txattrwalk;
        struct {
            uint64_t size;
        } rxattrwalk;
        struct {
            uint32_t fid;
            struct p9_str name;
            uint64_t attr_size;
            uint32_t flags;
        } txattrcreate;
        struct p9_io_request treaddir;
        struct p9_data_body rreaddir;
        struct {
            uint32_t fid, datasync;
        } tfsync;
        struct {
            uint32_t fid;
            uint8_t type;
            uint32_t flags;
            uint64_t start, length;
            uint32_t proc_id;
            struct p9_str client_id;
        } tlock;
        struct {
            uint8_t status;
        } rlock;
        struct {
            uint32_t fid;
            uint8_t type;
            uint64_t start, length;
            uint32_t proc_id;
            struct p9_str client_id;
        } tgetlock;
        struct {
            uint8_t type;
            uint64_t start, length;
            uint32_t proc_id;
            struct p9_str client_id;
        } rgetlock;
        struct {
            uint32_t dfid, fid;
            struct p9_str name;
        } tlink;
        struct {
            uint32_t dfid;
            struct p9_str name;
            uint32_t mode, gid;
        } tmkdir;
        struct {
            uint32_t olddirfid;
            struct p9_str oldname;
            uint32_t newdirfid;
            struct p9_str newname;
        } trenameat;
        struct {
            uint32_t dirfid;
            struct p9_str name;
            uint32_t flags; /* AT_REMOVEDIR */
        } tunlinkat;
    };
};

/* Decodes exactly one complete message occupying all of buf[0, len). On success fills *out
 * (strings and data point into buf, so buf must outlive *out) and returns 0. Returns -EBADMSG if
 * the size field is not len, a field runs past the end, bytes are left over, a string holds a
 * NUL, Twalk/Rwalk has more than P9_MAXWELEM elements, or a Tread/Treaddir count or data length
 * exceeds P9_MAX_IO_COUNT; -EPROTONOSUPPORT for a well-framed message of unknown type. Reads
 * nothing outside buf[0, len); allocates nothing. */
int p9_decode(const uint8_t *buf, size_t len, struct p9_msg *out);

/* Encodes *msg into buf[0, cap), size field included. Returns the length written, -EINVAL if a
 * field cannot be encoded (unknown type, string over P9_MAX_STRING or holding a NUL, too many
 * walk elements, count or data over P9_MAX_IO_COUNT, NULL pointer with a non-zero length), or
 * -EMSGSIZE if the message is valid but longer than cap. Never writes past buf + cap. Everything
 * p9_encode() accepts, p9_decode() accepts, and decoding gives back the same fields. */
ssize_t p9_encode(const struct p9_msg *msg, uint8_t *buf, size_t cap);

/* The length p9_encode() would produce, or -EINVAL. */
ssize_t p9_encoded_length(const struct p9_msg *msg);

/* For reading a stream: given the first `len` bytes received, sets *need to the number of bytes
 * the message occupies once known (or 4, the size field, while len < 4) and returns 0; the
 * message is complete when len >= *need. Returns -EBADMSG if the size field is below
 * P9_HEADER_SIZE or above max_msize. */
int p9_frame_length(const uint8_t *buf, size_t len, uint32_t max_msize, size_t *need);

/* Whether name[0, len) is a single path component the gofer may look up or create: not empty,
 * not "." or "..", no '/' or NUL, at most P9_NAME_MAX bytes. */
bool p9_name_is_valid(const char *name, size_t len);

/* Reads the dirent at data[*pos] from an Rreaddir payload and advances *pos past it. Returns 0,
 * or -EBADMSG if the record is truncated or its name holds a NUL. Iterate while *pos < len. */
int p9_dirent_decode(const uint8_t *data, size_t len, size_t *pos, struct p9_dirent *out);

/* Appends one dirent record at buf[0, cap). Returns its length, -EMSGSIZE if it does not fit (the
 * gofer's cue to end this Rreaddir), or -EINVAL for an unencodable name. */
ssize_t p9_dirent_encode(const struct p9_dirent *dirent, uint8_t *buf, size_t cap);

/* "Twalk", "Rlerror", ...; NULL for a type p9_decode() does not know. */
const char *p9_msg_type_name(uint8_t type);

/* A view of a NUL-terminated C string (for filling in messages to encode). */
struct p9_str p9_str_from_cstr(const char *s);

#endif
