/* Attribute changes as root: the chmod and chown families (set-id bits cleared by chown),
 * utimensat/utimes/futimesat times read back exactly, truncate's errors, and user.* extended
 * attributes (on /dev/shm when the scratch parent has none, silently). */
#include "guest_files.h"

#include <sys/time.h>
#include <sys/xattr.h>
#include <time.h>

static void print_owner(const char *what, const char *path)
{
    struct stat st;
    CHECK(lstat(path, &st) == 0, "lstat %s: %s", path, guest_errno_name(errno));
    printf("%s: %u:%u\n", what, st.st_uid, st.st_gid);
}

static void check_chmod(void)
{
    guest_file_put("f", "data", 0644);
    symlink("f", "link");
    EXPECT_RET("chmod", chmod("f", 0600), 0);
    EXPECT_OCTAL("mode after chmod", guest_mode_of("f"), 0600);
    EXPECT_RET("chmod through a symlink", chmod("link", 0640), 0);
    EXPECT_OCTAL("the target changed", guest_mode_of("f"), 0640);
    EXPECT_OCTAL("the link did not", guest_mode_of("link"), 0777);
    EXPECT_RET("chmod set-id and sticky bits", chmod("f", 07755), 0);
    EXPECT_OCTAL("they stay for root", guest_mode_of("f"), 07755);
    EXPECT_RET("chmod ignores file type bits", chmod("f", S_IFDIR | 0644), 0);
    EXPECT_OCTAL("only the permission bits changed", guest_mode_of("f"), 0644);
    struct stat st;
    lstat("f", &st);
    EXPECT_FACT("still a regular file", S_ISREG(st.st_mode));
    int fd = open("f", O_RDONLY);
    EXPECT_RET("fchmod on a read-only fd", fchmod(fd, 0444), 0);
    EXPECT_OCTAL("mode after fchmod", guest_mode_of("f"), 0444);
    close(fd);
    EXPECT_ERRNO("fchmod closed fd", fchmod(400, 0644), EBADF);
    EXPECT_RET("fchmodat", fchmodat(AT_FDCWD, "f", 0604, 0), 0);
    EXPECT_OCTAL("mode after fchmodat", guest_mode_of("f"), 0604);
    EXPECT_ERRNO("chmod missing", chmod("missing", 0644), ENOENT);
    mkdir("d", 0755);
    EXPECT_RET("chmod a dir", chmod("d", 01777), 0);
    EXPECT_OCTAL("dir mode", guest_mode_of("d"), 01777);
    chmod("f", 0644);
}

static void check_chown(void)
{
    EXPECT_RET("chown", chown("f", 1234, 5678), 0);
    print_owner("after chown", "f");
    EXPECT_RET("chown -1 -1 changes nothing", chown("f", -1, -1), 0);
    print_owner("after chown -1 -1", "f");
    EXPECT_RET("chown the group only", chown("f", -1, 42), 0);
    print_owner("after chown -1 42", "f");
    int fd = open("f", O_RDONLY);
    EXPECT_RET("fchown back", fchown(fd, 0, 0), 0);
    close(fd);
    print_owner("after fchown", "f");
    EXPECT_RET("lchown a symlink", lchown("link", 1234, 5678), 0);
    print_owner("the symlink", "link");
    print_owner("its target", "f");
    EXPECT_RET("chown through the symlink", chown("link", 7, 8), 0);
    print_owner("the target now", "f");
    EXPECT_RET("fchownat AT_SYMLINK_NOFOLLOW",
               fchownat(AT_FDCWD, "link", 0, 0, AT_SYMLINK_NOFOLLOW), 0);
    print_owner("the symlink", "link");
    EXPECT_RET("fchownat following", fchownat(AT_FDCWD, "link", 0, 0, 0), 0);
    print_owner("the target", "f");
    EXPECT_ERRNO("fchownat bad flags", fchownat(AT_FDCWD, "f", 0, 0, 0x1), EINVAL);
    fd = open("f", O_RDONLY);
    EXPECT_RET("fchownat AT_EMPTY_PATH", fchownat(fd, "", 3, 3, AT_EMPTY_PATH), 0);
    close(fd);
    print_owner("via the fd", "f");

    /* Changing the owner clears set-user-ID and (with group exec) set-group-ID, root or not. */
    chmod("f", 06755);
    EXPECT_RET("chown a set-id file", chown("f", 0, 0), 0);
    EXPECT_OCTAL("set-id bits cleared", guest_mode_of("f"), 0755);
    chmod("f", 06744);
    chown("f", 0, 0);
    EXPECT_OCTAL("set-gid without group exec stays", guest_mode_of("f"), 02744);
    chmod("d", 03755);
    chown("d", 1, 1);
    EXPECT_OCTAL("a dir keeps its set-gid bit", guest_mode_of("d"), 03755);
    chown("d", 0, 0);
    chmod("f", 0644);
}

