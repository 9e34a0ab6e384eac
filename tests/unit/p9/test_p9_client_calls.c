/* Unit tests for lib/p9/p9_client_calls.c against a fake gofer (fake_gofer.h): what each typed
 * call sends and what it makes of the reply, walk's partial semantics, read/write splitting at
 * msize, fd donation, and the readdir record iterator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_gofer.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_attach_sends_root_fid_and_returns_qid(void **state)
{
    struct p9_client *c = client_of(state);
    uint32_t root = 99;
    struct p9_qid qid;

    assert_int_equal(p9_client_attach(c, &root, &qid), 0);
    struct p9_msg m = last_request(fake_of(state));
    assert_int_equal(m.type, P9_TATTACH);
    assert_int_equal(m.tattach.fid, root);
    assert_int_equal(m.tattach.afid, P9_NOFID);
    assert_str(m.tattach.aname, "/");
    assert_memory_equal(&qid, &qid_dir, sizeof(qid));
    assert_int_not_equal(m.tag, P9_NOTAG);
}

static void test_attach_error_frees_fid(void **state)
{
    struct p9_client *c = client_of(state);
    uint32_t root = 99, fid;

    fake_of(state)->mode = FAKE_ERROR;
    fake_of(state)->error_code = EACCES;
    assert_int_equal(p9_client_attach(c, &root, NULL), -EACCES);
    assert_int_equal(root, 99);
    assert_int_equal(p9_client_fid_alloc(c, &fid), 0);
    assert_int_equal(fid, 0);
    assert_false(p9_client_is_dead(c));
}

static void test_walk_all_components(void **state)
{
    struct p9_client *c = client_of(state);
    const char *names[] = {"usr", "lib", "x86_64-linux-gnu"};
    struct p9_qid qids[3];
    uint16_t n = 99;

    assert_int_equal(p9_client_walk(c, 3, 4, 3, names, qids, &n), 0);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(qids[i].path, 100 + i);
    struct p9_msg m = last_request(fake_of(state));
    assert_int_equal(m.type, P9_TWALK);
    assert_int_equal(m.twalk.fid, 3);
    assert_int_equal(m.twalk.newfid, 4);
    assert_int_equal(m.twalk.nwname, 3);
    for (int i = 0; i < 3; i++)
        assert_str(m.twalk.wnames[i], names[i]);
}

static void test_walk_zero_names_clones(void **state)
{
    uint16_t n = 99;

    assert_int_equal(p9_client_walk(client_of(state), 1, 2, 0, NULL, NULL, &n), 0);
    assert_int_equal(n, 0);
    struct p9_msg m = last_request(fake_of(state));
    assert_int_equal(m.twalk.nwname, 0);
    assert_int_equal(m.twalk.newfid, 2);
}

static void test_walk_partial_is_enoent_with_walked_qids(void **state)
{
    const char *names[] = {"a", "b", "missing", "d"};
    struct p9_qid qids[4];
    uint16_t n = 99;

    assert_int_equal(p9_client_walk(client_of(state), 1, 2, 4, names, qids, &n), -ENOENT);
    assert_int_equal(n, 2);
    assert_int_equal(qids[0].path, 100);
    assert_int_equal(qids[1].path, 101);
    assert_false(p9_client_is_dead(client_of(state)));
}

static void test_walk_first_component_fails(void **state)
{
    const char *names[] = {"missing", "b"};
    struct p9_qid qids[2];
    uint16_t n = 99;

    assert_int_equal(p9_client_walk(client_of(state), 1, 2, 2, names, qids, &n), -ENOENT);
    assert_int_equal(n, 0);
}

/* walk(5): failing at the first element is an Rlerror, so an empty Rwalk is a broken gofer. */
static void test_walk_empty_rwalk_is_eio(void **state)
{
    const char *names[] = {"a"};
    struct p9_qid qids[1];
    uint16_t n = 99;

    fake_of(state)->mode = FAKE_EMPTY_WALK;
    assert_int_equal(p9_client_walk(client_of(state), 1, 2, 1, names, qids, &n), -EIO);
    assert_int_equal(n, 0);
    assert_dead_and_silent(state);
}

