/* Unit tests for lib/p9: round trips of every 9P2000.L message, hand-written wire bytes that pin
 * the format, and rejection of every malformed shape the gofer or sentry could be sent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/p9/p9.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STR(s) ((struct p9_str){.ptr = (s), .len = sizeof(s) - 1})

static const uint8_t sample_bytes[] = {0x00, 0x01, 0xfe, 0xff, 'h', 'i', '\n', 0x00, 0x80};

static const struct p9_qid qid_dir = {.type = P9_QTDIR, .version = 7, .path = 0x1122334455667788};
static const struct p9_qid qid_file = {.type = P9_QTFILE, .version = 0xfffffffe, .path = 42};

/* One message of every type the codec knows, with every field distinct and non-zero where the
 * wire allows, so a swapped or dropped field cannot go unnoticed. */
static size_t make_samples(struct p9_msg *m, size_t cap)
{
    size_t n = 0;
#define ADD(t)                                                                                     \
    (assert_true(n < cap), memset(&m[n], 0, sizeof(m[n])), m[n].type = (t),                        \
     m[n].tag = (uint16_t)(0x100 + n), &m[n++])
    struct p9_msg *x;

    x = ADD(P9_TVERSION);
    x->tag = P9_NOTAG;
    x->tversion = (struct p9_version_body){.msize = 65536, .version = STR(P9_VERSION_L)};
    x = ADD(P9_RVERSION);
    x->rversion = (struct p9_version_body){.msize = 8192, .version = STR("9P2000.L")};
    x = ADD(P9_TAUTH);
    x->tauth.afid = 3;
    x->tauth.uname = STR("root");
    x->tauth.aname = STR("/srv");
    x->tauth.n_uname = 1000;
    x = ADD(P9_RAUTH);
    x->rauth.qid = (struct p9_qid){.type = P9_QTAUTH, .version = 1, .path = 2};
    x = ADD(P9_TATTACH);
    x->tattach.fid = 1;
    x->tattach.afid = P9_NOFID;
    x->tattach.uname = STR("");
    x->tattach.aname = STR("/");
    x->tattach.n_uname = P9_NONUNAME;
    x = ADD(P9_RATTACH);
    x->rattach.qid = qid_dir;
    x = ADD(P9_RLERROR);
    x->rlerror.ecode = ENOENT;
    x = ADD(P9_TFLUSH);
    x->tflush.oldtag = 0xbeef;
    ADD(P9_RFLUSH);
    x = ADD(P9_TWALK);
    x->twalk.fid = 10;
    x->twalk.newfid = 11;
    x->twalk.nwname = 3;
    x->twalk.wnames[0] = STR("usr");
    x->twalk.wnames[1] = STR("lib");
    x->twalk.wnames[2] = STR("x86_64-linux-gnu");
    x = ADD(P9_RWALK);
    x->rwalk.nwqid = 2;
    x->rwalk.wqids[0] = qid_dir;
    x->rwalk.wqids[1] = qid_file;
    x = ADD(P9_TREAD);
    x->tread = (struct p9_io_request){.fid = 5, .offset = 1ULL << 40, .count = 4096};
    x = ADD(P9_RREAD);
    x->rread.data = (struct p9_data){.ptr = sample_bytes, .len = sizeof(sample_bytes)};
    x = ADD(P9_TWRITE);
    x->twrite.fid = 6;
    x->twrite.offset = 0x7fffffffffffffff;
    x->twrite.data = (struct p9_data){.ptr = sample_bytes, .len = sizeof(sample_bytes)};
    x = ADD(P9_RWRITE);
    x->rwrite.count = 9;
    x = ADD(P9_TCLUNK);
    x->tclunk.fid = 12;
    ADD(P9_RCLUNK);
    x = ADD(P9_TREMOVE);
    x->tremove.fid = 13;
    ADD(P9_RREMOVE);
    x = ADD(P9_TSTATFS);
    x->tstatfs.fid = 14;
    x = ADD(P9_RSTATFS);
    x->rstatfs = (struct p9_statfs){.type = 0x01021997,
                                    .bsize = 4096,
                                    .blocks = 1000,
                                    .bfree = 500,
                                    .bavail = 400,
                                    .files = 300,
                                    .ffree = 200,
                                    .fsid = 0xdeadbeefcafe,
                                    .namelen = 255};
    x = ADD(P9_TLOPEN);
    x->tlopen.fid = 15;
    x->tlopen.flags = 02304000;
    x = ADD(P9_RLOPEN);
    x->rlopen = (struct p9_open_body){.qid = qid_file, .iounit = 65512};
    x = ADD(P9_TLCREATE);
    x->tlcreate.fid = 16;
    x->tlcreate.name = STR("foo");
    x->tlcreate.flags = 0x8241;
    x->tlcreate.mode = 0100644;
    x->tlcreate.gid = 500;
    x = ADD(P9_RLCREATE);
    x->rlcreate = (struct p9_open_body){.qid = qid_file, .iounit = 4096};
    x = ADD(P9_TSYMLINK);
    x->tsymlink.dfid = 17;
    x->tsymlink.name = STR("link");
    x->tsymlink.target = STR("../a/b");
    x->tsymlink.gid = 501;
    x = ADD(P9_RSYMLINK);
    x->rsymlink.qid = (struct p9_qid){.type = P9_QTSYMLINK, .version = 3, .path = 99};
    x = ADD(P9_TMKNOD);
    x->tmknod.dfid = 18;
    x->tmknod.name = STR("null");
    x->tmknod.mode = 020666;
    x->tmknod.major = 1;
    x->tmknod.minor = 3;
    x->tmknod.gid = 5;
    x = ADD(P9_RMKNOD);
    x->rmknod.qid = qid_file;
    x = ADD(P9_TRENAME);
    x->trename.fid = 19;
    x->trename.dfid = 20;
    x->trename.name = STR("new");
    ADD(P9_RRENAME);
    x = ADD(P9_TREADLINK);
    x->treadlink.fid = 21;
    x = ADD(P9_RREADLINK);
    x->rreadlink.target = STR("/tmp/9/newdir");
    x = ADD(P9_TGETATTR);
    x->tgetattr.fid = 22;
    x->tgetattr.request_mask = P9_GETATTR_ALL;
    x = ADD(P9_RGETATTR);
    x->rgetattr = (struct p9_attr){.valid = P9_GETATTR_BASIC,
                                   .qid = qid_dir,
                                   .mode = 040755,
                                   .uid = 500,
                                   .gid = 501,
                                   .nlink = 56,
                                   .rdev = 0x0803,
                                   .size = 4096,
                                   .blksize = 512,
                                   .blocks = 8,
                                   .atime_sec = 11,
                                   .atime_nsec = 12,
                                   .mtime_sec = 13,
                                   .mtime_nsec = 14,
                                   .ctime_sec = 15,
                                   .ctime_nsec = 16,
                                   .btime_sec = 17,
                                   .btime_nsec = 18,
                                   .gen = 19,
                                   .data_version = 20};
    x = ADD(P9_TSETATTR);
    x->tsetattr.fid = 23;
    x->tsetattr.attr =
        (struct p9_setattr){.valid = P9_SETATTR_MODE | P9_SETATTR_SIZE | P9_SETATTR_MTIME_SET,
                            .mode = 0600,
                            .uid = 1,
                            .gid = 2,
                            .size = 123456789,
                            .atime_sec = 3,
                            .atime_nsec = 4,
                            .mtime_sec = 5,
                            .mtime_nsec = 6};
    ADD(P9_RSETATTR);
    x = ADD(P9_TXATTRWALK);
    x->txattrwalk.fid = 24;
    x->txattrwalk.newfid = 25;
    x->txattrwalk.name = STR("user.comment");
    x = ADD(P9_RXATTRWALK);
    x->rxattrwalk.size = 77;
    x = ADD(P9_TXATTRCREATE);
    x->txattrcreate.fid = 26;
    x->txattrcreate.name = STR("security.selinux");
    x->txattrcreate.attr_size = 31;
    x->txattrcreate.flags = 1;
    ADD(P9_RXATTRCREATE);
    x = ADD(P9_TREADDIR);
    x->treaddir = (struct p9_io_request){.fid = 27, .offset = 2147483647, .count = 65488};
    x = ADD(P9_RREADDIR);
    x->rreaddir.data = (struct p9_data){.ptr = sample_bytes, .len = sizeof(sample_bytes)};
    x = ADD(P9_TFSYNC);
    x->tfsync.fid = 28;
    x->tfsync.datasync = 1;
    ADD(P9_RFSYNC);
    x = ADD(P9_TLOCK);
    x->tlock.fid = 29;
    x->tlock.type = P9_LOCK_TYPE_WRLCK;
    x->tlock.flags = P9_LOCK_FLAGS_BLOCK;
    x->tlock.start = 100;
    x->tlock.length = 200;
    x->tlock.proc_id = 4242;
    x->tlock.client_id = STR("sandbox");
    x = ADD(P9_RLOCK);
    x->rlock.status = P9_LOCK_BLOCKED;
    x = ADD(P9_TGETLOCK);
    x->tgetlock.fid = 30;
    x->tgetlock.type = P9_LOCK_TYPE_RDLCK;
    x->tgetlock.start = 300;
    x->tgetlock.length = 400;
    x->tgetlock.proc_id = 4343;
    x->tgetlock.client_id = STR("host");
    x = ADD(P9_RGETLOCK);
    x->rgetlock.type = P9_LOCK_TYPE_UNLCK;
    x->rgetlock.start = 500;
    x->rgetlock.length = 600;
    x->rgetlock.proc_id = 4444;
    x->rgetlock.client_id = STR("other");
    x = ADD(P9_TLINK);
    x->tlink.dfid = 31;
    x->tlink.fid = 32;
    x->tlink.name = STR("hard");
    ADD(P9_RLINK);
    x = ADD(P9_TMKDIR);
    x->tmkdir.dfid = 33;
    x->tmkdir.name = STR("newdir");
    x->tmkdir.mode = 040755;
    x->tmkdir.gid = 500;
    x = ADD(P9_RMKDIR);
    x->rmkdir.qid = qid_dir;
    x = ADD(P9_TRENAMEAT);
    x->trenameat.olddirfid = 34;
    x->trenameat.oldname = STR("a");
    x->trenameat.newdirfid = 35;
    x->trenameat.newname = STR("bb");
    ADD(P9_RRENAMEAT);
    x = ADD(P9_TUNLINKAT);
    x->tunlinkat.dirfid = 36;
    x->tunlinkat.name = STR("gone");
    x->tunlinkat.flags = 0x200;
    ADD(P9_RUNLINKAT);
#undef ADD
    return n;
}

