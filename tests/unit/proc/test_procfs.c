/* /proc through the VFS over a hand-made kernel: the per-process files, links, directories,
 * writes and the global files. */
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "proc_fixture.h"

/* The `n`th (1-based) space-separated field of a /proc/PID/stat line, after the comm. */
static long long stat_field(const char *stat, int n)
{
    const char *p = strrchr(stat, ')');
    assert_non_null(p);
    p += 2; /* field 3 starts here */
    for (int i = 3; i < n; i++) {
        p = strchr(p, ' ');
        assert_non_null(p);
        p++;
    }
    return strtoll(p, NULL, 10);
}

static void test_status_fields(void **state)
{
    struct fx *x = *state;
    char *s = fx_read_ok(x, "/1/status");
    assert_non_null(strstr(s, "Name:\tinit\nUmask:\t0022\nState:\tR (running)\nTgid:\t1\n"));
    assert_non_null(strstr(s, "\nPid:\t1\nPPid:\t0\nTracerPid:\t0\n"));
    assert_non_null(strstr(s, "\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n"));
    assert_non_null(strstr(s, "\nFDSize:\t64\nGroups:\t \nNStgid:\t1\n"));
    assert_non_null(strstr(s, "\nVmStk:\t     128 kB\n"));
    assert_non_null(strstr(s, "\nThreads:\t1\n"));
    assert_non_null(strstr(s, "\nSigBlk:\t0000000000000200\n"));
    assert_non_null(strstr(s, "\nSigIgn:\t0000000000000002\nSigCgt:\t0000000000004000\n"));
    assert_non_null(strstr(s, "\nCapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\n"));
    /* Linux's order of the sections. */
    const char *order[] = {"Name:", "Umask:", "State:", "Tgid:", "Ngid:", "Pid:", "PPid:",
                           "TracerPid:", "Uid:", "Gid:", "FDSize:", "Groups:", "NStgid:",
                           "NSpid:", "NSpgid:", "NSsid:", "VmPeak:", "VmSize:", "VmRSS:",
                           "VmSwap:", "Threads:", "SigQ:", "SigPnd:", "ShdPnd:", "SigBlk:",
                           "SigIgn:", "SigCgt:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:",
                           "CapAmb:", "NoNewPrivs:", "Seccomp:", "Cpus_allowed:",
                           "Cpus_allowed_list:", "voluntary_ctxt_switches:",
                           "nonvoluntary_ctxt_switches:"};
    const char *at = s;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *next = strstr(at, order[i]);
        if (!next)
            fail_msg("%s missing or out of order", order[i]);
        at = next;
    }
    free(s);

    /* Another process: sleeping, its parent, no address space here, two threads. */
    s = fx_read_ok(x, "/2/status");
    assert_non_null(strstr(s, "Name:\tworker\n"));
    assert_non_null(strstr(s, "State:\tS (sleeping)\n"));
    assert_non_null(strstr(s, "\nPPid:\t1\n"));
    assert_non_null(strstr(s, "\nThreads:\t2\n"));
    assert_null(strstr(s, "VmSize:"));
    free(s);
}

static void test_stat_statm(void **state)
{
    struct fx *x = *state;
    char *s = fx_read_ok(x, "/self/stat");
    assert_true(strncmp(s, "1 (init) R 0 1 1 0 -1 ", 22) == 0);
    int fields = 1;
    for (const char *p = s; *p; p++)
        fields += *p == ' ';
    assert_int_equal(fields, 52);
    assert_int_equal(s[strlen(s) - 1], '\n');
    assert_int_equal(stat_field(s, 20), 1);                       /* num_threads */
    assert_int_equal(stat_field(s, 23), FX_STACK_LEN + 2 * 4096); /* vsize: stack + heap */
    assert_int_equal(stat_field(s, 26), 0x400000);                /* startcode */
    assert_int_equal(stat_field(s, 38), SIGCHLD);                 /* exit_signal */
    assert_int_equal(stat_field(s, 48), x->arg_start);            /* arg_start */
    assert_int_equal(stat_field(s, 51), x->arg_start + 12);       /* env_end */
    free(s);

    s = fx_read_ok(x, "/1/statm");
    unsigned long long size, rss, shared, text, lib, data, dt;
    assert_int_equal(sscanf(s, "%llu %llu %llu %llu %llu %llu %llu", &size, &rss, &shared, &text,
                            &lib, &data, &dt),
                     7);
    assert_int_equal(size, 34); /* 32 stack pages and 2 heap pages */
    assert_int_equal(text, 2);  /* 0x400000..0x401234 rounded out */
    assert_int_equal(data, 34);
    free(s);
}

