/* 9P2000.L wire codec: messages and readdir records. Each body is described once, by a function
 * that both decodes and encodes through a bounds-checked cursor (as XDR routines do), so the two
 * directions cannot disagree about a layout. Integers are little-endian, accessed byte by byte. */
#include "lib/p9/p9.h"

#include <errno.h>
#include <string.h>

/* A position in a message being decoded (`in`) or encoded (`out`). Decoding never reads past
 * `cap`. Encoding never writes past `cap` but keeps counting, so one pass both validates and
 * measures: `pos` > `cap` at the end means -EMSGSIZE. `out` may be NULL to only measure. */
struct p9_cursor {
    const uint8_t *in;
    uint8_t *out;
    size_t cap;
    size_t pos;
    int err; /* first error: -EBADMSG decoding, -EINVAL encoding; later steps do nothing */
    bool encoding;
};

/* Records a field the codec cannot accept; returns `ok`. */
static bool cur_check(struct p9_cursor *c, bool ok)
{
    if (!ok && !c->err)
        c->err = c->encoding ? -EINVAL : -EBADMSG;
    return ok && !c->err;
}

/* The next n input bytes, or NULL (and -EBADMSG) if the message ends first. */
static const uint8_t *cur_in(struct p9_cursor *c, size_t n)
{
    if (c->err)
        return NULL;
    if (n > c->cap - c->pos) {
        c->err = -EBADMSG;
        return NULL;
    }
    const uint8_t *p = c->in + c->pos;
    c->pos += n;
    return p;
}

/* Where the next n output bytes go, or NULL if they fall outside the buffer (still counted). */
static uint8_t *cur_out(struct p9_cursor *c, size_t n)
{
    uint8_t *p = NULL;

    if (c->err)
        return NULL;
    if (c->out && c->pos <= c->cap && n <= c->cap - c->pos)
        p = c->out + c->pos;
    c->pos += n; /* cannot wrap: every length was bounded before it got here */
    return p;
}

static void cur_uint(struct p9_cursor *c, uint64_t *v, unsigned int size)
{
    if (c->encoding) {
        uint8_t *p = cur_out(c, size);
        for (unsigned int i = 0; p && i < size; i++)
            p[i] = (uint8_t)(*v >> (8 * i));
    } else {
        const uint8_t *p = cur_in(c, size);
        uint64_t x = 0;
        for (unsigned int i = 0; p && i < size; i++)
            x |= (uint64_t)p[i] << (8 * i);
        *v = x;
    }
}

static void cur_u8(struct p9_cursor *c, uint8_t *v)
{
    uint64_t x = *v;
    cur_uint(c, &x, 1);
    *v = (uint8_t)x;
}

static void cur_u16(struct p9_cursor *c, uint16_t *v)
{
    uint64_t x = *v;
    cur_uint(c, &x, 2);
    *v = (uint16_t)x;
}

static void cur_u32(struct p9_cursor *c, uint32_t *v)
{
    uint64_t x = *v;
    cur_uint(c, &x, 4);
    *v = (uint32_t)x;
}

static void cur_u64(struct p9_cursor *c, uint64_t *v)
{
    cur_uint(c, v, 8);
}

/* A NUL inside a 9P string would silently shorten it once the gofer hands it to a C API. */
static void cur_str(struct p9_cursor *c, struct p9_str *s)
{
    if (c->encoding) {
        if (!cur_check(c, s->len <= P9_MAX_STRING && (s->ptr || s->len == 0)))
            return;
        if (!cur_check(c, s->len == 0 || !memchr(s->ptr, '\0', s->len)))
            return;
        uint16_t len = (uint16_t)s->len;
        cur_u16(c, &len);
        uint8_t *p = cur_out(c, s->len);
        if (p && s->len)
            memcpy(p, s->ptr, s->len);
    } else {
        uint16_t len = 0;
        cur_u16(c, &len);
        const uint8_t *p = cur_in(c, len);
        if (!p || !cur_check(c, !memchr(p, '\0', len)))
            return;
        s->ptr = (const char *)p;
        s->len = len;
    }
}