#define MAX_SAMPLES 80

static void assert_str_equal(struct p9_str a, struct p9_str b)
{
    assert_int_equal(a.len, b.len);
    if (a.len)
        assert_memory_equal(a.ptr, b.ptr, a.len);
}

static void assert_data_equal(struct p9_data a, struct p9_data b)
{
    assert_int_equal(a.len, b.len);
    if (a.len)
        assert_memory_equal(a.ptr, b.ptr, a.len);
}

static void assert_qid_equal(const struct p9_qid *a, const struct p9_qid *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->path, b->path);
}

/* Field-by-field comparison, written out per type so it does not share code with the codec. */
static void assert_msg_equal(const struct p9_msg *a, const struct p9_msg *b)
{
#define EQ(f) assert_int_equal(a->f, b->f)
#define SEQ(f) assert_str_equal(a->f, b->f)
#define QEQ(f) assert_qid_equal(&a->f, &b->f)
    EQ(type);
    EQ(tag);
    switch (a->type) {
    case P9_TVERSION:
    case P9_RVERSION:
        EQ(tversion.msize);
        SEQ(tversion.version);
        break;
    case P9_TAUTH:
        EQ(tauth.afid);
        SEQ(tauth.uname);
        SEQ(tauth.aname);
        EQ(tauth.n_uname);
        break;
    case P9_TATTACH:
        EQ(tattach.fid);
        EQ(tattach.afid);
        SEQ(tattach.uname);
        SEQ(tattach.aname);
        EQ(tattach.n_uname);
        break;
    case P9_RAUTH:
    case P9_RATTACH:
    case P9_RSYMLINK:
    case P9_RMKNOD:
    case P9_RMKDIR:
        QEQ(rattach.qid);
        break;
    case P9_RLERROR:
        EQ(rlerror.ecode);
        break;
    case P9_TFLUSH:
        EQ(tflush.oldtag);
        break;
    case P9_TWALK:
        EQ(twalk.fid);
        EQ(twalk.newfid);
        EQ(twalk.nwname);
        for (unsigned int i = 0; i < a->twalk.nwname; i++)
            SEQ(twalk.wnames[i]);
        break;
    case P9_RWALK:
        EQ(rwalk.nwqid);
        for (unsigned int i = 0; i < a->rwalk.nwqid; i++)
            QEQ(rwalk.wqids[i]);
        break;
    case P9_TREAD:
    case P9_TREADDIR:
        EQ(tread.fid);
        EQ(tread.offset);
        EQ(tread.count);
        break;
    case P9_RREAD:
    case P9_RREADDIR:
        assert_data_equal(a->rread.data, b->rread.data);
        break;
    case P9_TWRITE:
        EQ(twrite.fid);
        EQ(twrite.offset);
        assert_data_equal(a->twrite.data, b->twrite.data);
        break;
    case P9_RWRITE:
        EQ(rwrite.count);
        break;
    case P9_TCLUNK:
    case P9_TREMOVE:
    case P9_TSTATFS:
    case P9_TREADLINK:
        EQ(tclunk.fid);
        break;
    case P9_RSTATFS:
        EQ(rstatfs.type);
        EQ(rstatfs.bsize);
        EQ(rstatfs.blocks);
        EQ(rstatfs.bfree);
        EQ(rstatfs.bavail);
        EQ(rstatfs.files);
        EQ(rstatfs.ffree);
        EQ(rstatfs.fsid);
        EQ(rstatfs.namelen);
        break;
    case P9_TLOPEN:
        EQ(tlopen.fid);
        EQ(tlopen.flags);
        break;
    case P9_RLOPEN:
    case P9_RLCREATE:
        QEQ(rlopen.qid);
        EQ(rlopen.iounit);
        break;
    case P9_TLCREATE:
        EQ(tlcreate.fid);
        SEQ(tlcreate.name);
        EQ(tlcreate.flags);
        EQ(tlcreate.mode);
        EQ(tlcreate.gid);
        break;
    case P9_TSYMLINK:
        EQ(tsymlink.dfid);
        SEQ(tsymlink.name);
        SEQ(tsymlink.target);
        EQ(tsymlink.gid);
        break;
    case P9_TMKNOD:
        EQ(tmknod.dfid);
        SEQ(tmknod.name);
        EQ(tmknod.mode);
        EQ(tmknod.major);
        EQ(tmknod.minor);
        EQ(tmknod.gid);
        break;
    case P9_TRENAME:
        EQ(trename.fid);
        EQ(trename.dfid);
        SEQ(trename.name);
        break;
    case P9_RREADLINK:
        SEQ(rreadlink.target);
        break;
    case P9_TGETATTR:
        EQ(tgetattr.fid);
        EQ(tgetattr.request_mask);
        break;
    case P9_RGETATTR:
        EQ(rgetattr.valid);
        QEQ(rgetattr.qid);
        EQ(rgetattr.mode);
        EQ(rgetattr.uid);
        EQ(rgetattr.gid);
        EQ(rgetattr.nlink);
        EQ(rgetattr.rdev);
        EQ(rgetattr.size);
        EQ(rgetattr.blksize);
        EQ(rgetattr.blocks);
        EQ(rgetattr.atime_sec);
        EQ(rgetattr.atime_nsec);
        EQ(rgetattr.mtime_sec);
        EQ(rgetattr.mtime_nsec);
        EQ(rgetattr.ctime_sec);
        EQ(rgetattr.ctime_nsec);
        EQ(rgetattr.btime_sec);
        EQ(rgetattr.btime_nsec);
        EQ(rgetattr.gen);
        EQ(rgetattr.data_version);
        break;
    case P9_TSETATTR:
        EQ(tsetattr.fid);
        EQ(tsetattr.attr.valid);
        EQ(tsetattr.attr.mode);
        EQ(tsetattr.attr.uid);
        EQ(tsetattr.attr.gid);
        EQ(tsetattr.attr.size);
        EQ(tsetattr.attr.atime_sec);
        EQ(tsetattr.attr.atime_nsec);
        EQ(tsetattr.attr.mtime_sec);
        EQ(tsetattr.attr.mtime_nsec);
        break;
    case P9_TXATTRWALK:
        EQ(txattrwalk.fid);
        EQ(txattrwalk.newfid);
        SEQ(txattrwalk.name);
        break;
    case P9_RXATTRWALK:
        EQ(rxattrwalk.size);
        break;
    case P9_TXATTRCREATE:
        EQ(txattrcreate.fid);
        SEQ(txattrcreate.name);
        EQ(txattrcreate.attr_size);
        EQ(txattrcreate.flags);
        break;
    case P9_TFSYNC:
        EQ(tfsync.fid);
        EQ(tfsync.datasync);
        break;
    case P9_TLOCK:
        EQ(tlock.fid);
        EQ(tlock.type);
        EQ(tlock.flags);
        EQ(tlock.start);
        EQ(tlock.length);
        EQ(tlock.proc_id);
        SEQ(tlock.client_id);
        break;
    case P9_RLOCK:
        EQ(rlock.status);
        break;
    case P9_TGETLOCK:
        EQ(tgetlock.fid);
        EQ(tgetlock.type);
        EQ(tgetlock.start);
        EQ(tgetlock.length);
        EQ(tgetlock.proc_id);
        SEQ(tgetlock.client_id);
        break;
    case P9_RGETLOCK:
        EQ(rgetlock.type);
        EQ(rgetlock.start);
        EQ(rgetlock.length);
        EQ(rgetlock.proc_id);
        SEQ(rgetlock.client_id);
        break;
    case P9_TLINK:
        EQ(tlink.dfid);
        EQ(tlink.fid);
        SEQ(tlink.name);
        break;
    case P9_TMKDIR:
        EQ(tmkdir.dfid);
        SEQ(tmkdir.name);
        EQ(tmkdir.mode);
        EQ(tmkdir.gid);
        break;
    case P9_TRENAMEAT:
        EQ(trenameat.olddirfid);
        SEQ(trenameat.oldname);
        EQ(trenameat.newdirfid);
        SEQ(trenameat.newname);
        break;
    case P9_TUNLINKAT:
        EQ(tunlinkat.dirfid);
        SEQ(tunlinkat.name);
        EQ(tunlinkat.flags);
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
        fail_msg("no comparison for type %u", a->type);
    }
#undef EQ
#undef SEQ
#undef QEQ
}

