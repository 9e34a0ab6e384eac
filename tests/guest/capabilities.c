/* Capabilities as root sees them: capget/capset through the v1 and v3 headers, the capset rules,
 * chown without CAP_CHOWN, the set*uid fix-ups, PR_CAPBSET_DROP, PR_CAP_AMBIENT, execve's
 * recomputation and /proc/self/status. Only relations are printed: the host's bounding set may
 * lack some capabilities. */
#include "guest_files.h"

#include <linux/capability.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

struct caps {
    uint64_t eff, prm, inh;
};

static long caps_get(int version, struct caps *out)
{
    struct __user_cap_header_struct h = {.version = (uint32_t)version, .pid = 0};
    struct __user_cap_data_struct d[2] = {0};
    long r = syscall(SYS_capget, &h, d);
    *out = (struct caps){d[0].effective | (uint64_t)d[1].effective << 32,
                         d[0].permitted | (uint64_t)d[1].permitted << 32,
                         d[0].inheritable | (uint64_t)d[1].inheritable << 32};
    return r;
}

static long caps_set(const struct caps *c)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2] = {
        {(uint32_t)c->eff, (uint32_t)c->prm, (uint32_t)c->inh},
        {(uint32_t)(c->eff >> 32), (uint32_t)(c->prm >> 32), (uint32_t)(c->inh >> 32)}};
    return syscall(SYS_capset, &h, d);
}

/* A Cap* line of /proc/self/status. */
static uint64_t status_caps(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL, "open /proc/self/status");
    char line[256];
    unsigned long long v = ~0ULL;
    size_t n = strlen(name);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, n) == 0 && line[n] == ':')
            v = strtoull(line + n + 1, NULL, 16);
    }
    fclose(f);
    return v;
}

static uint64_t bounding_set(void)
{
    uint64_t b = 0;
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
        if (prctl(PR_CAPBSET_READ, cap) == 1)
            b |= 1ULL << cap;
    }
    return b;
}

#define BIT(cap) (1ULL << (cap))

/* Runs `fn` in a child and requires it to succeed (its output is part of ours). */
static void in_child(void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed");
}

static void chown_rules(void)
{
    struct caps c;
    caps_get(_LINUX_CAPABILITY_VERSION_3, &c);
    int fd = open("file", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0, "create file");
    close(fd);
    struct caps no_eff = {c.eff & ~BIT(CAP_CHOWN), c.prm, c.inh};
    EXPECT_RET("capset dropping effective CAP_CHOWN", caps_set(&no_eff), 0);
    EXPECT_ERRNO("chown without CAP_CHOWN", chown("file", 1, 1), EPERM);
    EXPECT_RET("chown to the same ids", chown("file", 0, 0), 0);
    EXPECT_RET("capset raising it again from permitted", caps_set(&c), 0);
    EXPECT_RET("chown with CAP_CHOWN", chown("file", 1, 1), 0);
    struct caps no_prm = {c.eff & ~BIT(CAP_CHOWN), c.prm & ~BIT(CAP_CHOWN), c.inh};
    EXPECT_RET("capset dropping permitted CAP_CHOWN", caps_set(&no_prm), 0);
    EXPECT_ERRNO("capset effective beyond permitted",
                 caps_set(&(struct caps){c.eff, no_prm.prm, 0}), EPERM);
    EXPECT_ERRNO("capset permitted back", caps_set(&c), EPERM);
    EXPECT_ERRNO("chown after losing it", chown("file", 2, 2), EPERM);
    struct caps now;
    caps_get(_LINUX_CAPABILITY_VERSION_3, &now);
    EXPECT_FACT("capget shows the new sets", now.eff == no_prm.eff && now.prm == no_prm.prm);
    EXPECT_FACT("status CapPrm agrees", status_caps("CapPrm") == now.prm);
    EXPECT_FACT("status CapEff agrees", status_caps("CapEff") == now.eff);
}

