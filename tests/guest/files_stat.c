/* The stat family on files, directories and symlinks (types, modes, link counts, sizes; inode
 * numbers and times only as relations), access/faccessat/faccessat2, and statfs's name length. */
#include "guest_files.h"

#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>

static const char *type_name(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
        return "file";
    case S_IFDIR:
        return "dir";
    case S_IFLNK:
        return "symlink";
    case S_IFIFO:
        return "fifo";
    default:
        return "other";
    }
}

static void print_stat(const char *what, const struct stat *st)
{
    printf("%s: %s mode 0%o nlink %lu", what, type_name(st->st_mode), st->st_mode & 07777,
           (unsigned long)st->st_nlink);
    /* A directory's size is the filesystem's own business (ext4 says 4096, tmpfs counts). */
    if (!S_ISDIR(st->st_mode))
        printf(" size %ld", (long)st->st_size);
    printf(" uid %u gid %u\n", st->st_uid, st->st_gid);
}

static int ts_after(struct timespec a, struct timespec b)
{
    return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000};
    nanosleep(&ts, NULL);
}

static void check_stat_family(void)
{
    struct stat st, st2;

    guest_file_put("file", "twelve bytes", 0640);
    mkdir("dir", 0751);
    mkdir("dir/sub", 0700);
    symlink("file", "link");
    symlink("dir", "dirlink");
    symlink("nowhere", "dangling");

    EXPECT_RET("stat file", stat("file", &st), 0);
    print_stat("file", &st);
    EXPECT_RET("stat dir", stat("dir", &st), 0);
    print_stat("dir", &st);
    EXPECT_RET("stat dir/sub", stat("dir/sub", &st), 0);
    print_stat("dir/sub", &st);
    EXPECT_RET("lstat link", lstat("link", &st), 0);
    print_stat("link (lstat)", &st);
    EXPECT_RET("stat link", stat("link", &st), 0);
    print_stat("link (stat)", &st);
    EXPECT_RET("stat dirlink/", stat("dirlink/", &st), 0);
    print_stat("dirlink/", &st);
    EXPECT_RET("lstat dirlink/ follows it", lstat("dirlink/", &st), 0);
    print_stat("dirlink/ (lstat)", &st);
    EXPECT_ERRNO("stat dangling", stat("dangling", &st), ENOENT);
    EXPECT_RET("lstat dangling", lstat("dangling", &st), 0);
    print_stat("dangling (lstat)", &st);
    EXPECT_ERRNO("stat missing", stat("missing", &st), ENOENT);
    EXPECT_ERRNO("stat file/", stat("file/", &st), ENOTDIR);
    EXPECT_ERRNO("stat file/x", stat("file/x", &st), ENOTDIR);
    EXPECT_ERRNO("stat empty path", stat("", &st), ENOENT);
    EXPECT_ERRNO("stat bad pointer", syscall(SYS_stat, "file", 8), EFAULT);

    int fd = open("file", O_RDONLY);
    EXPECT_RET("fstat", fstat(fd, &st), 0);
    print_stat("fstat file", &st);
    stat("file", &st2);
    EXPECT_FACT("fstat and stat agree on ino and dev",
                st.st_ino == st2.st_ino && st.st_dev == st2.st_dev);
    EXPECT_RET("newfstatat AT_EMPTY_PATH", fstatat(fd, "", &st2, AT_EMPTY_PATH), 0);
    EXPECT_FACT("same inode", st.st_ino == st2.st_ino);
    EXPECT_ERRNO("newfstatat empty path without AT_EMPTY_PATH", fstatat(fd, "", &st2, 0), ENOENT);
    EXPECT_ERRNO("newfstatat relative to a file", fstatat(fd, "x", &st2, 0), ENOTDIR);
    EXPECT_ERRNO("newfstatat bad flags", fstatat(AT_FDCWD, "file", &st2, 0x40000000), EINVAL);
    close(fd);
    EXPECT_ERRNO("fstat closed fd", fstat(400, &st), EBADF);

    int dfd = open("dir", O_RDONLY | O_DIRECTORY);
    EXPECT_RET("newfstatat in a dir", fstatat(dfd, "sub", &st, 0), 0);
    print_stat("newfstatat dir sub", &st);
    EXPECT_RET("newfstatat ..", fstatat(dfd, "..", &st, 0), 0);
    EXPECT_FACT("dir/.. is the scratch dir", S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
    close(dfd);
    EXPECT_RET("newfstatat AT_SYMLINK_NOFOLLOW",
               fstatat(AT_FDCWD, "link", &st, AT_SYMLINK_NOFOLLOW), 0);
    print_stat("newfstatat link nofollow", &st);
    EXPECT_RET("newfstatat following", fstatat(AT_FDCWD, "link", &st, 0), 0);
    print_stat("newfstatat link follow", &st);
    int pfd = open("link", O_PATH | O_NOFOLLOW);
    EXPECT_RET("fstat of an O_PATH symlink", fstat(pfd, &st), 0);
    print_stat("O_PATH link", &st);
    close(pfd);

    /* Hard links share the inode; the count follows. */
    EXPECT_RET("link", link("file", "hard"), 0);
    stat("file", &st);
    stat("hard", &st2);
    EXPECT_FACT("hard link has the same ino and dev",
                st.st_ino == st2.st_ino && st.st_dev == st2.st_dev);
    EXPECT_RET("nlink after link", st2.st_nlink, 2);
    unlink("hard");
    stat("file", &st);
    EXPECT_RET("nlink after unlink", st.st_nlink, 1);
    lstat("link", &st2);
    EXPECT_FACT("a symlink has its own inode", st.st_ino != st2.st_ino);
    mkdir("dir/sub2", 0755);
    stat("dir", &st);
    EXPECT_RET("dir nlink with two subdirs", st.st_nlink, 4);
    rmdir("dir/sub2");
    stat("dir", &st);
    EXPECT_RET("dir nlink after rmdir", st.st_nlink, 3);
}

static void check_times(void)
{
    struct stat before, after;
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};

    /* mtime: set an old value, then write. */
    utimensat(AT_FDCWD, "file", old, 0);
    stat("file", &before);
    EXPECT_RET("mtime set to the past", before.st_mtim.tv_sec, 1000000000);
    int fd = open("file", O_WRONLY | O_APPEND);
    write(fd, "!", 1);
    fstat(fd, &after);
    EXPECT_FACT("mtime moves on a write", ts_after(after.st_mtim, before.st_mtim));
    EXPECT_FACT("atime stays on a write", after.st_atim.tv_sec == 1000000000);
    close(fd);

    /* ctime: chmod after a pause longer than any timestamp granularity. */
    stat("file", &before);
    pause_ms(50);
    chmod("file", 0600);
    stat("file", &after);
    EXPECT_FACT("ctime moves on chmod", ts_after(after.st_ctim, before.st_ctim));
    EXPECT_FACT("mtime stays on chmod", !ts_after(after.st_mtim, before.st_mtim));
    pause_ms(50);
    link("file", "hard");
    stat("file", &before);
    EXPECT_FACT("ctime moves on link", ts_after(before.st_ctim, after.st_ctim));
    unlink("hard");

    /* A directory's mtime moves when an entry is added. */
    utimensat(AT_FDCWD, "dir", old, 0);
    close(open("dir/new", O_WRONLY | O_CREAT, 0644));
    stat("dir", &after);
    EXPECT_FACT("dir mtime moves on create", after.st_mtim.tv_sec > 1000000000);
    unlink("dir/new");
}

