/* Unit tests for the gofer's requests on a writable temp tree: each answer is checked against
 * what the host says about the same files (stat, readdir, readlink, statfs, file contents). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "tests/unit/gofer/gofer_fixture.h"

static struct fixture fx;

static void test_version_negotiates_msize_and_dialect(void **state)
{
    struct p9_msg reply;

    fixture_start(&fx, false, SERVER_PLAIN);
    /* Before Tversion nothing else is served. */
    assert_int_equal(t_attach(&fx, ROOT_FID, "/"), -EPROTO);
    assert_int_equal(t_version(&fx, 1u << 20, P9_VERSION_L, &reply), 0);
    assert_int_equal(reply.rversion.msize, GOFER_MAX_MSIZE);
    assert_int_equal(reply.rversion.version.len, strlen(P9_VERSION_L));
    assert_memory_equal(reply.rversion.version.ptr, P9_VERSION_L, strlen(P9_VERSION_L));
    assert_int_equal(t_version(&fx, 8192, P9_VERSION_L, &reply), 0);
    assert_int_equal(reply.rversion.msize, 8192);
    /* Any other dialect is "unknown", and leaves no session. */
    assert_int_equal(t_version(&fx, 8192, "9P2000.u", &reply), 0);
    assert_int_equal(reply.rversion.version.len, 7);
    assert_memory_equal(reply.rversion.version.ptr, "unknown", 7);
    assert_int_equal(t_attach(&fx, ROOT_FID, "/"), -EPROTO);
    /* A new Tversion ends the old session's fids. */
    assert_int_equal(t_version(&fx, 8192, P9_VERSION_L, &reply), 0);
    assert_int_equal(t_attach(&fx, ROOT_FID, "/"), 0);
    assert_int_equal(t_version(&fx, 8192, P9_VERSION_L, &reply), 0);
    assert_int_equal(t_getattr(&fx, ROOT_FID, NULL), -EBADF);
    assert_int_equal(t_attach(&fx, ROOT_FID, ""), 0);
    assert_int_equal(t_attach(&fx, 2, "/other"), -ENOENT);
    fixture_stop(&fx);
}