static void test_walk_refuses_bad_names_without_sending(void **state)
{
    struct p9_client *c = client_of(state);
    struct fake *f = fake_of(state);
    char long_name[P9_NAME_MAX + 2];
    struct p9_qid qids[P9_MAXWELEM + 1];
    const char *many[P9_MAXWELEM + 1];
    uint16_t n;

    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(many); i++)
        many[i] = "d";
    unsigned int before = f->requests;
    const char *const bad[][2] = {
        {"ok", ".."}, {".", "ok"}, {"a/b", "ok"}, {"", "ok"}, {"ok", NULL}};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(p9_client_walk(c, 1, 2, 2, bad[i], qids, &n), -EINVAL);
    const char *too_long[] = {long_name};
    assert_int_equal(p9_client_walk(c, 1, 2, 1, too_long, qids, &n), -ENAMETOOLONG);
    assert_int_equal(p9_client_walk(c, 1, 2, P9_MAXWELEM + 1, many, qids, &n), -EINVAL);
    assert_int_equal(p9_client_walk(c, 1, 2, P9_MAXWELEM, many, qids, &n), 0);
    assert_int_equal(n, P9_MAXWELEM);
    assert_int_equal(f->requests, before + 1);
}

static void test_getattr_encodes_and_decodes(void **state)
{
    struct p9_attr attr;

    assert_int_equal(p9_client_getattr(client_of(state), 31, P9_GETATTR_BASIC, &attr), 0);
    struct p9_msg m = last_request(fake_of(state));
    assert_int_equal(m.type, P9_TGETATTR);
    assert_int_equal(m.tgetattr.fid, 31);
    assert_int_equal(m.tgetattr.request_mask, P9_GETATTR_BASIC);
    assert_int_equal(attr.valid, P9_GETATTR_BASIC);
    assert_int_equal(attr.qid.path, 31);
    assert_int_equal(attr.size, 31 * 7);
    assert_int_equal(attr.mode, 0100644);
    assert_int_equal(attr.mtime_sec, 1700000000);
}

static void test_setattr_encodes_every_field(void **state)
{
    const struct p9_setattr want = {.valid = P9_SETATTR_MODE | P9_SETATTR_SIZE | P9_SETATTR_MTIME |
                                             P9_SETATTR_MTIME_SET,
                                    .mode = 0600,
                                    .uid = 11,
                                    .gid = 12,
                                    .size = 1ULL << 40,
                                    .atime_sec = 13,
                                    .atime_nsec = 14,
                                    .mtime_sec = 15,
                                    .mtime_nsec = 16};

    assert_int_equal(p9_client_setattr(client_of(state), 8, &want), 0);
    struct p9_msg m = last_request(fake_of(state));
    assert_int_equal(m.type, P9_TSETATTR);
    assert_int_equal(m.tsetattr.fid, 8);
    assert_memory_equal(&m.tsetattr.attr, &want, sizeof(want));
}

static void test_lopen_donated_fd_is_usable(void **state)
{
    struct fake *f = fake_of(state);
    struct p9_qid qid;
    uint32_t iounit = 0;
    int fd = -2;
    char buf[64] = {0};

    f->donate_fd = make_donor_file("donated contents");
    assert_int_equal(p9_client_lopen(client_of(state), 6, O_RDWR, &qid, &iounit, &fd), 0);
    struct p9_msg m = last_request(f);
    assert_int_equal(m.type, P9_TLOPEN);
    assert_int_equal(m.tlopen.fid, 6);
    assert_int_equal(m.tlopen.flags, O_RDWR);
    assert_memory_equal(&qid, &qid_file, sizeof(qid));
    assert_int_equal(iounit, 8192);
    assert_true(fd >= 0);
    assert_int_not_equal(fd, f->donate_fd);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(pread(fd, buf, sizeof(buf) - 1, 0), 16);
    assert_string_equal(buf, "donated contents");
    close(fd);
}

