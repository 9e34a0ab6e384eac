/* Shared file mappings: a MAP_SHARED mapping of a /dev/shm (tmpfs) file is the file's data, seen
 * by write(2)/read(2), by a forked child's writes through its own mapping, and by a second
 * mapping; a read-only shared mapping of a host file reads its bytes; and mmap(2)'s access
 * rules (EACCES for a writable shared mapping of a read-only fd). */
#include "guest.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    char path[] = "/dev/shm/guest-shared-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_FACT("mkstemp in /dev/shm", fd >= 0);
    EXPECT_RET("ftruncate to two pages", ftruncate(fd, 8192), 0);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    EXPECT_FACT("shared writable mapping", m != MAP_FAILED);

    /* A write through the mapping is the file's data. */
    memcpy(m, "mapped", 6);
    char buf[16] = {0};
    EXPECT_RET("pread sees the mapping's write", pread(fd, buf, 6, 0), 6);
    printf("read back: %s\n", buf);

    /* write(2) shows through the mapping, even into a page no one touched yet. */
    EXPECT_RET("pwrite into page 2", pwrite(fd, "written", 7, 4096), 7);
    printf("mapping sees: %.7s\n", m + 4096);

    /* A child's writes through the inherited mapping reach the parent. */
    pid_t pid = fork();
    if (pid == 0) {
        memcpy(m + 100, "child", 5);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child wrote: %.5s\n", m + 100);

    /* A second mapping of the same file shares the pages. */
    char *m2 = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    EXPECT_FACT("second shared mapping", m2 != MAP_FAILED);
    m[200] = 'Z';
    printf("second mapping sees: %c\n", m2[200]);
    EXPECT_RET("msync", msync(m, 8192, MS_SYNC), 0);
    EXPECT_RET("munmap second", munmap(m2, 4096), 0);

    /* A private mapping is a copy: its writes stay its own. */
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    EXPECT_FACT("private mapping", p != MAP_FAILED);
    p[0] = 'P';
    printf("private write leaves the file: %c, shared mapping: %c\n", (char)(pread(fd, buf, 1, 0) == 1 ? buf[0] : '?'), m[0]);
    munmap(p, 4096);
    munmap(m, 8192);
    close(fd);
    unlink(path);

    /* mmap's access rules on a read-only fd. */
    int ro = open("/etc/passwd", O_RDONLY);
    EXPECT_FACT("open /etc/passwd", ro >= 0);
    errno = 0;
    void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    EXPECT_FACT("shared writable mapping of a read-only fd fails", w == MAP_FAILED);
    printf("its errno: %s\n", guest_errno_name(errno));
    char *r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
    EXPECT_FACT("read-only shared mapping of a host file", r != MAP_FAILED);
    char first[5] = {0};
    EXPECT_RET("pread the file", pread(ro, first, 5, 0), 5);
    printf("mapping matches the file: %s\n", memcmp(r, first, 5) == 0 ? "yes" : "no");
    munmap(r, 4096);
    close(ro);
    guest_ok();
    return 0;
}
