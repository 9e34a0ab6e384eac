/* clone(CLONE_VM) without CLONE_THREAD: a separate process sharing the caller's memory (and,
 * with CLONE_FILES, its fd table). Its writes are the parent's; it has its own pid and parent;
 * it can exec (leaving the shared address space) and is waited for as any child. */
#include "guest.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define STACK_SIZE (256 * 1024)

static volatile int shared_word;
static volatile pid_t child_saw_pid, child_saw_ppid;
static int child_fd = -1;
static char self_path[256];

static int child_write(void *arg)
{
    shared_word = *(int *)arg;
    child_saw_pid = getpid();
    child_saw_ppid = getppid();
    return 5;
}

static int child_open(void *arg)
{
    (void)arg;
    child_fd = open("/dev/null", O_RDONLY);
    return child_fd >= 0 ? 0 : 1;
}

static int child_exec(void *arg)
{
    (void)arg;
    char *argv[] = {self_path, "exec-child", NULL};
    execv(self_path, argv);
    return 99;
}

static pid_t start(int (*fn)(void *), void *arg, int flags)
{
    char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                       0);
    CHECK(stack != MAP_FAILED, "mmap");
    pid_t pid = clone(fn, stack + STACK_SIZE, flags, arg);
    CHECK(pid > 0, "clone: %s", guest_errno_name(errno));
    return pid;
}

static int wait_code(pid_t pid)
{
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", guest_errno_name(errno));
    CHECK(WIFEXITED(status), "status %#x", status);
    return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0)
        return 7;
    setvbuf(stdout, NULL, _IOLBF, 0);
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
    CHECK(n > 0, "readlink");
    self_path[n] = '\0';

    int value = 42;
    pid_t pid = start(child_write, &value, CLONE_VM | SIGCHLD);
    EXPECT_RET("CLONE_VM child exit code", wait_code(pid), 5);
    EXPECT_RET("its write seen by the parent", shared_word, 42);
    EXPECT_FACT("its own pid", child_saw_pid == pid && pid != getpid());
    EXPECT_FACT("its parent is the caller", child_saw_ppid == getpid());

    pid = start(child_open, NULL, CLONE_VM | CLONE_FILES | SIGCHLD);
    EXPECT_RET("CLONE_VM|CLONE_FILES child exit code", wait_code(pid), 0);
    EXPECT_FACT("its fd is open in the parent", child_fd >= 0 && fcntl(child_fd, F_GETFD) >= 0);
    close(child_fd);

    int before = child_fd;
    pid = start(child_open, NULL, CLONE_VM | SIGCHLD);
    EXPECT_RET("CLONE_VM child with its own fds exit code", wait_code(pid), 0);
    EXPECT_ERRNO("its fd is not the parent's", fcntl(child_fd, F_GETFD), EBADF);
    (void)before;

    pid = start(child_exec, NULL, CLONE_VM | SIGCHLD);
    EXPECT_RET("CLONE_VM child that execs exit code", wait_code(pid), 7);

    /* Memory is still the parent's after all of them. */
    shared_word = 1;
    EXPECT_RET("parent memory intact", shared_word, 1);
    return guest_ok();
}