/* Encodes into a buffer of exactly the message's length (so ASan sees any overrun). */
static uint8_t *encode_or_fail(const struct p9_msg *m, size_t *len)
{
    ssize_t n = p9_encoded_length(m);
    assert_true(n >= (ssize_t)P9_HEADER_SIZE);
    uint8_t *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(p9_encode(m, buf, (size_t)n), n);
    *len = (size_t)n;
    return buf;
}

static uint8_t *copy_of(const uint8_t *src, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    if (len)
        memcpy(p, src, len);
    return p;
}

static void set_size(uint8_t *buf, uint32_t size)
{
    buf[0] = (uint8_t)size;
    buf[1] = (uint8_t)(size >> 8);
    buf[2] = (uint8_t)(size >> 16);
    buf[3] = (uint8_t)(size >> 24);
}

static bool view_inside(const void *ptr, size_t len, const uint8_t *buf, size_t buf_len)
{
    const uint8_t *p = ptr;
    return len == 0 || (p >= buf && p + len <= buf + buf_len);
}

static void test_round_trip_every_type(void **state)
{
    struct p9_msg samples[MAX_SAMPLES];
    size_t count = make_samples(samples, MAX_SAMPLES);

    /* The sample set covers every type the codec names, and nothing it doesn't. */
    size_t named = 0;
    for (unsigned int t = 0; t < 256; t++)
        named += p9_msg_type_name((uint8_t)t) != NULL;
    assert_int_equal(count, named);

    for (size_t i = 0; i < count; i++) {
        size_t len;
        uint8_t *buf = encode_or_fail(&samples[i], &len);
        struct p9_msg out;
        assert_int_equal(p9_decode(buf, len, &out), 0);
        assert_string_equal(p9_msg_type_name(out.type), p9_msg_type_name(samples[i].type));
        assert_msg_equal(&samples[i], &out);

        /* Zero copy: the views point into the decoded buffer. */
        if (out.type == P9_TWALK) {
            for (unsigned int w = 0; w < out.twalk.nwname; w++)
                assert_true(
                    view_inside(out.twalk.wnames[w].ptr, out.twalk.wnames[w].len, buf, len));
        }
        if (out.type == P9_RREAD || out.type == P9_RREADDIR)
            assert_true(view_inside(out.rread.data.ptr, out.rread.data.len, buf, len));
        if (out.type == P9_TWRITE)
            assert_true(view_inside(out.twrite.data.ptr, out.twrite.data.len, buf, len));
        if (out.type == P9_TLCREATE)
            assert_true(view_inside(out.tlcreate.name.ptr, out.tlcreate.name.len, buf, len));

        /* Re-encoding the decoded message gives the same bytes. */
        size_t len2;
        uint8_t *buf2 = encode_or_fail(&out, &len2);
        assert_int_equal(len2, len);
        assert_memory_equal(buf2, buf, len);
        free(buf2);
        free(buf);
    }
}

