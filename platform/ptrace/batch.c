/* Batched syscalls in a stub: the sentry writes a list of syscalls into the stub's batch page and
 * one stop of the stub (arch_stub_batch) makes them all, where an injected syscall costs a stop
 * each: the mappings of platform_as_map_batch, and the prctls that show host tools a stub's
 * identity (identity.c), which wait for the next batch or switch. The batch file is a memfd with
 * one page per possible pid, mapped whole and shared in the sentry; each stub maps only its own
 * pid's page, read-only (factory.c). */
#include <errno.h>
#include <linux/prctl.h>
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

/* The batch page: the calls first, then the data the pending prctls point at. */
#define BATCH_DATA_OFF (PTRACE_BATCH_PAGE - 256)
#define BATCH_IMAGE_OFF BATCH_DATA_OFF         /* struct prctl_mm_map */
#define BATCH_NAME_OFF (BATCH_DATA_OFF + 128)  /* a thread's comm, 16 bytes */
#define BATCH_MAX_CALLS (BATCH_DATA_OFF / sizeof(struct arch_stub_call))
#define BATCH_MAX_PENDING 2                    /* the image and a name */

static char *batch_page(struct ptrace_as *as)
{
    return as->platform->batch_base + (uint64_t)as->pid * PTRACE_BATCH_PAGE;
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

/* Runs the `n` calls already in the batch page in one stop of `t`; *done gets how many
 * succeeded and *result the failing one's result. Returns 0, 1 if one failed, or -errno if the
 * stub could not run. */
static int batch_exec(struct ptrace_as *as, struct ptrace_thread *t, size_t n, size_t *done,
                      int64_t *result)
{
    struct ptrace_platform *p = as->platform;
    struct arch_regs regs = t->initial;

    as->batch_used = true;
    uint64_t ip = p->stub_base + (uint64_t)(arch_stub_batch - arch_stub_code_start);
    arch_stub_regs_for_batch(&regs, ip, p->batch_addr, n);
    int err = ptrace_run_stub(t, &regs);
    if (err) {
        *done = 0;
        return err;
    }
    uint64_t left = arch_stub_batch_left(&regs);
    *result = arch_stub_syscall_result(&regs);
    if (left == 0) {
        *done = n;
        return 0;
    }
    *done = left <= n ? n - left : 0;
    return 1;
}

static int errno_of(int64_t result)
{
    return result < 0 && result > -4096 ? (int)result : -EIO;
}

/* Appends the pending prctls of `as` and `t` to `calls` (their data goes in the batch page);
 * returns how many. */
static size_t pending_add(struct ptrace_as *as, struct ptrace_thread *t,
                          struct arch_stub_call *calls)
{
    char *page = batch_page(as);
    uint64_t data = as->platform->batch_addr;
    size_t n = 0;

    if (as->image_pending) {
        memcpy(page + BATCH_IMAGE_OFF, &as->pending_image, sizeof(as->pending_image));
        calls[n++] = (struct arch_stub_call){
            .nr = SYS_prctl,
            .args = {PR_SET_MM, PR_SET_MM_MAP, data + BATCH_IMAGE_OFF,
                     sizeof(as->pending_image)},
            .expect = 0};
    }
    if (t->name_pending) {
        /* PR_SET_NAME names the calling thread: the batch runs in `t` itself. */
        memcpy(page + BATCH_NAME_OFF, t->name, sizeof(t->name));
        calls[n++] = (struct arch_stub_call){
            .nr = SYS_prctl, .args = {PR_SET_NAME, data + BATCH_NAME_OFF}, .expect = 0};
    }
    return n;
}

/* After a batch whose last `npending` calls were pending_add's: `ran` of them were reached, the
 * last of those failing with `result` if `failed`. A refused image (-ENOSPC: the host's
 * RLIMIT_DATA is below the guest's data and heap) is given again with those shown empty; other
 * failures only cost host tools their view, and are not retried. */
static void pending_done(struct ptrace_as *as, struct ptrace_thread *t, size_t npending,
                         size_t ran, bool failed, int64_t result)
{
    size_t i = 0;

    if (ran == 0)
        return; /* not reached: still pending */
    if (as->image_pending) {
        as->image_pending = false;
        struct prctl_mm_map *img = &as->pending_image;
        bool shown = img->end_data != img->start_data || img->brk != img->start_brk;
        if (failed && ran == 1 && result == -ENOSPC && shown) {
            img->end_data = img->start_data;
            img->brk = img->start_brk;
            as->image_pending = true;
            ptrace_batch_flush(as, t);
            return; /* the flush ran the name too */
        }
        i++;
    }
    if (t->name_pending && i < npending && ran > i)
        t->name_pending = false;
}

int ptrace_batch_flush(struct ptrace_as *as, struct ptrace_thread *t)
{
    struct arch_stub_call *calls = (struct arch_stub_call *)batch_page(as);
    size_t done;
    int64_t result = 0;

    size_t n = pending_add(as, t, calls);
    if (n == 0)
        return 0;
    int err = batch_exec(as, t, n, &done, &result);
    if (err < 0)
        return err;
    pending_done(as, t, n, err ? done + 1 : done, err != 0, result);
    return 0;
}

/* Makes up to a page of mappings in one stop of `t`, followed by the pending prctls in the
 * first; *done as for the batch (as->lock held). */
static int batch_maps(struct ptrace_as *as, struct ptrace_thread *t,
                      const struct platform_mapping *maps, size_t n, bool with_pending,
                      size_t *done)
{
    struct arch_stub_call *calls = (struct arch_stub_call *)batch_page(as);
    int memfile_fd = as->platform->memfile_fd;
    int64_t result = 0;
    size_t ran;

    for (size_t i = 0; i < n; i++) {
        calls[i] = (struct arch_stub_call){
            .nr = SYS_mmap,
            .args = {maps[i].addr, maps[i].len, (uint64_t)(unsigned)maps[i].prot,
                     MAP_SHARED | MAP_FIXED, (uint64_t)memfile_fd, maps[i].memfile_offset},
            .expect = maps[i].addr};
    }
    size_t npending = with_pending ? pending_add(as, t, calls + n) : 0;
    int err = batch_exec(as, t, n + npending, &ran, &result);
    if (err < 0) {
        *done = 0;
        return err;
    }
    *done = ran < n ? ran : n;
    if (npending && (ran > n || (err && ran == n)))
        pending_done(as, t, npending, err ? ran + 1 - n : ran - n, err != 0, result);
    if (err && ran < n)
        return errno_of(result);
    return 0;
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
    } else if (!ptrace_batch_has_page(as->platform, as->pid)) {
        for (; *done < n; (*done)++) {
            const struct platform_mapping *m = &maps[*done];
            uint64_t args[6] = {m->addr,
                                m->len,
                                (uint64_t)m->prot,
                                MAP_SHARED | MAP_FIXED,
                                (uint64_t)as->platform->memfile_fd,
                                m->memfile_offset};
            long ret = ptrace_inject_syscall(as->platform, t, SYS_mmap, args);
            if ((uint64_t)ret != m->addr) {
                err = errno_of(ret);
                break;
            }
        }
    } else {
        bool first = true;
        while (*done < n) {
            size_t room = BATCH_MAX_CALLS - (first ? BATCH_MAX_PENDING : 0);
            size_t chunk = n - *done < room ? n - *done : room;
            size_t made;
            err = batch_maps(as, t, maps + *done, chunk, first, &made);
            first = false;
            *done += made;
            if (err)
                break;
        }
    }
    pthread_mutex_unlock(&as->lock);
    return err;
}