static void test_lopen_without_fd_gives_minus_one(void **state)
{
    int fd = -2;

    assert_int_equal(p9_client_lopen(client_of(state), 6, O_RDONLY, NULL, NULL, &fd), 0);
    assert_int_equal(fd, -1);
}

static void test_lcreate_encodes_and_receives_fd(void **state)
{
    struct fake *f = fake_of(state);
    struct p9_qid qid;
    uint32_t iounit = 0;
    int fd = -2;
    char buf[8] = {0};

    f->donate_fd = make_donor_file("new");
    assert_int_equal(p9_client_lcreate(client_of(state), 2, "new.txt", O_RDWR | O_CREAT | O_EXCL,
                                       0640, 1000, &qid, &iounit, &fd),
                     0);
    struct p9_msg m = last_request(f);
    assert_int_equal(m.type, P9_TLCREATE);
    assert_int_equal(m.tlcreate.fid, 2);
    assert_str(m.tlcreate.name, "new.txt");
    assert_int_equal(m.tlcreate.flags, O_RDWR | O_CREAT | O_EXCL);
    assert_int_equal(m.tlcreate.mode, 0640);
    assert_int_equal(m.tlcreate.gid, 1000);
    assert_int_equal(qid.path, qid_file.path);
    assert_int_equal(iounit, 8192);
    assert_int_equal(pread(fd, buf, sizeof(buf), 0), 3);
    assert_string_equal(buf, "new");
    close(fd);
    assert_int_equal(p9_client_lcreate(client_of(state), 2, "a/b", 0, 0, 0, NULL, NULL, &fd),
                     -EINVAL);
    assert_int_equal(fd, -1);
}

static void test_read_splits_at_msize(void **state)
{
    struct fake *f = fake_of(state);
    uint8_t *file = make_pattern(20000);
    uint8_t *buf = calloc(1, 10000);

    f->file = file;
    f->file_len = 20000;
    assert_int_equal(p9_client_read(client_of(state), 9, 1234, buf, 10000), 10000);
    assert_memory_equal(buf, file + 1234, 10000);
    assert_int_equal(f->treads, 3); /* 4073 + 4073 + 1854 */
    assert_int_equal(f->tread_max_count, 4096 - P9_IOHDR_SIZE);
    struct p9_msg m = last_request(f);
    assert_int_equal(m.tread.fid, 9);
    assert_int_equal(m.tread.offset, 1234 + 2 * 4073);
    assert_int_equal(m.tread.count, 10000 - 2 * 4073);
    free(buf);
    free(file);
}

static void test_read_short_at_eof(void **state)
{
    struct fake *f = fake_of(state);
    uint8_t *file = make_pattern(5000);
    uint8_t *buf = calloc(1, 10000);

    f->file = file;
    f->file_len = 5000;
    assert_int_equal(p9_client_read(client_of(state), 9, 0, buf, 10000), 5000);
    assert_memory_equal(buf, file, 5000);
    assert_int_equal(f->treads, 2); /* 4073, then 927 < 4073: end of file */
    assert_int_equal(p9_client_read(client_of(state), 9, 5000, buf, 10000), 0);
    assert_int_equal(p9_client_read(client_of(state), 9, 1 << 20, buf, 1), 0);
    assert_int_equal(f->treads, 4);
    free(buf);
    free(file);
}