static void test_cmdline_environ_auxv(void **state)
{
    struct fx *x = *state;
    size_t len;
    int err;
    char *s = fx_read(x, "/1/cmdline", &len, &err);
    assert_non_null(s);
    assert_int_equal(len, 8);
    assert_memory_equal(s, "init\0-v\0", 8);
    free(s);
    s = fx_read(x, "/1/environ", &len, &err);
    assert_int_equal(len, 4);
    assert_memory_equal(s, "A=1\0", 4);
    free(s);
    s = fx_read(x, "/1/auxv", &len, &err);
    assert_int_equal(len, 32);
    uint64_t want[4] = {6, 4096, 0, 0};
    assert_memory_equal(s, want, sizeof(want));
    free(s);

    /* setproctitle: once the last argv byte is overwritten, the title runs to the first NUL. */
    assert_int_equal(mm_copy_out(x->t1->mm, x->arg_start + 7, "x", 1), 0);
    s = fx_read(x, "/1/cmdline", &len, &err);
    assert_int_equal(len, 5);
    assert_memory_equal(s, "init\0", 5);
    free(s);

    /* A process without an address space reads empty. */
    s = fx_read(x, "/2/cmdline", &len, &err);
    assert_int_equal(len, 0);
    free(s);
}

static void test_maps(void **state)
{
    struct fx *x = *state;
    char *s = fx_read_ok(x, "/self/maps");
    char want[400];
    /* Names start at column 73: the header padded to 72, then a space (seq_pad). */
    int n = snprintf(want, sizeof(want), "%08lx-%08lx rw-p 00000000 00:00 0 ", FX_BRK,
                     FX_BRK + 8192);
    n += snprintf(want + n, sizeof(want) - (size_t)n, "%*s[heap]\n", 73 - n, "");
    int line = n;
    n += snprintf(want + n, sizeof(want) - (size_t)n, "%lx-%lx rw-p 00000000 00:00 0 ",
                  FX_STACK_TOP - FX_STACK_LEN, FX_STACK_TOP);
    snprintf(want + n, sizeof(want) - (size_t)n, "%*s[stack]\n", 73 - (n - line), "");
    assert_string_equal(s, want);
    free(s);

    s = fx_read_ok(x, "/1/smaps_rollup");
    assert_true(strncmp(s, "10000000-7ff000000000 ---p 00000000 00:00 0 ", 44) == 0);
    assert_non_null(strstr(s, "[rollup]\nRss:            "));
    assert_non_null(strstr(s, "\nPrivate_Hugetlb:       0 kB\nSwap:"));
    assert_non_null(strstr(s, "\nLocked:                0 kB\n"));
    free(s);
}

static void test_root_and_self(void **state)
{
    struct fx *x = *state;
    const char *names = fx_list(x, "/");
    assert_non_null(strstr(names, "self thread-self mounts cpuinfo"));
    assert_non_null(strstr(names, " version 1 2"));
    assert_null(strstr(names, " 3")); /* threads are not listed */
    int err;
    assert_string_equal(fx_readlink(x, "/self", &err), "1");
    assert_string_equal(fx_readlink(x, "/thread-self", &err), "1/task/1");
    assert_string_equal(fx_readlink(x, "/mounts", &err), "self/mounts");
    /* ...but a thread's tid names its process's directory, for that thread. */
    char *s = fx_read_ok(x, "/3/status");
    assert_non_null(strstr(s, "Name:\tworker-thread\n"));
    assert_non_null(strstr(s, "\nTgid:\t2\nNgid:\t0\nPid:\t3\n"));
    free(s);
    assert_string_equal(fx_list(x, "/2/task"), "2 3");
    s = fx_read_ok(x, "/2/task/3/stat");
    assert_true(strncmp(s, "3 (worker-thread) S 1 ", 22) == 0);
    free(s);
    struct vfs_path p;
    assert_int_equal(vfs_walk(&x->ctx, "/2/task/3/task", 0, &p), -ENOENT);
    assert_int_equal(vfs_walk(&x->ctx, "/4", 0, &p), -ENOENT);
    assert_int_equal(vfs_walk(&x->ctx, "/01", 0, &p), -ENOENT);

    task_set_current(x->t3);
    assert_string_equal(fx_readlink(x, "/self", &err), "2");
    assert_string_equal(fx_readlink(x, "/thread-self", &err), "2/task/3");
    task_set_current(NULL);
    assert_null(fx_readlink(x, "/self", &err));
    assert_int_equal(err, -ENOENT);
}

