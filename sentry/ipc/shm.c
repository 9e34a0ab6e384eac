/* System V shared memory: segments of memory-file pages, allocated on first touch and mapped
 * shared by every process that attaches them (a segment is a mappable whose translate hands out
 * its own pages, as a tmpfs file's). A removed segment lives on until its last detach. */
#include "sentry/ipc/ipc.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <time.h>

#include "sentry/ipc/registry.h"
#include "sentry/kernel/kernel.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"

#define SHM_PAGE 4096ULL
#define SHM_DEST_MODE 01000 /* SHM_DEST in shm_perm.mode: removed, waiting for its detaches */
#define SHM_LOCKED_MODE 02000

struct shm_segment {
    struct mappable base;
    struct memfile *mf;
    /* All below: shm_ids.lock. */
    struct ipc_object perm;
    uint64_t size;
    uint64_t npages;
    uint64_t *pages; /* memory-file offset + 1 of each page, 0 until first touched */
    time_t atime, dtime, ctime;
    pid_t cpid, lpid;
    unsigned long nattch; /* mappings (VMAs) referring to it */
    int holds;            /* syscalls using it without the lock */
    bool removed;         /* IPC_RMID: freed at the last detach */
    bool locked;          /* SHM_LOCK: only reported */
    struct sysctl_table *sysctl; /* its kernel's (kernel.shm_rmid_forced); immutable */
    const struct task *creator;  /* the task that made it, until that task ends */
};

/* The sandbox's one IPC namespace's segments. shm_ids.lock protects the table and every
 * segment's state; it is taken under mm.lock (a mapping's get/put/translate) and never held
 * across an mm call. A removed segment stays in the table (as SHM_DEST, key IPC_PRIVATE) until
 * its last detach, as Linux's does. */
static struct ipc_registry shm_ids = IPC_REGISTRY_INIT(0);
static uint64_t shm_total_pages;   /* shm_ids.lock */
static uint64_t shm_touched_pages; /* pages allocated so far (SHM_INFO's shm_rss); shm_ids.lock */

static const struct mappable_ops shm_mappable_ops;

static struct shm_segment *seg_of(struct mappable *m)
{
    return (struct shm_segment *)m;
}

/* Frees a segment no longer reachable: removed, unattached, unheld. shm_ids.lock held. */
static void seg_free_if_unused(struct shm_segment *s)
{
    if (!s->removed || s->nattch || s->holds)
        return;
    ipc_registry_remove(&shm_ids, &s->perm);
    for (uint64_t i = 0; i < s->npages; i++) {
        if (s->pages[i]) {
            memfile_decref(s->mf, s->pages[i] - 1, SHM_PAGE);
            shm_touched_pages--;
        }
    }
    shm_total_pages -= s->npages;
    free(s->pages);
    free(s);
}

static ssize_t shm_mappable_read(struct mappable *m, void *buf, size_t len, uint64_t off)
{
    struct shm_segment *s = seg_of(m);
    size_t done = 0;

    pthread_mutex_lock(&shm_ids.lock);
    while (done < len && off + done < s->size) {
        uint64_t pos = off + done, page = pos / SHM_PAGE, in = pos % SHM_PAGE;
        size_t n = SHM_PAGE - in;
        if (n > len - done)
            n = len - done;
        if (n > s->size - pos)
            n = s->size - pos;
        if (s->pages[page])
            memcpy((char *)buf + done, (char *)memfile_base(s->mf) + s->pages[page] - 1 + in, n);
        else
            memset((char *)buf + done, 0, n);
        done += n;
    }
    pthread_mutex_unlock(&shm_ids.lock);
    return (ssize_t)done;
}

/* A mapping of the segment: one attach (mm_map, fork and VMA splits all take one, as Linux's
 * shm_open counts vm_area opens). */
static void shm_mappable_get(struct mappable *m)
{
    pthread_mutex_lock(&shm_ids.lock);
    seg_of(m)->nattch++;
    pthread_mutex_unlock(&shm_ids.lock);
}

static void shm_mappable_put(struct mappable *m)
{
    struct shm_segment *s = seg_of(m);
    struct task *cur = task_current();

    pthread_mutex_lock(&shm_ids.lock);
    s->nattch--;
    s->dtime = time(NULL);
    if (cur)
        s->lpid = cur->tg->tgid;
    /* shm_may_destroy: with kernel.shm_rmid_forced the last detach removes the segment. */
    if (!s->nattch && !s->removed) {
        struct sysctl_values v;
        sysctl_read(s->sysctl, &v);
        if (v.shm_rmid_forced) {
            s->removed = true;
            s->perm.key = IPC_PRIVATE;
        }
    }
    seg_free_if_unused(s);
    pthread_mutex_unlock(&shm_ids.lock);
}

