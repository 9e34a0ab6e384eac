/* The open family and fd-table calls on real files: open/openat/creat/openat2 flags and their
 * errors, O_PATH, name length limits, close_range, the dup family and fcntl flags, lseek with
 * every whence, and umask applied to created modes. */
#include "guest_files.h"

#include <limits.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>

/* The kernel sets O_LARGEFILE on every open of a 64-bit process; glibc defines it as 0 there. */
#define KERNEL_O_LARGEFILE 0100000

static long openat2_call(int dirfd, const char *path, const struct open_how *how, size_t size)
{
    return syscall(SYS_openat2, dirfd, path, how, size);
}

static int is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

static void check_creation_flags(void)
{
    int fd;
    char buf[64];

    umask(022);
    EXPECT_ERRNO("open missing file", open("missing", O_RDONLY), ENOENT);
    EXPECT_ERRNO("open in a missing dir", open("nodir/file", O_RDONLY | O_CREAT, 0644), ENOENT);
    fd = open("a", O_WRONLY | O_CREAT | O_EXCL, 0644);
    EXPECT_FACT("O_CREAT|O_EXCL makes a new file", fd >= 0);
    EXPECT_RET("write to a", write(fd, "hello world", 11), 11);
    close(fd);
    EXPECT_ERRNO("O_CREAT|O_EXCL on an existing file", open("a", O_RDWR | O_CREAT | O_EXCL, 0644),
                 EEXIST);
    fd = open("a", O_RDWR | O_CREAT, 0600);
    EXPECT_FACT("O_CREAT without O_EXCL opens the existing file", fd >= 0);
    EXPECT_OCTAL("existing file keeps its mode", guest_mode_of("a"), 0644);
    EXPECT_RET("read it back", read(fd, buf, sizeof(buf)), 11);
    close(fd);

    fd = open("a", O_WRONLY | O_TRUNC);
    EXPECT_FACT("O_TRUNC open", fd >= 0);
    struct stat st;
    fstat(fd, &st);
    EXPECT_RET("size after O_TRUNC", st.st_size, 0);
    write(fd, "0123456789", 10);
    close(fd);

    fd = open("a", O_WRONLY | O_APPEND);
    EXPECT_RET("lseek to 0 on O_APPEND", lseek(fd, 0, SEEK_SET), 0);
    EXPECT_RET("append write", write(fd, "AB", 2), 2);
    EXPECT_RET("offset after an append write", lseek(fd, 0, SEEK_CUR), 12);
    close(fd);
    guest_file_get("a", buf, sizeof(buf));
    printf("contents after append: %s\n", buf);

    fd = creat("c", 0640);
    EXPECT_FACT("creat", fd >= 0);
    EXPECT_OCTAL("creat flags", fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
    EXPECT_ERRNO("read from a creat fd", read(fd, buf, 1), EBADF);
    write(fd, "xyz", 3);
    close(fd);
    fd = creat("c", 0600);
    fstat(fd, &st);
    EXPECT_RET("creat truncates an existing file", st.st_size, 0);
    close(fd);
    EXPECT_OCTAL("creat keeps the existing mode", guest_mode_of("c"), 0640);

    /* A trailing slash names a directory. */
    EXPECT_ERRNO("open a file with a trailing slash", open("a/", O_RDONLY), ENOTDIR);
    EXPECT_ERRNO("create with a trailing slash", open("new/", O_WRONLY | O_CREAT, 0644), EISDIR);
    EXPECT_ERRNO("open through a file", open("a/x", O_RDONLY), ENOTDIR);
}

static void check_dir_and_link_flags(void)
{
    int fd;
    char buf[16];

    mkdir("d", 0755);
    symlink("a", "link-a");
    symlink("d", "link-d");
    EXPECT_ERRNO("O_DIRECTORY on a file", open("a", O_RDONLY | O_DIRECTORY), ENOTDIR);
    fd = open("d", O_RDONLY | O_DIRECTORY);
    EXPECT_FACT("O_DIRECTORY on a dir", fd >= 0);
    EXPECT_ERRNO("read from a dir", read(fd, buf, sizeof(buf)), EISDIR);
    close(fd);
    fd = open("link-d", O_RDONLY | O_DIRECTORY);
    EXPECT_FACT("O_DIRECTORY through a symlink to a dir", fd >= 0);
    close(fd);
    EXPECT_ERRNO("open a dir O_WRONLY", open("d", O_WRONLY), EISDIR);
    EXPECT_ERRNO("open a dir O_RDWR", open("d", O_RDWR), EISDIR);
    EXPECT_ERRNO("open a dir O_CREAT", open("d", O_RDONLY | O_CREAT, 0644), EISDIR);
    EXPECT_ERRNO("open a dir O_TRUNC", open("d", O_RDONLY | O_TRUNC), EISDIR);
    EXPECT_ERRNO("O_NOFOLLOW on a symlink", open("link-a", O_RDONLY | O_NOFOLLOW), ELOOP);
    EXPECT_ERRNO("O_NOFOLLOW|O_DIRECTORY on a symlink to a dir",
                 open("link-d", O_RDONLY | O_NOFOLLOW | O_DIRECTORY), ENOTDIR);
    fd = open("link-d/", O_RDONLY | O_NOFOLLOW);
    EXPECT_FACT("O_NOFOLLOW follows a symlink before a trailing slash", fd >= 0);
    close(fd);
    EXPECT_ERRNO("O_CREAT|O_EXCL on a symlink", open("link-a", O_WRONLY | O_CREAT | O_EXCL, 0644),
                 EEXIST);
    symlink("made-by-link", "dangling");
    fd = open("dangling", O_WRONLY | O_CREAT, 0644);
    EXPECT_FACT("O_CREAT through a dangling symlink creates its target", fd >= 0);
    close(fd);
    EXPECT_RET("the target exists", access("made-by-link", F_OK), 0);

    /* O_PATH: stat works, I/O does not. */
    fd = open("a", O_PATH);
    EXPECT_FACT("O_PATH open", fd >= 0);
    struct stat st;
    EXPECT_RET("fstat on O_PATH", fstat(fd, &st), 0);
    EXPECT_RET("size via O_PATH", st.st_size, 12);
    EXPECT_ERRNO("read from O_PATH", read(fd, buf, 1), EBADF);
    EXPECT_ERRNO("write to O_PATH", write(fd, "x", 1), EBADF);
    EXPECT_ERRNO("fchmod on O_PATH", fchmod(fd, 0600), EBADF);
    EXPECT_OCTAL("O_PATH flags", fcntl(fd, F_GETFL), O_PATH);
    close(fd);
    fd = open("link-a", O_PATH | O_NOFOLLOW);
    EXPECT_FACT("O_PATH|O_NOFOLLOW opens the symlink itself", fd >= 0);
    fstatat(fd, "", &st, AT_EMPTY_PATH);
    EXPECT_FACT("it is a symlink", S_ISLNK(st.st_mode));
    close(fd);
    int dfd = open("d", O_PATH | O_DIRECTORY);
    fd = openat(dfd, "inner", O_WRONLY | O_CREAT, 0644);
    EXPECT_FACT("openat relative to an O_PATH dir fd", fd >= 0);
    close(fd);
    EXPECT_RET("inner exists", access("d/inner", F_OK), 0);
    int afd = open("a", O_RDONLY);
    EXPECT_ERRNO("openat relative to a file fd", openat(afd, "x", O_RDONLY), ENOTDIR);
    close(afd);
    EXPECT_ERRNO("openat with a bad dirfd", openat(999, "x", O_RDONLY), EBADF);
    fd = openat(999, "/tmp", O_RDONLY);
    EXPECT_FACT("openat ignores a bad dirfd for an absolute path", fd >= 0);
    close(fd);
    close(dfd);
}

static void check_name_lengths(void)
{
    char name[300], path[4200];

    memset(name, 'n', 255);
    name[255] = '\0';
    int fd = open(name, O_WRONLY | O_CREAT, 0644);
    EXPECT_FACT("255-byte name", fd >= 0);
    close(fd);
    unlink(name);
    memset(name, 'n', 256);
    name[256] = '\0';
    EXPECT_ERRNO("256-byte name", open(name, O_WRONLY | O_CREAT, 0644), ENAMETOOLONG);
    EXPECT_ERRNO("256-byte name, lookup only", open(name, O_RDONLY), ENAMETOOLONG);

    /* 4096 bytes with the NUL is PATH_MAX + 1: too long before any lookup. */
    size_t len = 0;
    while (len < PATH_MAX) {
        memcpy(path + len, "./", 2);
        len += 2;
    }
    path[len] = '\0';
    EXPECT_RET("path length", strlen(path), PATH_MAX);
    EXPECT_ERRNO("4096-byte path", open(path, O_RDONLY), ENAMETOOLONG);
    path[PATH_MAX - 1] = '\0';
    fd = open(path, O_RDONLY | O_DIRECTORY);
    EXPECT_FACT("4095-byte path", fd >= 0);
    close(fd);
}

static void check_openat2(void)
{
    struct open_how how;
    long fd;

    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY;
    fd = openat2_call(AT_FDCWD, "a", &how, sizeof(how));
    EXPECT_FACT("openat2 plain", fd >= 0);
    close((int)fd);
    EXPECT_ERRNO("openat2 size too small", openat2_call(AT_FDCWD, "a", &how, 8), EINVAL);
    how.mode = 0644;
    EXPECT_ERRNO("openat2 mode without O_CREAT", openat2_call(AT_FDCWD, "a", &how, sizeof(how)),
                 EINVAL);
    how.mode = 0;
    how.flags = 1ULL << 40;
    EXPECT_ERRNO("openat2 unknown flag bits", openat2_call(AT_FDCWD, "a", &how, sizeof(how)),
                 EINVAL);
    how.flags = O_RDONLY;
    how.resolve = 1ULL << 40;
    EXPECT_ERRNO("openat2 unknown resolve bits", openat2_call(AT_FDCWD, "a", &how, sizeof(how)),
                 EINVAL);
    how.resolve = RESOLVE_NO_SYMLINKS;
    EXPECT_ERRNO("RESOLVE_NO_SYMLINKS through a symlink",
                 openat2_call(AT_FDCWD, "link-a", &how, sizeof(how)), ELOOP);
    fd = openat2_call(AT_FDCWD, "a", &how, sizeof(how));
    EXPECT_FACT("RESOLVE_NO_SYMLINKS without one", fd >= 0);
    close((int)fd);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    how.resolve = RESOLVE_BENEATH;
    fd = openat2_call(dfd, "inner", &how, sizeof(how));
    EXPECT_FACT("RESOLVE_BENEATH inside", fd >= 0);
    close((int)fd);
    EXPECT_ERRNO("RESOLVE_BENEATH with ..", openat2_call(dfd, "../a", &how, sizeof(how)), EXDEV);
    EXPECT_ERRNO("RESOLVE_BENEATH with an absolute path",
                 openat2_call(dfd, "/tmp", &how, sizeof(how)), EXDEV);
    how.flags = O_WRONLY | O_CREAT | O_EXCL;
    how.mode = 0600;
    how.resolve = 0;
    fd = openat2_call(dfd, "made-by-openat2", &how, sizeof(how));
    EXPECT_FACT("openat2 O_CREAT", fd >= 0);
    close((int)fd);
    EXPECT_OCTAL("openat2 mode after umask 022", guest_mode_of("d/made-by-openat2"), 0600);
    close(dfd);
}

static void check_close_range(void)
{
    int base = open("a", O_RDONLY);
    for (int i = 1; i < 6; i++)
        CHECK(dup2(base, base + i) == base + i, "dup2: %s", guest_errno_name(errno));
    EXPECT_RET("close_range middle", syscall(SYS_close_range, base + 1, base + 2, 0), 0);
    EXPECT_FACT("closed fds are closed", !is_open(base + 1) && !is_open(base + 2));
    EXPECT_FACT("fds around them stay open", is_open(base) && is_open(base + 3));
    EXPECT_RET("close_range CLOEXEC",
               syscall(SYS_close_range, base + 3, base + 4, CLOSE_RANGE_CLOEXEC), 0);
    EXPECT_RET("FD_CLOEXEC on the range", fcntl(base + 3, F_GETFD) + fcntl(base + 4, F_GETFD),
               2 * FD_CLOEXEC);
    EXPECT_RET("past the range untouched", fcntl(base + 5, F_GETFD), 0);
    EXPECT_ERRNO("close_range first > last", syscall(SYS_close_range, 10, 9, 0), EINVAL);
    EXPECT_ERRNO("close_range bad flag", syscall(SYS_close_range, base, base, 0x8000), EINVAL);
    EXPECT_RET("close_range to ~0", syscall(SYS_close_range, base + 3, ~0U, 0), 0);
    EXPECT_FACT("everything from there closed", !is_open(base + 3) && !is_open(base + 5));
    EXPECT_RET("close_range of closed fds", syscall(SYS_close_range, 500, 600, 0), 0);
    close(base);
}

static void check_dup_and_fcntl(void)
{
    int fd = open("a", O_RDWR | O_APPEND);
    EXPECT_OCTAL("F_GETFL of O_RDWR|O_APPEND", fcntl(fd, F_GETFL),
                 O_RDWR | O_APPEND | KERNEL_O_LARGEFILE);
    EXPECT_RET("F_SETFL O_NONBLOCK, dropping O_APPEND, trying O_WRONLY",
               fcntl(fd, F_SETFL, O_NONBLOCK | O_WRONLY), 0);
    EXPECT_OCTAL("F_GETFL after F_SETFL", fcntl(fd, F_GETFL),
                 O_RDWR | O_NONBLOCK | KERNEL_O_LARGEFILE);
    EXPECT_RET("F_GETFD of a new fd", fcntl(fd, F_GETFD), 0);
    EXPECT_RET("F_SETFD FD_CLOEXEC", fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
    EXPECT_RET("F_GETFD after", fcntl(fd, F_GETFD), FD_CLOEXEC);

    int d1 = dup(fd);
    EXPECT_FACT("dup returns the lowest free fd", d1 == fd + 1);
    EXPECT_RET("dup drops FD_CLOEXEC", fcntl(d1, F_GETFD), 0);
    EXPECT_OCTAL("dup shares status flags", fcntl(d1, F_GETFL),
                 O_RDWR | O_NONBLOCK | KERNEL_O_LARGEFILE);
    lseek(fd, 3, SEEK_SET);
    EXPECT_RET("dup shares the offset", lseek(d1, 0, SEEK_CUR), 3);
    fcntl(d1, F_SETFL, 0);
    EXPECT_OCTAL("F_SETFL through the dup shows on the original", fcntl(fd, F_GETFL),
                 O_RDWR | KERNEL_O_LARGEFILE);

    EXPECT_RET("dup2 onto itself", dup2(fd, fd), fd);
    EXPECT_ERRNO("dup2 of a closed fd", dup2(400, 401), EBADF);
    EXPECT_ERRNO("dup2 onto itself when closed", dup2(400, 400), EBADF);
    EXPECT_ERRNO("dup3 onto itself", dup3(fd, fd, 0), EINVAL);
    EXPECT_ERRNO("dup3 bad flags", dup3(fd, 100, O_APPEND), EINVAL);
    EXPECT_RET("dup3 O_CLOEXEC", dup3(fd, 100, O_CLOEXEC), 100);
    EXPECT_RET("dup3's FD_CLOEXEC", fcntl(100, F_GETFD), FD_CLOEXEC);
    EXPECT_RET("dup2 over an open fd", dup2(d1, 100), 100);
    EXPECT_RET("dup2 clears FD_CLOEXEC", fcntl(100, F_GETFD), 0);
    EXPECT_RET("F_DUPFD at least 50", fcntl(fd, F_DUPFD, 50), 50);
    EXPECT_RET("F_DUPFD at least 50 again", fcntl(fd, F_DUPFD, 50), 51);
    EXPECT_RET("F_DUPFD_CLOEXEC", fcntl(fd, F_DUPFD_CLOEXEC, 60), 60);
    EXPECT_RET("F_DUPFD_CLOEXEC's flag", fcntl(60, F_GETFD), FD_CLOEXEC);
    EXPECT_ERRNO("F_DUPFD negative minimum", fcntl(fd, F_DUPFD, -1), EINVAL);
    EXPECT_ERRNO("F_DUPFD past RLIMIT_NOFILE", fcntl(fd, F_DUPFD, 1 << 30), EINVAL);
    EXPECT_ERRNO("fcntl unknown command", fcntl(fd, 9999), EINVAL);
    EXPECT_ERRNO("fcntl on a closed fd", fcntl(400, F_GETFD), EBADF);
    close(50);
    close(51);
    close(60);
    close(100);
    close(d1);
    close(fd);
}

static void check_lseek(void)
{
    int fd = open("a", O_RDWR);
    char buf[4];

    EXPECT_RET("SEEK_END", lseek(fd, 0, SEEK_END), 12);
    EXPECT_RET("SEEK_END -2", lseek(fd, -2, SEEK_END), 10);
    EXPECT_RET("read at 10", read(fd, buf, sizeof(buf)), 2);
    EXPECT_RET("SEEK_CUR after the read", lseek(fd, 0, SEEK_CUR), 12);
    EXPECT_RET("SEEK_CUR -5", lseek(fd, -5, SEEK_CUR), 7);
    EXPECT_RET("SEEK_SET 3", lseek(fd, 3, SEEK_SET), 3);
    EXPECT_RET("SEEK_SET past the end", lseek(fd, 100, SEEK_SET), 100);
    EXPECT_RET("read past the end", read(fd, buf, sizeof(buf)), 0);
    EXPECT_ERRNO("SEEK_SET negative", lseek(fd, -1, SEEK_SET), EINVAL);
    EXPECT_ERRNO("SEEK_CUR below zero", lseek(fd, -101, SEEK_CUR), EINVAL);
    EXPECT_RET("offset unchanged by failed seeks", lseek(fd, 0, SEEK_CUR), 100);
    EXPECT_ERRNO("bad whence", lseek(fd, 0, 42), EINVAL);
    /* Only the rules every filesystem shares: data at 0, the hole at the end, ENXIO past it. */
    EXPECT_RET("SEEK_DATA at 0", lseek(fd, 0, SEEK_DATA), 0);
    EXPECT_RET("SEEK_HOLE at 0", lseek(fd, 0, SEEK_HOLE), 12);
    EXPECT_RET("SEEK_HOLE at 5", lseek(fd, 5, SEEK_HOLE), 12);
    EXPECT_ERRNO("SEEK_DATA at the end", lseek(fd, 12, SEEK_DATA), ENXIO);
    EXPECT_ERRNO("SEEK_HOLE past the end", lseek(fd, 13, SEEK_HOLE), ENXIO);
    EXPECT_ERRNO("SEEK_DATA negative", lseek(fd, -1, SEEK_DATA), ENXIO);
    close(fd);
    int fds[2];
    pipe(fds);
    EXPECT_ERRNO("lseek on a pipe", lseek(fds[0], 0, SEEK_CUR), ESPIPE);
    close(fds[0]);
    close(fds[1]);
    EXPECT_ERRNO("lseek on a closed fd", lseek(400, 0, SEEK_SET), EBADF);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    EXPECT_RET("lseek a dir to 0", lseek(dfd, 0, SEEK_SET), 0);
    close(dfd);
}

static void check_umask(void)
{
    EXPECT_OCTAL("umask returns the old mask", umask(077), 022);
    close(open("u077", O_WRONLY | O_CREAT, 0666));
    EXPECT_OCTAL("file with umask 077", guest_mode_of("u077"), 0600);
    umask(027);
    mkdir("dir027", 0777);
    EXPECT_OCTAL("dir with umask 027", guest_mode_of("dir027"), 0750);
    umask(0);
    close(open("u000", O_WRONLY | O_CREAT, 0666));
    EXPECT_OCTAL("file with umask 0", guest_mode_of("u000"), 0666);
    close(open("suid", O_WRONLY | O_CREAT, 04755));
    EXPECT_OCTAL("set-uid bit kept by open", guest_mode_of("suid"), 04755);
    EXPECT_OCTAL("umask keeps only the permission bits", umask(01777), 0);
    EXPECT_OCTAL("umask 01777 reads back 0777", umask(022), 0777);
}

int main(int argc, char **argv)
{
    char dir[GUEST_TMPDIR_SIZE];

    setvbuf(stdout, NULL, _IOLBF, 0);
    guest_tmpdir_make(dir, argc > 1 ? argv[1] : "/tmp");
    check_creation_flags();
    check_dir_and_link_flags();
    check_name_lengths();
    check_openat2();
    check_close_range();
    check_dup_and_fcntl();
    check_lseek();
    check_umask();
    guest_tmpdir_remove(dir);
    return guest_ok();
}
