/* Resource facts: getrlimit and prlimit64 agree and soft <= hard, sysinfo is plausible, the
 * affinity mask is non-empty, and getcwd returns the (shared) absolute working directory. */
#include "guest.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>

static void check_limit(const char *name, int resource)
{
    struct rlimit lim, via_prlimit;

    CHECK(getrlimit(resource, &lim) == 0, "getrlimit %s: %s", name, guest_errno_name(errno));
    CHECK(syscall(SYS_prlimit64, 0, resource, NULL, &via_prlimit) == 0, "prlimit64 %s: %s", name,
          guest_errno_name(errno));
    printf("%s: soft <= hard: %s, prlimit64 agrees: %s, soft > 0: %s\n", name,
           lim.rlim_cur <= lim.rlim_max ? "yes" : "no",
           lim.rlim_cur == via_prlimit.rlim_cur && lim.rlim_max == via_prlimit.rlim_max ? "yes"
                                                                                        : "no",
           lim.rlim_cur > 0 ? "yes" : "no");
    CHECK(lim.rlim_cur <= lim.rlim_max && lim.rlim_cur == via_prlimit.rlim_cur &&
              lim.rlim_max == via_prlimit.rlim_max && lim.rlim_cur > 0,
          "%s", name);
}

int main(void)
{
    check_limit("RLIMIT_STACK", RLIMIT_STACK);
    check_limit("RLIMIT_NOFILE", RLIMIT_NOFILE);
    check_limit("RLIMIT_AS", RLIMIT_AS);
    struct rlimit lim;
    EXPECT_ERRNO("getrlimit resource 100", getrlimit(100, &lim), EINVAL);
    EXPECT_ERRNO("prlimit64 resource 100", syscall(SYS_prlimit64, 0, 100, NULL, &lim), EINVAL);

    struct sysinfo si;
    EXPECT_RET("sysinfo", sysinfo(&si), 0);
    EXPECT_FACT("totalram > 0", si.totalram > 0);
    EXPECT_FACT("mem_unit > 0", si.mem_unit > 0);
    EXPECT_FACT("freeram <= totalram", si.freeram <= si.totalram);
    EXPECT_FACT("procs > 0", si.procs > 0);

    cpu_set_t set;
    CPU_ZERO(&set);
    EXPECT_RET("sched_getaffinity", sched_getaffinity(0, sizeof(set), &set), 0);
    printf("affinity mask: %s\n", CPU_COUNT(&set) > 0 ? "nonempty" : "empty");
    CHECK(CPU_COUNT(&set) > 0, "no CPUs");
    EXPECT_FACT("raw sched_getaffinity returns a positive size",
                syscall(SYS_sched_getaffinity, 0, sizeof(set), &set) > 0);

    char cwd[4096];
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd: %s", guest_errno_name(errno));
    printf("getcwd = \"%s\"\n", cwd);
    CHECK(cwd[0] == '/', "not absolute");
    long n = syscall(SYS_getcwd, cwd, sizeof(cwd));
    EXPECT_FACT("raw getcwd returns the length with its NUL", n == (long)strlen(cwd) + 1);
    EXPECT_ERRNO("getcwd into a 1-byte buffer", syscall(SYS_getcwd, cwd, 1), ERANGE);
    return guest_ok();
}