static void test_write_splits_and_stops_short(void **state)
{
    struct fake *f = fake_of(state);
    uint8_t *data = make_pattern(9000);

    assert_int_equal(p9_client_write(client_of(state), 4, 100, data, 9000), 9000);
    struct p9_msg m = last_request(f);
    assert_int_equal(m.type, P9_TWRITE);
    assert_int_equal(m.twrite.fid, 4);
    assert_int_equal(m.twrite.offset, 100 + 2 * 4073);
    assert_int_equal(m.twrite.data.len, 9000 - 2 * 4073);
    assert_memory_equal(m.twrite.data.ptr, data + 2 * 4073, 9000 - 2 * 4073);
    unsigned int before = f->requests;
    f->write_limit = 100;
    assert_int_equal(p9_client_write(client_of(state), 4, 0, data, 9000), 100);
    assert_int_equal(f->requests, before + 1);
    free(data);
}

static void test_readdir_and_dirent_next(void **state)
{
    static const char *const want[] = {"alpha", "beta", "a-much-longer-name.txt"};
    uint8_t buf[512];
    struct p9_client_dirent d;
    size_t pos = 0;
    int i = 0;

    ssize_t len = p9_client_readdir(client_of(state), 7, 0, buf, sizeof(buf));
    assert_true(len > 0);
    struct p9_msg m = last_request(fake_of(state));
    assert_int_equal(m.type, P9_TREADDIR);
    assert_int_equal(m.treaddir.fid, 7);
    assert_int_equal(m.treaddir.count, sizeof(buf));
    while (p9_client_dirent_next(buf, (size_t)len, &pos, &d) == 1) {
        assert_true(i < 3);
        assert_string_equal(d.name, want[i]);
        assert_int_equal(d.name_len, strlen(want[i]));
        assert_int_equal(d.offset, 1000 + i);
        assert_int_equal(d.qid.path, 500 + i);
        assert_int_equal(d.type, i == 0 ? DT_DIR : DT_REG);
        i++;
    }
    assert_int_equal(i, 3);
    assert_int_equal(pos, (size_t)len);
    assert_int_equal(p9_client_readdir(client_of(state), 7, 1002, buf, sizeof(buf)), 0);
    /* A count of 30 fits only "alpha" (29 bytes). */
    assert_int_equal(p9_client_readdir(client_of(state), 7, 0, buf, 30), 29);
}

static void test_dirent_next_rejects_malformed(void **state)
{
    uint8_t buf[64];
    struct p9_dirent good = {
        .qid = qid_file, .offset = 5, .type = DT_REG, .name = p9_str_from_cstr("file")};
    struct p9_client_dirent d;
    size_t pos;

    (void)state;
    ssize_t len = p9_dirent_encode(&good, buf, sizeof(buf));
    assert_int_equal(len, 28);
    for (size_t cut = 1; cut < (size_t)len; cut++) {
        pos = 0;
        assert_int_equal(p9_client_dirent_next(buf, cut, &pos, &d), -EIO);
        assert_int_equal(pos, 0);
    }
    pos = 0;
    assert_int_equal(p9_client_dirent_next(buf, (size_t)len, &pos, &d), 1);
    assert_int_equal(p9_client_dirent_next(buf, (size_t)len, &pos, &d), 0);
    /* name[s]: its length at 22, its bytes at 24. A '/' or NUL in it, an empty name, a length
     * running past the end. */
    buf[25] = '/';
    pos = 0;
    assert_int_equal(p9_client_dirent_next(buf, (size_t)len, &pos, &d), -EIO);
    buf[25] = '\0';
    assert_int_equal(p9_client_dirent_next(buf, (size_t)len, &pos, &d), -EIO);
    buf[25] = 'i';
    buf[22] = 0;
    buf[23] = 0;
    assert_int_equal(p9_client_dirent_next(buf, 24, &pos, &d), -EIO);
    buf[22] = 0xff;
    buf[23] = 0xff;
    assert_int_equal(p9_client_dirent_next(buf, (size_t)len, &pos, &d), -EIO);
    assert_int_equal(pos, 0);
    /* "." and ".." are names the caller decides about. */
    good.name = p9_str_from_cstr("..");
    len = p9_dirent_encode(&good, buf, sizeof(buf));
    assert_int_equal(p9_client_dirent_next(buf, (size_t)len, &pos, &d), 1);
    assert_string_equal(d.name, "..");
    pos = 100;
    assert_int_equal(p9_client_dirent_next(buf, (size_t)len, &pos, &d), 0);
}

