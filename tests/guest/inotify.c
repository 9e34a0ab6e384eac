/* inotify(7): instances and their flags, add_watch's errors and repeated watches, the events
 * each file operation makes on a watched directory and on a watched file, rename cookies,
 * IN_ONESHOT, rm_watch's IN_IGNORED, IN_EXCL_UNLINK, read(2)'s record layout and EINVAL for a
 * small buffer, FIONREAD, nonblocking EAGAIN, a blocking read woken by another process, and
 * poll/select readiness. Names printed are relative to a scratch dir. */
#include "guest_files.h"

#include <dirent.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

#define BUF_SIZE 8192

static const struct {
    uint32_t bit;
    const char *name;
} mask_names[] = {
    {IN_ACCESS, "ACCESS"},
    {IN_MODIFY, "MODIFY"},
    {IN_ATTRIB, "ATTRIB"},
    {IN_CLOSE_WRITE, "CLOSE_WRITE"},
    {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"},
    {IN_OPEN, "OPEN"},
    {IN_MOVED_FROM, "MOVED_FROM"},
    {IN_MOVED_TO, "MOVED_TO"},
    {IN_CREATE, "CREATE"},
    {IN_DELETE, "DELETE"},
    {IN_DELETE_SELF, "DELETE_SELF"},
    {IN_MOVE_SELF, "MOVE_SELF"},
    {IN_UNMOUNT, "UNMOUNT"},
    {IN_Q_OVERFLOW, "Q_OVERFLOW"},
    {IN_IGNORED, "IGNORED"},
    {IN_ISDIR, "ISDIR"},
};

/* Cookies differ from run to run: each nonzero one is printed as the order it first appeared. */
static uint32_t cookies[64];
static int ncookies;

static int cookie_index(uint32_t c)
{
    for (int i = 0; i < ncookies; i++)
        if (cookies[i] == c)
            return i + 1;
    CHECK(ncookies < 64, "too many cookies");
    cookies[ncookies++] = c;
    return ncookies;
}

static void print_event(const struct inotify_event *ev)
{
    printf("  wd=%d", ev->wd);
    const char *sep = " ";
    for (size_t i = 0; i < sizeof(mask_names) / sizeof(mask_names[0]); i++) {
        if (ev->mask & mask_names[i].bit) {
            printf("%s%s", sep, mask_names[i].name);
            sep = "|";
        }
    }
    if (ev->cookie)
        printf(" cookie#%d", cookie_index(ev->cookie));
    if (ev->len)
        printf(" name=%s len=%u", ev->name, ev->len);
    printf("\n");
}

/* Reads and prints every queued event of the nonblocking instance `fd`; returns how many. */
static int drain(int fd, const char *what)
{
    char buf[BUF_SIZE] __attribute__((aligned(__alignof__(struct inotify_event))));
    int count = 0;
    printf("%s:\n", what);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0) {
            CHECK(errno == EAGAIN, "read: %s", guest_errno_name(errno));
            break;
        }
        for (ssize_t off = 0; off < n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
            CHECK(ev->len % sizeof(struct inotify_event) == 0, "len %u not padded", ev->len);
            for (uint32_t i = ev->len ? (uint32_t)strlen(ev->name) : 0; i < ev->len; i++)
                CHECK(ev->name[i] == '\0', "padding byte %u of %s is not NUL", i, ev->name);
            print_event(ev);
            off += (ssize_t)(sizeof(*ev) + ev->len);
            count++;
        }
    }
    if (!count)
        printf("  (none)\n");
    return count;
}

static void touch_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(fd >= 0, "open %s: %s", path, guest_errno_name(errno));
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s", path);
    close(fd);
}

static void test_init(void)
{
    EXPECT_ERRNO("inotify_init1 with a bad flag", inotify_init1(0x1), EINVAL);
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    CHECK(fd >= 0, "inotify_init1: %s", guest_errno_name(errno));
    EXPECT_RET("IN_CLOEXEC sets FD_CLOEXEC", fcntl(fd, F_GETFD), FD_CLOEXEC);
    EXPECT_RET("IN_NONBLOCK sets O_NONBLOCK", fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE),
               O_NONBLOCK | O_RDONLY);
    char buf[256];
    EXPECT_ERRNO("read with nothing queued", read(fd, buf, sizeof(buf)), EAGAIN);
    EXPECT_ERRNO("write to an instance", write(fd, "x", 1), EBADF);
    int avail = -1;
    EXPECT_RET("FIONREAD when empty", ioctl(fd, FIONREAD, &avail), 0);
    EXPECT_RET("  bytes", avail, 0);
    close(fd);
    fd = inotify_init();
    CHECK(fd >= 0, "inotify_init: %s", guest_errno_name(errno));
    EXPECT_RET("inotify_init is blocking", fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    EXPECT_RET("inotify_init is not close-on-exec", fcntl(fd, F_GETFD), 0);
    close(fd);
}

