/* Reading the host tree, which works the same natively and on runsc's read-only root: a text
 * file read three ways (read, pread, mmap), a large directory counted two ways, the /bin symlink
 * of a merged-/usr system, and stat of a program. Prints only host-independent facts. */
#include "guest_files.h"

#include <dirent.h>
#include <sys/mman.h>

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

#define LIB_DIR "/usr/lib/x86_64-linux-gnu"

static char passwd[1 << 20];

static void check_passwd(void)
{
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0, "open /etc/passwd: %s", guest_errno_name(errno));
    size_t len = 0;
    ssize_t n;
    /* Small reads, so that the file position matters. */
    while (len < sizeof(passwd) - 1 && (n = read(fd, passwd + len, 100)) > 0)
        len += (size_t)n;
    CHECK(n == 0 || len == sizeof(passwd) - 1, "read /etc/passwd: %s", guest_errno_name(errno));
    passwd[len] = '\0';
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += passwd[i] == '\n';
    printf("/etc/passwd lines: %d\n", lines);
    EXPECT_FACT("/etc/passwd starts with root:", strncmp(passwd, "root:", 5) == 0);

    struct stat st;
    EXPECT_RET("fstat /etc/passwd", fstat(fd, &st), 0);
    EXPECT_FACT("its size is what read returned", st.st_size == (off_t)len);
    EXPECT_FACT("it is a regular file", S_ISREG(st.st_mode));
    EXPECT_RET("read at the end", read(fd, passwd, 1), 0);
    EXPECT_FACT("lseek SEEK_END gives the size", lseek(fd, 0, SEEK_END) == (off_t)len);

    char head[5];
    EXPECT_RET("pread 5 bytes at 0", pread(fd, head, 5, 0), 5);
    EXPECT_FACT("pread matches read", memcmp(head, "root:", 5) == 0);
    EXPECT_RET("pread past the end", pread(fd, head, 5, (off_t)len + 10), 0);
    EXPECT_ERRNO("write to a read-only fd", write(fd, "x", 1), EBADF);

    char *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    EXPECT_FACT("mmap /etc/passwd", map != MAP_FAILED);
    EXPECT_FACT("the mapping holds the same bytes", memcmp(map, passwd, len) == 0);
    munmap(map, len);
    close(fd);

    EXPECT_RET("access R_OK", access("/etc/passwd", R_OK), 0);
    EXPECT_ERRNO("open /etc/passwd as a directory", open("/etc/passwd", O_RDONLY | O_DIRECTORY),
                 ENOTDIR);
    EXPECT_ERRNO("open a missing file under /etc", open("/etc/no-such-file-here", O_RDONLY),
                 ENOENT);
}

/* Entries of LIB_DIR through getdents64 with a `bufsize` buffer, "." and ".." included. */
static long count_getdents(size_t bufsize)
{
    static char buf[32768];
    int fd = open(LIB_DIR, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0, "open " LIB_DIR ": %s", guest_errno_name(errno));
    long count = 0, dots = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, bufsize);
        CHECK(n >= 0, "getdents64: %s", guest_errno_name(errno));
        if (n == 0)
            break;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            count++;
            dots += !strcmp(d->d_name, ".") || !strcmp(d->d_name, "..");
            off += d->d_reclen;
        }
    }
    close(fd);
    CHECK(dots == 2, "getdents64 listed %ld dot entries", dots);
    return count;
}

static void check_lib_dir(void)
{
    long big = count_getdents(32768);
    long small = count_getdents(512);
    DIR *dir = opendir(LIB_DIR);
    CHECK(dir != NULL, "opendir: %s", guest_errno_name(errno));
    long via_readdir = 0;
    while (readdir(dir))
        via_readdir++;
    closedir(dir);
    printf(LIB_DIR " entries: %ld\n", big);
    EXPECT_FACT("a small getdents64 buffer counts the same", small == big);
    EXPECT_FACT("readdir counts the same", via_readdir == big);
    EXPECT_FACT("more than 100 entries", big > 100);
}

static void check_bin_and_env(void)
{
    char target[64];
    struct stat st;

    ssize_t n = readlink("/bin", target, sizeof(target) - 1);
    EXPECT_FACT("readlink /bin", n > 0);
    target[n > 0 ? n : 0] = '\0';
    printf("/bin -> %s\n", target);
    EXPECT_RET("lstat /bin", lstat("/bin", &st), 0);
    EXPECT_FACT("/bin is a symlink", S_ISLNK(st.st_mode));
    EXPECT_RET("stat /bin", stat("/bin", &st), 0);
    EXPECT_FACT("following it reaches a dir", S_ISDIR(st.st_mode));
    struct stat via_bin, via_usr;
    EXPECT_RET("stat /bin/env", stat("/bin/env", &via_bin), 0);
    EXPECT_RET("stat /usr/bin/env", stat("/usr/bin/env", &via_usr), 0);
    EXPECT_FACT("/bin/env is /usr/bin/env",
                via_bin.st_ino == via_usr.st_ino && via_bin.st_dev == via_usr.st_dev);
    printf("/usr/bin/env: %s mode 0%o nlink %lu uid %u gid %u\n",
           S_ISREG(via_usr.st_mode) ? "file" : "other", via_usr.st_mode & 07777,
           (unsigned long)via_usr.st_nlink, via_usr.st_uid, via_usr.st_gid);
    EXPECT_FACT("/usr/bin/env is not empty", via_usr.st_size > 0);
    EXPECT_RET("access X_OK", access("/usr/bin/env", X_OK), 0);

    int dfd = open("/usr", O_RDONLY | O_DIRECTORY);
    EXPECT_RET("fstatat relative to /usr", fstatat(dfd, "bin/env", &st, 0), 0);
    EXPECT_FACT("same file", st.st_ino == via_usr.st_ino);
    EXPECT_RET("fstatat ../usr/bin/env", fstatat(dfd, "../usr/bin/env", &st, 0), 0);
    close(dfd);
    EXPECT_RET("chdir /usr/lib", chdir("/usr/lib"), 0);
    EXPECT_RET("stat ../bin/env", stat("../bin/env", &st), 0);
    EXPECT_FACT("same file again", st.st_ino == via_usr.st_ino);
    char cwd[64];
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd: %s", guest_errno_name(errno));
    printf("cwd: %s\n", cwd);
    EXPECT_ERRNO("readlink of a non-symlink", readlink("/usr", target, sizeof(target)), EINVAL);
    EXPECT_ERRNO("stat through /etc/passwd", stat("/etc/passwd/x", &st), ENOTDIR);
    EXPECT_ERRNO("stat /.. is /", stat("/../no-such-entry", &st), ENOENT);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    check_passwd();
    check_lib_dir();
    check_bin_and_env();
    return guest_ok();
}