static void test_mkdir_symlink_mknod_encode(void **state)
{
    struct p9_client *c = client_of(state);
    struct fake *f = fake_of(state);
    struct p9_qid qid = {0};
    struct p9_msg m;

    assert_int_equal(p9_client_mkdir(c, 2, "dir", 0755, 50, &qid), 0);
    m = last_request(f);
    assert_int_equal(m.type, P9_TMKDIR);
    assert_int_equal(m.tmkdir.dfid, 2);
    assert_str(m.tmkdir.name, "dir");
    assert_int_equal(m.tmkdir.mode, 0755);
    assert_int_equal(m.tmkdir.gid, 50);
    assert_int_equal(qid.path, 4242);

    qid.path = 0;
    assert_int_equal(p9_client_symlink(c, 3, "ln", "../x/y", 51, &qid), 0);
    m = last_request(f);
    assert_int_equal(m.type, P9_TSYMLINK);
    assert_int_equal(m.tsymlink.dfid, 3);
    assert_str(m.tsymlink.name, "ln");
    assert_str(m.tsymlink.target, "../x/y");
    assert_int_equal(m.tsymlink.gid, 51);
    assert_int_equal(qid.path, 4242);

    assert_int_equal(p9_client_mknod(c, 4, "null", 020666, 1, 3, 52, NULL), 0);
    m = last_request(f);
    assert_int_equal(m.type, P9_TMKNOD);
    assert_int_equal(m.tmknod.dfid, 4);
    assert_str(m.tmknod.name, "null");
    assert_int_equal(m.tmknod.mode, 020666);
    assert_int_equal(m.tmknod.major, 1);
    assert_int_equal(m.tmknod.minor, 3);
    assert_int_equal(m.tmknod.gid, 52);

    assert_int_equal(p9_client_mkdir(c, 2, "..", 0755, 0, NULL), -EINVAL);
    assert_int_equal(p9_client_symlink(c, 2, "ln", "", 0, NULL), -ENOENT);
}

static void test_readlink_copies_and_truncates(void **state)
{
    char buf[64];

    memset(buf, '#', sizeof(buf));
    assert_int_equal(p9_client_readlink(client_of(state), 12, buf, sizeof(buf)), 17);
    assert_memory_equal(buf, "../target/of/link", 17);
    assert_int_equal(buf[17], '#');
    struct p9_msg m = last_request(fake_of(state));
    assert_int_equal(m.type, P9_TREADLINK);
    assert_int_equal(m.treadlink.fid, 12);
    memset(buf, '#', sizeof(buf));
    assert_int_equal(p9_client_readlink(client_of(state), 12, buf, 5), 5);
    assert_memory_equal(buf, "../ta#", 6);
}

static void test_link_renameat_unlinkat_encode(void **state)
{
    struct p9_client *c = client_of(state);
    struct fake *f = fake_of(state);
    struct p9_msg m;

    assert_int_equal(p9_client_link(c, 2, 3, "hard"), 0);
    m = last_request(f);
    assert_int_equal(m.type, P9_TLINK);
    assert_int_equal(m.tlink.dfid, 2);
    assert_int_equal(m.tlink.fid, 3);
    assert_str(m.tlink.name, "hard");

    assert_int_equal(p9_client_renameat(c, 4, "old", 5, "new"), 0);
    m = last_request(f);
    assert_int_equal(m.type, P9_TRENAMEAT);
    assert_int_equal(m.trenameat.olddirfid, 4);
    assert_str(m.trenameat.oldname, "old");
    assert_int_equal(m.trenameat.newdirfid, 5);
    assert_str(m.trenameat.newname, "new");

    assert_int_equal(p9_client_unlinkat(c, 6, "gone", AT_REMOVEDIR), 0);
    m = last_request(f);
    assert_int_equal(m.type, P9_TUNLINKAT);
    assert_int_equal(m.tunlinkat.dirfid, 6);
    assert_str(m.tunlinkat.name, "gone");
    assert_int_equal(m.tunlinkat.flags, AT_REMOVEDIR);

    unsigned int before = f->requests;
    assert_int_equal(p9_client_renameat(c, 4, "ok", 5, "x/y"), -EINVAL);
    assert_int_equal(p9_client_unlinkat(c, 6, NULL, 0), -EINVAL);
    assert_int_equal(p9_client_link(c, 2, 3, "."), -EINVAL);
    assert_int_equal(f->requests, before);
}