static void test_add_watch_errors(void)
{
    int fd = inotify_init1(IN_NONBLOCK);
    guest_file_put("plain", "p", 0644);
    mkdir("dir", 0755);
    CHECK(symlink("plain", "link") == 0, "symlink");
    EXPECT_ERRNO("empty mask", inotify_add_watch(fd, "plain", 0), EINVAL);
    EXPECT_ERRNO("unknown mask bit", inotify_add_watch(fd, "plain", IN_MODIFY | 0x1000), EINVAL);
    EXPECT_ERRNO("bad fd", inotify_add_watch(99, "plain", IN_MODIFY), EBADF);
    EXPECT_ERRNO("bad mask before bad fd", inotify_add_watch(99, "plain", 0), EINVAL);
    int other = open("plain", O_RDONLY);
    EXPECT_ERRNO("not an inotify fd", inotify_add_watch(other, "plain", IN_MODIFY), EINVAL);
    EXPECT_ERRNO("rm_watch on not an inotify fd", inotify_rm_watch(other, 1), EINVAL);
    close(other);
    EXPECT_ERRNO("missing file", inotify_add_watch(fd, "missing", IN_MODIFY), ENOENT);
    EXPECT_ERRNO("empty path", inotify_add_watch(fd, "", IN_MODIFY), ENOENT);
    EXPECT_ERRNO("IN_ONLYDIR on a file", inotify_add_watch(fd, "plain", IN_MODIFY | IN_ONLYDIR),
                 ENOTDIR);
    EXPECT_ERRNO("IN_MASK_ADD with IN_MASK_CREATE",
                 inotify_add_watch(fd, "plain", IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE), EINVAL);
    EXPECT_RET("watch plain", inotify_add_watch(fd, "plain", IN_MODIFY), 1);
    EXPECT_RET("plain again: the same wd", inotify_add_watch(fd, "plain", IN_ATTRIB), 1);
    EXPECT_RET("through a symlink: the same wd", inotify_add_watch(fd, "link", IN_ATTRIB), 1);
    EXPECT_RET("IN_DONT_FOLLOW watches the link",
               inotify_add_watch(fd, "link", IN_ATTRIB | IN_DONT_FOLLOW), 2);
    CHECK(link("plain", "hard") == 0, "link");
    EXPECT_RET("through a hard link: the same wd", inotify_add_watch(fd, "hard", IN_ATTRIB), 1);
    EXPECT_ERRNO("IN_MASK_CREATE on a watched inode",
                 inotify_add_watch(fd, "plain", IN_MODIFY | IN_MASK_CREATE), EEXIST);
    EXPECT_RET("IN_ONLYDIR on a dir", inotify_add_watch(fd, "dir", IN_CREATE | IN_ONLYDIR), 3);
    EXPECT_RET("a mask of flags only", inotify_add_watch(fd, ".", IN_ONESHOT), 4);
    EXPECT_RET("rm_watch 3", inotify_rm_watch(fd, 3), 0);
    EXPECT_ERRNO("rm_watch 3 again", inotify_rm_watch(fd, 3), EINVAL);
    EXPECT_ERRNO("rm_watch of an unknown wd", inotify_rm_watch(fd, 77), EINVAL);
    EXPECT_ERRNO("rm_watch on a bad fd", inotify_rm_watch(99, 1), EBADF);
    EXPECT_RET("wds are not reused", inotify_add_watch(fd, "dir", IN_CREATE), 5);
    drain(fd, "after the watch calls");
    close(fd);
    unlink("plain");
    unlink("hard");
    unlink("link");
    rmdir("dir");
}

