/* Directory-tree calls: mkdir/rmdir/unlink and their errors, getdents64 listings, the rename
 * family's replacement rules, hard links, symlinks and readlink, chdir/fchdir/getcwd (also in a
 * removed directory), and mknod for FIFOs and regular files. */
#include "guest_files.h"

#include <dirent.h>
#include <limits.h>

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char type_letter(unsigned char type)
{
    switch (type) {
    case DT_REG:
        return 'f';
    case DT_DIR:
        return 'd';
    case DT_LNK:
        return 'l';
    case DT_FIFO:
        return 'p';
    default:
        return '?';
    }
}

/* Print a directory's entries sorted, as "name/type" words, reading with a `bufsize` buffer. */
static int list_dir(const char *path, size_t bufsize)
{
    char buf[4096], *names[64];
    int count = 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0, "open %s: %s", path, guest_errno_name(errno));
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, bufsize);
        CHECK(n >= 0, "getdents64: %s", guest_errno_name(errno));
        if (n == 0)
            break;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            CHECK(count < 64, "too many entries");
            names[count] = malloc(strlen(d->d_name) + 3);
            sprintf(names[count++], "%s/%c", d->d_name, type_letter(d->d_type));
            off += d->d_reclen;
        }
    }
    close(fd);
    qsort(names, (size_t)count, sizeof(names[0]), compare_names);
    printf("%s:", path);
    for (int i = 0; i < count; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
    return count;
}

static long nlink_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (long)st.st_nlink : -1;
}

static void check_mkdir_rmdir_unlink(void)
{
    EXPECT_RET("mkdir", mkdir("d", 0755), 0);
    EXPECT_ERRNO("mkdir existing", mkdir("d", 0755), EEXIST);
    guest_file_put("f", "file", 0644);
    EXPECT_ERRNO("mkdir over a file", mkdir("f", 0755), EEXIST);
    EXPECT_ERRNO("mkdir in a missing dir", mkdir("missing/d", 0755), ENOENT);
    EXPECT_ERRNO("mkdir under a file", mkdir("f/d", 0755), ENOTDIR);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    EXPECT_RET("mkdirat", mkdirat(dfd, "sub", 0700), 0);
    EXPECT_ERRNO("mkdirat existing", mkdirat(dfd, "sub", 0700), EEXIST);
    EXPECT_RET("mkdir with a trailing slash", mkdir("d/slash/", 0755), 0);
    guest_file_put("d/sub/inner", "", 0644);

    EXPECT_ERRNO("rmdir non-empty", rmdir("d/sub"), ENOTEMPTY);
    EXPECT_ERRNO("rmdir a file", rmdir("f"), ENOTDIR);
    EXPECT_ERRNO("rmdir .", rmdir("d/."), EINVAL);
    EXPECT_ERRNO("rmdir ..", rmdir("d/sub/.."), ENOTEMPTY);
    EXPECT_ERRNO("rmdir missing", rmdir("d/none"), ENOENT);
    EXPECT_ERRNO("unlink a dir", unlink("d/sub"), EISDIR);
    EXPECT_ERRNO("unlink missing", unlink("d/none"), ENOENT);
    EXPECT_ERRNO("unlink with a trailing slash", unlink("f/"), ENOTDIR);
    EXPECT_ERRNO("unlinkat AT_REMOVEDIR on a file", unlinkat(AT_FDCWD, "f", AT_REMOVEDIR), ENOTDIR);
    EXPECT_ERRNO("unlinkat bad flags", unlinkat(AT_FDCWD, "f", 0x1), EINVAL);
    EXPECT_RET("unlinkat a file", unlinkat(dfd, "sub/inner", 0), 0);
    EXPECT_RET("unlinkat AT_REMOVEDIR", unlinkat(dfd, "sub", AT_REMOVEDIR), 0);
    EXPECT_RET("rmdir with a trailing slash", rmdir("d/slash/"), 0);
    EXPECT_ERRNO("the dir is gone", access("d/sub", F_OK), ENOENT);
    close(dfd);
}

