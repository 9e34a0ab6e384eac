/* /proc/PID/{maps,smaps_rollup,cmdline,environ,auxv}: a process's address space as Linux's
 * fs/proc/task_mmu.c and fs/proc/base.c print it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "sentry/fs/proc/proc_internal.h"

#define PAGE 4096ULL
/* Bounds what one read of cmdline/environ copies out of guest memory. */
#define PROC_MAX_ARGS_BYTES (4ULL << 20)
/* The width of a maps line before its name: 25 + sizeof(void *) * 6 - 1 (show_vma_header). */
#define MAPS_NAME_COLUMN 72

void proc_format_maps_line(struct kernfs_buf *b, uint64_t start, uint64_t end, int prot,
                           bool shared, uint64_t off, dev_t dev, uint64_t ino, const char *name)
{
    size_t line_start = b->len;
    kernfs_printf(b, "%08llx-%08llx %c%c%c%c %08llx %02x:%02x %llu ", (unsigned long long)start,
                  (unsigned long long)end, prot & PROT_READ ? 'r' : '-',
                  prot & PROT_WRITE ? 'w' : '-', prot & PROT_EXEC ? 'x' : '-', shared ? 's' : 'p',
                  (unsigned long long)off, major(dev), minor(dev), (unsigned long long)ino);
    if (name && !b->err) {
        /* seq_pad: spaces up to the column, then one more before the name. */
        size_t used = b->len - line_start;
        for (; used < MAPS_NAME_COLUMN; used++)
            kernfs_put(b, " ", 1);
        kernfs_put(b, " ", 1);
        kernfs_printf(b, "%s", name);
    }
    kernfs_put(b, "\n", 1);
}

struct maps_ctx {
    struct kernfs_buf *b;
    struct mm_proc_ranges mr;
    char name[4096];
};

/* [heap] and [stack] as Linux recognizes them: the brk range, the initial stack. */
static const char *vma_name(struct maps_ctx *c, const struct vma *v, dev_t *dev, uint64_t *ino)
{
    *dev = 0;
    *ino = 0;
    if (v->file) {
        if (v->file->ops->name &&
            v->file->ops->name(v->file, c->name, sizeof(c->name), dev, ino) >= 0)
            return c->name;
        return NULL;
    }
    if ((v->flags & VMA_HEAP) ||
        (c->mr.brk && v->start <= c->mr.brk && v->end >= c->mr.start_brk && c->mr.start_brk))
        return "[heap]";
    if ((v->flags & VMA_GROWSDOWN) ||
        (c->mr.start_stack && v->start <= c->mr.start_stack && v->end >= c->mr.start_stack))
        return "[stack]";
    return NULL;
}

static int maps_one(const struct vma *v, void *arg)
{
    struct maps_ctx *c = arg;
    dev_t dev;
    uint64_t ino;
    const char *name = vma_name(c, v, &dev, &ino);
    bool shared = (v->flags & VMA_SHARED) && !(v->flags & VMA_SPECIAL);
    proc_format_maps_line(c->b, v->start, v->end, v->prot, shared,
                          v->file ? v->file_off : 0, dev, ino, name);
    return c->b->err;
}

int proc_gen_maps(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct proc_task pt;
    int err = proc_node_task(n, PROC_TASK_MM, &pt);
    if (err)
        return err;
    if (pt.mm) {
        struct maps_ctx *c = malloc(sizeof(*c));
        if (!c) {
            proc_task_put(&pt);
            return -ENOMEM;
        }
        c->b = b;
        mm_get_proc_ranges(pt.mm, &c->mr);
        err = mm_for_each_vma(pt.mm, maps_one, c);
        free(c);
    }
    proc_task_put(&pt);
    return err;
}

