/* Permission checks for an unprivileged guest: root prepares files, then a child drops to
 * 65534:65534 with no supplementary groups and meets EACCES (read, write, search, create) and
 * EPERM (chmod, chown, utimes of another's file) and the sticky directory's deletion rules. */
#include "guest_files.h"

#include <grp.h>
#include <sys/wait.h>

#define NOBODY 65534
#define OTHER 1000

static void prepare(void)
{
    mkdir("private", 0700);
    guest_file_put("private/secret", "s", 0644);
    guest_file_put("root-0600", "r", 0600);
    guest_file_put("root-0644", "r", 0644);
    mkdir("noexec", 0644);
    guest_file_put("noexec/inside", "i", 0644);
    mkdir("readonly-dir", 0755);
    guest_file_put("readonly-dir/victim", "v", 0666);
    mkdir("sticky", 01777);
    guest_file_put("sticky/others", "o", 0666);
    chown("sticky/others", OTHER, OTHER);
    mkdir("open", 0777);
    guest_file_put("open/others", "o", 0666);
    chown("open/others", OTHER, OTHER);
    mkdir("mine", 0755);
    chown("mine", NOBODY, NOBODY);
    guest_file_put("group-rw", "g", 0060);
    chown("group-rw", 0, NOBODY);
}

static void drop_privileges(void)
{
    CHECK(setgroups(0, NULL) == 0, "setgroups: %s", guest_errno_name(errno));
    CHECK(setresgid(NOBODY, NOBODY, NOBODY) == 0, "setresgid: %s", guest_errno_name(errno));
    CHECK(setresuid(NOBODY, NOBODY, NOBODY) == 0, "setresuid: %s", guest_errno_name(errno));
    printf("now uid %u gid %u\n", getuid(), getgid());
}

