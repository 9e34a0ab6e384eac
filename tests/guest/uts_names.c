/* sethostname(2) and setdomainname(2) as uname(2) shows them afterwards: the length rules
 * (negative and over 64 bytes EINVAL, 64 allowed, 0 empties), EFAULT, NUL padding of a shorter
 * name, and EPERM once the process is no longer root. Natively it runs in a UTS namespace of its
 * own. */
#include "guest.h"

#include <sched.h>
#include <sys/utsname.h>
#include <sys/wait.h>

static void show(const char *what)
{
    struct utsname u;
    CHECK(uname(&u) == 0, "uname");
    printf("%s: nodename=\"%s\" domainname=\"%s\"\n", what, u.nodename, u.domainname);
}

int main(void)
{
    char name64[65];
    memset(name64, 'h', 64);
    name64[64] = '\0';

    if (geteuid() != 0) {
        printf("not root: nothing to test\n");
        return guest_ok();
    }
    /* Natively the names must change in a UTS namespace of our own, never the host's. The
     * sandbox's are its own already (ENOSYS there is fine); any other failure stops the test. */
    if (unshare(CLONE_NEWUTS) != 0 && errno != ENOSYS) {
        printf("cannot isolate the UTS names: %s\n", guest_errno_name(errno));
        return 1;
    }
    EXPECT_RET("sethostname", sethostname("first-name", 10), 0);
    show("after first");
    EXPECT_RET("sethostname shorter", sethostname("xyz", 3), 0);
    show("after shorter");
    EXPECT_RET("sethostname prefix", syscall(SYS_sethostname, "abcdef", 2), 0);
    show("after prefix");
    EXPECT_RET("sethostname 64", sethostname(name64, 64), 0);
    show("after 64");
    EXPECT_ERRNO("sethostname 65", syscall(SYS_sethostname, name64, 65), EINVAL);
    EXPECT_ERRNO("sethostname -1", syscall(SYS_sethostname, name64, -1), EINVAL);
    EXPECT_ERRNO("sethostname fault", syscall(SYS_sethostname, (void *)8, 4), EFAULT);
    EXPECT_RET("setdomainname", setdomainname("example.org", 11), 0);
    show("after domain");
    EXPECT_RET("sethostname empty", sethostname("", 0), 0);
    show("after empty");
    EXPECT_ERRNO("setdomainname 65", syscall(SYS_setdomainname, name64, 65), EINVAL);

    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        if (setresuid(1000, 1000, 1000) != 0)
            _exit(2);
        errno = 0;
        int r = sethostname("nope", 4);
        printf("unprivileged sethostname: %s\n", r == 0 ? "success" : guest_errno_name(errno));
        r = setdomainname("nope", 4);
        printf("unprivileged setdomainname: %s\n", r == 0 ? "success" : guest_errno_name(errno));
        fflush(stdout);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    printf("child status %d\n", WEXITSTATUS(status));
    show("in parent");
    return guest_ok();
}