int proc_gen_smaps_rollup(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct proc_task pt;
    int err = proc_node_task(n, PROC_TASK_MM, &pt);
    if (err)
        return err;
    if (!pt.mm) {
        proc_task_put(&pt);
        return 0;
    }
    struct mm_stats ms;
    mm_get_stats(pt.mm, &ms);
    proc_task_put(&pt);
    proc_format_maps_line(b, ms.start, ms.end, 0, false, 0, 0, 0, "[rollup]");
    /* Every resident page was written or zero-filled by the sentry: dirty. Pages shared
     * copy-on-write with another process count half in Pss (the common two-way case). */
    unsigned long long rss = ms.rss >> 10, shared = ms.rss_shared >> 10;
    unsigned long long pss = rss - shared / 2, anon = ms.rss_anon >> 10;
    unsigned long long pss_anon = anon > rss - pss ? anon - (rss - pss) : 0;
    static const char *const zero_fields[] = {
        "LazyFree:       ", "AnonHugePages:  ", "ShmemPmdMapped: ", "FilePmdMapped:  ",
        "Shared_Hugetlb: ", "Private_Hugetlb:", "Swap:           ", "SwapPss:        ",
        "Locked:         ",
    };
    kernfs_printf(b, "Rss:            %8llu kB\n", rss);
    kernfs_printf(b, "Pss:            %8llu kB\n", pss);
    kernfs_printf(b, "Pss_Dirty:      %8llu kB\n", pss);
    kernfs_printf(b, "Pss_Anon:       %8llu kB\n", pss_anon);
    kernfs_printf(b, "Pss_File:       %8llu kB\n", pss - pss_anon);
    kernfs_printf(b, "Pss_Shmem:      %8llu kB\n", 0ULL);
    kernfs_printf(b, "Shared_Clean:   %8llu kB\n", 0ULL);
    kernfs_printf(b, "Shared_Dirty:   %8llu kB\n", shared);
    kernfs_printf(b, "Private_Clean:  %8llu kB\n", 0ULL);
    kernfs_printf(b, "Private_Dirty:  %8llu kB\n", rss - shared);
    kernfs_printf(b, "Referenced:     %8llu kB\n", rss);
    kernfs_printf(b, "Anonymous:      %8llu kB\n", anon);
    for (size_t i = 0; i < sizeof(zero_fields) / sizeof(zero_fields[0]); i++) {
        /* Private_Hugetlb's name fills its column: Linux prints it with width 7. */
        if (strcmp(zero_fields[i], "Private_Hugetlb:") == 0)
            kernfs_printf(b, "%s %7llu kB\n", zero_fields[i], 0ULL);
        else
            kernfs_printf(b, "%s%8llu kB\n", zero_fields[i], 0ULL);
    }
    return 0;
}

/* Appends guest memory [start, end) to b, as much as can be read. */
static int copy_range(struct mm *mm, uint64_t start, uint64_t end, struct kernfs_buf *b)
{
    if (end <= start)
        return 0;
    if (end - start > PROC_MAX_ARGS_BYTES)
        end = start + PROC_MAX_ARGS_BYTES;
    size_t len = (size_t)(end - start);
    char *tmp = malloc(len);
    if (!tmp)
        return -ENOMEM;
    ssize_t n = mm_copy_in_partial(mm, start, tmp, len);
    if (n > 0)
        kernfs_put(b, tmp, (size_t)n);
    free(tmp);
    return 0;
}

int proc_gen_cmdline(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct proc_task pt;
    int err = proc_node_task(n, PROC_TASK_MM, &pt);
    if (err)
        return err;
    if (!pt.mm) {
        proc_task_put(&pt);
        return 0;
    }
    struct mm_proc_ranges mr;
    mm_get_proc_ranges(pt.mm, &mr);
    err = copy_range(pt.mm, mr.arg_start, mr.arg_end, b);
    /* get_mm_cmdline: when the last argv byte is no longer NUL the process rewrote its title
     * (setproctitle), which may run on into the environment: the text up to the first NUL,
     * within a page. */
    if (!err && b->len && b->data[b->len - 1] != '\0') {
        b->len = 0;
        uint64_t end = mr.env_end > mr.arg_end && mr.env_start == mr.arg_end ? mr.env_end
                                                                             : mr.arg_end;
        if (end - mr.arg_start > PAGE)
            end = mr.arg_start + PAGE;
        err = copy_range(pt.mm, mr.arg_start, end, b);
        if (!err && b->data) {
            size_t len = strnlen(b->data, b->len);
            b->len = len < b->len ? len + 1 : len;
        }
    }
    proc_task_put(&pt);
    return err;
}

int proc_gen_environ(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct proc_task pt;
    int err = proc_node_task(n, PROC_TASK_MM, &pt);
    if (err)
        return err;
    if (pt.mm) {
        struct mm_proc_ranges mr;
        mm_get_proc_ranges(pt.mm, &mr);
        err = copy_range(pt.mm, mr.env_start, mr.env_end, b);
    }
    proc_task_put(&pt);
    return err;
}

int proc_gen_auxv(const struct kernfs_node *n, struct kernfs_buf *b)
{
    struct proc_task pt;
    int err = proc_node_task(n, PROC_TASK_MM, &pt);
    if (err)
        return err;
    if (pt.mm) {
        struct mm_proc_ranges mr;
        mm_get_proc_ranges(pt.mm, &mr);
        err = copy_range(pt.mm, mr.auxv_start, mr.auxv_end, b);
    }
    proc_task_put(&pt);
    return err;
}
