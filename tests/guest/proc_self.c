/* /proc/self/{status,stat,cmdline}, /proc/self and the global version/sysctl files: field names
 * in Linux's order, and values that must match what the syscalls say (pids, uname). */
#include "guest.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/prctl.h>
#include <sys/utsname.h>

static char *read_file(const char *path, size_t *len)
{
    static char buf[1 << 16];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0, "open %s: %s", path, guest_errno_name(errno));
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        CHECK(r >= 0, "read %s: %s", path, guest_errno_name(errno));
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* The value after "Name:\t" on its line, as a number. */
static long status_value(const char *status, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "\n%s:\t", name);
    const char *p = strstr(status, key);
    CHECK(p, "%s missing", name);
    return strtol(p + strlen(key), NULL, 10);
}

int main(int argc, char **argv)
{
    char *status = read_file("/proc/self/status", NULL);
    /* Fields both Linux 6.1 and later kernels print, in their order. */
    static const char *const order[] = {
        "Name", "Umask", "State", "Tgid", "Ngid", "Pid", "PPid", "TracerPid", "Uid", "Gid",
        "FDSize", "Groups", "NStgid", "NSpid", "NSpgid", "NSsid", "VmPeak", "VmSize", "VmLck",
        "VmPin", "VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem", "VmData", "VmStk", "VmExe",
        "VmLib", "VmPTE", "VmSwap", "HugetlbPages", "CoreDumping", "THP_enabled", "Threads",
        "SigQ", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "CapInh", "CapPrm", "CapEff",
        "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Cpus_allowed", "Cpus_allowed_list",
        "Mems_allowed", "Mems_allowed_list", "voluntary_ctxt_switches",
        "nonvoluntary_ctxt_switches"};
    const char *at = status;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s%s:\t", i ? "\n" : "", order[i]);
        const char *next = strstr(at, key);
        CHECK(next, "status field %s missing or out of order", order[i]);
        at = next;
    }
    printf("status fields in order: %zu\n", sizeof(order) / sizeof(order[0]));
    EXPECT_FACT("status Pid is getpid", status_value(status, "Pid") == getpid());
    EXPECT_FACT("status Tgid is getpid", status_value(status, "Tgid") == getpid());
    EXPECT_FACT("status PPid is getppid", status_value(status, "PPid") == getppid());
    EXPECT_FACT("status Uid is getuid", status_value(status, "Uid") == (long)getuid());
    EXPECT_FACT("status Threads is 1", status_value(status, "Threads") == 1);
    EXPECT_FACT("status State is R", strstr(status, "\nState:\tR (running)\n") != NULL);
    char comm[16] = {0};
    prctl(PR_GET_NAME, comm);
    char want_name[64];
    snprintf(want_name, sizeof(want_name), "Name:\t%s\n", comm);
    EXPECT_FACT("status Name is the comm", strncmp(status, want_name, strlen(want_name)) == 0);

    char *stat = read_file("/proc/self/stat", NULL);
    int fields = 1;
    for (const char *p = stat; *p; p++)
        fields += *p == ' ';
    printf("stat fields: %d\n", fields);
    CHECK(fields == 52, "stat has %d fields", fields);
    int pid, ppid;
    char state;
    CHECK(sscanf(stat, "%d", &pid) == 1, "stat pid");
    const char *rp = strrchr(stat, ')');
    CHECK(rp && sscanf(rp + 2, "%c %d", &state, &ppid) == 2, "stat state/ppid");
    EXPECT_FACT("stat pid is getpid", pid == getpid());
    EXPECT_FACT("stat ppid is getppid", ppid == getppid());
    printf("stat state: %c\n", state);

    size_t len;
    char *cmdline = read_file("/proc/self/cmdline", &len);
    size_t want_len = 0;
    for (int i = 0; i < argc; i++)
        want_len += strlen(argv[i]) + 1;
    EXPECT_FACT("cmdline length is argv's", len == want_len);
    size_t off = 0;
    for (int i = 0; i < argc; i++) {
        EXPECT_FACT("cmdline argument matches", strcmp(cmdline + off, argv[i]) == 0);
        off += strlen(argv[i]) + 1;
    }

    char link[64], want[64];
    ssize_t n = readlink("/proc/self", link, sizeof(link) - 1);
    CHECK(n > 0, "readlink /proc/self: %s", guest_errno_name(errno));
    link[n] = '\0';
    snprintf(want, sizeof(want), "%d", getpid());
    EXPECT_FACT("/proc/self names getpid", strcmp(link, want) == 0);
    n = readlink("/proc/thread-self", link, sizeof(link) - 1);
    CHECK(n > 0, "readlink /proc/thread-self");
    link[n] = '\0';
    snprintf(want, sizeof(want), "%d/task/%d", getpid(), (int)syscall(SYS_gettid));
    EXPECT_FACT("/proc/thread-self names the thread", strcmp(link, want) == 0);

    struct utsname u;
    CHECK(uname(&u) == 0, "uname");
    char *s = read_file("/proc/sys/kernel/osrelease", NULL);
    EXPECT_FACT("osrelease is uname's release",
                strncmp(s, u.release, strlen(u.release)) == 0 && s[strlen(u.release)] == '\n');
    s = read_file("/proc/sys/kernel/ostype", NULL);
    EXPECT_FACT("ostype is Linux", strcmp(s, "Linux\n") == 0);
    s = read_file("/proc/sys/kernel/hostname", NULL);
    EXPECT_FACT("hostname is uname's nodename",
                strncmp(s, u.nodename, strlen(u.nodename)) == 0 && s[strlen(u.nodename)] == '\n');
    s = read_file("/proc/version", NULL);
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "Linux version %s ", u.release);
    EXPECT_FACT("version names the release", strncmp(s, prefix, strlen(prefix)) == 0);
    s = read_file("/proc/meminfo", NULL);
    EXPECT_FACT("meminfo starts with MemTotal", strncmp(s, "MemTotal:", 9) == 0);
    s = read_file("/proc/self/cgroup", NULL);
    EXPECT_FACT("cgroup names a hierarchy", strchr(s, ':') != NULL);
    return guest_ok();
}