/* Everything a watched directory hears about its children. */
static void test_directory_events(void)
{
    int fd = inotify_init1(IN_NONBLOCK);
    mkdir("d", 0755);
    EXPECT_RET("watch d", inotify_add_watch(fd, "d", IN_ALL_EVENTS), 1);
    drain(fd, "nothing yet");

    int f = open("d/f", O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(f >= 0, "create d/f");
    CHECK(write(f, "hello", 5) == 5, "write");
    CHECK(write(f, "again", 5) == 5, "write");
    close(f);
    drain(fd, "create, two writes (one MODIFY), close");

    char buf[16];
    f = open("d/f", O_RDONLY);
    CHECK(read(f, buf, 3) == 3, "read");
    CHECK(read(f, buf, sizeof(buf)) == 7, "read");
    CHECK(read(f, buf, sizeof(buf)) == 0, "read at the end");
    close(f);
    drain(fd, "open, reads (none at the end), close without writing");

    f = open("d/f", O_RDWR);
    close(f);
    drain(fd, "open O_RDWR and close without writing");

    CHECK(chmod("d/f", 0600) == 0, "chmod");
    CHECK(chown("d/f", 0, 0) == 0, "chown");
    CHECK(chown("d/f", -1, -1) == 0, "chown to nothing");
    CHECK(utimensat(AT_FDCWD, "d/f", NULL, 0) == 0, "utimensat");
    struct timespec omit_mtime[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    CHECK(utimensat(AT_FDCWD, "d/f", omit_mtime, 0) == 0, "utimensat atime only");
    struct timespec omit_atime[2] = {{0, UTIME_OMIT}, {5, 0}};
    CHECK(utimensat(AT_FDCWD, "d/f", omit_atime, 0) == 0, "utimensat mtime only");
    drain(fd, "chmod, chown, chown -1 -1, utimes, atime only, mtime only");

    CHECK(truncate("d/f", 2) == 0, "truncate");
    f = open("d/f", O_WRONLY | O_TRUNC);
    CHECK(ftruncate(f, 1) == 0, "ftruncate");
    close(f);
    drain(fd, "truncate, open O_TRUNC, ftruncate, close");

    CHECK(mkdir("d/sub", 0755) == 0, "mkdir");
    CHECK(symlink("f", "d/sym") == 0, "symlink");
    CHECK(mknod("d/fifo", S_IFIFO | 0644, 0) == 0, "mknod");
    CHECK(link("d/f", "d/f2") == 0, "link");
    drain(fd, "mkdir, symlink, mknod, link");

    CHECK(rename("d/f2", "d/f3") == 0, "rename");
    CHECK(rename("d/sub", "d/sub2") == 0, "rename a dir");
    CHECK(rename("d/f3", "d/f") == 0, "rename over a link to the same file");
    CHECK(rename("d/f3", "d/sym") == 0, "rename over another file");
    drain(fd, "renames (cookies pair MOVED_FROM with MOVED_TO)");

    DIR *dir = opendir("d/sub2");
    CHECK(dir != NULL, "opendir");
    closedir(dir);
    dir = opendir("d");
    while (readdir(dir))
        ;
    closedir(dir);
    drain(fd, "list d/sub2, then d itself");

    CHECK(unlink("d/sym") == 0, "unlink");
    CHECK(unlink("d/fifo") == 0, "unlink");
    CHECK(rmdir("d/sub2") == 0, "rmdir");
    drain(fd, "unlink, unlink, rmdir");

    /* An open file keeps reporting to its old directory after it is unlinked. */
    f = open("d/f", O_WRONLY);
    CHECK(unlink("d/f") == 0, "unlink the open file");
    CHECK(write(f, "x", 1) == 1, "write");
    close(f);
    drain(fd, "unlink an open file, write to it, close");

    CHECK(rmdir("d") == 0, "rmdir d");
    drain(fd, "rmdir the watched dir");
    close(fd);
}

/* What a watched file hears about itself, and who else hears what. */
static void test_file_events(void)
{
    int fd = inotify_init1(IN_NONBLOCK);
    mkdir("a", 0755);
    mkdir("b", 0755);
    guest_file_put("a/f", "1", 0644);
    EXPECT_RET("watch a", inotify_add_watch(fd, "a", IN_ALL_EVENTS), 1);
    EXPECT_RET("watch b", inotify_add_watch(fd, "b", IN_MOVED_TO | IN_CREATE), 2);
    EXPECT_RET("watch a/f", inotify_add_watch(fd, "a/f", IN_ALL_EVENTS), 3);
    EXPECT_RET("watch a/f (a mask with no ATTRIB)",
               inotify_add_watch(fd, "a/f", IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF), 3);
    touch_write("a/f", "2");
    CHECK(chmod("a/f", 0600) == 0, "chmod");
    drain(fd, "write and chmod: the dir hears the name, the file none; ATTRIB unwatched");

    EXPECT_RET("IN_MASK_ADD IN_ATTRIB", inotify_add_watch(fd, "a/f", IN_ATTRIB | IN_MASK_ADD), 3);
    CHECK(chmod("a/f", 0644) == 0, "chmod");
    CHECK(link("a/f", "b/g") == 0, "link");
    drain(fd, "chmod, link into b (ATTRIB on the file, CREATE in b)");

    CHECK(rename("a/f", "b/f") == 0, "rename across dirs");
    drain(fd, "rename a/f to b/f");
    CHECK(rename("b/f", "a/f") == 0, "rename back");
    drain(fd, "rename b/f to a/f (b doesn't watch MOVED_FROM)");

    CHECK(unlink("b/g") == 0, "unlink one link");
    drain(fd, "unlink the other link");
    CHECK(unlink("a/f") == 0, "unlink the last link");
    drain(fd, "unlink the last link: ATTRIB, DELETE_SELF, IGNORED, then DELETE");

    guest_file_put("a/held", "h", 0644);
    EXPECT_RET("watch a/held", inotify_add_watch(fd, "a/held", IN_DELETE_SELF | IN_CLOSE), 4);
    int held = open("a/held", O_RDONLY);
    CHECK(unlink("a/held") == 0, "unlink an open file");
    drain(fd, "unlink an open watched file");
    close(held);
    drain(fd, "close it: now it is gone");

    mkdir("a/sub", 0755);
    guest_file_put("a/victim", "v", 0644);
    guest_file_put("a/src", "s", 0644);
    EXPECT_RET("watch a/sub", inotify_add_watch(fd, "a/sub", IN_ALL_EVENTS), 5);
    EXPECT_RET("watch a/victim", inotify_add_watch(fd, "a/victim", IN_ALL_EVENTS), 6);
    drain(fd, "setup");
    CHECK(rename("a/src", "a/victim") == 0, "rename over a watched file");
    drain(fd, "rename over a watched file");
    CHECK(rename("a/sub", "b/sub") == 0, "move a watched dir");
    CHECK(rmdir("b/sub") == 0, "rmdir it");
    drain(fd, "move a watched dir into b, remove it");

    CHECK(renameat2(AT_FDCWD, "a/victim", AT_FDCWD, "b", RENAME_EXCHANGE) == 0, "exchange");
    drain(fd, "exchange a/victim with the dir b");
    CHECK(renameat2(AT_FDCWD, "a/victim", AT_FDCWD, "b", RENAME_EXCHANGE) == 0, "exchange");
    unlink("a/victim");
    rmdir("a");
    rmdir("b");
    drain(fd, "cleanup");
    close(fd);
}

static void test_oneshot_and_exclude(void)
{
    int fd = inotify_init1(IN_NONBLOCK);
    mkdir("o", 0755);
    guest_file_put("o/f", "", 0644);
    EXPECT_RET("IN_ONESHOT watch", inotify_add_watch(fd, "o/f", IN_MODIFY | IN_ONESHOT), 1);
    touch_write("o/f", "1");
    touch_write("o/f", "2");
    drain(fd, "two writes under IN_ONESHOT");
    EXPECT_ERRNO("the oneshot watch is gone", inotify_rm_watch(fd, 1), EINVAL);
    EXPECT_RET("a new watch after it", inotify_add_watch(fd, "o/f", IN_MODIFY), 2);
    EXPECT_RET("rm_watch", inotify_rm_watch(fd, 2), 0);
    touch_write("o/f", "3");
    drain(fd, "rm_watch then a write");

    EXPECT_RET("watch o with IN_EXCL_UNLINK",
               inotify_add_watch(fd, "o", IN_MODIFY | IN_CLOSE_WRITE | IN_EXCL_UNLINK), 3);
    int plain = inotify_init1(IN_NONBLOCK);
    EXPECT_RET("watch o without it", inotify_add_watch(plain, "o", IN_MODIFY | IN_CLOSE_WRITE), 1);
    int f = open("o/f", O_WRONLY);
    CHECK(unlink("o/f") == 0, "unlink");
    CHECK(write(f, "x", 1) == 1, "write");
    close(f);
    drain(fd, "IN_EXCL_UNLINK: writes to an unlinked child");
    drain(plain, "without IN_EXCL_UNLINK");
    close(plain);
    rmdir("o");
    drain(fd, "rmdir o");
    close(fd);
}

static void test_read_layout(void)
{
    int fd = inotify_init1(IN_NONBLOCK);
    mkdir("r", 0755);
    EXPECT_RET("watch r", inotify_add_watch(fd, "r", IN_CREATE), 1);
    const char *names[] = {"a", "fifteen-chars-x", "sixteen-chars-xx",
                           "a-name-of-40-characters-for-the-padding"};
    for (int i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof(path), "r/%s", names[i]);
        CHECK(mkdir(path, 0755) == 0, "mkdir %s", path);
    }
    int avail = -1;
    EXPECT_RET("FIONREAD", ioctl(fd, FIONREAD, &avail), 0);
    printf("  bytes: %d\n", avail);
    char buf[256] __attribute__((aligned(__alignof__(struct inotify_event))));
    EXPECT_ERRNO("read into 16 bytes", read(fd, buf, 16), EINVAL);
    EXPECT_ERRNO("read into 31 bytes", read(fd, buf, 31), EINVAL);
    EXPECT_ERRNO("read into 0 bytes", read(fd, buf, 0), EINVAL);
    EXPECT_RET("read into 32 bytes: one event", read(fd, buf, 32), 32);
    print_event((struct inotify_event *)buf);
    EXPECT_RET("read into 40 bytes: the next needs 32", read(fd, buf, 40), 32);
    print_event((struct inotify_event *)buf);
    EXPECT_RET("read into 90 bytes: one of 48 fits, then not 72", read(fd, buf, 90), 48);
    print_event((struct inotify_event *)buf);
    EXPECT_RET("FIONREAD", ioctl(fd, FIONREAD, &avail), 0);
    printf("  bytes: %d\n", avail);
    drain(fd, "the rest");
    for (int i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof(path), "r/%s", names[i]);
        rmdir(path);
    }
    rmdir("r");
    close(fd);
}

