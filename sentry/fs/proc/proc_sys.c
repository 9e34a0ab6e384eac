/* /proc/sys: the kernel's sysctl table (sentry/sysctl) as live, writable files, and the
 * fixed values the sandbox presents for the other keys programs read. */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>

#include "sentry/fs/proc/proc_internal.h"
#include "sentry/ipc/ipc.h"
#include "sentry/sysctl/sysctl.h"

static struct kernel *kernel_of(const struct kernfs_node *n)
{
    return ((const struct procfs *)n->fs)->kernel;
}

/* The table's key behind a file: the one whose last name component is the file's (each is
 * unique). */
static int sysctl_id_of(const struct kernfs_node *n)
{
    for (int id = 0; id < SYSCTL_COUNT; id++) {
        const char *name = sysctl_name(id);
        const char *leaf = strrchr(name, '.');
        if (strcmp(leaf ? leaf + 1 : name, n->entry->name) == 0)
            return id;
    }
    return -ENOENT;
}

static int gen_sysctl(const struct kernfs_node *n, struct kernfs_buf *b)
{
    char text[64];
    int id = sysctl_id_of(n);
    if (id < 0)
        return -EIO;
    sysctl_format(&kernel_of(n)->sysctl, id, text, sizeof(text));
    kernfs_printf(b, "%s", text);
    return 0;
}

/* Linux's proc_sys_permission and sysctl_perm: never executable; the mode (0644) is read
 * against the effective uid and groups (owner: uid 0, group: gid 0), not the fs ids, and no
 * CAP_DAC_OVERRIDE helps. The IPC keys' owner is the IPC namespace's root (ipc_permissions);
 * a network key gives its owner's rights to CAP_NET_ADMIN too (net_ctl_permissions). A caller
 * that is no task (the sentry itself) may do anything. */
static int sysctl_permission(const struct kernfs_node *n, int mask)
{
    struct task *t = task_current();
    unsigned mode = n->entry->mode & 0777;
    int id = sysctl_id_of(n);

    if (mask & MAY_EXEC)
        return -EACCES;
    if (!t || id < 0)
        return id < 0 ? -EACCES : 0;
    const struct creds *c = &t->creds;
    if (sysctl_is_net(id) && task_capable(t, CAP_NET_ADMIN))
        mode = ((mode >> 6) & 7) * 0111;
    bool root_group = c->egid == 0;
    for (int i = 0; i < c->ngroups && !root_group; i++)
        root_group = c->groups[i] == 0;
    unsigned bits = c->euid == 0 ? mode >> 6 : root_group ? mode >> 3 : mode;
    return ((unsigned)mask & ~bits & 7) ? -EACCES : 0;
}

/* proc_sys_call_handler: the access is checked again for the writer; a write past offset 0
 * sets nothing (sysctl_writes_strict), and only the first page of text counts. */
static ssize_t write_sysctl(const struct kernfs_node *n, const char *buf, size_t len, int64_t off)
{
    int id = sysctl_id_of(n);
    if (id < 0)
        return -EIO;
    int err = sysctl_permission(n, MAY_WRITE);
    if (err)
        return err;
    if (len == 0 || off != 0)
        return 0;
    struct sysctl_table *table = &kernel_of(n)->sysctl;
    err = sysctl_set(table, id, buf, len < 4095 ? len : 4095);
    if (err)
        return err;
    /* proc_ipc_dointvec_minmax_orphans: setting shm_rmid_forced removes the orphans now. */
    if (id == SYSCTL_KERNEL_SHM_RMID_FORCED) {
        struct sysctl_values v;
        sysctl_read(table, &v);
        if (v.shm_rmid_forced)
            ipc_shm_destroy_orphans();
    }
    return (ssize_t)len;
}

static int gen_hostname(const struct kernfs_node *n, struct kernfs_buf *b)
{
    const char *h = kernel_of(n)->cfg.hostname;
    kernfs_printf(b, "%s\n", h ? h : "localhost");
    return 0;
}

static int gen_boot_id(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "%s\n", ((const struct procfs *)n->fs)->boot_id);
    return 0;
}

static int gen_uuid(const struct kernfs_node *n, struct kernfs_buf *b)
{
    char u[37];
    proc_make_uuid(u);
    kernfs_printf(b, "%s\n", u);
    return 0;
}

static int gen_threads_max(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "%d\n", KERNEL_MAX_TASKS);
    return 0;
}