static void check_getdents(void)
{
    char buf[64];

    mkdir("ls", 0755);
    mkdir("ls/subdir", 0755);
    guest_file_put("ls/b-file", "", 0644);
    guest_file_put("ls/a-file", "", 0644);
    symlink("a-file", "ls/link");
    mkfifo("ls/fifo", 0644);
    EXPECT_RET("entries with a large buffer", list_dir("ls", 4096), 7);
    EXPECT_RET("entries with a small buffer", list_dir("ls", 40), 7);
    int fd = open("ls", O_RDONLY | O_DIRECTORY);
    EXPECT_ERRNO("getdents64 buffer too small for one entry", syscall(SYS_getdents64, fd, buf, 8),
                 EINVAL);
    close(fd);
    fd = open("ls/a-file", O_RDONLY);
    EXPECT_ERRNO("getdents64 on a file", syscall(SYS_getdents64, fd, buf, sizeof(buf)), ENOTDIR);
    close(fd);
    EXPECT_ERRNO("getdents64 on a closed fd", syscall(SYS_getdents64, 400, buf, sizeof(buf)),
                 EBADF);

    /* Rewinding lists again, and an entry made in between shows up. */
    fd = open("ls", O_RDONLY | O_DIRECTORY);
    char big[4096];
    long first = syscall(SYS_getdents64, fd, big, sizeof(big));
    EXPECT_FACT("first listing non-empty", first > 0);
    EXPECT_RET("listing at the end", syscall(SYS_getdents64, fd, big, sizeof(big)), 0);
    guest_file_put("ls/c-new", "", 0644);
    lseek(fd, 0, SEEK_SET);
    close(fd);
    EXPECT_RET("entries after adding one", list_dir("ls", 4096), 8);

    DIR *dir = opendir("ls");
    int count = 0;
    while (readdir(dir))
        count++;
    closedir(dir);
    EXPECT_RET("readdir count", count, 8);
}

static void check_rename(void)
{
    char buf[32];

    mkdir("r", 0755);
    EXPECT_RET("chdir r", chdir("r"), 0);
    guest_file_put("a", "A", 0644);
    guest_file_put("b", "B", 0644);
    EXPECT_RET("rename a file", rename("a", "a2"), 0);
    EXPECT_ERRNO("old name gone", access("a", F_OK), ENOENT);
    EXPECT_RET("rename over an existing file", rename("a2", "b"), 0);
    guest_file_get("b", buf, sizeof(buf));
    printf("b now holds: %s\n", buf);
    EXPECT_ERRNO("rename missing", rename("none", "x"), ENOENT);
    EXPECT_RET("rename to itself", rename("b", "b"), 0);
    link("b", "b-link");
    EXPECT_RET("rename between two links to one inode", rename("b", "b-link"), 0);
    EXPECT_FACT("both names stay", access("b", F_OK) == 0 && access("b-link", F_OK) == 0);
    unlink("b-link");

    guest_file_put("c", "C", 0644);
    EXPECT_ERRNO("RENAME_NOREPLACE over a file",
                 renameat2(AT_FDCWD, "b", AT_FDCWD, "c", RENAME_NOREPLACE), EEXIST);
    EXPECT_RET("RENAME_NOREPLACE to a new name",
               renameat2(AT_FDCWD, "c", AT_FDCWD, "c2", RENAME_NOREPLACE), 0);
    EXPECT_RET("RENAME_EXCHANGE", renameat2(AT_FDCWD, "b", AT_FDCWD, "c2", RENAME_EXCHANGE), 0);
    guest_file_get("b", buf, sizeof(buf));
    printf("after exchange b: %s", buf);
    guest_file_get("c2", buf, sizeof(buf));
    printf(" c2: %s\n", buf);
    EXPECT_ERRNO("RENAME_EXCHANGE with a missing target",
                 renameat2(AT_FDCWD, "b", AT_FDCWD, "none", RENAME_EXCHANGE), ENOENT);
    EXPECT_ERRNO("RENAME_EXCHANGE|RENAME_NOREPLACE",
                 renameat2(AT_FDCWD, "b", AT_FDCWD, "c2", RENAME_EXCHANGE | RENAME_NOREPLACE),
                 EINVAL);
    EXPECT_ERRNO("renameat2 unknown flag", renameat2(AT_FDCWD, "b", AT_FDCWD, "c2", 0x100), EINVAL);

    mkdir("d1", 0755);
    mkdir("d2", 0755);
    guest_file_put("d2/x", "", 0644);
    mkdir("empty", 0755);
    EXPECT_ERRNO("dir over a non-empty dir", rename("d1", "d2"), ENOTEMPTY);
    EXPECT_RET("dir over an empty dir", rename("d1", "empty"), 0);
    EXPECT_ERRNO("file over a dir", rename("b", "d2"), EISDIR);
    EXPECT_ERRNO("dir over a file", rename("d2", "b"), ENOTDIR);
    mkdir("d2/sub", 0755);
    EXPECT_ERRNO("dir into its own subdir", rename("d2", "d2/sub/moved"), EINVAL);
    EXPECT_ERRNO("dir onto its own subdir", rename("d2", "d2/sub"), EINVAL);
    EXPECT_ERRNO("rename .", rename(".", "dot"), EBUSY);
    EXPECT_ERRNO("rename onto ..", rename("b", "d2/.."), EBUSY);
    EXPECT_ERRNO("rename a file with a trailing slash", rename("b", "b2/"), ENOTDIR);
    long before = nlink_of("d2");
    EXPECT_RET("move a dir into another", rename("empty", "d2/moved"), 0);
    EXPECT_RET("new parent's nlink grows by one", nlink_of("d2") - before, 1);
    EXPECT_RET("exchange a dir and a file",
               renameat2(AT_FDCWD, "d2", AT_FDCWD, "b", RENAME_EXCHANGE), 0);
    struct stat st;
    lstat("b", &st);
    EXPECT_FACT("b is now the dir", S_ISDIR(st.st_mode));
    int dfd = open("b", O_RDONLY | O_DIRECTORY);
    EXPECT_RET("renameat between dir fds", renameat(dfd, "x", AT_FDCWD, "x-moved"), 0);
    close(dfd);
    EXPECT_RET("moved file arrived", access("x-moved", F_OK), 0);
    EXPECT_RET("chdir back", chdir(".."), 0);
    list_dir("r", 4096);
}