static void test_walk_and_getattr_match_the_host(void **state)
{
    struct p9_msg reply;
    struct p9_attr attr;
    struct stat st;
    char path[256];

    session_start(&fx, false, SERVER_PLAIN);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir/file", &reply), 2);
    assert_int_equal(reply.rwalk.wqids[0].type, P9_QTDIR);
    assert_int_equal(reply.rwalk.wqids[1].type, P9_QTFILE);
    assert_int_equal(t_getattr(&fx, 2, &attr), 0);
    path_in(&fx, "dir/file", path, sizeof(path));
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(attr.valid & P9_GETATTR_BASIC, P9_GETATTR_BASIC);
    assert_int_equal(attr.mode, st.st_mode);
    assert_int_equal(attr.size, 13);
    assert_int_equal(attr.uid, st.st_uid);
    assert_int_equal(attr.gid, st.st_gid);
    assert_int_equal(attr.nlink, st.st_nlink);
    assert_int_equal(attr.mtime_sec, st.st_mtim.tv_sec);
    assert_int_equal(attr.mtime_nsec, st.st_mtim.tv_nsec);
    assert_int_equal(attr.qid.path, reply.rwalk.wqids[1].path);
    assert_int_equal(attr.qid.path & ((1ULL << 56) - 1), st.st_ino);

    /* The symlink itself, not its target. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 3, "dir/link", &reply), 2);
    assert_int_equal(reply.rwalk.wqids[1].type, P9_QTSYMLINK);
    assert_int_equal(t_getattr(&fx, 3, &attr), 0);
    assert_true(S_ISLNK(attr.mode));

    /* nwname 0 clones; walking onto itself replaces the fid. */
    assert_int_equal(t_walk(&fx, 2, 4, "", NULL), 0);
    assert_int_equal(t_getattr(&fx, 4, &attr), 0);
    assert_int_equal(attr.size, 13);
    assert_int_equal(t_walk(&fx, ROOT_FID, 5, "dir", NULL), 1);
    assert_int_equal(t_walk(&fx, 5, 5, "sub", NULL), 1);
    assert_int_equal(t_getattr(&fx, 5, &attr), 0);
    assert_int_equal(attr.mode & 07777, 0700);

    /* The first element missing is an error; a later one, a partial walk without newfid. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 6, "nothere", NULL), -ENOENT);
    assert_int_equal(t_walk(&fx, ROOT_FID, 6, "dir/nothere/x", &reply), 1);
    assert_int_equal(reply.rwalk.wqids[0].type, P9_QTDIR);
    assert_int_equal(t_getattr(&fx, 6, NULL), -EBADF);
    /* Through a regular file: ENOTDIR after one qid. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 6, "dir/file/x", NULL), 2);
    assert_int_equal(t_getattr(&fx, 6, NULL), -EBADF);
    fixture_stop(&fx);
}

static void test_lopen_donates_an_fd_and_tread_reads(void **state)
{
    struct p9_msg reply;
    struct stat host, donated;
    char buf[64], path[256];

    session_start(&fx, false, SERVER_PLAIN);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir/file", NULL), 2);
    assert_int_equal(t_lopen(&fx, 2, O_RDONLY, &reply), 0);
    assert_int_equal(reply.rlopen.qid.type, P9_QTFILE);
    assert_true(reply.rlopen.iounit > 0 && reply.rlopen.iounit <= MSIZE);
    assert_true(fx.fd >= 0);
    /* The donated fd is the file itself, opened read-only. */
    path_in(&fx, "dir/file", path, sizeof(path));
    assert_int_equal(stat(path, &host), 0);
    assert_int_equal(fstat(fx.fd, &donated), 0);
    assert_int_equal(donated.st_ino, host.st_ino);
    assert_int_equal(donated.st_dev, host.st_dev);
    assert_int_equal(fcntl(fx.fd, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDONLY);
    assert_int_equal(pread(fx.fd, buf, sizeof(buf), 0), 13);
    assert_memory_equal(buf, "hello, gofer\n", 13);
    assert_int_equal(write(fx.fd, "x", 1), -1);

    /* The same through Tread, at offsets. */
    assert_int_equal(t_read(&fx, 2, 0, sizeof(buf), buf), 13);
    assert_memory_equal(buf, "hello, gofer\n", 13);
    assert_int_equal(t_read(&fx, 2, 7, 5, buf), 5);
    assert_memory_equal(buf, "gofer", 5);
    assert_int_equal(t_read(&fx, 2, 100, 5, buf), 0);
    /* Read-only: no Twrite, and no second open. */
    assert_int_equal(t_write(&fx, 2, 0, "x"), -EBADF);
    assert_int_equal(t_lopen(&fx, 2, O_RDONLY, NULL), -EINVAL);

    /* A directory opens without an fd; reading it is EISDIR. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 3, "dir", NULL), 1);
    assert_int_equal(t_lopen(&fx, 3, O_RDONLY, &reply), 0);
    assert_int_equal(reply.rlopen.qid.type, P9_QTDIR);
    assert_int_equal(fx.fd, -1);
    assert_int_equal(t_read(&fx, 3, 0, 10, buf), -EISDIR);
    assert_int_equal(t_walk(&fx, ROOT_FID, 4, "dir", NULL), 1);
    assert_int_equal(t_lopen(&fx, 4, O_RDWR, NULL), -EISDIR);

    /* Write-only with O_APPEND: the donated fd has both, and writes append. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 5, "dir/second", NULL), 2);
    assert_int_equal(t_lopen(&fx, 5, O_WRONLY | O_APPEND, NULL), 0);
    assert_true(fx.fd >= 0);
    assert_int_equal(fcntl(fx.fd, F_GETFL) & (O_ACCMODE | O_APPEND), O_WRONLY | O_APPEND);
    assert_int_equal(t_read(&fx, 5, 0, 10, buf), -EBADF);
    fixture_stop(&fx);
}

static void test_second_file_holds_appended_text(void **state)
{
    char path[256], buf[16];

    session_start(&fx, false, SERVER_PLAIN);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir/second", NULL), 2);
    assert_int_equal(t_lopen(&fx, 2, O_WRONLY | O_APPEND, NULL), 0);
    assert_int_equal(write(fx.fd, "3", 1), 1);
    assert_int_equal(t_write(&fx, 2, 0, "4"), 1);
    path_in(&fx, "dir/second", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "234", 3);
    close(fd);
    /* O_TRUNC on open truncates, once. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 3, "dir/second", NULL), 2);
    assert_int_equal(t_lopen(&fx, 3, O_RDWR | O_TRUNC, NULL), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    fixture_stop(&fx);
}

/* The host's entries of a directory, "." and ".." left out, sorted, one per line. */
static void host_names(const char *dir, char *names, size_t size)
{
    char *list[64];
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            assert_true(n < 64);
            list[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    for (int i = 1; i < n; i++) {
        for (int j = i; j > 0 && strcmp(list[j - 1], list[j]) > 0; j--) {
            char *t = list[j];
            list[j] = list[j - 1];
            list[j - 1] = t;
        }
    }
    names[0] = '\0';
    for (int i = 0; i < n; i++) {
        assert_true(strlen(names) + strlen(list[i]) + 2 < size);
        strcat(names, list[i]);
        strcat(names, "\n");
        free(list[i]);
    }
}

static void sort_lines(char *text)
{
    char *lines[256], copy[8192];
    int n = 0;

    snprintf(copy, sizeof(copy), "%s", text);
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    for (int i = 1; i < n; i++) {
        for (int j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *t = lines[j];
            lines[j] = lines[j - 1];
            lines[j - 1] = t;
        }
    }
    text[0] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(text, lines[i]);
        strcat(text, "\n");
    }
}

static void test_readdir_lists_exactly_the_entries(void **state)
{
    char path[256], want[8192], got[8192];

    session_start(&fx, false, SERVER_PLAIN);
    /* Enough entries that small counts need many Treaddirs. */
    for (int i = 0; i < 40; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "dir/entry-with-a-longish-name-%02d", i);
        write_host_file(&fx, rel, "");
    }
    path_in(&fx, "dir", path, sizeof(path));
    host_names(path, want, sizeof(want));
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir", NULL), 1);
    /* Not open yet: EBADF. */
    assert_int_equal(t_readdir_all(&fx, 2, 4096, got, sizeof(got)), -EBADF);
    assert_int_equal(t_lopen(&fx, 2, O_RDONLY, NULL), 0);
    static const uint32_t counts[] = {8192, 4096, 200, 64};
    for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
        assert_int_equal(t_readdir_all(&fx, 2, counts[i], got, sizeof(got)), 44);
        sort_lines(got);
        assert_string_equal(got, want);
    }
    /* A count too small for one entry is EINVAL, not an empty (end of directory) reply. */
    assert_int_equal(t_readdir_all(&fx, 2, 20, got, sizeof(got)), -EINVAL);
    /* A regular file is no directory. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 3, "dir/file", NULL), 2);
    assert_int_equal(t_lopen(&fx, 3, O_RDONLY, NULL), 0);
    assert_int_equal(t_readdir_all(&fx, 3, 4096, got, sizeof(got)), -ENOTDIR);
    fixture_stop(&fx);
}

static void test_readlink_and_statfs(void **state)
{
    struct p9_msg req = {.type = P9_TSTATFS}, reply;
    struct statfs host;
    char target[256];

    session_start(&fx, false, SERVER_PLAIN);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir/link", NULL), 2);
    assert_int_equal(t_readlink(&fx, 2, target, sizeof(target)), 0);
    assert_string_equal(target, "file");
    assert_int_equal(t_walk(&fx, ROOT_FID, 3, "escape", NULL), 1);
    assert_int_equal(t_readlink(&fx, 3, target, sizeof(target)), 0);
    assert_string_equal(target, fx.outside);
    /* Not a symlink: EINVAL, as readlink(2). */
    assert_int_equal(t_walk(&fx, ROOT_FID, 4, "dir/file", NULL), 2);
    assert_int_equal(t_readlink(&fx, 4, target, sizeof(target)), -EINVAL);

    req.tstatfs.fid = ROOT_FID;
    assert_int_equal(rpc(&fx, &req, &reply), 0);
    assert_int_equal(statfs(fx.dir, &host), 0);
    assert_int_equal(reply.rstatfs.type, (uint32_t)host.f_type);
    assert_int_equal(reply.rstatfs.bsize, (uint32_t)host.f_bsize);
    assert_int_equal(reply.rstatfs.blocks, host.f_blocks);
    assert_int_equal(reply.rstatfs.namelen, host.f_namelen);
    fixture_stop(&fx);
}