static void test_statfs_fsync(void **state)
{
    struct p9_statfs st;

    assert_int_equal(p9_client_statfs(client_of(state), 1, &st), 0);
    assert_int_equal(st.type, 0x01021997);
    assert_int_equal(st.bsize, 4096);
    assert_int_equal(st.blocks, 1000);
    assert_int_equal(st.bavail, 400);
    assert_int_equal(st.ffree, 80);
    assert_int_equal(st.fsid, 0xabcdef);
    assert_int_equal(st.namelen, 255);
    assert_int_equal(last_request(fake_of(state)).tstatfs.fid, 1);
    assert_int_equal(p9_client_fsync(client_of(state), 7, true), 0);
    struct p9_msg m = last_request(fake_of(state));
    assert_int_equal(m.type, P9_TFSYNC);
    assert_int_equal(m.tfsync.fid, 7);
    assert_int_equal(m.tfsync.datasync, 1);
}

static void test_clunk_frees_fid_even_on_error(void **state)
{
    struct p9_client *c = client_of(state);
    uint32_t a, b, fid;

    assert_int_equal(p9_client_fid_alloc(c, &a), 0);
    assert_int_equal(p9_client_fid_alloc(c, &b), 0);
    assert_int_equal(p9_client_clunk(c, a), 0);
    struct p9_msg m = last_request(fake_of(state));
    assert_int_equal(m.type, P9_TCLUNK);
    assert_int_equal(m.tclunk.fid, a);
    assert_int_equal(p9_client_fid_alloc(c, &fid), 0);
    assert_int_equal(fid, a);
    fake_of(state)->mode = FAKE_ERROR;
    fake_of(state)->error_code = EBADF;
    assert_int_equal(p9_client_clunk(c, b), -EBADF);
    assert_int_equal(p9_client_fid_alloc(c, &fid), 0);
    assert_int_equal(fid, b);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_SMALL(fn) cmocka_unit_test_setup_teardown(fn, setup_small, teardown)
#define T_BARE(fn) cmocka_unit_test_setup_teardown(fn, setup_fake_only, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_attach_sends_root_fid_and_returns_qid),
        T(test_attach_error_frees_fid),
        T(test_walk_all_components),
        T(test_walk_zero_names_clones),
        T(test_walk_partial_is_enoent_with_walked_qids),
        T(test_walk_first_component_fails),
        T(test_walk_empty_rwalk_is_eio),
        T(test_walk_refuses_bad_names_without_sending),
        T(test_getattr_encodes_and_decodes),
        T(test_setattr_encodes_every_field),
        T(test_lopen_donated_fd_is_usable),
        T(test_lopen_without_fd_gives_minus_one),
        T(test_lcreate_encodes_and_receives_fd),
        T_SMALL(test_read_splits_at_msize),
        T_SMALL(test_read_short_at_eof),
        T_SMALL(test_write_splits_and_stops_short),
        T(test_readdir_and_dirent_next),
        T(test_dirent_next_rejects_malformed),
        T(test_mkdir_symlink_mknod_encode),
        T(test_readlink_copies_and_truncates),
        T(test_link_renameat_unlinkat_encode),
        T(test_statfs_fsync),
        T(test_clunk_frees_fid_even_on_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
