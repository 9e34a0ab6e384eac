/* System V shared memory: segments of memory-file pages, allocated on first touch and mapped
 * shared by every process that attaches them (a segment is a mappable whose translate hands out
 * its own pages, as a tmpfs file's). A removed segment lives on until its last detach. */
#include "sentry/ipc/ipc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <time.h>

#include "sentry/kernel/kernel.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"

#define SHM_PAGE 4096ULL
/* Linux's IPCMNI split of an id: index in the low 15 bits, a sequence number above. */
#define IPC_SEQ_MULTIPLIER 32768
#define SHM_DEST_MODE 01000 /* SHM_DEST in shm_perm.mode: removed, waiting for its detaches */
#define SHM_LOCKED_MODE 02000

struct shm_segment {
    struct mappable base;
    struct memfile *mf;
    /* All below: shm_lock. */
    int id;
    int32_t key;
    uid_t uid, cuid;
    gid_t gid, cgid;
    unsigned mode;
    uint64_t size;
    uint64_t npages;
    uint64_t *pages; /* memory-file offset + 1 of each page, 0 until first touched */
    time_t atime, dtime, ctime;
    pid_t cpid, lpid;
    unsigned long nattch; /* mappings (VMAs) referring to it */
    int holds;            /* syscalls using it without the lock */
    bool removed;         /* IPC_RMID: freed at the last detach */
    bool locked;          /* SHM_LOCK: only reported */
};

/* The sandbox's one IPC namespace. shm_lock protects the table and every segment's state; it is
 * taken under mm.lock (a mapping's get/put/translate) and never held across an mm call. */
static pthread_mutex_t shm_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shm_segment *shm_table[IPC_SHMMNI];
static int shm_count;
static unsigned shm_seq;
static uint64_t shm_total_pages;

static const struct mappable_ops shm_mappable_ops;

static struct shm_segment *seg_of(struct mappable *m)
{
    return (struct shm_segment *)m;
}

/* Frees a segment no longer reachable: removed, unattached, unheld. shm_lock held. */
static void seg_free_if_unused(struct shm_segment *s)
{
    if (!s->removed || s->nattch || s->holds)
        return;
    int idx = s->id % IPC_SEQ_MULTIPLIER;
    if (shm_table[idx] == s) {
        shm_table[idx] = NULL;
        shm_count--;
    }
    for (uint64_t i = 0; i < s->npages; i++)
        if (s->pages[i])
            memfile_decref(s->mf, s->pages[i] - 1, SHM_PAGE);
    shm_total_pages -= s->npages;
    free(s->pages);
    free(s);
}

static ssize_t shm_mappable_read(struct mappable *m, void *buf, size_t len, uint64_t off)
{
    struct shm_segment *s = seg_of(m);
    size_t done = 0;

    pthread_mutex_lock(&shm_lock);
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
    pthread_mutex_unlock(&shm_lock);
    return (ssize_t)done;
}

/* A mapping of the segment: one attach (mm_map, fork and VMA splits all take one, as Linux's
 * shm_open counts vm_area opens). */
static void shm_mappable_get(struct mappable *m)
{
    pthread_mutex_lock(&shm_lock);
    seg_of(m)->nattch++;
    pthread_mutex_unlock(&shm_lock);
}

static void shm_mappable_put(struct mappable *m)
{
    struct shm_segment *s = seg_of(m);
    struct task *cur = task_current();

    pthread_mutex_lock(&shm_lock);
    s->nattch--;
    s->dtime = time(NULL);
    if (cur)
        s->lpid = cur->tg->tgid;
    seg_free_if_unused(s);
    pthread_mutex_unlock(&shm_lock);
}

static int shm_mappable_translate(struct mappable *m, uint64_t off, uint64_t *mf_off)
{
    struct shm_segment *s = seg_of(m);
    uint64_t page = off / SHM_PAGE;
    int err = 0;

    pthread_mutex_lock(&shm_lock);
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
    }
    memfile_incref(s->mf, s->pages[page] - 1, SHM_PAGE); /* the mapping's reference */
    *mf_off = s->pages[page] - 1;
out:
    pthread_mutex_unlock(&shm_lock);
    return err;
}