/* count[4] data[count] */
static void cur_data(struct p9_cursor *c, struct p9_data *d)
{
    if (c->encoding) {
        if (!cur_check(c, d->len <= P9_MAX_IO_COUNT && (d->ptr || d->len == 0)))
            return;
        uint32_t count = (uint32_t)d->len;
        cur_u32(c, &count);
        uint8_t *p = cur_out(c, d->len);
        if (p && d->len)
            memcpy(p, d->ptr, d->len);
    } else {
        uint32_t count = 0;
        cur_u32(c, &count);
        if (!cur_check(c, count <= P9_MAX_IO_COUNT))
            return;
        const uint8_t *p = cur_in(c, count);
        if (!p)
            return;
        d->ptr = p;
        d->len = count;
    }
}

static void cur_qid(struct p9_cursor *c, struct p9_qid *q)
{
    cur_u8(c, &q->type);
    cur_u32(c, &q->version);
    cur_u64(c, &q->path);
}

static void cur_io_request(struct p9_cursor *c, struct p9_io_request *r)
{
    cur_u32(c, &r->fid);
    cur_u64(c, &r->offset);
    cur_u32(c, &r->count);
    cur_check(c, r->count <= P9_MAX_IO_COUNT);
}

static void cur_open_body(struct p9_cursor *c, struct p9_open_body *b)
{
    cur_qid(c, &b->qid);
    cur_u32(c, &b->iounit);
}

static void cur_version_body(struct p9_cursor *c, struct p9_version_body *b)
{
    cur_u32(c, &b->msize);
    cur_str(c, &b->version);
}

static void cur_attr(struct p9_cursor *c, struct p9_attr *a)
{
    cur_u64(c, &a->valid);
    cur_qid(c, &a->qid);
    cur_u32(c, &a->mode);
    cur_u32(c, &a->uid);
    cur_u32(c, &a->gid);
    cur_u64(c, &a->nlink);
    cur_u64(c, &a->rdev);
    cur_u64(c, &a->size);
    cur_u64(c, &a->blksize);
    cur_u64(c, &a->blocks);
    cur_u64(c, &a->atime_sec);
    cur_u64(c, &a->atime_nsec);
    cur_u64(c, &a->mtime_sec);
    cur_u64(c, &a->mtime_nsec);
    cur_u64(c, &a->ctime_sec);
    cur_u64(c, &a->ctime_nsec);
    cur_u64(c, &a->btime_sec);
    cur_u64(c, &a->btime_nsec);
    cur_u64(c, &a->gen);
    cur_u64(c, &a->data_version);
}

static void cur_setattr(struct p9_cursor *c, struct p9_setattr *a)
{
    cur_u32(c, &a->valid);
    cur_u32(c, &a->mode);
    cur_u32(c, &a->uid);
    cur_u32(c, &a->gid);
    cur_u64(c, &a->size);
    cur_u64(c, &a->atime_sec);
    cur_u64(c, &a->atime_nsec);
    cur_u64(c, &a->mtime_sec);
    cur_u64(c, &a->mtime_nsec);
}

static void cur_statfs(struct p9_cursor *c, struct p9_statfs *s)
{
    cur_u32(c, &s->type);
    cur_u32(c, &s->bsize);
    cur_u64(c, &s->blocks);
    cur_u64(c, &s->bfree);
    cur_u64(c, &s->bavail);
    cur_u64(c, &s->files);
    cur_u64(c, &s->ffree);
    cur_u64(c, &s->fsid);
    cur_u32(c, &s->namelen);
}

static void cur_twalk(struct p9_cursor *c, struct p9_msg *m)
{
    cur_u32(c, &m->twalk.fid);
    cur_u32(c, &m->twalk.newfid);
    cur_u16(c, &m->twalk.nwname);
    if (!cur_check(c, m->twalk.nwname <= P9_MAXWELEM))
        return;
    for (unsigned int i = 0; i < m->twalk.nwname; i++)
        cur_str(c, &m->twalk.wnames[i]);
}