static void test_encode_too_small_buffer_is_emsgsize(void **state)
{
    struct p9_msg samples[MAX_SAMPLES];
    size_t count = make_samples(samples, MAX_SAMPLES);

    for (size_t i = 0; i < count; i++) {
        ssize_t n = p9_encoded_length(&samples[i]);
        for (size_t cap = 0; cap < (size_t)n; cap++) {
            uint8_t *buf = malloc(cap ? cap : 1);
            assert_non_null(buf);
            assert_int_equal(p9_encode(&samples[i], buf, cap), -EMSGSIZE);
            free(buf);
        }
        assert_int_equal(p9_encode(&samples[i], NULL, 0), -EMSGSIZE);
    }
}

static void test_every_truncation_is_ebadmsg(void **state)
{
    struct p9_msg samples[MAX_SAMPLES];
    size_t count = make_samples(samples, MAX_SAMPLES);

    for (size_t i = 0; i < count; i++) {
        size_t len;
        uint8_t *buf = encode_or_fail(&samples[i], &len);
        for (size_t cut = 0; cut < len; cut++) {
            struct p9_msg out;
            uint8_t *prefix = copy_of(buf, cut);
            /* As received: the size field still claims the full length. */
            assert_int_equal(p9_decode(prefix, cut, &out), -EBADMSG);
            /* With the size field rewritten to agree, the body itself is short. */
            if (cut >= 4) {
                set_size(prefix, (uint32_t)cut);
                assert_int_equal(p9_decode(prefix, cut, &out), -EBADMSG);
            }
            free(prefix);
        }
        free(buf);
    }
}

static void test_trailing_bytes_are_ebadmsg(void **state)
{
    struct p9_msg samples[MAX_SAMPLES];
    size_t count = make_samples(samples, MAX_SAMPLES);

    for (size_t i = 0; i < count; i++) {
        size_t len;
        uint8_t *buf = encode_or_fail(&samples[i], &len);
        uint8_t *longer = malloc(len + 1);
        assert_non_null(longer);
        memcpy(longer, buf, len);
        longer[len] = 0;
        set_size(longer, (uint32_t)(len + 1));
        struct p9_msg out;
        assert_int_equal(p9_decode(longer, len + 1, &out), -EBADMSG);
        free(longer);
        free(buf);
    }
}

static void test_size_field_mismatch(void **state)
{
    uint8_t rclunk[] = {0x07, 0x00, 0x00, 0x00, P9_RCLUNK, 0x01, 0x00};
    struct p9_msg out;

    assert_int_equal(p9_decode(rclunk, sizeof(rclunk), &out), 0);
    assert_int_equal(out.type, P9_RCLUNK);
    assert_int_equal(out.tag, 1);

    static const uint32_t bad_sizes[] = {0, 1, 6, 8, 0x107, 0xffffffff};
    for (size_t i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
        set_size(rclunk, bad_sizes[i]);
        assert_int_equal(p9_decode(rclunk, sizeof(rclunk), &out), -EBADMSG);
    }
    /* A message shorter than its own header, whatever the size field says. */
    uint8_t tiny[] = {0x06, 0x00, 0x00, 0x00, P9_RCLUNK, 0x01};
    assert_int_equal(p9_decode(tiny, sizeof(tiny), &out), -EBADMSG);
    assert_int_equal(p9_decode(tiny, 0, &out), -EBADMSG);
}

/* size[4]=21 Tversion tag=NOTAG msize=65536 version[s]="9P2000.L" */
static const uint8_t tversion_bytes[] = {
    0x15, 0x00, 0x00, 0x00, 0x64, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00,
    0x08, 0x00, '9',  'P',  '2',  '0',  '0',  '0',  '.',  'L',
};

static void test_wire_tversion(void **state)
{
    struct p9_msg m;
    assert_int_equal(p9_decode(tversion_bytes, sizeof(tversion_bytes), &m), 0);
    assert_int_equal(m.type, P9_TVERSION);
    assert_int_equal(m.type, 100);
    assert_int_equal(m.tag, P9_NOTAG);
    assert_int_equal(m.tversion.msize, 65536);
    assert_int_equal(m.tversion.version.len, 8);
    assert_memory_equal(m.tversion.version.ptr, "9P2000.L", 8);
    assert_ptr_equal(m.tversion.version.ptr, tversion_bytes + 13);

    struct p9_msg e = {.type = P9_TVERSION, .tag = P9_NOTAG};
    e.tversion.msize = 65536;
    e.tversion.version = p9_str_from_cstr(P9_VERSION_L);
    uint8_t buf[64];
    assert_int_equal(p9_encode(&e, buf, sizeof(buf)), sizeof(tversion_bytes));
    assert_memory_equal(buf, tversion_bytes, sizeof(tversion_bytes));
}

/* size=27 Twalk(110) tag=1 fid=1 newfid=2 nwname=2 "usr" "bin" */
static const uint8_t twalk_bytes[] = {
    0x1b, 0x00, 0x00, 0x00, 0x6e, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x00, 0x02, 0x00, 0x03, 0x00, 'u',  's',  'r',  0x03, 0x00, 'b',  'i',  'n',
};