static void test_fds(void **state)
{
    struct fx *x = *state;
    assert_string_equal(fx_list(x, "/1/fd"), "0 1 3");
    assert_string_equal(fx_list(x, "/1/fdinfo"), "0 1 3");
    int err;
    const char *l = fx_readlink(x, "/1/fd/0", &err);
    assert_non_null(l);
    assert_true(strncmp(l, "pipe:[", 6) == 0);
    assert_string_equal(fx_readlink(x, "/1/fd/3", &err), "/meminfo");
    assert_null(fx_readlink(x, "/1/fd/2", &err));
    assert_int_equal(err, -ENOENT);

    /* fd/3 is a magic link: the walk lands on the open file's own dentry. */
    struct vfs_path p;
    assert_int_equal(vfs_walk(&x->ctx, "/self/fd/3", WALK_FOLLOW, &p), 0);
    struct file *f3 = fdtable_get(x->t1->fds, 3);
    assert_ptr_equal(p.dentry, f3->path.dentry);
    file_put(f3);
    vfs_path_put(&p);
    /* fd/0 is a pipe's end: the walk lands on a pipefs FIFO inode numbered as the pipe. */
    assert_int_equal(vfs_walk(&x->ctx, "/self/fd/0", WALK_FOLLOW, &p), 0);
    assert_true(S_ISFIFO(p.dentry->inode->mode));
    struct file *f0 = fdtable_get(x->t1->fds, 0);
    struct stat st0;
    assert_int_equal(file_stat(f0, &st0), 0);
    assert_int_equal(p.dentry->inode->ino, st0.st_ino);
    file_put(f0);
    vfs_path_put(&p);

    char *s = fx_read_ok(x, "/1/fdinfo/1");
    assert_true(strncmp(s, "pos:\t0\nflags:\t02000001\nmnt_id:\t0\nino:\t", 37) == 0);
    free(s);

    /* Closing the fd makes its cached entries go away. */
    assert_int_equal(fdtable_close(x->t1->fds, 3), 0);
    assert_null(fx_readlink(x, "/1/fd/3", &err));
    assert_int_equal(err, -ENOENT);
    assert_string_equal(fx_list(x, "/1/fd"), "0 1");
}

static void test_exe_cwd_root(void **state)
{
    struct fx *x = *state;
    int err;
    assert_null(fx_readlink(x, "/1/exe", &err));
    assert_int_equal(err, -ENOENT);
    assert_int_equal(vfs_walk(&x->ctx, "/version", 0, &x->g1->exe), 0);
    assert_string_equal(fx_readlink(x, "/1/exe", &err), "/version");
    struct vfs_path p;
    assert_int_equal(vfs_walk(&x->ctx, "/self/exe", WALK_FOLLOW, &p), 0);
    assert_ptr_equal(p.dentry, x->g1->exe.dentry);
    vfs_path_put(&p);
    assert_string_equal(fx_readlink(x, "/1/cwd", &err), "/");
    assert_string_equal(fx_readlink(x, "/1/root", &err), "/");
    /* cwd into the sysfs mount: the walk through the link crosses into it. */
    assert_int_equal(vfs_walk(&x->ctx, "/sys/fs", WALK_FOLLOW, &p), 0);
    pthread_mutex_lock(&x->t1->fs->lock);
    vfs_path_put(&x->t1->fs->cwd);
    x->t1->fs->cwd = p;
    pthread_mutex_unlock(&x->t1->fs->lock);
    assert_string_equal(fx_readlink(x, "/1/cwd", &err), "/sys/fs");
    assert_int_equal(vfs_walk(&x->ctx, "/self/cwd/devices/system/cpu/online", WALK_FOLLOW, &p),
                     0);
    vfs_path_put(&p);
}

