/* Memory syscalls: brk(2), mmap(2), munmap(2), mprotect(2), mremap(2), madvise(2). The argument
 * rules are Linux's; the work is the mm's. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "sentry/fs/dev/dev.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"
#include "sentry/vfs/vfs.h"

/* Not in glibc's headers: Linux accepts it on some arches and ignores it on x86. */
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif

#define PAGE_MASK_SYS (~4095UL)
/* Every MAP_ flag Linux knows; MAP_SHARED_VALIDATE refuses the others with EOPNOTSUPP. */
#define MAP_KNOWN_FLAGS                                                                            \
    (MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_32BIT | MAP_GROWSDOWN | MAP_DENYWRITE |            \
     MAP_EXECUTABLE | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK |       \
     MAP_HUGETLB | MAP_SYNC | MAP_FIXED_NOREPLACE | (0x3fU << MAP_HUGE_SHIFT))

long sys_brk(struct task *t, const struct syscall_args *a)
{
    return (long)mm_brk(t->mm, a->a[0]);
}

long sys_mmap(struct task *t, const struct syscall_args *a)
{
    uint64_t addr = a->a[0], len = a->a[1], off = a->a[5];
    int prot = (int)a->a[2], flags = (int)a->a[3];

    if (off & ~PAGE_MASK_SYS)
        return -EINVAL;
    switch (flags & MAP_TYPE) {
    case MAP_SHARED:
    case MAP_PRIVATE:
        break;
    case MAP_SHARED_VALIDATE:
        if (flags & ~MAP_KNOWN_FLAGS)
            return -EOPNOTSUPP;
        break;
    default:
        return -EINVAL;
    }
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP))
        return -EINVAL;
    struct mm_map_request req = {
        .addr = addr,
        .len = len,
        .prot = prot & (PROT_READ | PROT_WRITE | PROT_EXEC),
        .vma_flags = ((flags & MAP_TYPE) != MAP_PRIVATE ? VMA_SHARED : 0) |
                     ((flags & MAP_GROWSDOWN) ? VMA_GROWSDOWN : 0),
        .fixed = flags & MAP_FIXED,
        .noreplace = flags & MAP_FIXED_NOREPLACE,
        .noreserve = flags & MAP_NORESERVE,
    };
    if (flags & MAP_ANONYMOUS)
        return mm_map(t->mm, &req);

    struct file *f = (int64_t)a->a[4] < 0 ? NULL : fdtable_get(t->fds, (int)a->a[4]);
    if (!f)
        return -EBADF;
    if (dev_is_zero(f)) {
        /* /dev/zero maps anonymous memory, private or shared (shmem) as asked. */
        file_put(f);
        return mm_map(t->mm, &req);
    }
    int acc = atomic_load_explicit(&f->status_flags, memory_order_relaxed) & (O_ACCMODE | O_PATH);
    long ret;
    struct mappable *m = NULL;
    /* mmap(2): EACCES for a file not open for reading, or a shared writable mapping of a file
     * not open read-write. */
    if ((acc & O_PATH) || (acc & O_ACCMODE) == O_WRONLY)
        ret = (acc & O_PATH) ? -EBADF : -EACCES;
    else if ((req.vma_flags & VMA_SHARED) && (prot & PROT_WRITE) && (acc & O_ACCMODE) != O_RDWR)
        ret = -EACCES;
    else if (!f->ops->mmap)
        ret = -ENODEV;
    else
        ret = vfs_mappable_for_file(f, t->fs->ns, &m);
    if (ret == 0 && (req.vma_flags & VMA_SHARED) && !m->ops->translate) {
        /* The file has no pages of its own in the memory file (a gofer file): a read-only
         * shared mapping sees the same bytes as a private one while the file doesn't change,
         * but a writable one would lose its writes, so it is refused. */
        if (prot & PROT_WRITE) {
            m->ops->put(m);
            ret = -ENODEV;
        } else {
            req.vma_flags &= ~(unsigned)VMA_SHARED;
        }
    }
    if (ret == 0) {
        req.file = m;
        req.file_off = off;
        ret = mm_map(t->mm, &req);
        m->ops->put(m);
    }
    file_put(f);
    return ret;
}

long sys_munmap(struct task *t, const struct syscall_args *a)
{
    return mm_unmap(t->mm, a->a[0], a->a[1]);
}

long sys_mprotect(struct task *t, const struct syscall_args *a)
{
    return mm_protect(t->mm, a->a[0], a->a[1], (int)a->a[2]);
}

long sys_mremap(struct task *t, const struct syscall_args *a)
{
    return mm_remap(t->mm, a->a[0], a->a[1], a->a[2], (int)a->a[3], a->a[4]);
}

long sys_madvise(struct task *t, const struct syscall_args *a)
{
    return mm_advise(t->mm, a->a[0], a->a[1], (int)a->a[2]);
}

/* msync(2): shared file mappings are the file's own pages (tmpfs) and private ones are copies,
 * so there is nothing to write back; the argument and mapping checks are Linux's. */
long sys_msync(struct task *t, const struct syscall_args *a)
{
    uint64_t addr = a->a[0], len = a->a[1];
    int flags = (int)a->a[2];
    if (addr & ~PAGE_MASK_SYS)
        return -EINVAL;
    if (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE))
        return -EINVAL;
    if ((flags & MS_ASYNC) && (flags & MS_SYNC))
        return -EINVAL;
    uint64_t end = (addr + len + 4095) & PAGE_MASK_SYS;
    if (end < addr)
        return -ENOMEM;
    for (uint64_t at = addr; at < end;) {
        struct vma v;
        if (!mm_find_vma(t->mm, at, &v) || v.start > at)
            return -ENOMEM; /* a hole in the range */
        at = v.end;
    }
    return 0;
}

/* mlock(2) and friends: memory is never swapped, so locking is bookkeeping against
 * RLIMIT_MEMLOCK; CAP_IPC_LOCK (root) is exempt. */
static long lock_range(struct task *t, uint64_t addr, uint64_t len, bool lock)
{
    task_apply_mm_limits(t, t->mm); /* the exemption follows the caller's current creds */
    return mm_lock(t->mm, addr, len, lock);
}

long sys_mlock(struct task *t, const struct syscall_args *a)
{
    return lock_range(t, a->a[0], a->a[1], true);
}

long sys_mlock2(struct task *t, const struct syscall_args *a)
{
    if (a->a[2] & ~(uint64_t)MLOCK_ONFAULT)
        return -EINVAL;
    return lock_range(t, a->a[0], a->a[1], true);
}

long sys_munlock(struct task *t, const struct syscall_args *a)
{
    return lock_range(t, a->a[0], a->a[1], false);
}

long sys_mlockall(struct task *t, const struct syscall_args *a)
{
    uint64_t flags = a->a[0];
    /* MCL_ONFAULT needs MCL_CURRENT or MCL_FUTURE (mlockall(2)). */
    if (!flags || (flags & ~(uint64_t)(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) ||
        flags == MCL_ONFAULT)
        return -EINVAL;
    task_apply_mm_limits(t, t->mm);
    return (flags & MCL_CURRENT) ? mm_lock_all(t->mm, true) : 0;
}

long sys_munlockall(struct task *t, const struct syscall_args *a)
{
    return mm_lock_all(t->mm, false);
}