static int shm_mappable_translate(struct mappable *m, uint64_t off, uint64_t *mf_off)
{
    struct shm_segment *s = seg_of(m);
    uint64_t page = off / SHM_PAGE;
    int err = 0;

    pthread_mutex_lock(&shm_ids.lock);
    if (page >= s->npages) {
        err = -EFAULT; /* past the segment's end: Linux raises SIGBUS */
        goto out;
    }
    if (!s->pages[page]) {
        uint64_t o;
        err = memfile_alloc(s->mf, SHM_PAGE, &o);
        if (err)
            goto out;
        s->pages[page] = o + 1;
        shm_touched_pages++;
    }
    memfile_incref(s->mf, s->pages[page] - 1, SHM_PAGE); /* the mapping's reference */
    *mf_off = s->pages[page] - 1;
out:
    pthread_mutex_unlock(&shm_ids.lock);
    return err;
}

static int shm_mappable_name(struct mappable *m, char *buf, size_t size, dev_t *dev, uint64_t *ino)
{
    struct shm_segment *s = seg_of(m);
    /* /proc/PID/maps shows "/SYSV<key in hex> (deleted)" with the id as inode. */
    int n = snprintf(buf, size, "/SYSV%08x (deleted)", (unsigned)s->perm.key);
    *dev = 0;
    *ino = (uint64_t)s->perm.id;
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

static const struct mappable_ops shm_mappable_ops = {
    .read = shm_mappable_read,
    .get = shm_mappable_get,
    .put = shm_mappable_put,
    .name = shm_mappable_name,
    .translate = shm_mappable_translate,
};

static struct shm_segment *seg_of_object(struct ipc_object *o)
{
    return o ? (struct shm_segment *)((char *)o - offsetof(struct shm_segment, perm)) : NULL;
}

/* The segment with this id (shm_ids.lock held), or NULL. */
static struct shm_segment *seg_find(int id)
{
    return seg_of_object(ipc_registry_find(&shm_ids, id));
}

static long seg_create(struct ipc_registry *r, struct task *t, int32_t key, int flags, void *arg)
{
    uint64_t size = *(const uint64_t *)arg;
    struct sysctl_values v;
    sysctl_read(&t->kernel->sysctl, &v);
    /* newseg: the size within kernel.shmmax, then the pages within kernel.shmall. */
    if (size < IPC_SHMMIN || size > v.shmmax)
        return -EINVAL;
    if (size > UINT64_MAX - (SHM_PAGE - 1))
        return -ENOSPC;
    uint64_t npages = (size + SHM_PAGE - 1) / SHM_PAGE;
    if (shm_total_pages + npages < shm_total_pages || shm_total_pages + npages > v.shmall)
        return -ENOSPC;
    r->mni = v.shmmni;
    struct memfile *mf = t->kernel->cfg.memfile;
    /* A segment larger than the memory file could never be backed; its page table is
     * allocated up front, so its size is bounded here. */
    if (npages > memfile_size(mf) / SHM_PAGE)
        return -ENOMEM;
    struct shm_segment *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->pages = calloc(npages, sizeof(*s->pages));
    if (!s->pages) {
        free(s);
        return -ENOMEM;
    }
    long id = ipc_registry_add(r, &s->perm, t, key, flags);
    if (id < 0) {
        free(s->pages);
        free(s);
        return id;
    }
    s->base.ops = &shm_mappable_ops;
    s->mf = mf;
    s->sysctl = &t->kernel->sysctl;
    s->creator = t;
    s->size = size;
    s->npages = npages;
    s->ctime = time(NULL);
    s->cpid = t->tg->tgid;
    shm_total_pages += npages;
    return id;
}

/* An existing segment smaller than asked for: EINVAL (Linux's shm_more_checks). */
static int seg_check(struct ipc_object *o, void *arg)
{
    return *(const uint64_t *)arg > seg_of_object(o)->size ? -EINVAL : 0;
}

static const struct ipc_get_ops shm_get_ops = {.create = seg_create, .check = seg_check};

long ipc_shmget(struct task *t, int32_t key, uint64_t size, int flags)
{
    return ipc_registry_get(&shm_ids, t, key, flags, &shm_get_ops, &size);
}

long ipc_shmat(struct task *t, int id, uint64_t addr, int flags)
{
    if (addr & (SHM_PAGE - 1)) {
        if (!(flags & SHM_RND))
            return -EINVAL;
        addr &= ~(SHM_PAGE - 1); /* SHMLBA is the page size */
        if (!addr && (flags & SHM_REMAP))
            return -EINVAL;
    }
    int prot = PROT_READ;
    unsigned requested = 4;
    if (!(flags & SHM_RDONLY)) {
        prot |= PROT_WRITE;
        requested |= 2;
    }
    if (flags & SHM_EXEC) {
        prot |= PROT_EXEC;
        requested |= 1;
    }

    pthread_mutex_lock(&shm_ids.lock);
    struct shm_segment *s = seg_find(id);
    if (!s) {
        pthread_mutex_unlock(&shm_ids.lock);
        return -EINVAL;
    }
    if (!ipc_perm_allows(t, &s->perm, requested)) {
        pthread_mutex_unlock(&shm_ids.lock);
        return -EACCES;
    }
    s->holds++;
    uint64_t len = s->npages * SHM_PAGE;
    pthread_mutex_unlock(&shm_ids.lock);

    long ret;
    struct vma v;
    /* Without SHM_REMAP an attach at a given address may not replace anything there. */
    if (addr && !(flags & SHM_REMAP) && mm_find_vma(t->mm, addr, &v) && v.start < addr + len) {
        ret = -EINVAL;
    } else {
        struct mm_map_request req = {
            .addr = addr,
            .len = len,
            .prot = prot,
            .vma_flags = VMA_SHARED,
            .fixed = addr != 0,
            .file = &s->base,
        };
        ret = mm_map(t->mm, &req);
    }

    pthread_mutex_lock(&shm_ids.lock);
    if (ret >= 0) {
        s->atime = time(NULL);
        s->lpid = t->tg->tgid;
    }
    s->holds--;
    seg_free_if_unused(s);
    pthread_mutex_unlock(&shm_ids.lock);
    return ret;
}

/* Whether `m` is a live segment, and its mapped length (shm_ids.lock held). */
static bool seg_is_live(const struct mappable *m, uint64_t *len)
{
    for (int i = 0; i <= shm_ids.max_idx; i++) {
        struct shm_segment *s = seg_of_object(ipc_registry_at(&shm_ids, i));
        if (s && &s->base == m) {
            *len = s->npages * SHM_PAGE;
            return true;
        }
    }
    return false;
}

long ipc_shmdt(struct task *t, uint64_t addr)
{
    struct vma v;
    uint64_t len = 0;

    if (addr & (SHM_PAGE - 1))
        return -EINVAL;
    if (!mm_find_vma(t->mm, addr, &v) || v.start != addr || v.file_off != 0)
        return -EINVAL;
    /* The VMA's file is compared with the table, never dereferenced: another thread may unmap
     * it meanwhile. */
    pthread_mutex_lock(&shm_ids.lock);
    bool ours = v.file && seg_is_live(v.file, &len);
    pthread_mutex_unlock(&shm_ids.lock);
    if (!ours)
        return -EINVAL;
    /* Every mapping of that segment within its length from addr goes (Linux's shmdt). */
    const struct mappable *seg = v.file;
    for (uint64_t a = addr; a < addr + len && mm_find_vma(t->mm, a, &v) && v.start < addr + len;
         a = v.end) {
        if (v.file == seg) {
            uint64_t end = v.end < addr + len ? v.end : addr + len;
            mm_unmap(t->mm, v.start, end - v.start);
        }
    }
    return 0;
}

static void seg_stat(const struct shm_segment *s, struct shmid_ds *out)
{
    memset(out, 0, sizeof(*out));
    ipc_perm_fill(&s->perm, (s->removed ? SHM_DEST_MODE : 0) | (s->locked ? SHM_LOCKED_MODE : 0),
                  &out->shm_perm);
    out->shm_segsz = s->size;
    out->shm_atime = s->atime;
    out->shm_dtime = s->dtime;
    out->shm_ctime = s->ctime;
    out->shm_cpid = s->cpid;
    out->shm_lpid = s->lpid;
    out->shm_nattch = s->nattch;
}

/* IPC_INFO and SHM_INFO: the limits or the usage, and the highest index in use (Linux's
 * shmctl_ipc_info, shmctl_shm_info). */
static long shm_info(struct task *t, int cmd, uint64_t buf)
{
    union {
        struct shminfo ipc;
        struct shm_info shm;
    } u;
    size_t len;

    memset(&u, 0, sizeof(u));
    pthread_mutex_lock(&shm_ids.lock);
    if (cmd == IPC_INFO) {
        struct sysctl_values v;
        sysctl_read(&t->kernel->sysctl, &v);
        u.ipc.shmmax = v.shmmax;
        u.ipc.shmmin = IPC_SHMMIN;
        u.ipc.shmmni = (unsigned long)v.shmmni;
        u.ipc.shmseg = (unsigned long)v.shmmni;
        u.ipc.shmall = v.shmall;
        len = sizeof(u.ipc);
    } else {
        u.shm.used_ids = shm_ids.in_use;
        u.shm.shm_tot = shm_total_pages;
        u.shm.shm_rss = shm_touched_pages;
        len = sizeof(u.shm);
    }
    int max_idx = shm_ids.max_idx;
    pthread_mutex_unlock(&shm_ids.lock);
    if (mm_copy_out(t->mm, buf, &u, len) != 0)
        return -EFAULT;
    return max_idx < 0 ? 0 : max_idx;
}

long ipc_shmctl(struct task *t, int id, int cmd, uint64_t buf)
{
    struct shmid_ds ds;
    long ret = 0;

    cmd &= ~0x100; /* IPC_64: the only layout there is */
    if (cmd < 0 || id < 0)
        return -EINVAL;
    if (cmd == IPC_INFO || cmd == SHM_INFO)
        return shm_info(t, cmd, buf);
    if (cmd == IPC_SET && mm_copy_in(t->mm, buf, &ds, sizeof(ds)) != 0)
        return -EFAULT;
    pthread_mutex_lock(&shm_ids.lock);
    /* SHM_STAT and SHM_STAT_ANY name a slot of the table, not an id, and return the id. */
    bool by_index = cmd == SHM_STAT || cmd == SHM_STAT_ANY;
    struct shm_segment *s = by_index ? seg_of_object(ipc_registry_at(&shm_ids, id)) : seg_find(id);
    if (!s) {
        ret = -EINVAL;
        goto out;
    }
    switch (cmd) {
    case IPC_STAT:
    case SHM_STAT:
    case SHM_STAT_ANY:
        if (cmd != SHM_STAT_ANY && !ipc_perm_allows(t, &s->perm, 4)) {
            ret = -EACCES;
            break;
        }
        seg_stat(s, &ds);
        if (by_index)
            ret = s->perm.id;
        break;
    case IPC_SET:
        if (!ipc_perm_is_owner(t, &s->perm)) {
            ret = -EPERM;
            break;
        }
        ipc_perm_update(&s->perm, &ds.shm_perm);
        s->ctime = time(NULL);
        break;
    case IPC_RMID:
        if (!ipc_perm_is_owner(t, &s->perm)) {
            ret = -EPERM;
            break;
        }
        /* The key is free at once; the segment lives until its last detach. */
        s->removed = true;
        s->perm.key = IPC_PRIVATE;
        seg_free_if_unused(s);
        break;
    case SHM_LOCK:
    case SHM_UNLOCK:
        if (!ipc_perm_is_owner(t, &s->perm)) {
            ret = -EPERM;
            break;
        }
        s->locked = cmd == SHM_LOCK;
        break;
    default:
        ret = -EINVAL;
    }
out:
    pthread_mutex_unlock(&shm_ids.lock);
    if (ret >= 0 && (cmd == IPC_STAT || by_index) && mm_copy_out(t->mm, buf, &ds, sizeof(ds)) != 0)
        return -EFAULT;
    return ret;
}

void ipc_shm_exit(struct task *t)
{
    struct sysctl_values v;

    sysctl_read(&t->kernel->sysctl, &v);
    pthread_mutex_lock(&shm_ids.lock);
    for (int i = 0; i <= shm_ids.max_idx; i++) {
        struct shm_segment *s = seg_of_object(ipc_registry_at(&shm_ids, i));
        if (!s || s->creator != t)
            continue;
        s->creator = NULL;
        if (v.shm_rmid_forced && !s->nattch && !s->removed) {
            s->removed = true;
            s->perm.key = IPC_PRIVATE;
            seg_free_if_unused(s);
        }
    }
    pthread_mutex_unlock(&shm_ids.lock);
}

void ipc_shm_destroy_orphans(void)
{
    pthread_mutex_lock(&shm_ids.lock);
    for (int i = 0; i <= shm_ids.max_idx; i++) {
        struct shm_segment *s = seg_of_object(ipc_registry_at(&shm_ids, i));
        if (s && !s->creator && !s->nattch && !s->removed) {
            s->removed = true;
            s->perm.key = IPC_PRIVATE;
            seg_free_if_unused(s);
        }
    }
    pthread_mutex_unlock(&shm_ids.lock);
}