static void check_statx(void)
{
    struct statx sx;
    struct stat st;

    EXPECT_RET("statx file", statx(AT_FDCWD, "file", 0, STATX_BASIC_STATS, &sx), 0);
    EXPECT_FACT("statx has the basic stats",
                (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
    printf("statx file: %s mode 0%o nlink %u size %llu\n", type_name(sx.stx_mode),
           sx.stx_mode & 07777, sx.stx_nlink, (unsigned long long)sx.stx_size);
    stat("file", &st);
    EXPECT_FACT("statx ino equals stat ino", sx.stx_ino == st.st_ino);
    EXPECT_FACT("statx mtime equals stat mtime",
                sx.stx_mtime.tv_sec == st.st_mtim.tv_sec &&
                    sx.stx_mtime.tv_nsec == (uint32_t)st.st_mtim.tv_nsec);
    EXPECT_FACT("statx dev equals stat dev",
                makedev(sx.stx_dev_major, sx.stx_dev_minor) == st.st_dev);
    EXPECT_RET("statx link nofollow", statx(AT_FDCWD, "link", AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx),
               0);
    printf("statx link: %s size %llu\n", type_name(sx.stx_mode), (unsigned long long)sx.stx_size);
    EXPECT_RET("statx dir", statx(AT_FDCWD, "dir", 0, STATX_BASIC_STATS, &sx), 0);
    printf("statx dir: %s mode 0%o nlink %u\n", type_name(sx.stx_mode), sx.stx_mode & 07777,
           sx.stx_nlink);
    int fd = open("file", O_RDONLY);
    EXPECT_RET("statx AT_EMPTY_PATH", statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx), 0);
    EXPECT_RET("size via the fd", sx.stx_size, 13);
    close(fd);
    EXPECT_ERRNO("statx missing", statx(AT_FDCWD, "missing", 0, STATX_BASIC_STATS, &sx), ENOENT);
    EXPECT_ERRNO("statx bad flags", statx(AT_FDCWD, "file", 0x40000000, STATX_BASIC_STATS, &sx),
                 EINVAL);
    EXPECT_ERRNO("statx reserved mask bit", statx(AT_FDCWD, "file", 0, STATX__RESERVED, &sx),
                 EINVAL);
    EXPECT_ERRNO("statx both sync flags",
                 statx(AT_FDCWD, "file", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, 0, &sx), EINVAL);
}

static void check_access(void)
{
    guest_file_put("none", "", 0000);
    guest_file_put("rw", "", 0644);
    guest_file_put("x", "", 0100);
    mkdir("dir0", 0000);

    EXPECT_RET("access F_OK", access("rw", F_OK), 0);
    EXPECT_ERRNO("access F_OK missing", access("missing", F_OK), ENOENT);
    EXPECT_RET("root reads and writes a mode 0 file", access("none", R_OK | W_OK), 0);
    EXPECT_ERRNO("root can't execute a file without x bits", access("rw", X_OK), EACCES);
    EXPECT_RET("root executes with one x bit", access("x", X_OK), 0);
    EXPECT_RET("root searches a mode 0 dir", access("dir0", X_OK), 0);
    EXPECT_ERRNO("access bad mode", access("rw", 8), EINVAL);
    EXPECT_ERRNO("access through a file", access("rw/x", F_OK), ENOTDIR);
    EXPECT_RET("faccessat relative", faccessat(AT_FDCWD, "rw", R_OK, 0), 0);
    EXPECT_RET("faccessat AT_EACCESS", syscall(SYS_faccessat2, AT_FDCWD, "rw", W_OK, AT_EACCESS),
               0);
    EXPECT_ERRNO("faccessat2 AT_EACCESS x",
                 syscall(SYS_faccessat2, AT_FDCWD, "rw", X_OK, AT_EACCESS), EACCES);
    EXPECT_RET("faccessat2 nofollow on a dangling symlink",
               syscall(SYS_faccessat2, AT_FDCWD, "dangling", F_OK, AT_SYMLINK_NOFOLLOW), 0);
    EXPECT_ERRNO("faccessat2 following a dangling symlink",
                 syscall(SYS_faccessat2, AT_FDCWD, "dangling", F_OK, 0), ENOENT);
    EXPECT_ERRNO("faccessat2 bad flags", syscall(SYS_faccessat2, AT_FDCWD, "rw", F_OK, 0x1),
                 EINVAL);
    int fd = open("rw", O_RDONLY);
    EXPECT_RET("faccessat2 AT_EMPTY_PATH", syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH), 0);
    close(fd);
    /* The old faccessat syscall has no flags argument: glibc's wrapper must not be needed. */
    EXPECT_RET("raw faccessat", syscall(SYS_faccessat, AT_FDCWD, "rw", R_OK), 0);
    rmdir("dir0");
}

static void check_statfs(void)
{
    struct statfs sf, fsf;

    EXPECT_RET("statfs", statfs(".", &sf), 0);
    printf("f_namelen: %ld\n", (long)sf.f_namelen);
    int fd = open("file", O_RDONLY);
    EXPECT_RET("fstatfs", fstatfs(fd, &fsf), 0);
    close(fd);
    EXPECT_FACT("fstatfs agrees on type and namelen",
                fsf.f_type == sf.f_type && fsf.f_namelen == sf.f_namelen);
    EXPECT_FACT("block size is positive", sf.f_bsize > 0);
    EXPECT_ERRNO("statfs missing", statfs("missing", &sf), ENOENT);
    EXPECT_ERRNO("fstatfs closed fd", fstatfs(400, &sf), EBADF);
}

int main(int argc, char **argv)
{
    char dir[GUEST_TMPDIR_SIZE];

    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(0);
    guest_tmpdir_make(dir, argc > 1 ? argv[1] : "/tmp");
    check_stat_family();
    check_times();
    check_statx();
    check_access();
    check_statfs();
    guest_tmpdir_remove(dir);
    return guest_ok();
}