static void test_wire_twalk(void **state)
{
    struct p9_msg m;
    assert_int_equal(p9_decode(twalk_bytes, sizeof(twalk_bytes), &m), 0);
    assert_int_equal(m.type, P9_TWALK);
    assert_int_equal(m.tag, 1);
    assert_int_equal(m.twalk.fid, 1);
    assert_int_equal(m.twalk.newfid, 2);
    assert_int_equal(m.twalk.nwname, 2);
    assert_int_equal(m.twalk.wnames[0].len, 3);
    assert_memory_equal(m.twalk.wnames[0].ptr, "usr", 3);
    assert_int_equal(m.twalk.wnames[1].len, 3);
    assert_memory_equal(m.twalk.wnames[1].ptr, "bin", 3);

    uint8_t buf[sizeof(twalk_bytes)];
    assert_int_equal(p9_encode(&m, buf, sizeof(buf)), sizeof(twalk_bytes));
    assert_memory_equal(buf, twalk_bytes, sizeof(twalk_bytes));
}

/* size=160 Rgetattr(25) tag=1, then the fields in diod's / Linux's order. */
static const uint8_t rgetattr_bytes[] = {
    0xa0, 0x00, 0x00, 0x00, 0x19, 0x01, 0x00,       /* size type tag */
    0xff, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* valid 0x3fff */
    0x80, 0x01, 0x00, 0x00, 0x00,                   /* qid.type DIR, qid.version 1 */
    0xac, 0x1f, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00, /* qid.path 0x2c1fac */
    0xed, 0x41, 0x00, 0x00,                         /* mode 040755 */
    0xf4, 0x01, 0x00, 0x00,                         /* uid 500 */
    0xf5, 0x01, 0x00, 0x00,                         /* gid 501 */
    0x38, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* nlink 56 */
    0x03, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* rdev 0x803 */
    0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* size 4096 */
    0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* blksize 512 */
    0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* blocks 8 */
    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* atime_sec 0x0102030405060708 */
    0xff, 0xc9, 0x9a, 0x3b, 0x00, 0x00, 0x00, 0x00, /* atime_nsec 999999999 */
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* mtime_sec 2 */
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* mtime_nsec 3 */
    0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ctime_sec 4 */
    0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ctime_nsec 5 */
    0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* btime_sec 6 */
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* btime_nsec 7 */
    0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* gen 8 */
    0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, /* data_version 2^63 + 9 */
};

static void test_wire_rgetattr(void **state)
{
    assert_int_equal(sizeof(rgetattr_bytes), 160);
    struct p9_msg m;
    assert_int_equal(p9_decode(rgetattr_bytes, sizeof(rgetattr_bytes), &m), 0);
    assert_int_equal(m.type, P9_RGETATTR);
    assert_int_equal(m.tag, 1);
    const struct p9_attr *a = &m.rgetattr;
    assert_int_equal(a->valid, P9_GETATTR_ALL);
    assert_int_equal(a->qid.type, P9_QTDIR);
    assert_int_equal(a->qid.version, 1);
    assert_int_equal(a->qid.path, 0x2c1fac);
    assert_int_equal(a->mode, 040755);
    assert_int_equal(a->uid, 500);
    assert_int_equal(a->gid, 501);
    assert_int_equal(a->nlink, 56);
    assert_int_equal(a->rdev, 0x803);
    assert_int_equal(a->size, 4096);
    assert_int_equal(a->blksize, 512);
    assert_int_equal(a->blocks, 8);
    assert_int_equal(a->atime_sec, 0x0102030405060708ULL);
    assert_int_equal(a->atime_nsec, 999999999);
    assert_int_equal(a->mtime_sec, 2);
    assert_int_equal(a->mtime_nsec, 3);
    assert_int_equal(a->ctime_sec, 4);
    assert_int_equal(a->ctime_nsec, 5);
    assert_int_equal(a->btime_sec, 6);
    assert_int_equal(a->btime_nsec, 7);
    assert_int_equal(a->gen, 8);
    assert_int_equal(a->data_version, 0x8000000000000009ULL);

    uint8_t buf[sizeof(rgetattr_bytes)];
    assert_int_equal(p9_encode(&m, buf, sizeof(buf)), sizeof(rgetattr_bytes));
    assert_memory_equal(buf, rgetattr_bytes, sizeof(rgetattr_bytes));
}

/* size=11 Rlerror(7) tag=1 ecode=2 (ENOENT) */
static const uint8_t rlerror_bytes[] = {0x0b, 0x00, 0x00, 0x00, 0x07, 0x01,
                                        0x00, 0x02, 0x00, 0x00, 0x00};

static void test_wire_rlerror(void **state)
{
    struct p9_msg m;
    assert_int_equal(p9_decode(rlerror_bytes, sizeof(rlerror_bytes), &m), 0);
    assert_int_equal(m.type, P9_RLERROR);
    assert_int_equal(m.tag, 1);
    assert_int_equal(m.rlerror.ecode, ENOENT);

    struct p9_msg e = {.type = P9_RLERROR, .tag = 1, .rlerror.ecode = ENOENT};
    uint8_t buf[sizeof(rlerror_bytes)];
    assert_int_equal(p9_encode(&e, buf, sizeof(buf)), sizeof(rlerror_bytes));
    assert_memory_equal(buf, rlerror_bytes, sizeof(rlerror_bytes));
}

/* Rlopen qid then iounit, and Tlcreate's name/flags/mode/gid order, as the gofer will see them. */
static void test_wire_rlopen_and_tlcreate(void **state)
{
    static const uint8_t rlopen[] = {0x18, 0x00, 0x00, 0x00, 0x0d, 0x05, 0x00, 0x00,
                                     0xe3, 0x1d, 0x00, 0x00, 0xd1, 0x1b, 0x2c, 0x00,
                                     0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00};
    static const uint8_t tlcreate[] = {0x1c, 0x00, 0x00, 0x00, 0x0e, 0x01, 0x00, 0x02, 0x00, 0x00,
                                       0x00, 0x03, 0x00, 'f',  'o',  'o',  0x41, 0x82, 0x00, 0x00,
                                       0xa4, 0x81, 0x00, 0x00, 0xf4, 0x01, 0x00, 0x00};
    struct p9_msg m;

    assert_int_equal(p9_decode(rlopen, sizeof(rlopen), &m), 0);
    assert_int_equal(m.type, P9_RLOPEN);
    assert_int_equal(m.tag, 5);
    assert_int_equal(m.rlopen.qid.type, 0);
    assert_int_equal(m.rlopen.qid.version, 0x1de3);
    assert_int_equal(m.rlopen.qid.path, 0x2c1bd1);
    assert_int_equal(m.rlopen.iounit, 4096);

    assert_int_equal(sizeof(tlcreate), 0x1c);
    assert_int_equal(p9_decode(tlcreate, sizeof(tlcreate), &m), 0);
    assert_int_equal(m.type, P9_TLCREATE);
    assert_int_equal(m.tlcreate.fid, 2);
    assert_int_equal(m.tlcreate.name.len, 3);
    assert_memory_equal(m.tlcreate.name.ptr, "foo", 3);
    assert_int_equal(m.tlcreate.flags, 0x8241);
    assert_int_equal(m.tlcreate.mode, 0100644);
    assert_int_equal(m.tlcreate.gid, 500);
}