static void cur_rwalk(struct p9_cursor *c, struct p9_msg *m)
{
    cur_u16(c, &m->rwalk.nwqid);
    if (!cur_check(c, m->rwalk.nwqid <= P9_MAXWELEM))
        return;
    for (unsigned int i = 0; i < m->rwalk.nwqid; i++)
        cur_qid(c, &m->rwalk.wqids[i]);
}

static void cur_tlock(struct p9_cursor *c, struct p9_msg *m)
{
    cur_u32(c, &m->tlock.fid);
    cur_u8(c, &m->tlock.type);
    cur_u32(c, &m->tlock.flags);
    cur_u64(c, &m->tlock.start);
    cur_u64(c, &m->tlock.length);
    cur_u32(c, &m->tlock.proc_id);
    cur_str(c, &m->tlock.client_id);
}

static void cur_tgetlock(struct p9_cursor *c, struct p9_msg *m)
{
    cur_u32(c, &m->tgetlock.fid);
    cur_u8(c, &m->tgetlock.type);
    cur_u64(c, &m->tgetlock.start);
    cur_u64(c, &m->tgetlock.length);
    cur_u32(c, &m->tgetlock.proc_id);
    cur_str(c, &m->tgetlock.client_id);
}

static void cur_rgetlock(struct p9_cursor *c, struct p9_msg *m)
{
    cur_u8(c, &m->rgetlock.type);
    cur_u64(c, &m->rgetlock.start);
    cur_u64(c, &m->rgetlock.length);
    cur_u32(c, &m->rgetlock.proc_id);
    cur_str(c, &m->rgetlock.client_id);
}

/* The body after size[4] type[1] tag[2], in the field order of diod's protocol.md (checked
 * against the format strings of Linux net/9p/client.c). Returns false for an unknown type. */