static void test_blocking_and_poll(void)
{
    int fd = inotify_init();
    mkdir("p", 0755);
    EXPECT_RET("watch p", inotify_add_watch(fd, "p", IN_CREATE), 1);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    EXPECT_RET("poll with nothing queued", poll(&pfd, 1, 0), 0);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(fd, &rs);
    struct timeval tv = {0, 0};
    EXPECT_RET("select with nothing queued", select(fd + 1, &rs, NULL, NULL, &tv), 0);

    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        guest_file_put("p/late", "", 0644);
        _exit(0);
    }
    char buf[256] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n = read(fd, buf, sizeof(buf));
    EXPECT_RET("a blocking read waits for the event", n, 32);
    print_event((struct inotify_event *)buf);
    int status;
    waitpid(pid, &status, 0);

    pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        guest_file_put("p/later", "", 0644);
        _exit(0);
    }
    pfd.revents = 0;
    EXPECT_RET("poll waits for the event", poll(&pfd, 1, 5000), 1);
    EXPECT_RET("  revents", pfd.revents, POLLIN);
    FD_ZERO(&rs);
    FD_SET(fd, &rs);
    tv = (struct timeval){0, 0};
    EXPECT_RET("select sees it readable", select(fd + 1, &rs, NULL, NULL, &tv), 1);
    waitpid(pid, &status, 0);
    n = read(fd, buf, sizeof(buf));
    EXPECT_RET("read it", n, 32);
    print_event((struct inotify_event *)buf);
    unlink("p/late");
    unlink("p/later");
    rmdir("p");
    close(fd);
}