static void test_string_length_past_end(void **state)
{
    /* Twalk whose second name claims 100 bytes but has 3. */
    uint8_t walk[sizeof(twalk_bytes)];
    memcpy(walk, twalk_bytes, sizeof(walk));
    walk[22] = 100;
    struct p9_msg m;
    assert_int_equal(p9_decode(walk, sizeof(walk), &m), -EBADMSG);
    walk[22] = 0xff;
    walk[23] = 0xff;
    assert_int_equal(p9_decode(walk, sizeof(walk), &m), -EBADMSG);
    /* ...and one byte too long for what follows it. */
    walk[22] = 4;
    walk[23] = 0;
    assert_int_equal(p9_decode(walk, sizeof(walk), &m), -EBADMSG);

    /* Tversion whose version string runs exactly to the end is fine; one more is not. */
    uint8_t ver[sizeof(tversion_bytes)];
    memcpy(ver, tversion_bytes, sizeof(ver));
    ver[11] = 9;
    assert_int_equal(p9_decode(ver, sizeof(ver), &m), -EBADMSG);
    ver[11] = 7;
    assert_int_equal(p9_decode(ver, sizeof(ver), &m), -EBADMSG); /* one trailing byte */
}

static void test_string_limits_on_encode(void **state)
{
    size_t big = P9_MAX_STRING + 1;
    char *s = malloc(big);
    assert_non_null(s);
    memset(s, 'a', big);

    struct p9_msg m = {.type = P9_RREADLINK, .tag = 1};
    m.rreadlink.target = (struct p9_str){.ptr = s, .len = big};
    uint8_t *buf = malloc(big + 64);
    assert_non_null(buf);
    assert_int_equal(p9_encode(&m, buf, big + 64), -EINVAL);
    assert_int_equal(p9_encoded_length(&m), -EINVAL);
    /* Invalid beats too small: the caller must not retry with a bigger buffer. */
    assert_int_equal(p9_encode(&m, buf, 8), -EINVAL);

    m.rreadlink.target.len = P9_MAX_STRING;
    ssize_t n = p9_encode(&m, buf, big + 64);
    assert_int_equal(n, P9_HEADER_SIZE + 2 + P9_MAX_STRING);
    struct p9_msg out;
    assert_int_equal(p9_decode(buf, (size_t)n, &out), 0);
    assert_int_equal(out.rreadlink.target.len, P9_MAX_STRING);
    assert_memory_equal(out.rreadlink.target.ptr, s, P9_MAX_STRING);

    /* A NULL string with a length, and a string holding a NUL, cannot be sent. */
    m.rreadlink.target = (struct p9_str){.ptr = NULL, .len = 1};
    assert_int_equal(p9_encode(&m, buf, 64), -EINVAL);
    m.rreadlink.target = (struct p9_str){.ptr = "a\0b", .len = 3};
    assert_int_equal(p9_encode(&m, buf, 64), -EINVAL);
    m.rreadlink.target = (struct p9_str){.ptr = NULL, .len = 0};
    assert_int_equal(p9_encode(&m, buf, 64), P9_HEADER_SIZE + 2);
    free(buf);
    free(s);
}

static void test_string_with_nul_is_ebadmsg(void **state)
{
    uint8_t walk[sizeof(twalk_bytes)];
    memcpy(walk, twalk_bytes, sizeof(walk));
    walk[20] = '\0'; /* "u\0r" */
    struct p9_msg m;
    assert_int_equal(p9_decode(walk, sizeof(walk), &m), -EBADMSG);
}

/* Builds a Twalk (type P9_TWALK) or Rwalk with n elements into buf; returns its length. The
 * encoder refuses more than P9_MAXWELEM, so elements past that are appended by hand. */
static size_t build_walk(uint8_t *buf, size_t cap, uint8_t type, unsigned int n)
{
    static const uint8_t name_d[] = {0x01, 0x00, 'd'};
    static const uint8_t qid_bytes[13] = {P9_QTDIR, 0x07, 0,    0,    0,    0x88, 0x77,
                                          0x66,     0x55, 0x44, 0x33, 0x22, 0x11};
    size_t pos = P9_HEADER_SIZE;

    memset(buf, 0, cap);
    buf[4] = type;
    buf[5] = 9; /* tag */
    if (type == P9_TWALK)
        pos += 8; /* fid, newfid = 0 */
    buf[pos] = (uint8_t)n;
    buf[pos + 1] = (uint8_t)(n >> 8);
    pos += 2;
    for (unsigned int i = 0; i < n; i++) {
        const uint8_t *elem = type == P9_TWALK ? name_d : qid_bytes;
        size_t elem_len = type == P9_TWALK ? sizeof(name_d) : sizeof(qid_bytes);
        assert_true(pos + elem_len <= cap);
        memcpy(buf + pos, elem, elem_len);
        pos += elem_len;
    }
    set_size(buf, (uint32_t)pos);
    return pos;
}

static void test_walk_element_limit(void **state)
{
    uint8_t buf[1024];
    struct p9_msg m;
    size_t len;

    len = build_walk(buf, sizeof(buf), P9_TWALK, P9_MAXWELEM);
    assert_int_equal(p9_decode(buf, len, &m), 0);
    assert_int_equal(m.twalk.nwname, P9_MAXWELEM);
    len = build_walk(buf, sizeof(buf), P9_TWALK, P9_MAXWELEM + 1);
    assert_int_equal(p9_decode(buf, len, &m), -EBADMSG);
    len = build_walk(buf, sizeof(buf), P9_TWALK, 300);
    assert_int_equal(p9_decode(buf, len, &m), -EBADMSG);

    len = build_walk(buf, sizeof(buf), P9_RWALK, P9_MAXWELEM);
    assert_int_equal(p9_decode(buf, len, &m), 0);
    assert_int_equal(m.rwalk.nwqid, P9_MAXWELEM);
    assert_qid_equal(&m.rwalk.wqids[P9_MAXWELEM - 1], &qid_dir);
    len = build_walk(buf, sizeof(buf), P9_RWALK, P9_MAXWELEM + 1);
    assert_int_equal(p9_decode(buf, len, &m), -EBADMSG);

    struct p9_msg e = {.type = P9_TWALK};
    e.twalk.nwname = P9_MAXWELEM + 1;
    assert_int_equal(p9_encode(&e, buf, sizeof(buf)), -EINVAL);
    e.type = P9_RWALK;
    e.rwalk.nwqid = P9_MAXWELEM + 1;
    assert_int_equal(p9_encode(&e, buf, sizeof(buf)), -EINVAL);
    /* A clone walk (no names) is legal. */
    e.type = P9_TWALK;
    e.twalk.nwname = 0;
    assert_int_equal(p9_encode(&e, buf, sizeof(buf)), P9_HEADER_SIZE + 10);
}

