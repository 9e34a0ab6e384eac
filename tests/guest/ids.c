/* Process and credential ids: the get* calls agree with each other and are stable; pid and tid
 * coincide for a single-threaded process. Values are not printed (pid is 1 in the sandbox). */
#include "guest.h"

#include <grp.h>
#include <limits.h>
#include <sys/fsuid.h>

int main(void)
{
    pid_t pid = getpid();

    EXPECT_FACT("getpid() > 0", pid > 0);
    EXPECT_FACT("getpid() stable", getpid() == pid);
    EXPECT_FACT("raw getpid agrees", syscall(SYS_getpid) == pid);
    EXPECT_FACT("gettid() == getpid()", gettid() == pid);
    EXPECT_FACT("getppid() >= 0", getppid() >= 0);
    EXPECT_FACT("getppid() != getpid()", getppid() != pid);

    EXPECT_FACT("getuid() == geteuid()", getuid() == geteuid());
    EXPECT_FACT("getgid() == getegid()", getgid() == getegid());
    EXPECT_FACT("raw getuid agrees", syscall(SYS_getuid) == (long)getuid());
    EXPECT_FACT("raw getegid agrees", syscall(SYS_getegid) == (long)getegid());

    /* getgroups: the count query and the full read agree; a too-small buffer is EINVAL. */
    int n = getgroups(0, NULL);
    EXPECT_FACT("getgroups(0) >= 0", n >= 0);
    gid_t groups[NGROUPS_MAX];
    EXPECT_FACT("getgroups(count) returns count", getgroups(NGROUPS_MAX, groups) == n);
    printf("supplementary groups: %s\n", n > 0 ? "some" : "none");
    if (n > 0)
        EXPECT_ERRNO("getgroups with a buffer one short", getgroups(n - 1, groups), EINVAL);
    EXPECT_ERRNO("getgroups negative size", syscall(SYS_getgroups, -1, groups), EINVAL);

    /* The user namespace: root of the initial one natively, of the sandbox's identity map in
     * runsc do; (uid_t)-1 is no id anywhere. */
    char map[128] = "";
    FILE *f = fopen("/proc/self/uid_map", "r");
    EXPECT_FACT("/proc/self/uid_map opens", f != NULL);
    if (f) {
        EXPECT_FACT("uid_map reads", fgets(map, sizeof(map), f) != NULL);
        fclose(f);
    }
    printf("uid_map: %s", map);
    /* setfsuid(-1) changes nothing and answers with the current fsuid: glibc's query. */
    EXPECT_FACT("setfsuid(-1) returns the fsuid", setfsuid((uid_t)-1) == (int)geteuid());
    EXPECT_FACT("and leaves it", setfsuid((uid_t)-1) == (int)geteuid());
    EXPECT_ERRNO("setuid(-1)", setuid((uid_t)-1), EINVAL);
    EXPECT_RET("setresuid(-1, -1, -1) keeps all", setresuid((uid_t)-1, (uid_t)-1, (uid_t)-1), 0);
    return guest_ok();
}