static int gen_pid_max(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "%d\n", KERNEL_PID_MAX);
    return 0;
}

static int gen_nr_open(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "%d\n", FDTABLE_MAX);
    return 0;
}

static int gen_cap_last_cap(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "%d\n", PROC_CAP_LAST_CAP);
    return 0;
}

/* Constant values: the text comes from the entry's name through this table. */
static const struct {
    const char *name, *text;
} sysctl_constants[] = {
    {"domainname", "(none)\n"},
    {"ostype", "Linux\n"},
    {"osrelease", KERNEL_UTS_RELEASE "\n"},
    {"ngroups_max", "65536\n"},
    {"overflowuid", "65534\n"},
    {"overflowgid", "65534\n"},
    {"overcommit_memory", "0\n"},
    {"max_map_count", "65530\n"},
    {"mmap_min_addr", "65536\n"},
    {"file-max", "9223372036854775807\n"},
    {"pipe-max-size", "1048576\n"},
};

static int gen_constant(const struct kernfs_node *n, struct kernfs_buf *b)
{
    for (size_t i = 0; i < sizeof(sysctl_constants) / sizeof(sysctl_constants[0]); i++) {
        if (strcmp(sysctl_constants[i].name, n->entry->name) == 0) {
            kernfs_printf(b, "%s", sysctl_constants[i].text);
            return 0;
        }
    }
    return -EIO;
}

#define SYSCTL(n, g) {.name = (n), .mode = S_IFREG | 0444, .generate = (g)}
#define SYSCTL_CONST(n) SYSCTL(n, gen_constant)
#define SYSCTL_KEY(n)                                                                              \
    {.name = (n), .mode = S_IFREG | 0644, .generate = gen_sysctl, .write = write_sysctl,          \
     .permission = sysctl_permission}
#define DIR(n, c) {.name = (n), .mode = S_IFDIR | 0555, .children = (c)}

static const struct kernfs_entry sys_kernel_random[] = {
    SYSCTL("boot_id", gen_boot_id),
    SYSCTL("uuid", gen_uuid),
    {.name = NULL},
};

static const struct kernfs_entry sys_kernel[] = {
    SYSCTL_CONST("domainname"),
    SYSCTL("cap_last_cap", gen_cap_last_cap),
    SYSCTL("hostname", gen_hostname),
    SYSCTL_KEY("msgmax"),
    SYSCTL_KEY("msgmnb"),
    SYSCTL_KEY("msgmni"),
    SYSCTL_CONST("ngroups_max"),
    SYSCTL_CONST("osrelease"),
    SYSCTL_CONST("ostype"),
    SYSCTL_CONST("overflowgid"),
    SYSCTL_CONST("overflowuid"),
    SYSCTL("pid_max", gen_pid_max),
    DIR("random", sys_kernel_random),
    SYSCTL_KEY("sem"),
    SYSCTL_KEY("shmall"),
    SYSCTL_KEY("shmmax"),
    SYSCTL_KEY("shmmni"),
    SYSCTL_KEY("shm_rmid_forced"),
    SYSCTL("threads-max", gen_threads_max),
    {.name = NULL},
};

static const struct kernfs_entry sys_vm[] = {
    SYSCTL_CONST("max_map_count"),
    SYSCTL_CONST("mmap_min_addr"),
    SYSCTL_CONST("overcommit_memory"),
    {.name = NULL},
};

static const struct kernfs_entry sys_fs[] = {
    SYSCTL_CONST("file-max"),
    SYSCTL("nr_open", gen_nr_open),
    SYSCTL_CONST("pipe-max-size"),
    {.name = NULL},
};

static const struct kernfs_entry sys_net_core[] = {
    SYSCTL_KEY("somaxconn"),
    {.name = NULL},
};

static const struct kernfs_entry sys_net_ipv4[] = {
    SYSCTL_KEY("ip_local_port_range"),
    SYSCTL_KEY("ip_unprivileged_port_start"),
    SYSCTL_KEY("ping_group_range"),
    SYSCTL_KEY("tcp_syncookies"),
    {.name = NULL},
};

static const struct kernfs_entry sys_net[] = {
    DIR("core", sys_net_core),
    DIR("ipv4", sys_net_ipv4),
    {.name = NULL},
};

const struct kernfs_entry proc_sys_entries[] = {
    DIR("fs", sys_fs),
    DIR("kernel", sys_kernel),
    DIR("net", sys_net),
    DIR("vm", sys_vm),
    {.name = NULL},
};