/* mknod of a device needs CAP_MKNOD; chroot needs CAP_SYS_CHROOT, checked after the lookup. */
static void mknod_and_chroot_rules(void)
{
    struct caps c;
    caps_get(_LINUX_CAPABILITY_VERSION_3, &c);
    struct caps without = {c.eff & ~(BIT(CAP_MKNOD) | BIT(CAP_SYS_CHROOT)), c.prm, c.inh};
    EXPECT_RET("capset dropping CAP_MKNOD and CAP_SYS_CHROOT", caps_set(&without), 0);
    EXPECT_ERRNO("mknod a character device without CAP_MKNOD",
                 mknod("null", S_IFCHR | 0600, makedev(1, 3)), EPERM);
    EXPECT_ERRNO("mknod a block device without CAP_MKNOD",
                 mknod("blk", S_IFBLK | 0600, makedev(7, 0)), EPERM);
    EXPECT_RET("mknod a fifo without it", mknod("fifo", S_IFIFO | 0600, 0), 0);
    EXPECT_ERRNO("chroot to a missing dir without CAP_SYS_CHROOT", chroot("nonexistent"), ENOENT);
    EXPECT_ERRNO("chroot to a file without it", chroot("fifo"), ENOTDIR);
    EXPECT_ERRNO("chroot without CAP_SYS_CHROOT", chroot("."), EPERM);
    EXPECT_RET("capset raising them again", caps_set(&c), 0);
    EXPECT_RET("mknod a character device with CAP_MKNOD",
               mknod("null", S_IFCHR | 0600, makedev(1, 3)), 0);
    EXPECT_RET("chroot with CAP_SYS_CHROOT", chroot("."), 0);
}

static void setuid_clears(void)
{
    EXPECT_RET("setuid(65534)", setuid(65534), 0);
    struct caps c;
    EXPECT_RET("capget as nobody", caps_get(_LINUX_CAPABILITY_VERSION_3, &c), 0);
    EXPECT_FACT("all sets empty", c.eff == 0 && c.prm == 0 && c.inh == 0);
    EXPECT_FACT("status CapEff empty", status_caps("CapEff") == 0);
    EXPECT_FACT("bounding set kept", status_caps("CapBnd") != 0);
    EXPECT_ERRNO("PR_CAPBSET_DROP without CAP_SETPCAP", prctl(PR_CAPBSET_DROP, CAP_CHOWN), EPERM);
    EXPECT_ERRNO("setuid(0) back", setuid(0), EPERM);
}

static void keepcaps(void)
{
    struct caps before;
    caps_get(_LINUX_CAPABILITY_VERSION_3, &before);
    EXPECT_RET("PR_SET_KEEPCAPS", prctl(PR_SET_KEEPCAPS, 1), 0);
    EXPECT_RET("setresuid to nobody", setresuid(65534, 65534, 65534), 0);
    struct caps c;
    caps_get(_LINUX_CAPABILITY_VERSION_3, &c);
    EXPECT_FACT("permitted kept", c.prm == before.prm);
    EXPECT_FACT("effective cleared", c.eff == 0);
}

static void euid_moves_effective(void)
{
    struct caps before, c;
    caps_get(_LINUX_CAPABILITY_VERSION_3, &before);
    EXPECT_RET("seteuid(65534)", seteuid(65534), 0);
    caps_get(_LINUX_CAPABILITY_VERSION_3, &c);
    EXPECT_FACT("effective cleared, permitted kept", c.eff == 0 && c.prm == before.prm);
    EXPECT_ERRNO("chown as euid nobody", chown("/", 0, 0), EPERM);
    EXPECT_RET("seteuid(0)", seteuid(0), 0);
    caps_get(_LINUX_CAPABILITY_VERSION_3, &c);
    EXPECT_FACT("effective back to permitted", c.eff == before.prm);
}

static void bounding_and_ambient(void)
{
    uint64_t b = bounding_set();
    EXPECT_FACT("status CapBnd is the PR_CAPBSET_READ set", status_caps("CapBnd") == b);
    EXPECT_RET("PR_CAPBSET_DROP CAP_NET_RAW", prctl(PR_CAPBSET_DROP, CAP_NET_RAW), 0);
    EXPECT_RET("PR_CAPBSET_READ CAP_NET_RAW", prctl(PR_CAPBSET_READ, CAP_NET_RAW), 0);
    EXPECT_FACT("CapBnd lost it", status_caps("CapBnd") == (b & ~BIT(CAP_NET_RAW)));
    EXPECT_ERRNO("PR_CAPBSET_READ past the last", prctl(PR_CAPBSET_READ, 64), EINVAL);

    EXPECT_ERRNO("ambient raise without inheritable",
                 prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0), EPERM);
    struct caps c;
    caps_get(_LINUX_CAPABILITY_VERSION_3, &c);
    c.inh = BIT(CAP_CHOWN) | BIT(CAP_KILL);
    EXPECT_RET("capset inheritable", caps_set(&c), 0);
    EXPECT_RET("ambient raise", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0), 0);
    EXPECT_RET("ambient is set", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0), 1);
    EXPECT_FACT("status CapAmb", status_caps("CapAmb") == BIT(CAP_CHOWN));
    EXPECT_FACT("status CapInh", status_caps("CapInh") == c.inh);
    c.inh = BIT(CAP_KILL);
    EXPECT_RET("capset dropping inheritable CAP_CHOWN", caps_set(&c), 0);
    EXPECT_RET("ambient follows", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0), 0);
    EXPECT_ERRNO("ambient bad op", prctl(PR_CAP_AMBIENT, 9, CAP_CHOWN, 0, 0), EINVAL);
}