static void test_io_count_limit(void **state)
{
    static const uint8_t types[] = {P9_TREAD, P9_TREADDIR};
    uint8_t buf[64];
    struct p9_msg m, out;

    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        memset(&m, 0, sizeof(m));
        m.type = types[i];
        m.tread.count = P9_MAX_IO_COUNT;
        ssize_t n = p9_encode(&m, buf, sizeof(buf));
        assert_int_equal(n, P9_HEADER_SIZE + 16);
        assert_int_equal(p9_decode(buf, (size_t)n, &out), 0);
        assert_int_equal(out.tread.count, P9_MAX_IO_COUNT);

        set_size(buf + 19, P9_MAX_IO_COUNT + 1); /* count[4] is the last field */
        assert_int_equal(p9_decode(buf, (size_t)n, &out), -EBADMSG);
        set_size(buf + 19, 0xffffffff);
        assert_int_equal(p9_decode(buf, (size_t)n, &out), -EBADMSG);

        m.tread.count = P9_MAX_IO_COUNT + 1;
        assert_int_equal(p9_encode(&m, buf, sizeof(buf)), -EINVAL);
    }

    /* Data counts: a count beyond the limit is refused before looking for the bytes. */
    memset(&m, 0, sizeof(m));
    m.type = P9_RREAD;
    m.rread.data = (struct p9_data){.ptr = sample_bytes, .len = P9_MAX_IO_COUNT + 1};
    assert_int_equal(p9_encoded_length(&m), -EINVAL);
    m.rread.data = (struct p9_data){.ptr = NULL, .len = 1};
    assert_int_equal(p9_encoded_length(&m), -EINVAL);
    m.rread.data = (struct p9_data){.ptr = NULL, .len = 0};
    assert_int_equal(p9_encoded_length(&m), P9_HEADER_SIZE + 4);

    uint8_t rread[] = {0x0b, 0x00, 0x00, 0x00, P9_RREAD, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
    assert_int_equal(p9_decode(rread, sizeof(rread), &out), -EBADMSG); /* 1 byte claimed */
    rread[7] = 0;
    assert_int_equal(p9_decode(rread, sizeof(rread), &out), 0);
    assert_int_equal(out.rread.data.len, 0);
}

static void test_unknown_types(void **state)
{
    /* 9P2000 messages that 9P2000.L dropped, the reserved Tlerror, and junk. */
    static const uint8_t unknown[] = {0,   1,   6,   10,  28,  99,  106, 107, 112, 113,
                                      114, 115, 124, 125, 126, 127, 128, 200, 255};
    uint8_t msg[] = {0x07, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00};
    struct p9_msg m;

    for (size_t i = 0; i < ARRAY_SIZE(unknown); i++) {
        msg[4] = unknown[i];
        assert_int_equal(p9_decode(msg, sizeof(msg), &m), -EPROTONOSUPPORT);
        assert_null(p9_msg_type_name(unknown[i]));
        struct p9_msg e = {.type = unknown[i]};
        uint8_t buf[16];
        assert_int_equal(p9_encode(&e, buf, sizeof(buf)), -EINVAL);
    }

    /* Every header-only message: a known type decodes or is short, an unknown one is refused,
     * and the name table agrees with the decoder. */
    for (unsigned int t = 0; t < 256; t++) {
        msg[4] = (uint8_t)t;
        int ret = p9_decode(msg, sizeof(msg), &m);
        if (p9_msg_type_name((uint8_t)t))
            assert_true(ret == 0 || ret == -EBADMSG);
        else
            assert_int_equal(ret, -EPROTONOSUPPORT);
    }
    /* Framing is checked before the type. */
    msg[4] = 255;
    assert_int_equal(p9_decode(msg, sizeof(msg) - 1, &m), -EBADMSG);
}

static void test_frame_length(void **state)
{
    uint8_t b[8] = {0};
    size_t need = 0;

    for (size_t len = 0; len < 4; len++) {
        need = 0;
        assert_int_equal(p9_frame_length(b, len, 8192, &need), 0);
        assert_int_equal(need, 4);
    }
    assert_int_equal(p9_frame_length(NULL, 0, 8192, &need), 0);

    set_size(b, 7);
    assert_int_equal(p9_frame_length(b, 4, 8192, &need), 0);
    assert_int_equal(need, 7);
    assert_int_equal(p9_frame_length(b, 8, 8192, &need), 0); /* more buffered is fine */
    assert_int_equal(need, 7);

    set_size(b, 8192);
    assert_int_equal(p9_frame_length(b, 4, 8192, &need), 0);
    assert_int_equal(need, 8192);
    set_size(b, 8193);
    assert_int_equal(p9_frame_length(b, 4, 8192, &need), -EBADMSG);

    static const uint32_t below[] = {0, 1, 6};
    for (size_t i = 0; i < ARRAY_SIZE(below); i++) {
        set_size(b, below[i]);
        assert_int_equal(p9_frame_length(b, 4, 8192, &need), -EBADMSG);
    }
    set_size(b, 0xffffffff);
    assert_int_equal(p9_frame_length(b, 4, UINT32_MAX - 1, &need), -EBADMSG);
    assert_int_equal(p9_frame_length(b, 4, UINT32_MAX, &need), 0);
    assert_int_equal(need, 0xffffffff);
    set_size(b, 7);
    assert_int_equal(p9_frame_length(b, 4, 6, &need), -EBADMSG); /* max below a header */

    /* Agrees with what the encoder produced. */
    assert_int_equal(p9_frame_length(twalk_bytes, 4, P9_MAX_MSIZE, &need), 0);
    assert_int_equal(need, sizeof(twalk_bytes));
}

