/* Batched mappings: the sentry writes a list of mappings into a stub's batch page and one stop
 * of the stub (arch_stub_map_batch) makes them all, where platform_as_map costs a stop each. The
 * batch file is a memfd with one page per possible pid, mapped whole and shared in the sentry;
 * each stub maps only its own pid's page, read-only (factory.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "platform/ptrace/ptrace_internal.h"
#include "stub.h"

#define BATCH_MAX_ENTRIES (PTRACE_BATCH_PAGE / sizeof(struct arch_stub_mapping))

/* pid_max, the number of pages the batch file needs; PID_MAX_LIMIT if it can't be read. */
static uint64_t batch_pid_count(void)
{
    uint64_t n = PTRACE_BATCH_PIDS_DEFAULT;
    FILE *f = fopen("/proc/sys/kernel/pid_max", "re");

    if (f) {
        unsigned long v;
        if (fscanf(f, "%lu", &v) == 1 && v > 0 && v <= PTRACE_BATCH_PIDS_DEFAULT)
            n = v;
        fclose(f);
    }
    return n;
}

int ptrace_batch_create(struct ptrace_platform *p)
{
    uint64_t pids = batch_pid_count();
    size_t size = (size_t)(pids * PTRACE_BATCH_PAGE);
    int err;

    p->batch_fd = -1;
    p->batch_base = NULL;
    p->batch_pids = 0;
    int fd = memfd_create("runsc-stub-batch", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)size) != 0) {
        err = -errno;
        goto out_close;
    }
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (base == MAP_FAILED) {
        err = -errno;
        goto out_close;
    }
    p->batch_fd = fd;
    p->batch_base = base;
    p->batch_pids = pids;
    return 0;

out_close:
    close(fd);
    return err;
}

void ptrace_batch_destroy(struct ptrace_platform *p)
{
    if (p->batch_base)
        munmap(p->batch_base, (size_t)(p->batch_pids * PTRACE_BATCH_PAGE));
    if (p->batch_fd >= 0)
        close(p->batch_fd);
    p->batch_base = NULL;
    p->batch_fd = -1;
    p->batch_pids = 0;
}

bool ptrace_batch_has_page(const struct ptrace_platform *p, pid_t pid)
{
    return p->batch_fd >= 0 && pid > 0 && (uint64_t)pid < p->batch_pids;
}

static struct arch_stub_mapping *batch_page(struct ptrace_as *as)
{
    return (struct arch_stub_mapping *)(as->platform->batch_base +
                                        (uint64_t)as->pid * PTRACE_BATCH_PAGE);
}

void ptrace_batch_release(struct ptrace_as *as)
{
    /* Gives the page's memory back; its stub still holds the pid, so no new stub can be using
     * the page yet. */
    if (as->batch_used)
        fallocate(as->platform->batch_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)as->pid * (off_t)PTRACE_BATCH_PAGE, (off_t)PTRACE_BATCH_PAGE);
    as->batch_used = false;
}

/* Makes up to a page of mappings in one stop of `t` (as->lock held); *done as for the batch. */
static int batch_run(struct ptrace_as *as, struct ptrace_thread *t,
                     const struct platform_mapping *maps, size_t n, size_t *done)
{
    struct ptrace_platform *p = as->platform;
    struct arch_stub_mapping *list = batch_page(as);
    struct arch_regs regs = t->initial;

    for (size_t i = 0; i < n; i++) {
        list[i] = (struct arch_stub_mapping){
            .addr = maps[i].addr,
            .len = maps[i].len,
            .prot = (uint64_t)(unsigned)maps[i].prot,
            .memfile_offset = maps[i].memfile_offset,
        };
    }
    as->batch_used = true;
    uint64_t ip = p->stub_base + (uint64_t)(arch_stub_map_batch - arch_stub_code_start);
    arch_stub_regs_for_map_batch(&regs, ip, p->batch_addr, n, p->memfile_fd);
    int err = ptrace_run_stub(t, &regs);
    if (err) {
        *done = 0;
        return err;
    }
    int64_t ret = arch_stub_syscall_result(&regs);
    uint64_t left = arch_stub_map_batch_left(&regs);
    if (ret == 0 && left == 0) {
        *done = n;
        return 0;
    }
    *done = left <= n ? n - left : 0;
    return ret < 0 && ret > -4096 ? (int)ret : -EIO;
}

int ptrace_as_map_batch(struct platform_as *base, const struct platform_mapping *maps, size_t n,
                        size_t *done)
{
    struct ptrace_as *as = (struct ptrace_as *)base;
    int err = 0;

    *done = 0;
    if (n == 0)
        return 0;
    pthread_mutex_lock(&as->lock);
    struct ptrace_thread *t = ptrace_as_thread_for_caller(as);
    if (!t) {
        err = -ESRCH;
    } else if (n == 1 || !ptrace_batch_has_page(as->platform, as->pid)) {
        /* One mapping costs a stop either way: the plain injected mmap needs no list. */
        for (; *done < n; (*done)++) {
            const struct platform_mapping *m = &maps[*done];
            uint64_t args[6] = {m->addr, m->len, (uint64_t)m->prot, MAP_SHARED | MAP_FIXED,
                                (uint64_t)as->platform->memfile_fd, m->memfile_offset};
            long ret = ptrace_inject_syscall(as->platform, t, SYS_mmap, args);
            if ((uint64_t)ret != m->addr) {
                err = ret < 0 && ret > -4096 ? (int)ret : -EIO;
                break;
            }
        }
    } else {
        while (*done < n) {
            size_t chunk = n - *done < BATCH_MAX_ENTRIES ? n - *done : BATCH_MAX_ENTRIES;
            size_t made;
            err = batch_run(as, t, maps + *done, chunk, &made);
            *done += made;
            if (err)
                break;
        }
    }
    pthread_mutex_unlock(&as->lock);
    return err;
}