static void exec_recomputes(void)
{
    struct caps c;
    caps_get(_LINUX_CAPABILITY_VERSION_3, &c);
    c.eff = 0;
    CHECK(caps_set(&c) == 0, "capset");
    fflush(stdout);
    execl("/proc/self/exe", "capabilities", "after-exec", (char *)NULL);
    CHECK(0, "execl: %s", guest_errno_name(errno));
}

static int after_exec(void)
{
    struct caps c;
    caps_get(_LINUX_CAPABILITY_VERSION_3, &c);
    EXPECT_FACT("root's execve: effective is the permitted set again", c.eff == c.prm);
    EXPECT_FACT("permitted is the bounding set", c.prm == bounding_set());
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0)
        return after_exec();

    struct caps c;
    EXPECT_RET("capget v3", caps_get(_LINUX_CAPABILITY_VERSION_3, &c), 0);
    EXPECT_FACT("root: effective == permitted", c.eff == c.prm);
    EXPECT_FACT("root: inheritable empty", c.inh == 0);
    EXPECT_FACT("root: permitted == bounding", c.prm == bounding_set());
    EXPECT_FACT("holds CAP_CHOWN, CAP_SETUID",
                (c.prm & BIT(CAP_CHOWN)) && (c.prm & BIT(CAP_SETUID)));
    EXPECT_FACT("status CapEff/CapPrm/CapInh agree",
                status_caps("CapEff") == c.eff && status_caps("CapPrm") == c.prm &&
                    status_caps("CapInh") == 0 && status_caps("CapAmb") == 0);
    struct caps v1;
    EXPECT_RET("capget v1", caps_get(_LINUX_CAPABILITY_VERSION_1, &v1), 0);
    EXPECT_FACT("v1 is the low 32 bits", v1.eff == (uint32_t)c.eff && v1.prm == (uint32_t)c.prm);

    struct __user_cap_header_struct h = {.version = 0x1234, .pid = 0};
    struct __user_cap_data_struct d[2];
    EXPECT_ERRNO("capget unknown version", syscall(SYS_capget, &h, d), EINVAL);
    EXPECT_FACT("preferred version written back", h.version == _LINUX_CAPABILITY_VERSION_3);
    h.version = 0;
    EXPECT_RET("capget version probe with NULL data", syscall(SYS_capget, &h, NULL), 0);
    EXPECT_FACT("probe answered v3", h.version == _LINUX_CAPABILITY_VERSION_3);
    h = (struct __user_cap_header_struct){.version = _LINUX_CAPABILITY_VERSION_3, .pid = 1 << 22};
    EXPECT_ERRNO("capget of no such pid", syscall(SYS_capget, &h, d), ESRCH);
    h = (struct __user_cap_header_struct){.version = _LINUX_CAPABILITY_VERSION_3, .pid = -1};
    EXPECT_ERRNO("capget of pid -1", syscall(SYS_capget, &h, d), EINVAL);
    pid_t parent = getpid();
    h = (struct __user_cap_header_struct){.version = _LINUX_CAPABILITY_VERSION_3, .pid = parent};
    EXPECT_RET("capget of own pid", syscall(SYS_capget, &h, d), 0);

    char dir[GUEST_TMPDIR_SIZE];
    guest_tmpdir_make(dir, "/tmp");
    in_child(chown_rules);
    in_child(mknod_and_chroot_rules);
    in_child(setuid_clears);
    in_child(keepcaps);
    in_child(euid_moves_effective);
    in_child(bounding_and_ambient);
    in_child(exec_recomputes);
    /* The parent's sets are its own: the children's changes left them alone. */
    struct caps again;
    caps_get(_LINUX_CAPABILITY_VERSION_3, &again);
    EXPECT_FACT("parent unchanged", again.eff == c.eff && again.prm == c.prm && again.inh == 0);
    guest_tmpdir_remove(dir);
    return guest_ok();
}