static void test_name_is_valid(void **state)
{
    assert_true(p9_name_is_valid("a", 1));
    assert_true(p9_name_is_valid("...", 3));
    assert_true(p9_name_is_valid(".bashrc", 7));
    assert_true(p9_name_is_valid("..a", 3));
    assert_true(p9_name_is_valid("a b\tc", 5));
    assert_true(p9_name_is_valid("x/y", 1)); /* only the first len bytes count */

    assert_false(p9_name_is_valid("", 0));
    assert_false(p9_name_is_valid(NULL, 0));
    assert_false(p9_name_is_valid(NULL, 3));
    assert_false(p9_name_is_valid(".", 1));
    assert_false(p9_name_is_valid("..", 2));
    assert_false(p9_name_is_valid("a/b", 3));
    assert_false(p9_name_is_valid("/", 1));
    assert_false(p9_name_is_valid("ab/", 3));
    assert_false(p9_name_is_valid("a\0b", 3));
    assert_false(p9_name_is_valid("a\0", 2));

    char name[P9_NAME_MAX + 2];
    memset(name, 'n', sizeof(name));
    assert_true(p9_name_is_valid(name, P9_NAME_MAX));
    assert_false(p9_name_is_valid(name, P9_NAME_MAX + 1));
}

static void test_dirent_round_trip(void **state)
{
    const struct p9_dirent in[] = {
        {.qid = qid_dir, .offset = 1, .type = 4, .name = STR(".")},
        {.qid = qid_dir, .offset = 2, .type = 4, .name = STR("..")},
        {.qid = qid_file, .offset = 0x7fffffffffffffff, .type = 8, .name = STR("hello.txt")},
    };
    uint8_t buf[256];
    size_t len = 0;

    for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
        ssize_t n = p9_dirent_encode(&in[i], buf + len, sizeof(buf) - len);
        assert_int_equal(n, 24 + in[i].name.len);
        len += (size_t)n;
    }
    /* qid[13] offset[8] type[1] name[s], pinned for the first record. */
    static const uint8_t first[] = {0x80, 0x07, 0x00, 0x00, 0x00, 0x88, 0x77, 0x66, 0x55,
                                    0x44, 0x33, 0x22, 0x11, 0x01, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0x04, 0x01, 0x00, '.'};
    assert_memory_equal(buf, first, sizeof(first));

    size_t pos = 0;
    for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
        struct p9_dirent d;
        assert_int_equal(p9_dirent_decode(buf, len, &pos, &d), 0);
        assert_qid_equal(&d.qid, &in[i].qid);
        assert_int_equal(d.offset, in[i].offset);
        assert_int_equal(d.type, in[i].type);
        assert_str_equal(d.name, in[i].name);
    }
    assert_int_equal(pos, len);

    /* Every truncation of the last record fails and leaves pos alone. */
    size_t last = len - (24 + in[2].name.len);
    for (size_t cut = last; cut < len; cut++) {
        struct p9_dirent d;
        uint8_t *copy = copy_of(buf, cut);
        pos = last;
        assert_int_equal(p9_dirent_decode(copy, cut, &pos, &d), -EBADMSG);
        assert_int_equal(pos, last);
        free(copy);
    }
    struct p9_dirent d;
    pos = len + 1;
    assert_int_equal(p9_dirent_decode(buf, len, &pos, &d), -EBADMSG);

    /* Too little room is the cue to stop filling an Rreaddir. */
    for (size_t cap = 0; cap < 24 + in[2].name.len; cap++)
        assert_int_equal(p9_dirent_encode(&in[2], buf, cap), -EMSGSIZE);
    struct p9_dirent bad = in[0];
    bad.name = (struct p9_str){.ptr = "a\0", .len = 2};
    assert_int_equal(p9_dirent_encode(&bad, buf, sizeof(buf)), -EINVAL);
}

static void test_type_names(void **state)
{
    assert_string_equal(p9_msg_type_name(P9_TWALK), "Twalk");
    assert_string_equal(p9_msg_type_name(P9_RLERROR), "Rlerror");
    assert_string_equal(p9_msg_type_name(P9_TVERSION), "Tversion");
    assert_string_equal(p9_msg_type_name(P9_RUNLINKAT), "Runlinkat");
    assert_null(p9_msg_type_name(P9_TLERROR));
    assert_null(p9_msg_type_name(255));

    struct p9_str s = p9_str_from_cstr("abc");
    assert_int_equal(s.len, 3);
    s = p9_str_from_cstr(NULL);
    assert_int_equal(s.len, 0);
}

/* The numbers the rest of the system relies on, against Linux's enum p9_msg_t. */
static void test_type_numbers(void **state)
{
    assert_int_equal(P9_TLERROR, 6);
    assert_int_equal(P9_RLERROR, 7);
    assert_int_equal(P9_TSTATFS, 8);
    assert_int_equal(P9_TLOPEN, 12);
    assert_int_equal(P9_TLCREATE, 14);
    assert_int_equal(P9_TSYMLINK, 16);
    assert_int_equal(P9_TMKNOD, 18);
    assert_int_equal(P9_TRENAME, 20);
    assert_int_equal(P9_TREADLINK, 22);
    assert_int_equal(P9_TGETATTR, 24);
    assert_int_equal(P9_TSETATTR, 26);
    assert_int_equal(P9_TXATTRWALK, 30);
    assert_int_equal(P9_TXATTRCREATE, 32);
    assert_int_equal(P9_TREADDIR, 40);
    assert_int_equal(P9_TFSYNC, 50);
    assert_int_equal(P9_TLOCK, 52);
    assert_int_equal(P9_TGETLOCK, 54);
    assert_int_equal(P9_TLINK, 70);
    assert_int_equal(P9_TMKDIR, 72);
    assert_int_equal(P9_TRENAMEAT, 74);
    assert_int_equal(P9_TUNLINKAT, 76);
    assert_int_equal(P9_TVERSION, 100);
    assert_int_equal(P9_TAUTH, 102);
    assert_int_equal(P9_TATTACH, 104);
    assert_int_equal(P9_TFLUSH, 108);
    assert_int_equal(P9_TWALK, 110);
    assert_int_equal(P9_TREAD, 116);
    assert_int_equal(P9_TWRITE, 118);
    assert_int_equal(P9_TCLUNK, 120);
    assert_int_equal(P9_TREMOVE, 122);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_encode_too_small_buffer_is_emsgsize),
        cmocka_unit_test(test_every_truncation_is_ebadmsg),
        cmocka_unit_test(test_trailing_bytes_are_ebadmsg),
        cmocka_unit_test(test_size_field_mismatch),
        cmocka_unit_test(test_wire_tversion),
        cmocka_unit_test(test_wire_twalk),
        cmocka_unit_test(test_wire_rgetattr),
        cmocka_unit_test(test_wire_rlerror),
        cmocka_unit_test(test_wire_rlopen_and_tlcreate),
        cmocka_unit_test(test_string_length_past_end),
        cmocka_unit_test(test_string_limits_on_encode),
        cmocka_unit_test(test_string_with_nul_is_ebadmsg),
        cmocka_unit_test(test_walk_element_limit),
        cmocka_unit_test(test_io_count_limit),
        cmocka_unit_test(test_unknown_types),
        cmocka_unit_test(test_frame_length),
        cmocka_unit_test(test_name_is_valid),
        cmocka_unit_test(test_dirent_round_trip),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_type_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