static void test_mounts(void **state)
{
    struct fx *x = *state;
    char *s = fx_read_ok(x, "/self/mounts");
    assert_string_equal(s, "proc / proc rw,relatime 0 0\n"
                           "sysfs /sys/fs sysfs rw,nosuid,relatime 0 0\n");
    free(s);
    s = fx_read_ok(x, "/1/mountinfo");
    char want[256];
    snprintf(want, sizeof(want), "20 20 0:%u / / rw,relatime - proc proc rw\n",
             (unsigned)minor(x->sb->dev));
    assert_true(strncmp(s, want, strlen(want)) == 0);
    snprintf(want, sizeof(want), "21 20 0:%u / /sys/fs rw,nosuid,relatime - sysfs sysfs rw\n",
             (unsigned)minor(x->sys_sb->dev));
    assert_non_null(strstr(s, want));
    free(s);
}

static ssize_t fx_write(struct fx *x, const char *path, const char *data)
{
    struct file *f;
    int err = vfs_open(&x->ctx, path, O_WRONLY | O_TRUNC, 0, &f);
    if (err)
        return err;
    ssize_t n = file_write(f, NULL, data, strlen(data));
    file_put(f);
    return n;
}

static void test_writes(void **state)
{
    struct fx *x = *state;
    assert_int_equal(fx_write(x, "/self/comm", "renamed\n"), 8);
    assert_string_equal(x->t1->comm, "renamed\n");
    char *s = fx_read_ok(x, "/1/status");
    assert_true(strncmp(s, "Name:\trenamed\\n\n", 16) == 0);
    free(s);
    assert_int_equal(fx_write(x, "/1/comm", "a-name-longer-than-fifteen"), 26);
    assert_string_equal(x->t1->comm, "a-name-longer-t");
    /* Only the process itself may rename its threads. */
    assert_int_equal(fx_write(x, "/2/comm", "x"), -EINVAL);

    assert_int_equal(fx_write(x, "/2/oom_score_adj", " -500\n"), 6);
    s = fx_read_ok(x, "/2/oom_score_adj");
    assert_string_equal(s, "-500\n");
    free(s);
    assert_int_equal(fx_write(x, "/2/oom_score_adj", "1001"), -EINVAL);
    assert_int_equal(fx_write(x, "/2/oom_score_adj", "12abc"), -EINVAL);

    assert_int_equal(fx_write(x, "/meminfo", "x"), -EACCES);
    assert_int_equal(fx_write(x, "/1/status", "x"), -EACCES);
}

static void test_exited_process_vanishes(void **state)
{
    struct fx *x = *state;
    char *s = fx_read_ok(x, "/2/status");
    free(s);
    struct file *f;
    assert_int_equal(vfs_open(&x->ctx, "/2/stat", O_RDONLY, 0, &f), 0);
    /* Reaped: out of the kernel's list (the fixture frees it at teardown). */
    pthread_mutex_lock(&x->k->lock);
    x->g1->next = NULL;
    pthread_mutex_unlock(&x->k->lock);
    int err;
    assert_null(fx_read(x, "/2/status", NULL, &err));
    assert_int_equal(err, -ENOENT);
    /* An open file of the gone process reads ESRCH, as Linux's. */
    char buf[64];
    assert_int_equal(file_read(f, NULL, buf, sizeof(buf)), -ESRCH);
    file_put(f);
    assert_string_equal(strstr(fx_list(x, "/"), " 1") ? "ok" : "no", "ok");
    assert_null(strstr(fx_list(x, "/"), " 2"));
    pthread_mutex_lock(&x->k->lock);
    x->g1->next = x->g2;
    pthread_mutex_unlock(&x->k->lock);
}