static void check_links(void)
{
    char buf[16];

    guest_file_put("orig", "data", 0644);
    EXPECT_RET("nlink at first", nlink_of("orig"), 1);
    EXPECT_RET("link", link("orig", "l1"), 0);
    EXPECT_RET("linkat", linkat(AT_FDCWD, "orig", AT_FDCWD, "l2", 0), 0);
    EXPECT_RET("nlink with two links", nlink_of("orig"), 3);
    EXPECT_ERRNO("link to an existing name", link("orig", "l1"), EEXIST);
    EXPECT_ERRNO("link a missing file", link("none", "l3"), ENOENT);
    EXPECT_ERRNO("link a dir", link("d", "dlink"), EPERM);
    EXPECT_ERRNO("linkat bad flags", linkat(AT_FDCWD, "orig", AT_FDCWD, "l3", 0x1), EINVAL);
    unlink("l1");
    EXPECT_RET("nlink after unlink", nlink_of("orig"), 2);
    unlink("orig");
    guest_file_get("l2", buf, sizeof(buf));
    printf("data via the last link: %s\n", buf);

    symlink("l2", "sym");
    EXPECT_RET("linkat of a symlink itself", linkat(AT_FDCWD, "sym", AT_FDCWD, "sym-hard", 0), 0);
    struct stat st;
    lstat("sym-hard", &st);
    EXPECT_FACT("the new link is a symlink", S_ISLNK(st.st_mode));
    EXPECT_RET("linkat AT_SYMLINK_FOLLOW",
               linkat(AT_FDCWD, "sym", AT_FDCWD, "followed", AT_SYMLINK_FOLLOW), 0);
    lstat("followed", &st);
    EXPECT_FACT("the followed link is the file", S_ISREG(st.st_mode) && st.st_nlink == 2);
}

