/* /sys: devices/system/cpu/{online,possible,present,cpuN/}, fs/cgroup/ and
 * kernel/mm/transparent_hugepage/enabled, on kernfs. */
#include "sentry/fs/sys/sys.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/fs/kernfs/kernfs.h"

/* statfs f_type of sysfs (SYSFS_MAGIC). */
#define SYSFS_MAGIC_VALUE 0x62656572

struct sysfs {
    unsigned ncpus;
};

static unsigned ncpus_of(const struct kernfs_node *n)
{
    return ((const struct sysfs *)n->fs)->ncpus;
}

/* "0-N" as Linux's cpumask list format prints a full range; "0" for one CPU. */
static int gen_cpu_range(const struct kernfs_node *n, struct kernfs_buf *b)
{
    unsigned c = ncpus_of(n);
    if (c <= 1)
        kernfs_printf(b, "0\n");
    else
        kernfs_printf(b, "0-%u\n", c - 1);
    return 0;
}

static int gen_thp_enabled(const struct kernfs_node *n, struct kernfs_buf *b)
{
    kernfs_printf(b, "always [madvise] never\n");
    return 0;
}

static const struct kernfs_entry cpu_n_dir = {
    .name = "cpu",
    .mode = S_IFDIR | 0755,
};

static int cpu_lookup(const struct kernfs_node *dir, const char *name, struct kernfs_node *out)
{
    if (strncmp(name, "cpu", 3) != 0 || name[3] < '0' || name[3] > '9')
        return -ENOENT;
    if (name[3] == '0' && name[4])
        return -ENOENT;
    char *end;
    unsigned long n = strtoul(name + 3, &end, 10);
    if (*end || n >= ncpus_of(dir))
        return -ENOENT;
    out->entry = &cpu_n_dir;
    out->num = (int)n;
    return 0;
}

static int cpu_readdir(const struct kernfs_node *dir, struct dir_list *out)
{
    for (unsigned c = 0; c < ncpus_of(dir); c++) {
        char name[24];
        int len = snprintf(name, sizeof(name), "cpu%u", c);
        int err = dir_list_add(out, name, (size_t)len, 0, DT_DIR);
        if (err)
            return err;
    }
    return 0;
}

#define FILE_RO(n, g) {.name = (n), .mode = S_IFREG | 0444, .generate = (g)}
#define DIR(n, c) {.name = (n), .mode = S_IFDIR | 0755, .children = (c)}

static const struct kernfs_entry cpu_children[] = {
    FILE_RO("online", gen_cpu_range),
    FILE_RO("possible", gen_cpu_range),
    FILE_RO("present", gen_cpu_range),
    {.name = NULL},
};

static const struct kernfs_entry system_children[] = {
    {.name = "cpu",
     .mode = S_IFDIR | 0755,
     .children = cpu_children,
     .lookup = cpu_lookup,
     .readdir = cpu_readdir},
    {.name = NULL},
};

static const struct kernfs_entry devices_children[] = {
    DIR("system", system_children),
    {.name = NULL},
};

static const struct kernfs_entry fs_children[] = {
    {.name = "cgroup", .mode = S_IFDIR | 0755},
    {.name = NULL},
};

static const struct kernfs_entry thp_children[] = {
    {.name = "enabled", .mode = S_IFREG | 0644, .generate = gen_thp_enabled},
    {.name = NULL},
};

static const struct kernfs_entry mm_children[] = {
    DIR("transparent_hugepage", thp_children),
    {.name = NULL},
};

static const struct kernfs_entry kernel_children[] = {
    DIR("mm", mm_children),
    {.name = NULL},
};

static const struct kernfs_entry root_children[] = {
    DIR("devices", devices_children),
    DIR("fs", fs_children),
    DIR("kernel", kernel_children),
    {.name = NULL},
};

static const struct kernfs_entry sysfs_root = {
    .name = "/",
    .mode = S_IFDIR | 0555,
    .children = root_children,
};

int sysfs_create(unsigned ncpus, struct super_block **sb, struct dentry **root)
{
    struct sysfs *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    if (!ncpus) {
        cpu_set_t set;
        ncpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? (unsigned)CPU_COUNT(&set) : 1;
    }
    s->ncpus = ncpus ? ncpus : 1;
    int err = kernfs_create("sysfs", SYSFS_MAGIC_VALUE, &sysfs_root, s, sb, root);
    if (err)
        free(s);
    return err;
}

void sysfs_destroy(struct super_block *sb, struct dentry *root)
{
    void *s = kernfs_node_of(root->inode)->fs;
    dentry_prune(root);
    dentry_put(root);
    kernfs_destroy(sb);
    free(s);
}