static bool cur_body(struct p9_cursor *c, struct p9_msg *m)
{
    switch (m->type) {
    case P9_TVERSION:
        cur_version_body(c, &m->tversion);
        break;
    case P9_RVERSION:
        cur_version_body(c, &m->rversion);
        break;
    case P9_TAUTH:
        cur_u32(c, &m->tauth.afid);
        cur_str(c, &m->tauth.uname);
        cur_str(c, &m->tauth.aname);
        cur_u32(c, &m->tauth.n_uname);
        break;
    case P9_RAUTH:
        cur_qid(c, &m->rauth.qid);
        break;
    case P9_TATTACH:
        cur_u32(c, &m->tattach.fid);
        cur_u32(c, &m->tattach.afid);
        cur_str(c, &m->tattach.uname);
        cur_str(c, &m->tattach.aname);
        cur_u32(c, &m->tattach.n_uname);
        break;
    case P9_RATTACH:
        cur_qid(c, &m->rattach.qid);
        break;
    case P9_RLERROR:
        cur_u32(c, &m->rlerror.ecode);
        break;
    case P9_TFLUSH:
        cur_u16(c, &m->tflush.oldtag);
        break;
    case P9_TWALK:
        cur_twalk(c, m);
        break;
    case P9_RWALK:
        cur_rwalk(c, m);
        break;
    case P9_TREAD:
        cur_io_request(c, &m->tread);
        break;
    case P9_RREAD:
        cur_data(c, &m->rread.data);
        break;
    case P9_TWRITE:
        cur_u32(c, &m->twrite.fid);
        cur_u64(c, &m->twrite.offset);
        cur_data(c, &m->twrite.data);
        break;
    case P9_RWRITE:
        cur_u32(c, &m->rwrite.count);
        break;
    case P9_TCLUNK:
        cur_u32(c, &m->tclunk.fid);
        break;
    case P9_TREMOVE:
        cur_u32(c, &m->tremove.fid);
        break;
    case P9_TSTATFS:
        cur_u32(c, &m->tstatfs.fid);
        break;
    case P9_RSTATFS:
        cur_statfs(c, &m->rstatfs);
        break;
    case P9_TLOPEN:
        cur_u32(c, &m->tlopen.fid);
        cur_u32(c, &m->tlopen.flags);
        break;
    case P9_RLOPEN:
        cur_open_body(c, &m->rlopen);
        break;
    case P9_TLCREATE:
        cur_u32(c, &m->tlcreate.fid);
        cur_str(c, &m->tlcreate.name);
        cur_u32(c, &m->tlcreate.flags);
        cur_u32(c, &m->tlcreate.mode);
        cur_u32(c, &m->tlcreate.gid);
        break;
    case P9_RLCREATE:
        cur_open_body(c, &m->rlcreate);
        break;
    case P9_TSYMLINK:
        cur_u32(c, &m->tsymlink.dfid);
        cur_str(c, &m->tsymlink.name);
        cur_str(c, &m->tsymlink.target);
        cur_u32(c, &m->tsymlink.gid);
        break;
    case P9_RSYMLINK:
        cur_qid(c, &m->rsymlink.qid);
        break;
    case P9_TMKNOD:
        cur_u32(c, &m->tmknod.dfid);
        cur_str(c, &m->tmknod.name);
        cur_u32(c, &m->tmknod.mode);
        cur_u32(c, &m->tmknod.major);
        cur_u32(c, &m->tmknod.minor);
        cur_u32(c, &m->tmknod.gid);
        break;
    case P9_RMKNOD:
        cur_qid(c, &m->rmknod.qid);
        break;
    case P9_TRENAME:
        cur_u32(c, &m->trename.fid);
        cur_u32(c, &m->trename.dfid);
        cur_str(c, &m->trename.name);
        break;
    case P9_TREADLINK:
        cur_u32(c, &m->treadlink.fid);
        break;
    case P9_RREADLINK:
        cur_str(c, &m->rreadlink.target);
        break;
    case P9_TGETATTR:
        cur_u32(c, &m->tgetattr.fid);
        cur_u64(c, &m->tgetattr.request_mask);
        break;
    case P9_RGETATTR:
        cur_attr(c, &m->rgetattr);
        break;
    case P9_TSETATTR:
        cur_u32(c, &m->tsetattr.fid);
        cur_setattr(c, &m->tsetattr.attr);
        break;
    case P9_TXATTRWALK:
        cur_u32(c, &m->txattrwalk.fid);
        cur_u32(c, &m->txattrwalk.newfid);
        cur_str(c, &m->txattrwalk.name);
        break;
    case P9_RXATTRWALK:
        cur_u64(c, &m->rxattrwalk.size);
        break;
    case P9_TXATTRCREATE:
        cur_u32(c, &m->txattrcreate.fid);
        cur_str(c, &m->txattrcreate.name);
        cur_u64(c, &m->txattrcreate.attr_size);
        cur_u32(c, &m->txattrcreate.flags);
        break;
    case P9_TREADDIR:
        cur_io_request(c, &m->treaddir);
        break;
    case P9_RREADDIR:
        cur_data(c, &m->rreaddir.data);
        break;
    case P9_TFSYNC:
        cur_u32(c, &m->tfsync.fid);
        cur_u32(c, &m->tfsync.datasync);
        break;
    case P9_TLOCK:
        cur_tlock(c, m);
        break;
    case P9_RLOCK:
        cur_u8(c, &m->rlock.status);
        break;
    case P9_TGETLOCK:
        cur_tgetlock(c, m);
        break;
    case P9_RGETLOCK:
        cur_rgetlock(c, m);
        break;
    case P9_TLINK:
        cur_u32(c, &m->tlink.dfid);
        cur_u32(c, &m->tlink.fid);
        cur_str(c, &m->tlink.name);
        break;
    case P9_TMKDIR:
        cur_u32(c, &m->tmkdir.dfid);
        cur_str(c, &m->tmkdir.name);
        cur_u32(c, &m->tmkdir.mode);
        cur_u32(c, &m->tmkdir.gid);
        break;
    case P9_RMKDIR:
        cur_qid(c, &m->rmkdir.qid);
        break;
    case P9_TRENAMEAT:
        cur_u32(c, &m->trenameat.olddirfid);
        cur_str(c, &m->trenameat.oldname);
        cur_u32(c, &m->trenameat.newdirfid);
        cur_str(c, &m->trenameat.newname);
        break;
    case P9_TUNLINKAT:
        cur_u32(c, &m->tunlinkat.dirfid);
        cur_str(c, &m->tunlinkat.name);
        cur_u32(c, &m->tunlinkat.flags);
        break;
    case P9_RFLUSH:
    case P9_RCLUNK:
    case P9_RREMOVE:
    case P9_RRENAME:
    case P9_RSETATTR:
    case P9_RXATTRCREATE:
    case P9_RFSYNC:
    case P9_RLINK:
    case P9_RRENAMEAT:
    case P9_RUNLINKAT:
        break;
    default:
        return false;
    }
    return true;
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int p9_decode(const uint8_t *buf, size_t len, struct p9_msg *out)
{
    memset(out, 0, sizeof(*out));
    if (len < P9_HEADER_SIZE || get_le32(buf) != len)
        return -EBADMSG;

    struct p9_cursor c = {.in = buf, .cap = len, .pos = 4};
    cur_u8(&c, &out->type);
    cur_u16(&c, &out->tag);
    if (!cur_body(&c, out))
        return -EPROTONOSUPPORT;
    if (c.err)
        return c.err;
    if (c.pos != len)
        return -EBADMSG; /* trailing bytes: a message has exactly one encoding */
    return 0;
}

/* Encodes into buf[0, cap), or only measures when buf is NULL. */
static ssize_t encode_into(const struct p9_msg *msg, uint8_t *buf, size_t cap)
{
    struct p9_msg m = *msg; /* the codec takes a mutable message; encoding never changes it */
    struct p9_cursor c = {.out = buf, .cap = cap, .pos = 4, .encoding = true};

    cur_u8(&c, &m.type);
    cur_u16(&c, &m.tag);
    if (!cur_body(&c, &m))
        return -EINVAL;
    if (c.err)
        return c.err;
    if (c.pos > cap)
        return -EMSGSIZE;
    if (buf)
        put_le32(buf, (uint32_t)c.pos);
    return (ssize_t)c.pos;
}

ssize_t p9_encode(const struct p9_msg *msg, uint8_t *buf, size_t cap)
{
    if (!buf)
        cap = 0;
    return encode_into(msg, buf, cap);
}

ssize_t p9_encoded_length(const struct p9_msg *msg)
{
    return encode_into(msg, NULL, SIZE_MAX);
}

int p9_dirent_decode(const uint8_t *data, size_t len, size_t *pos, struct p9_dirent *out)
{
    memset(out, 0, sizeof(*out));
    if (*pos > len)
        return -EBADMSG;

    struct p9_cursor c = {.in = data, .cap = len, .pos = *pos};
    cur_qid(&c, &out->qid);
    cur_u64(&c, &out->offset);
    cur_u8(&c, &out->type);
    cur_str(&c, &out->name);
    if (c.err)
        return c.err;
    *pos = c.pos;
    return 0;
}

ssize_t p9_dirent_encode(const struct p9_dirent *dirent, uint8_t *buf, size_t cap)
{
    struct p9_dirent d = *dirent;
    struct p9_cursor c = {.out = buf, .cap = buf ? cap : 0, .encoding = true};

    cur_qid(&c, &d.qid);
    cur_u64(&c, &d.offset);
    cur_u8(&c, &d.type);
    cur_str(&c, &d.name);
    if (c.err)
        return c.err;
    if (c.pos > c.cap)
        return -EMSGSIZE;
    return (ssize_t)c.pos;
}