static void check_symlinks(void)
{
    char buf[64];

    EXPECT_RET("symlink", symlink("target-text", "s1"), 0);
    EXPECT_ERRNO("symlink over an existing name", symlink("x", "s1"), EEXIST);
    EXPECT_ERRNO("symlink with an empty target", symlink("", "s-empty"), ENOENT);
    EXPECT_RET("readlink", readlink("s1", buf, sizeof(buf)), 11);
    printf("readlink: %.11s\n", buf);
    memset(buf, '#', sizeof(buf));
    EXPECT_RET("readlink truncated", readlink("s1", buf, 3), 3);
    printf("truncated: %.4s\n", buf);
    EXPECT_ERRNO("readlink size 0", readlink("s1", buf, 0), EINVAL);
    EXPECT_ERRNO("readlink a file", readlink("l2", buf, sizeof(buf)), EINVAL);
    EXPECT_ERRNO("readlink missing", readlink("none", buf, sizeof(buf)), ENOENT);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_RET("symlinkat", symlinkat("../up", dfd, "s2"), 0);
    EXPECT_RET("readlinkat", readlinkat(dfd, "s2", buf, sizeof(buf)), 5);
    close(dfd);
    int pfd = open("s2", O_PATH | O_NOFOLLOW);
    EXPECT_RET("readlinkat of an O_PATH symlink with an empty path", readlinkat(pfd, "", buf, 64),
               5);
    close(pfd);

    symlink("loop-b", "loop-a");
    symlink("loop-a", "loop-b");
    struct stat st;
    EXPECT_ERRNO("stat a symlink loop", stat("loop-a", &st), ELOOP);
    EXPECT_ERRNO("open a symlink loop", open("loop-a", O_RDONLY), ELOOP);
    EXPECT_RET("lstat a symlink loop", lstat("loop-a", &st), 0);
    symlink("self", "self");
    EXPECT_ERRNO("a symlink to itself", stat("self/x", &st), ELOOP);

    /* 40 links in a chain resolve; 41 are too many. */
    char name[16], target[16];
    guest_file_put("chain0", "end", 0644);
    for (int i = 1; i <= 41; i++) {
        snprintf(name, sizeof(name), "chain%d", i);
        snprintf(target, sizeof(target), "chain%d", i - 1);
        symlink(target, name);
    }
    EXPECT_RET("a chain of 40 symlinks", stat("chain40", &st), 0);
    EXPECT_ERRNO("a chain of 41 symlinks", stat("chain41", &st), ELOOP);

    symlink("nowhere", "dangling");
    EXPECT_ERRNO("stat dangling", stat("dangling", &st), ENOENT);
    EXPECT_RET("lstat dangling", lstat("dangling", &st), 0);
    EXPECT_ERRNO("open dangling", open("dangling", O_RDONLY), ENOENT);
    mkdir("realdir", 0755);
    symlink("realdir", "dirsym");
    EXPECT_RET("mkdir through a symlinked parent", mkdir("dirsym/made", 0755), 0);
    EXPECT_RET("it is in the real dir", access("realdir/made", F_OK), 0);
    EXPECT_ERRNO("rmdir a symlink to a dir", rmdir("dirsym"), ENOTDIR);
    EXPECT_ERRNO("mkdir over a dangling symlink", mkdir("dangling", 0755), EEXIST);
    EXPECT_RET("unlink a symlink to a dir", unlink("dirsym"), 0);
    EXPECT_RET("the dir stays", access("realdir", F_OK), 0);
}

static void check_cwd(const char *base)
{
    char buf[PATH_MAX];
    size_t base_len = strlen(base);

    mkdir("cwd", 0755);
    mkdir("cwd/inner", 0755);
    EXPECT_RET("chdir", chdir("cwd/inner"), 0);
    long n = syscall(SYS_getcwd, buf, sizeof(buf));
    EXPECT_RET("getcwd returns its length with the NUL", n, (long)strlen(buf) + 1);
    EXPECT_FACT("getcwd starts with the scratch dir", strncmp(buf, base, base_len) == 0);
    printf("cwd: %s\n", buf + base_len);
    EXPECT_ERRNO("getcwd short buffer", syscall(SYS_getcwd, buf, 5), ERANGE);
    EXPECT_ERRNO("getcwd size 0", syscall(SYS_getcwd, buf, 0), ERANGE);
    EXPECT_ERRNO("getcwd bad buffer", syscall(SYS_getcwd, 8, sizeof(buf)), EFAULT);
    EXPECT_RET("chdir ..", chdir(".."), 0);
    syscall(SYS_getcwd, buf, sizeof(buf));
    printf("cwd: %s\n", buf + base_len);
    EXPECT_ERRNO("chdir into a file", chdir("../orig-missing"), ENOENT);
    guest_file_put("plain", "", 0644);
    EXPECT_ERRNO("chdir to a file", chdir("plain"), ENOTDIR);
    int fd = open("plain", O_RDONLY);
    EXPECT_ERRNO("fchdir to a file", fchdir(fd), ENOTDIR);
    close(fd);
    EXPECT_ERRNO("fchdir closed fd", fchdir(400), EBADF);
    fd = open("inner", O_RDONLY | O_DIRECTORY);
    EXPECT_RET("fchdir", fchdir(fd), 0);
    close(fd);
    syscall(SYS_getcwd, buf, sizeof(buf));
    printf("cwd after fchdir: %s\n", buf + base_len);
    int pfd = open(".", O_PATH);
    EXPECT_RET("chdir ..", chdir(".."), 0);
    EXPECT_RET("fchdir to an O_PATH fd", fchdir(pfd), 0);
    close(pfd);

    /* Remove the cwd: getcwd fails, relative lookups find nothing, .. still works. */
    snprintf(buf, sizeof(buf), "%s/cwd/inner", base);
    EXPECT_RET("rmdir the cwd by absolute path", rmdir(buf), 0);
    EXPECT_ERRNO("getcwd in a removed dir", syscall(SYS_getcwd, buf, sizeof(buf)), ENOENT);
    EXPECT_ERRNO("create in a removed dir", open("new", O_WRONLY | O_CREAT, 0644), ENOENT);
    EXPECT_RET("stat . in a removed dir", access(".", F_OK), 0);
    EXPECT_RET("chdir .. from a removed dir", chdir(".."), 0);
    syscall(SYS_getcwd, buf, sizeof(buf));
    printf("cwd after leaving: %s\n", buf + base_len);
    EXPECT_RET("back to the scratch dir", chdir(base), 0);
}