static int shm_mappable_name(struct mappable *m, char *buf, size_t size, dev_t *dev, uint64_t *ino)
{
    struct shm_segment *s = seg_of(m);
    /* /proc/PID/maps shows "/SYSV<key in hex> (deleted)" with the id as inode. */
    int n = snprintf(buf, size, "/SYSV%08x (deleted)", (unsigned)s->key);
    *dev = 0;
    *ino = (uint64_t)s->id;
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

static const struct mappable_ops shm_mappable_ops = {
    .read = shm_mappable_read,
    .get = shm_mappable_get,
    .put = shm_mappable_put,
    .name = shm_mappable_name,
    .translate = shm_mappable_translate,
};

/* Linux's ipcperms: the owner's, group's or others' bits of `mode` must grant every bit of
 * `requested` (in the S_IRWXO position: 4 read, 2 write, 1 exec); root (CAP_IPC_OWNER) always
 * passes. */
static bool ipc_perm_ok(const struct task *t, const struct shm_segment *s, unsigned requested)
{
    const struct creds *c = &t->creds;
    unsigned granted = s->mode;

    if (c->euid == 0)
        return true;
    if (c->euid == s->uid || c->euid == s->cuid) {
        granted >>= 6;
    } else {
        bool member = c->egid == s->gid || c->egid == s->cgid;
        for (int i = 0; i < c->ngroups && !member; i++)
            member = c->groups[i] == s->gid || c->groups[i] == s->cgid;
        if (member)
            granted >>= 3;
    }
    return !(requested & ~granted & 7);
}

/* IPC_SET and IPC_RMID: the owner, the creator, or root (CAP_SYS_ADMIN). */
static bool ipc_owner_ok(const struct task *t, const struct shm_segment *s)
{
    uid_t e = t->creds.euid;
    return e == 0 || e == s->uid || e == s->cuid;
}

/* The segment with this id (shm_lock held), or NULL. */
static struct shm_segment *seg_find(int id)
{
    if (id < 0)
        return NULL;
    struct shm_segment *s = shm_table[id % IPC_SEQ_MULTIPLIER];
    return s && s->id == id ? s : NULL;
}

static long seg_create(struct task *t, int32_t key, uint64_t size, int flags)
{
    if (size < IPC_SHMMIN || size > IPC_SHMMAX)
        return -EINVAL;
    uint64_t npages = (size + SHM_PAGE - 1) / SHM_PAGE;
    struct memfile *mf = t->kernel->cfg.memfile;
    /* A segment larger than the memory file could never be backed; its page table is
     * allocated up front, so its size is bounded here. */
    if (npages > memfile_size(mf) / SHM_PAGE)
        return -ENOMEM;
    if (shm_count >= IPC_SHMMNI)
        return -ENOSPC;
    int idx = 0;
    while (shm_table[idx])
        idx++;
    struct shm_segment *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->pages = calloc(npages, sizeof(*s->pages));
    if (!s->pages) {
        free(s);
        return -ENOMEM;
    }
    s->base.ops = &shm_mappable_ops;
    s->mf = mf;
    s->id = (int)((shm_seq++ % (0x7fffffffU / IPC_SEQ_MULTIPLIER)) * IPC_SEQ_MULTIPLIER) + idx;
    s->key = key;
    s->uid = s->cuid = t->creds.euid;
    s->gid = s->cgid = t->creds.egid;
    s->mode = (unsigned)flags & 0777;
    s->size = size;
    s->npages = npages;
    s->ctime = time(NULL);
    s->cpid = t->tg->tgid;
    shm_table[idx] = s;
    shm_count++;
    shm_total_pages += npages;
    return s->id;
}

long ipc_shmget(struct task *t, int32_t key, uint64_t size, int flags)
{
    long ret;

    pthread_mutex_lock(&shm_lock);
    if (key == IPC_PRIVATE) {
        ret = seg_create(t, key, size, flags);
        goto out;
    }
    struct shm_segment *found = NULL;
    for (int i = 0; i < IPC_SHMMNI && !found; i++)
        if (shm_table[i] && !shm_table[i]->removed && shm_table[i]->key == key)
            found = shm_table[i];
    if (!found) {
        ret = (flags & IPC_CREAT) ? seg_create(t, key, size, flags) : -ENOENT;
        goto out;
    }
    /* Linux's order: EEXIST, then the size, then the permissions. */
    if ((flags & IPC_CREAT) && (flags & IPC_EXCL))
        ret = -EEXIST;
    else if (size > found->size)
        ret = -EINVAL;
    else if (!ipc_perm_ok(t, found,
                          (((unsigned)flags >> 6) | ((unsigned)flags >> 3) | (unsigned)flags) & 7))
        ret = -EACCES;
    else
        ret = found->id;
out:
    pthread_mutex_unlock(&shm_lock);
    return ret;
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

    pthread_mutex_lock(&shm_lock);
    struct shm_segment *s = seg_find(id);
    if (!s) {
        pthread_mutex_unlock(&shm_lock);
        return -EINVAL;
    }
    if (!ipc_perm_ok(t, s, requested)) {
        pthread_mutex_unlock(&shm_lock);
        return -EACCES;
    }
    s->holds++;
    uint64_t len = s->npages * SHM_PAGE;
    pthread_mutex_unlock(&shm_lock);

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

    pthread_mutex_lock(&shm_lock);
    if (ret >= 0) {
        s->atime = time(NULL);
        s->lpid = t->tg->tgid;
    }
    s->holds--;
    seg_free_if_unused(s);
    pthread_mutex_unlock(&shm_lock);
    return ret;
}

/* Whether `m` is a live segment, and its mapped length (shm_lock held). */
static bool seg_is_live(const struct mappable *m, uint64_t *len)
{
    for (int i = 0; i < IPC_SHMMNI; i++) {
        if (shm_table[i] && &shm_table[i]->base == m) {
            *len = shm_table[i]->npages * SHM_PAGE;
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
    pthread_mutex_lock(&shm_lock);
    bool ours = v.file && seg_is_live(v.file, &len);
    pthread_mutex_unlock(&shm_lock);
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
    out->shm_perm.__key = s->key;
    out->shm_perm.uid = s->uid;
    out->shm_perm.gid = s->gid;
    out->shm_perm.cuid = s->cuid;
    out->shm_perm.cgid = s->cgid;
    out->shm_perm.mode = (unsigned short)(s->mode | (s->removed ? SHM_DEST_MODE : 0) |
                                          (s->locked ? SHM_LOCKED_MODE : 0));
    out->shm_perm.__seq = (unsigned short)(s->id / IPC_SEQ_MULTIPLIER);
    out->shm_segsz = s->size;
    out->shm_atime = s->atime;
    out->shm_dtime = s->dtime;
    out->shm_ctime = s->ctime;
    out->shm_cpid = s->cpid;
    out->shm_lpid = s->lpid;
    out->shm_nattch = s->nattch;
}

long ipc_shmctl(struct task *t, int id, int cmd, uint64_t buf)
{
    struct shmid_ds ds;
    long ret = 0;

    cmd &= ~0x100; /* IPC_64: the only layout there is */
    if (cmd == IPC_SET && mm_copy_in(t->mm, buf, &ds, sizeof(ds)) != 0)
        return -EFAULT;
    pthread_mutex_lock(&shm_lock);
    struct shm_segment *s = seg_find(id);
    if (!s) {
        ret = -EINVAL;
        goto out;
    }
    switch (cmd) {
    case IPC_STAT:
        if (!ipc_perm_ok(t, s, 4)) {
            ret = -EACCES;
            break;
        }
        seg_stat(s, &ds);
        break;
    case IPC_SET:
        if (!ipc_owner_ok(t, s)) {
            ret = -EPERM;
            break;
        }
        s->uid = ds.shm_perm.uid;
        s->gid = ds.shm_perm.gid;
        s->mode = ds.shm_perm.mode & 0777;
        s->ctime = time(NULL);
        break;
    case IPC_RMID:
        if (!ipc_owner_ok(t, s)) {
            ret = -EPERM;
            break;
        }
        /* The key is free at once; the segment lives until its last detach. */
        s->removed = true;
        s->key = IPC_PRIVATE;
        seg_free_if_unused(s);
        break;
    case SHM_LOCK:
    case SHM_UNLOCK:
        if (!ipc_owner_ok(t, s)) {
            ret = -EPERM;
            break;
        }
        s->locked = cmd == SHM_LOCK;
        break;
    default:
        ret = -EINVAL;
    }
out:
    pthread_mutex_unlock(&shm_lock);
    if (!ret && cmd == IPC_STAT && mm_copy_out(t->mm, buf, &ds, sizeof(ds)) != 0)
        return -EFAULT;
    return ret;
}