static void check_as_nobody(void)
{
    char buf[8];
    struct stat st;

    /* Directories: no search, no read, no write. */
    EXPECT_ERRNO("open a file in a 0700 dir", open("private/secret", O_RDONLY), EACCES);
    EXPECT_ERRNO("stat a file in a 0700 dir", stat("private/secret", &st), EACCES);
    EXPECT_ERRNO("list a 0700 dir", open("private", O_RDONLY | O_DIRECTORY), EACCES);
    EXPECT_RET("stat the 0700 dir itself", stat("private", &st), 0);
    EXPECT_ERRNO("chdir into a 0700 dir", chdir("private"), EACCES);
    EXPECT_ERRNO("search a 0644 dir", stat("noexec/inside", &st), EACCES);
    int fd = open("noexec", O_RDONLY | O_DIRECTORY);
    EXPECT_FACT("a 0644 dir can be listed", fd >= 0);
    close(fd);
    EXPECT_ERRNO("create in a 0755 root dir", open("readonly-dir/new", O_WRONLY | O_CREAT, 0644),
                 EACCES);
    EXPECT_ERRNO("mkdir in a 0755 root dir", mkdir("readonly-dir/new", 0755), EACCES);
    EXPECT_ERRNO("unlink in a 0755 root dir", unlink("readonly-dir/victim"), EACCES);
    EXPECT_ERRNO("rename within a 0755 root dir",
                 rename("readonly-dir/victim", "readonly-dir/moved"), EACCES);
    fd = open("readonly-dir/victim", O_WRONLY);
    EXPECT_FACT("a 0666 file is writable even in a read-only dir", fd >= 0);
    close(fd);

    /* Files: read and write bits, access(2). */
    EXPECT_ERRNO("open a 0600 file for reading", open("root-0600", O_RDONLY), EACCES);
    EXPECT_ERRNO("open a 0644 file for writing", open("root-0644", O_WRONLY), EACCES);
    EXPECT_ERRNO("open a 0644 file O_TRUNC", open("root-0644", O_RDONLY | O_TRUNC), EACCES);
    fd = open("root-0644", O_RDONLY);
    EXPECT_FACT("open a 0644 file for reading", fd >= 0);
    EXPECT_RET("read it", read(fd, buf, sizeof(buf)), 1);
    close(fd);
    EXPECT_ERRNO("truncate a 0644 file", truncate("root-0644", 0), EACCES);
    EXPECT_ERRNO("access R_OK on 0600", access("root-0600", R_OK), EACCES);
    EXPECT_ERRNO("access W_OK on 0644", access("root-0644", W_OK), EACCES);
    EXPECT_RET("access R_OK on 0644", access("root-0644", R_OK), 0);
    EXPECT_ERRNO("access X_OK on 0644", access("root-0644", X_OK), EACCES);
    fd = open("group-rw", O_RDWR);
    EXPECT_FACT("group bits grant a 0060 file to its group", fd >= 0);
    close(fd);

    /* Ownership: only the owner (or root) changes modes and times. */
    EXPECT_ERRNO("chmod another's file", chmod("root-0644", 0666), EPERM);
    EXPECT_ERRNO("chown another's file to me", chown("root-0644", NOBODY, NOBODY), EPERM);
    struct timespec times[2] = {{1, 0}, {2, 0}};
    EXPECT_ERRNO("explicit times on another's file", utimensat(AT_FDCWD, "root-0644", times, 0),
                 EPERM);
    EXPECT_ERRNO("now on another's read-only file", utimensat(AT_FDCWD, "root-0644", NULL, 0),
                 EACCES);
    EXPECT_RET("now on a file I may write", utimensat(AT_FDCWD, "open/others", NULL, 0), 0);
    guest_file_put("mine/own", "m", 0644);
    EXPECT_RET("chmod my own file", chmod("mine/own", 0600), 0);
    EXPECT_RET("explicit times on my own file", utimensat(AT_FDCWD, "mine/own", times, 0), 0);
    EXPECT_ERRNO("give my file away", chown("mine/own", 0, -1), EPERM);
    EXPECT_ERRNO("chown my file to a group I'm not in", chown("mine/own", -1, 0), EPERM);
    EXPECT_RET("chown my file to my own ids", chown("mine/own", NOBODY, NOBODY), 0);
    EXPECT_ERRNO("chmod another's dir", chmod("open", 0700), EPERM);
    EXPECT_RET("chmod set-gid on my own file", chmod("mine/own", 02755), 0);
    stat("mine/own", &st);
    EXPECT_OCTAL("set-gid kept (I'm in the file's group)", st.st_mode & 07777, 02755);

    /* Sticky dir: anyone creates, only the owner (of file or dir) removes or renames. */
    guest_file_put("sticky/mine", "m", 0666);
    EXPECT_ERRNO("unlink another's file in a sticky dir", unlink("sticky/others"), EPERM);
    EXPECT_ERRNO("rename another's file in a sticky dir", rename("sticky/others", "sticky/x"),
                 EPERM);
    EXPECT_ERRNO("rename over another's file in a sticky dir",
                 rename("sticky/mine", "sticky/others"), EPERM);
    EXPECT_RET("rename my own file in a sticky dir", rename("sticky/mine", "sticky/mine2"), 0);
    EXPECT_RET("unlink my own file in a sticky dir", unlink("sticky/mine2"), 0);
    fd = open("sticky/others", O_WRONLY);
    EXPECT_FACT("another's 0666 file in a sticky dir is still writable", fd >= 0);
    close(fd);
    EXPECT_RET("unlink another's file in a plain 0777 dir", unlink("open/others"), 0);

    /* Credentials cannot come back. */
    EXPECT_ERRNO("setresuid back to root", setresuid(0, 0, 0), EPERM);
    EXPECT_ERRNO("setresgid back to root", setresgid(0, 0, 0), EPERM);
}

int main(int argc, char **argv)
{
    char dir[GUEST_TMPDIR_SIZE];

    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(0); /* the modes below are exact */
    guest_tmpdir_make(dir, argc > 1 ? argv[1] : "/tmp");
    /* mkdtemp makes 0700: nobody must be able to reach the scratch dir. */
    CHECK(chmod(dir, 0755) == 0, "chmod the scratch dir: %s", guest_errno_name(errno));
    prepare();
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", guest_errno_name(errno));
    if (pid == 0) {
        drop_privileges();
        check_as_nobody();
        fflush(stdout);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", guest_errno_name(errno));
    EXPECT_FACT("the unprivileged checks passed", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    guest_tmpdir_remove(dir);
    return guest_ok();
}