static void check_mknod(void)
{
    struct stat st;

    mkdir("nodes", 0755);
    CHECK(chdir("nodes") == 0, "chdir nodes: %s", guest_errno_name(errno));
    EXPECT_RET("mknod a FIFO", mknod("fifo", S_IFIFO | 0640, 0), 0);
    lstat("fifo", &st);
    EXPECT_FACT("it is a FIFO", S_ISFIFO(st.st_mode));
    EXPECT_OCTAL("its mode", st.st_mode & 07777, 0640);
    EXPECT_ERRNO("mknod over it", mknod("fifo", S_IFIFO | 0640, 0), EEXIST);
    EXPECT_ERRNO("open its write end with no reader", open("fifo", O_WRONLY | O_NONBLOCK), ENXIO);
    int r = open("fifo", O_RDONLY | O_NONBLOCK);
    EXPECT_FACT("non-blocking read open", r >= 0);
    int w = open("fifo", O_WRONLY | O_NONBLOCK);
    EXPECT_FACT("write open with a reader", w >= 0);
    EXPECT_RET("write into the FIFO", write(w, "fifo!", 5), 5);
    char buf[8];
    EXPECT_RET("read it back", read(r, buf, sizeof(buf)), 5);
    EXPECT_ERRNO("lseek a FIFO", lseek(r, 0, SEEK_SET), ESPIPE);
    close(w);
    close(r);
    EXPECT_RET("mkfifoat", mkfifoat(AT_FDCWD, "fifo2", 0600), 0);
    EXPECT_RET("mknod a regular file", mknod("regular", S_IFREG | 0600, 0), 0);
    lstat("regular", &st);
    EXPECT_FACT("it is a regular file", S_ISREG(st.st_mode) && st.st_size == 0);
    EXPECT_RET("mknod type 0 makes a regular file", mknod("regular0", 0600, 0), 0);
    EXPECT_ERRNO("mknod a dir", mknod("dirnode", S_IFDIR | 0755, 0), EPERM);
    EXPECT_ERRNO("mknod a bad type", mknod("bad", 0170000 | 0600, 0), EINVAL);
    EXPECT_RET("mknodat", mknodat(AT_FDCWD, "fifo3", S_IFIFO | 0600, 0), 0);
    CHECK(chdir("..") == 0, "chdir ..: %s", guest_errno_name(errno));
    list_dir("nodes", 4096);
}

int main(int argc, char **argv)
{
    char dir[GUEST_TMPDIR_SIZE];

    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(022);
    guest_tmpdir_make(dir, argc > 1 ? argv[1] : "/tmp");
    check_mkdir_rmdir_unlink();
    check_getdents();
    check_rename();
    check_links();
    check_symlinks();
    check_cwd(dir);
    check_mknod();
    guest_tmpdir_remove(dir);
    return guest_ok();
}