/* Watching needs read permission on the object. */
static void test_eacces(void)
{
    guest_file_put("secret", "s", 0600);
    guest_file_put("public", "p", 0644);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        CHECK(setgroups(0, NULL) == 0, "setgroups");
        CHECK(setresgid(65534, 65534, 65534) == 0, "setresgid");
        CHECK(setresuid(65534, 65534, 65534) == 0, "setresuid");
        int fd = inotify_init();
        EXPECT_ERRNO("watch a 0600 file of root's", inotify_add_watch(fd, "secret", IN_MODIFY),
                     EACCES);
        EXPECT_RET("watch a 0644 file of root's", inotify_add_watch(fd, "public", IN_MODIFY), 1);
        fflush(stdout);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "child failed");
    unlink("secret");
    unlink("public");
}

int main(int argc, char **argv)
{
    char dir[GUEST_TMPDIR_SIZE];

    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(022);
    guest_tmpdir_make(dir, argc > 1 ? argv[1] : "/tmp");
    CHECK(chmod(dir, 0755) == 0, "chmod the scratch dir");
    test_init();
    test_add_watch_errors();
    test_directory_events();
    test_file_events();
    test_oneshot_and_exclude();
    test_read_layout();
    test_blocking_and_poll();
    test_eacces();
    guest_tmpdir_remove(dir);
    return guest_ok();
}
