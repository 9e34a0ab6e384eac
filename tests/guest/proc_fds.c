/* /proc/self/fd, fdinfo, exe, cwd, comm and oom_score_adj: the fd directory lists exactly the
 * open fds, its links name the files and open the very same ones, writable files take writes. */
#include "guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char *read_small(const char *path)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0, "open %s: %s", path, guest_errno_name(errno));
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    CHECK(n >= 0, "read %s", path);
    buf[n] = '\0';
    close(fd);
    return buf;
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0, "open %s for writing: %s", path, guest_errno_name(errno));
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s: %s", path,
          guest_errno_name(errno));
    close(fd);
}

int main(int argc, char **argv)
{
    (void)argc;
    DIR *d = opendir("/proc/self/fd");
    CHECK(d, "opendir: %s", guest_errno_name(errno));
    int dir_fd = dirfd(d);
    bool seen[4] = {false};
    int others = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd >= 0 && fd <= 2)
            seen[fd] = true;
        else if (fd == dir_fd)
            seen[3] = true;
        else
            others++;
        CHECK(e->d_type == DT_LNK, "fd %s is not a link", e->d_name);
    }
    closedir(d);
    EXPECT_FACT("fd lists 0 1 2 and the directory's fd",
                seen[0] && seen[1] && seen[2] && seen[3] && others == 0);

    char exe[PATH_MAX], real[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    CHECK(n > 0, "readlink exe: %s", guest_errno_name(errno));
    exe[n] = '\0';
    CHECK(realpath(argv[0], real), "realpath %s", argv[0]);
    EXPECT_FACT("exe is argv[0]'s realpath", strcmp(exe, real) == 0);

    /* A file opened twice: by its name and through its fd link, the same inode. */
    int fd = open(real, O_RDONLY);
    CHECK(fd >= 0, "open exe");
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof(target) - 1);
    CHECK(n > 0, "readlink fd");
    target[n] = '\0';
    EXPECT_FACT("fd link names the file", strcmp(target, real) == 0);
    int again = open(link, O_RDONLY);
    CHECK(again >= 0, "open %s: %s", link, guest_errno_name(errno));
    struct stat a, b;
    CHECK(fstat(fd, &a) == 0 && fstat(again, &b) == 0, "fstat");
    EXPECT_FACT("fd link opens the same file", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    close(again);
    CHECK(lseek(fd, 100, SEEK_SET) == 100, "lseek");
    snprintf(link, sizeof(link), "/proc/self/fdinfo/%d", fd);
    char *info = read_small(link);
    EXPECT_FACT("fdinfo pos is the offset", strncmp(info, "pos:\t100\nflags:\t", 16) == 0);
    close(fd);
    EXPECT_FACT("a closed fd's link is gone", readlink(link, target, sizeof(target)) < 0);

    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof(cwd)), "getcwd");
    n = readlink("/proc/self/cwd", target, sizeof(target) - 1);
    CHECK(n > 0, "readlink cwd");
    target[n] = '\0';
    EXPECT_FACT("cwd link is getcwd", strcmp(target, cwd) == 0);

    write_file("/proc/self/comm", "renamed");
    char comm[17] = {0};
    prctl(PR_GET_NAME, comm);
    printf("comm after write: %s\n", comm);
    printf("comm file: %s", read_small("/proc/self/comm"));
    write_file("/proc/self/oom_score_adj", "500\n");
    printf("oom_score_adj: %s", read_small("/proc/self/oom_score_adj"));
    errno = 0;
    int bad = open("/proc/self/oom_score_adj", O_WRONLY);
    CHECK(bad >= 0, "open oom_score_adj");
    EXPECT_ERRNO("oom_score_adj out of range", write(bad, "5000", 4), EINVAL);
    close(bad);
    /* A child starts with its parent's value (fork copies the signal struct). */
    fflush(stdout);
    pid_t child = fork();
    CHECK(child >= 0, "fork");
    if (child == 0) {
        printf("child's oom_score_adj: %s", read_small("/proc/self/oom_score_adj"));
        fflush(stdout);
        _exit(0);
    }
    int st;
    CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child");

    char *limits = read_small("/proc/self/limits");
    static const char head[] = "Limit                     Soft Limit           Hard Limit"
                               "           Units     \n";
    EXPECT_FACT("limits header", strncmp(limits, head, sizeof(head) - 1) == 0);
    return guest_ok();
}