static void test_limits_and_misc(void **state)
{
    struct fx *x = *state;
    x->g1->rlimits[RLIMIT_NOFILE] = (struct rlimit){1024, 4096};
    x->g1->rlimits[RLIMIT_CPU] = (struct rlimit){RLIM_INFINITY, RLIM_INFINITY};
    char *s = fx_read_ok(x, "/1/limits");
    static const char head[] =
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max cpu time              unlimited            unlimited            seconds   \n";
    assert_true(strncmp(s, head, sizeof(head) - 1) == 0);
    assert_non_null(strstr(s, "\nMax open files            1024                 4096        "
                              "         files     \n"));
    assert_non_null(strstr(s, "\nMax nice priority         "));
    free(s);
    s = fx_read_ok(x, "/1/cgroup");
    assert_string_equal(s, "0::/\n");
    free(s);
    s = fx_read_ok(x, "/1/comm");
    assert_string_equal(s, "init\n");
    free(s);
    s = fx_read_ok(x, "/1/oom_score_adj");
    assert_string_equal(s, "0\n");
    free(s);
}

static void test_global_files(void **state)
{
    struct fx *x = *state;
    char *s = fx_read_ok(x, "/meminfo");
    char want[64];
    snprintf(want, sizeof(want), "MemTotal:       %8llu kB\nMemFree:",
             (unsigned long long)(64ULL << 10));
    assert_true(strncmp(s, want, strlen(want)) == 0);
    assert_non_null(strstr(s, "\nHugePages_Total:       0\n"));
    free(s);
    s = fx_read_ok(x, "/version");
    assert_string_equal(s, "Linux version " KERNEL_UTS_RELEASE " (runsc@runsc) (runsc) "
                           KERNEL_UTS_VERSION "\n");
    free(s);
    s = fx_read_ok(x, "/loadavg");
    assert_string_equal(s, "0.00 0.00 0.00 1/3 3\n");
    free(s);
    s = fx_read_ok(x, "/uptime");
    double up, idle;
    assert_int_equal(sscanf(s, "%lf %lf", &up, &idle), 2);
    assert_true(up >= 0 && up < 60);
    free(s);
    s = fx_read_ok(x, "/stat");
    assert_true(strncmp(s, "cpu  ", 5) == 0);
    assert_non_null(strstr(s, "\ncpu0 "));
    assert_non_null(strstr(s, "\nprocesses 1\n"));
    assert_non_null(strstr(s, "\nbtime "));
    free(s);
    s = fx_read_ok(x, "/cpuinfo");
    assert_true(strncmp(s, "processor\t: 0\nvendor_id\t: ", 26) == 0);
    assert_non_null(strstr(s, "\nflags\t\t: fpu"));
    free(s);
    s = fx_read_ok(x, "/filesystems");
    assert_non_null(strstr(s, "nodev\tproc\n"));
    free(s);
}

static void test_sysctl(void **state)
{
    struct fx *x = *state;
    static const struct {
        const char *path, *want;
    } cases[] = {
        {"/sys/kernel/hostname", "testhost\n"},
        {"/sys/kernel/osrelease", KERNEL_UTS_RELEASE "\n"},
        {"/sys/kernel/ostype", "Linux\n"},
        {"/sys/kernel/domainname", "(none)\n"},
        {"/sys/kernel/pid_max", "32768\n"},
        {"/sys/kernel/cap_last_cap", "40\n"},
        {"/sys/kernel/ngroups_max", "65536\n"},
        {"/sys/kernel/overflowuid", "65534\n"},
        {"/sys/kernel/sem", "32000\t1024000000\t500\t32000\n"},
        {"/sys/vm/overcommit_memory", "0\n"},
        {"/sys/vm/max_map_count", "65530\n"},
        {"/sys/vm/mmap_min_addr", "65536\n"},
        {"/sys/fs/nr_open", "1048576\n"},
        {"/sys/net/core/somaxconn", "4096\n"},
    };
    /* /sys/fs has a sysfs mounted on it in this fixture: read nr_open from below the mount. */
    struct vfs_path p;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strncmp(cases[i].path, "/sys/fs/", 8) == 0)
            continue;
        char *s = fx_read_ok(x, cases[i].path);
        if (strcmp(s, cases[i].want) != 0)
            fail_msg("%s: \"%s\"", cases[i].path, s);
        free(s);
    }
    assert_int_equal(vfs_walk(&x->ctx, "/sys/fs/fs/cgroup", 0, &p), 0); /* the sysfs one */
    vfs_path_put(&p);
    char *a = fx_read_ok(x, "/sys/kernel/random/uuid");
    char *b = fx_read_ok(x, "/sys/kernel/random/uuid");
    assert_int_equal(strlen(a), 37);
    assert_int_equal(a[14], '4');
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    a = fx_read_ok(x, "/sys/kernel/random/boot_id");
    b = fx_read_ok(x, "/sys/kernel/random/boot_id");
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* /proc/sys's live keys: Linux's sysctl permission rule (the effective uid against the 0644
 * mode, no DAC override; CAP_NET_ADMIN for net.* only), writes reaching the kernel's table, and
 * refused text leaving the value as it was. */