static void check_times(void)
{
    struct stat st;
    struct timespec times[2] = {{1000000000, 123456789}, {1500000000, 987654321}};

    EXPECT_RET("utimensat explicit", utimensat(AT_FDCWD, "f", times, 0), 0);
    stat("f", &st);
    printf("atime %ld.%09ld mtime %ld.%09ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);

    struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    struct timespec before, after;
    clock_gettime(CLOCK_REALTIME, &before);
    EXPECT_RET("utimensat OMIT/NOW", utimensat(AT_FDCWD, "f", omit_now, 0), 0);
    clock_gettime(CLOCK_REALTIME, &after);
    stat("f", &st);
    EXPECT_FACT("atime kept", st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123456789);
    EXPECT_FACT("mtime is now",
                st.st_mtim.tv_sec >= before.tv_sec - 1 && st.st_mtim.tv_sec <= after.tv_sec + 1);
    EXPECT_RET("utimensat NULL", utimensat(AT_FDCWD, "f", NULL, 0), 0);
    stat("f", &st);
    EXPECT_FACT("atime is now", st.st_atim.tv_sec >= before.tv_sec - 1);

    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    EXPECT_ERRNO("utimensat nsec out of range", utimensat(AT_FDCWD, "f", bad, 0), EINVAL);
    EXPECT_ERRNO("utimensat bad flags", utimensat(AT_FDCWD, "f", times, 0x1), EINVAL);
    EXPECT_ERRNO("utimensat missing", utimensat(AT_FDCWD, "missing", times, 0), ENOENT);
    struct timespec link_times[2] = {{2000, 0}, {3000, 0}};
    EXPECT_RET("utimensat AT_SYMLINK_NOFOLLOW",
               utimensat(AT_FDCWD, "link", link_times, AT_SYMLINK_NOFOLLOW), 0);
    lstat("link", &st);
    printf("symlink mtime %ld\n", (long)st.st_mtim.tv_sec);
    stat("link", &st);
    EXPECT_FACT("the target kept its mtime", st.st_mtim.tv_sec != 3000);
    int fd = open("f", O_RDONLY);
    EXPECT_RET("futimens", futimens(fd, times), 0);
    /* utimensat with a NULL path works on the fd itself (the syscall, not glibc's wrapper). */
    struct timespec fd_times[2] = {{4000, 5}, {5000, 6}};
    EXPECT_RET("utimensat(fd, NULL)", syscall(SYS_utimensat, fd, NULL, fd_times, 0), 0);
    close(fd);
    stat("f", &st);
    printf("after utimensat(fd, NULL): %ld.%ld %ld.%ld\n", (long)st.st_atim.tv_sec,
           st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);

    struct timeval tv[2] = {{1100000000, 250000}, {1200000000, 500001}};
    EXPECT_RET("utimes", utimes("f", tv), 0);
    stat("f", &st);
    printf("after utimes: %ld.%09ld %ld.%09ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timeval bad_tv[2] = {{0, 1000000}, {0, 0}};
    EXPECT_ERRNO("utimes usec out of range", utimes("f", bad_tv), EINVAL);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    tv[1].tv_sec = 1300000000;
    EXPECT_RET("futimesat", syscall(SYS_futimesat, dfd, "f", tv), 0);
    close(dfd);
    stat("f", &st);
    printf("after futimesat: mtime %ld.%09ld\n", (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static void check_truncate(void)
{
    struct stat st;

    EXPECT_RET("truncate grow", truncate("f", 100), 0);
    stat("f", &st);
    EXPECT_RET("size", st.st_size, 100);
    EXPECT_RET("truncate shrink", truncate("f", 2), 0);
    stat("f", &st);
    EXPECT_RET("size", st.st_size, 2);
    EXPECT_RET("truncate through a symlink", truncate("link", 1), 0);
    stat("f", &st);
    EXPECT_RET("size", st.st_size, 1);
    EXPECT_ERRNO("truncate a dir", truncate("d", 0), EISDIR);
    EXPECT_ERRNO("truncate negative", truncate("f", -1), EINVAL);
    EXPECT_ERRNO("truncate missing", truncate("missing", 0), ENOENT);
    EXPECT_ERRNO("truncate with a trailing slash", truncate("f/", 0), ENOTDIR);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Print the user.* names of `path`'s xattrs, sorted (other namespaces are the host's business). */
static void print_xattr_names(const char *path)
{
    char list[1024], *names[32];
    ssize_t len = listxattr(path, list, sizeof(list));
    CHECK(len >= 0, "listxattr: %s", guest_errno_name(errno));
    int count = 0;
    for (ssize_t off = 0; off < len; off += (ssize_t)strlen(list + off) + 1)
        if (strncmp(list + off, "user.", 5) == 0 && count < 32)
            names[count++] = list + off;
    qsort(names, (size_t)count, sizeof(names[0]), compare_names);
    printf("xattrs of %s:", path);
    for (int i = 0; i < count; i++)
        printf(" %s", names[i]);
    printf("\n");
}

static void check_xattrs(void)
{
    char value[64];

    guest_file_put("x", "", 0644);
    EXPECT_RET("setxattr", setxattr("x", "user.one", "value1", 6, 0), 0);
    EXPECT_RET("setxattr empty value", setxattr("x", "user.empty", "", 0, 0), 0);
    EXPECT_RET("getxattr size query", getxattr("x", "user.one", NULL, 0), 6);
    EXPECT_RET("getxattr", getxattr("x", "user.one", value, sizeof(value)), 6);
    printf("value: %.6s\n", value);
    EXPECT_RET("getxattr of the empty value", getxattr("x", "user.empty", value, sizeof(value)), 0);
    EXPECT_ERRNO("getxattr small buffer", getxattr("x", "user.one", value, 3), ERANGE);
    EXPECT_ERRNO("getxattr missing", getxattr("x", "user.none", value, sizeof(value)), ENODATA);
    EXPECT_ERRNO("XATTR_CREATE on an existing name",
                 setxattr("x", "user.one", "v", 1, XATTR_CREATE), EEXIST);
    EXPECT_ERRNO("XATTR_REPLACE on a missing name",
                 setxattr("x", "user.none", "v", 1, XATTR_REPLACE), ENODATA);
    EXPECT_RET("XATTR_REPLACE", setxattr("x", "user.one", "longer value", 12, XATTR_REPLACE), 0);
    EXPECT_RET("getxattr after replace", getxattr("x", "user.one", value, sizeof(value)), 12);
    EXPECT_ERRNO("setxattr both flags",
                 setxattr("x", "user.one", "v", 1, XATTR_CREATE | XATTR_REPLACE | 4), EINVAL);
    EXPECT_ERRNO("setxattr unknown namespace", setxattr("x", "bogus.name", "v", 1, 0), EOPNOTSUPP);
    EXPECT_ERRNO("setxattr empty name", setxattr("x", "", "v", 1, 0), ERANGE);
    print_xattr_names("x");

    char list[256];
    ssize_t need = listxattr("x", NULL, 0);
    EXPECT_FACT("listxattr size query covers both names",
                need >= (ssize_t)sizeof("user.one") + (ssize_t)sizeof("user.empty"));
    EXPECT_ERRNO("listxattr small buffer", listxattr("x", list, 3), ERANGE);

    int fd = open("x", O_RDONLY);
    EXPECT_RET("fsetxattr", fsetxattr(fd, "user.fd", "F", 1, 0), 0);
    EXPECT_RET("fgetxattr", fgetxattr(fd, "user.fd", value, sizeof(value)), 1);
    EXPECT_RET("flistxattr sees it", flistxattr(fd, list, sizeof(list)) > 0, 1);
    EXPECT_RET("fremovexattr", fremovexattr(fd, "user.fd"), 0);
    EXPECT_ERRNO("fremovexattr again", fremovexattr(fd, "user.fd"), ENODATA);
    close(fd);
    EXPECT_RET("removexattr", removexattr("x", "user.empty"), 0);
    EXPECT_ERRNO("removexattr missing", removexattr("x", "user.empty"), ENODATA);
    print_xattr_names("x");

    symlink("x", "xlink");
    EXPECT_RET("getxattr through a symlink", getxattr("xlink", "user.one", value, sizeof(value)),
               12);
    EXPECT_ERRNO("lgetxattr on the symlink itself",
                 lgetxattr("xlink", "user.one", value, sizeof(value)), ENODATA);
    EXPECT_ERRNO("lsetxattr user.* on a symlink", lsetxattr("xlink", "user.l", "v", 1, 0), EPERM);
    EXPECT_ERRNO("getxattr missing file", getxattr("missing", "user.one", value, 1), ENOENT);
    mkdir("xd", 0755);
    EXPECT_RET("setxattr on a dir", setxattr("xd", "user.dir", "D", 1, 0), 0);
    print_xattr_names("xd");
}

/* user.* xattrs where the scratch dir lives, probed on a throw-away file. */
static int has_user_xattrs(void)
{
    guest_file_put("probe", "", 0644);
    int ok = setxattr("probe", "user.probe", "1", 1, 0) == 0;
    unlink("probe");
    return ok;
}

int main(int argc, char **argv)
{
    char dir[GUEST_TMPDIR_SIZE], xdir[GUEST_TMPDIR_SIZE];
    const char *parent = argc > 1 ? argv[1] : "/tmp";

    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(022);
    guest_tmpdir_make(dir, parent);
    check_chmod();
    check_chown();
    check_times();
    check_truncate();
    if (has_user_xattrs()) {
        check_xattrs();
    } else {
        guest_tmpdir_make(xdir, "/dev/shm");
        check_xattrs();
        guest_tmpdir_remove(xdir);
    }
    guest_tmpdir_remove(dir);
    return guest_ok();
}
