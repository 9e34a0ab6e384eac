/* Copying between guest memory and the sentry through the sentry's mapping of the memory file.
 * Protections are checked as x86's user-copy would see them: any mapping other than PROT_NONE is
 * readable, only PROT_WRITE ones are writable. Pages are populated but not mapped into the
 * platform: the guest's own fault maps them when it first touches them. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm_internal.h"

enum copy_dir { COPY_IN, COPY_OUT, COPY_CHECK_OUT, COPY_ZERO_FORCE };

static bool prot_allows(int prot, enum copy_dir dir)
{
    switch (dir) {
    case COPY_IN:
        return prot != PROT_NONE;
    case COPY_OUT:
    case COPY_CHECK_OUT:
        return prot & PROT_WRITE;
    default:
        return true;
    }
}

/* Copies until the first page that can't be accessed; returns the bytes copied. *oom is set
 * when it stopped for want of memory (a page it could not allocate), not for an address. */
static size_t copy_locked(struct mm *mm, uint64_t addr, void *buf, size_t len, enum copy_dir dir,
                          bool *oom)
{
    size_t done = 0;
    char *base = memfile_base(mm->mf);

    if (addr >= mm->max_addr)
        return 0;
    if (len > mm->max_addr - addr)
        len = mm->max_addr - addr;
    while (done < len) {
        uint64_t at = addr + done;
        struct vma *v = mm_vma_find(mm, at);
        struct pma *p;
        if (!v && dir != COPY_CHECK_OUT)
            v = mm_grow_stack(mm, at); /* as get_user_pages grows a stack */
        if (!v || !prot_allows(v->prot, dir))
            break;
        int err = mm_populate(mm, v, at, &p);
        /* Writing to pages shared with another mm copies them first, as a guest write does. */
        if (!err && (dir == COPY_OUT || dir == COPY_ZERO_FORCE) && p->cow)
            err = mm_cow_break(mm, at, &p, -1);
        if (err) {
            *oom = err == -ENOMEM;
            break;
        }
        size_t n = p->end - at;
        if (n > len - done)
            n = len - done;
        char *host = base + p->mf_off + (at - p->start);
        if (dir == COPY_IN)
            memcpy((char *)buf + done, host, n);
        else if (dir == COPY_OUT)
            memcpy(host, (const char *)buf + done, n);
        else if (dir == COPY_ZERO_FORCE)
            memset(host, 0, n);
        done += n;
    }
    return done;
}

static ssize_t copy_partial(struct mm *mm, uint64_t addr, void *buf, size_t len, enum copy_dir dir)
{
    size_t done = 0;
    bool oom = false;

    if (len == 0)
        return 0;
    for (;;) {
        pthread_mutex_lock(&mm->lock);
        done +=
            copy_locked(mm, addr + done, buf ? (char *)buf + done : NULL, len - done, dir, &oom);
        pthread_mutex_unlock(&mm->lock);
        /* Out of memory mid-copy: as a fault in copy_to_user, the memory limit's OOM killer runs
         * (with the mm lock dropped: it reads the mms) and the copy goes on if it freed any. */
        if (!oom || done == len || memfile_oom_wait(mm->mf) != 0)
            break;
        oom = false;
    }
    return done ? (ssize_t)done : -EFAULT;
}

ssize_t mm_copy_in_partial(struct mm *mm, uint64_t addr, void *buf, size_t len)
{
    return copy_partial(mm, addr, buf, len, COPY_IN);
}

ssize_t mm_copy_out_partial(struct mm *mm, uint64_t addr, const void *buf, size_t len)
{
    return copy_partial(mm, addr, (void *)buf, len, COPY_OUT);
}

int mm_copy_in(struct mm *mm, uint64_t addr, void *buf, size_t len)
{
    ssize_t n = copy_partial(mm, addr, buf, len, COPY_IN);
    return n == (ssize_t)len ? 0 : -EFAULT;
}

int mm_copy_out(struct mm *mm, uint64_t addr, const void *buf, size_t len)
{
    ssize_t n = copy_partial(mm, addr, (void *)buf, len, COPY_OUT);
    return n == (ssize_t)len ? 0 : -EFAULT;
}

ssize_t mm_writable_prefix(struct mm *mm, uint64_t addr, size_t len)
{
    return copy_partial(mm, addr, NULL, len, COPY_CHECK_OUT);
}

int mm_zero_force(struct mm *mm, uint64_t addr, size_t len)
{
    ssize_t n = copy_partial(mm, addr, NULL, len, COPY_ZERO_FORCE);
    return n == (ssize_t)len ? 0 : -EFAULT;
}

ssize_t mm_copy_string_in(struct mm *mm, uint64_t addr, char *buf, size_t size)
{
    size_t got = 0;

    pthread_mutex_lock(&mm->lock);
    /* Copy a page at a time so a string ending just before an unmapped page is fine. */
    while (got < size) {
        uint64_t at = addr + got;
        if (at < addr)
            break;
        size_t chunk = PAGE_SIZE_MM - (at & (PAGE_SIZE_MM - 1));
        if (chunk > size - got)
            chunk = size - got;
        bool oom = false; /* a string the guest never wrote: EFAULT, not worth a kill */
        size_t n = copy_locked(mm, at, buf + got, chunk, COPY_IN, &oom);
        char *nul = memchr(buf + got, '\0', n);
        if (nul) {
            pthread_mutex_unlock(&mm->lock);
            return nul - buf;
        }
        got += n;
        if (n < chunk)
            break;
    }
    pthread_mutex_unlock(&mm->lock);
    return got == size ? -ENAMETOOLONG : -EFAULT;
}

long mm_word_op(struct mm *mm, uint64_t addr, bool write, uint64_t *mf_off,
                long (*fn)(uint32_t *word, void *arg), void *arg)
{
    long ret = -EFAULT;
    struct pma *p;

    if (addr & 3)
        return -EINVAL;
    pthread_mutex_lock(&mm->lock);
    struct vma *v = addr < mm->max_addr ? mm_vma_find(mm, addr) : NULL;
    if (v && prot_allows(v->prot, write ? COPY_OUT : COPY_IN) &&
        mm_populate(mm, v, addr, &p) == 0 &&
        (!write || !p->cow || mm_cow_break(mm, addr, &p, -1) == 0)) {
        *mf_off = p->mf_off + (addr - p->start);
        ret = fn((uint32_t *)((char *)memfile_base(mm->mf) + *mf_off), arg);
    }
    pthread_mutex_unlock(&mm->lock);
    return ret;
}