static void test_sysctl_writes(void **state)
{
    struct fx *x = *state;
    struct task *t = x->t1; /* current: euid 1000, no capabilities */
    char *s;

    s = fx_read_ok(x, "/sys/net/ipv4/ip_local_port_range");
    assert_string_equal(s, "32768\t60999\n");
    free(s);
    assert_int_equal(fx_write(x, "/sys/net/core/somaxconn", "128"), -EACCES);
    t->creds.cap_effective = CREDS_CAP_BIT(CAP_NET_ADMIN);
    assert_int_equal(fx_write(x, "/sys/net/core/somaxconn", "128\n"), 4);
    s = fx_read_ok(x, "/sys/net/core/somaxconn");
    assert_string_equal(s, "128\n");
    free(s);
    assert_int_equal(fx_write(x, "/sys/kernel/shmmax", "65536"), -EACCES);
    t->creds.cap_effective = 0;
    t->creds.euid = 0;
    assert_int_equal(fx_write(x, "/sys/kernel/shmmax", "65536"), 5);
    assert_int_equal(fx_write(x, "/sys/kernel/shmmax", "abc"), -EINVAL);
    assert_int_equal(fx_write(x, "/sys/net/ipv4/ip_unprivileged_port_start", "40000"), -EINVAL);
    struct sysctl_values v;
    sysctl_read(&x->k->sysctl, &v);
    assert_int_equal(v.shmmax, 65536);
    assert_int_equal(v.somaxconn, 128);
    assert_int_equal(v.ip_unprivileged_port_start, 1024);
    /* Constant files stay read-only, even for root. */
    assert_int_equal(fx_write(x, "/sys/kernel/ostype", "x"), -EACCES);
    t->creds.euid = 1000;
}

static void test_ownership(void **state)
{
    struct fx *x = *state;
    struct vfs_path p;
    struct stat st;
    assert_int_equal(vfs_walk(&x->ctx, "/2/status", 0, &p), 0);
    assert_int_equal(inode_stat(p.dentry->inode, &st), 0);
    assert_int_equal(st.st_uid, 1000);
    assert_int_equal(st.st_gid, 100);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(st.st_mode, S_IFREG | 0444);
    vfs_path_put(&p);
    x->t2->creds.euid = 7;
    assert_int_equal(vfs_walk(&x->ctx, "/2/status", 0, &p), 0);
    assert_int_equal(inode_stat(p.dentry->inode, &st), 0);
    assert_int_equal(st.st_uid, 7);
    vfs_path_put(&p);
    struct statfs sfs;
    assert_int_equal(vfs_walk(&x->ctx, "/", 0, &p), 0);
    assert_int_equal(vfs_statfs(&p, &sfs), 0);
    assert_int_equal(sfs.f_type, 0x9fa0);
    vfs_path_put(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_fields, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stat_statm, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cmdline_environ_auxv, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_maps, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_root_and_self, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fds, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_exe_cwd_root, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_mounts, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_writes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_exited_process_vanishes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_misc, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_global_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sysctl, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sysctl_writes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ownership, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