static void test_create_write_rename_link_unlink(void **state)
{
    struct p9_msg reply;
    struct stat st, st2;
    char path[256], path2[256], buf[64];

    session_start(&fx, false, SERVER_PLAIN);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir", NULL), 1);
    /* mkdir: the mode as given (the gofer's umask is 0). */
    assert_int_equal(t_mkdir(&fx, 2, STR("made"), 0751), 0);
    path_in(&fx, "dir/made", path, sizeof(path));
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0751);
    assert_int_equal(t_mkdir(&fx, 2, STR("made"), 0755), -EEXIST);

    /* lcreate: fid 3 becomes the new file, open read-write, with a donated fd. */
    assert_int_equal(t_walk(&fx, 2, 3, "", NULL), 0);
    assert_int_equal(t_lcreate(&fx, 3, STR("new"), O_RDWR, 0640), 0);
    assert_true(fx.fd >= 0);
    assert_int_equal(pwrite(fx.fd, "donated ", 8, 0), 8);
    assert_int_equal(t_write(&fx, 3, 8, "and twrite"), 10);
    assert_int_equal(t_read(&fx, 3, 0, sizeof(buf), buf), 18);
    assert_memory_equal(buf, "donated and twrite", 18);
    path_in(&fx, "dir/new", path, sizeof(path));
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_size, 18);
    struct p9_msg fsync_req = {.type = P9_TFSYNC};
    fsync_req.tfsync.fid = 3;
    assert_int_equal(rpc(&fx, &fsync_req, &reply), 0);
    assert_int_equal(t_lcreate(&fx, 2, STR("file"), O_RDWR, 0640), -EEXIST);
    assert_int_equal(t_walk(&fx, ROOT_FID, 4, "dir/file", NULL), 2);
    assert_int_equal(t_lcreate(&fx, 4, STR("x"), O_RDWR, 0640), -ENOTDIR);

    /* renameat, then the old name is gone and the new one is the same inode. */
    assert_int_equal(t_walk(&fx, 2, 5, "made", NULL), 1);
    assert_int_equal(t_renameat(&fx, 2, STR("new"), 5, STR("moved")), 0);
    path_in(&fx, "dir/made/moved", path2, sizeof(path2));
    assert_int_equal(lstat(path2, &st2), 0);
    assert_int_equal(st2.st_ino, st.st_ino);
    assert_int_equal(lstat(path, &st), -1);
    assert_int_equal(t_renameat(&fx, 2, STR("nothere"), 5, STR("x")), -ENOENT);

    /* symlink: the target text exactly as given, never resolved. */
    assert_int_equal(t_symlink(&fx, 2, STR("sym"), "../../../etc/passwd"), 0);
    path_in(&fx, "dir/sym", path, sizeof(path));
    ssize_t n = readlink(path, buf, sizeof(buf));
    assert_int_equal(n, 19);
    assert_memory_equal(buf, "../../../etc/passwd", 19);
    assert_int_equal(t_symlink(&fx, 2, STR("sym2"), ""), -ENOENT);

    /* link: a second name for the file fid 4 holds; and for a symlink, the symlink itself. */
    assert_int_equal(t_link(&fx, 5, 4, STR("hard")), 0);
    path_in(&fx, "dir/made/hard", path, sizeof(path));
    path_in(&fx, "dir/file", path2, sizeof(path2));
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(lstat(path2, &st2), 0);
    assert_int_equal(st.st_ino, st2.st_ino);
    assert_int_equal(st.st_nlink, 2);
    assert_int_equal(t_walk(&fx, 2, 6, "link", NULL), 1);
    assert_int_equal(t_link(&fx, 5, 6, STR("hardlink")), 0);
    path_in(&fx, "dir/made/hardlink", path, sizeof(path));
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(t_link(&fx, 5, 2, STR("dirlink")), -EPERM);

    /* mknod: a fifo, and a regular file for type 0. */
    assert_int_equal(t_mknod(&fx, 2, STR("fifo"), S_IFIFO | 0600), 0);
    path_in(&fx, "dir/fifo", path, sizeof(path));
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(t_mknod(&fx, 2, STR("plain"), 0600), 0);
    path_in(&fx, "dir/plain", path, sizeof(path));
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(t_mknod(&fx, 2, STR("notdir"), S_IFDIR | 0700), -EINVAL);
    /* A fifo opens without blocking the gofer and without a donated fd. */
    assert_int_equal(t_walk(&fx, 2, 7, "fifo", NULL), 1);
    assert_int_equal(t_lopen(&fx, 7, O_RDONLY, NULL), 0);
    assert_int_equal(fx.fd, -1);

    /* unlinkat: a file, then a directory with AT_REMOVEDIR. */
    assert_int_equal(t_unlinkat(&fx, 2, STR("plain"), 0), 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(t_unlinkat(&fx, 2, STR("sub"), 0), -EISDIR);
    assert_int_equal(t_unlinkat(&fx, 2, STR("sub"), 0x200), 0);
    path_in(&fx, "dir/sub", path, sizeof(path));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(t_unlinkat(&fx, 2, STR("fifo"), 0x1), -EINVAL);
    fixture_stop(&fx);
}

static void test_setattr_changes_mode_size_and_times(void **state)
{
    struct stat st;
    char path[256];

    session_start(&fx, false, SERVER_PLAIN);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir/file", NULL), 2);
    struct p9_setattr a = {.valid = P9_SETATTR_MODE, .mode = 0604};
    assert_int_equal(t_setattr(&fx, 2, &a), 0);
    a = (struct p9_setattr){.valid = P9_SETATTR_SIZE, .size = 5};
    assert_int_equal(t_setattr(&fx, 2, &a), 0);
    a = (struct p9_setattr){.valid = P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET | P9_SETATTR_ATIME |
                                     P9_SETATTR_ATIME_SET,
                            .mtime_sec = 1000000000,
                            .mtime_nsec = 123,
                            .atime_sec = 2000000000};
    assert_int_equal(t_setattr(&fx, 2, &a), 0);
    path_in(&fx, "dir/file", path, sizeof(path));
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0604);
    assert_int_equal(st.st_size, 5);
    assert_int_equal(st.st_mtim.tv_sec, 1000000000);
    assert_int_equal(st.st_mtim.tv_nsec, 123);
    assert_int_equal(st.st_atim.tv_sec, 2000000000);
    /* uid/gid to what they are: allowed, and nothing else changes. */
    a = (struct p9_setattr){
        .valid = P9_SETATTR_UID | P9_SETATTR_GID, .uid = st.st_uid, .gid = st.st_gid};
    assert_int_equal(t_setattr(&fx, 2, &a), 0);
    /* A directory can't be truncated; a symlink has no mode of its own. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 3, "dir", NULL), 1);
    a = (struct p9_setattr){.valid = P9_SETATTR_SIZE};
    assert_int_equal(t_setattr(&fx, 3, &a), -EISDIR);
    assert_int_equal(t_walk(&fx, ROOT_FID, 4, "dir/link", NULL), 2);
    a = (struct p9_setattr){.valid = P9_SETATTR_MODE, .mode = 0600};
    assert_int_equal(t_setattr(&fx, 4, &a), -EOPNOTSUPP);
    fixture_stop(&fx);
}

static void test_session_requests(void **state)
{
    struct p9_msg req, reply;

    session_start(&fx, false, SERVER_PLAIN);
    req = (struct p9_msg){.type = P9_TFLUSH};
    req.tflush.oldtag = 77;
    assert_int_equal(rpc(&fx, &req, &reply), 0);
    req = (struct p9_msg){.type = P9_TLOCK};
    req.tlock.fid = ROOT_FID;
    req.tlock.type = P9_LOCK_TYPE_WRLCK;
    req.tlock.client_id = STR("c");
    assert_int_equal(rpc(&fx, &req, &reply), 0);
    assert_int_equal(reply.rlock.status, P9_LOCK_SUCCESS);
    req = (struct p9_msg){.type = P9_TGETLOCK};
    req.tgetlock.fid = ROOT_FID;
    req.tgetlock.type = P9_LOCK_TYPE_RDLCK;
    req.tgetlock.start = 10;
    req.tgetlock.length = 20;
    req.tgetlock.proc_id = 42;
    req.tgetlock.client_id = STR("client");
    assert_int_equal(rpc(&fx, &req, &reply), 0);
    assert_int_equal(reply.rgetlock.type, P9_LOCK_TYPE_UNLCK);
    assert_int_equal(reply.rgetlock.start, 10);
    assert_int_equal(reply.rgetlock.length, 20);
    assert_int_equal(reply.rgetlock.proc_id, 42);
    req = (struct p9_msg){.type = P9_TXATTRWALK};
    req.txattrwalk.fid = ROOT_FID;
    req.txattrwalk.newfid = 9;
    assert_int_equal(rpc(&fx, &req, &reply), -EOPNOTSUPP);
    req = (struct p9_msg){.type = P9_TXATTRCREATE};
    req.txattrcreate.fid = ROOT_FID;
    req.txattrcreate.name = STR("user.x");
    assert_int_equal(rpc(&fx, &req, &reply), -EOPNOTSUPP);
    /* Clunk frees the fid number for reuse. */
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir", NULL), 1);
    assert_int_equal(t_clunk(&fx, 2), 0);
    assert_int_equal(t_clunk(&fx, 2), -EBADF);
    assert_int_equal(t_walk(&fx, ROOT_FID, 2, "dir/file", NULL), 2);
    fixture_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_negotiates_msize_and_dialect),
        cmocka_unit_test(test_walk_and_getattr_match_the_host),
        cmocka_unit_test(test_lopen_donates_an_fd_and_tread_reads),
        cmocka_unit_test(test_second_file_holds_appended_text),
        cmocka_unit_test(test_readdir_lists_exactly_the_entries),
        cmocka_unit_test(test_readlink_and_statfs),
        cmocka_unit_test(test_create_write_rename_link_unlink),
        cmocka_unit_test(test_setattr_changes_mode_size_and_times),
        cmocka_unit_test(test_session_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
