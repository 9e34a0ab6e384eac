/* Guest address spaces. The mm is the source of truth for every guest mapping: VMAs record what
 * the guest asked for, PMAs record which memory-file pages back which guest pages, and the
 * platform address space only mirrors PMAs the mm chose to map. Guest memory is read and written by
 * the sentry through its own mapping of the memory file, never through the platform.
 *
 * Locking: mm.lock protects everything in struct mm. It is taken by each public function and is
 * never held while blocking on the guest; it may be held across platform address-space calls and
 * memory-file calls (the memfile lock is a leaf). */
#ifndef RUNSC_SENTRY_MM_MM_H
#define RUNSC_SENTRY_MM_MM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct memfile;
struct platform;
struct platform_as;

/* Something that can back a private file mapping: the executable today, VFS files later. */
struct mappable;
struct mappable_ops {
    /* Reads up to `len` bytes at `off`; fewer at end of file; -errno on error. */
    ssize_t (*read)(struct mappable *m, void *buf, size_t len, uint64_t off);
    void (*get)(struct mappable *m);
    void (*put)(struct mappable *m);
    /* Optional: how /proc/PID/maps names the mapping: its path (or "[vdso]") NUL-terminated into
     * buf, returning the length or -errno, and the file's device and inode numbers (0 for
     * special mappings). Called with the mm locked: it must not block or touch an mm. */
    int (*name)(struct mappable *m, char *buf, size_t size, dev_t *dev, uint64_t *ino);
    /* Optional: for shared mappings, the memory-file offset of the file's page at `off` (page
     * aligned), with a new reference for the mapping; the page is the file's data itself, so a
     * shared mapping sees read(2)/write(2) and other mappings. NULL: no shared writable
     * mappings of this file. */
    int (*translate)(struct mappable *m, uint64_t off, uint64_t *mf_off);
    /* Optional: for private mappings of files that never change (read-only gofer mounts), the
     * memory-file offset of the file's cached data at `off`, for `len` bytes (both page aligned,
     * inside one MM_FILE_CACHE_WINDOW-aligned window), with a new reference on each page; the
     * pages are shared, so the mm maps them copy-on-write. Any error (-EOPNOTSUPP: not cached)
     * makes the mm read the file into pages of its own instead. Called with the mm locked. */
    int (*cache_range)(struct mappable *m, struct memfile *mf, uint64_t off, uint64_t len,
                       uint64_t *mf_off);
};
struct mappable {
    const struct mappable_ops *ops;
};

/* A page cache for a mappable whose file never changes: the file's data in memory-file pages,
 * filled one aligned window at a time on first use and kept until the owner releases the cache
 * (the inode goes). Each window holds one reference on its pages; mappings take their own, so a
 * window mapped by a process outlives the cache. Pages of the cache count as memory-file use like
 * any page; so that they never count against a container's memory limit, nothing is cached while
 * the memory file has a limit (mappings then read the file as without a cache). The windows of
 * all caches together are bounded by MM_FILE_CACHE_MAX: past it, new windows are not cached.
 *
 * Lock order: mm.lock, then a cache's lock, then the memfile's lock. */
#define MM_FILE_CACHE_WINDOW (256UL << 10)
#define MM_FILE_CACHE_MAX (256UL << 20)
struct mm_file_cache {
    pthread_mutex_t lock; /* protects every field below */
    struct memfile *mf;   /* the memory file of the windows, set at the first fill */
    uint64_t *windows;    /* by window index: the window's memory-file offset + 1, 0 if unfilled */
    size_t nwindows;
};
void mm_file_cache_init(struct mm_file_cache *c);
/* Drops the cache's references on its windows (mapped pages stay with their mappings). */
void mm_file_cache_release(struct mm_file_cache *c);
/* Implements mappable_ops.cache_range for `m` from cache `c`, filling the window with m's read
 * op on first use. Returns 0, -EINVAL for a range that is not page aligned inside one window,
 * -EOPNOTSUPP under a memory limit or past MM_FILE_CACHE_MAX, -ENOMEM, or the read's -errno. */
int mm_file_cache_range(struct mm_file_cache *c, struct mappable *m, struct memfile *mf,
                        uint64_t off, uint64_t len, uint64_t *mf_off);
/* Bytes held by all caches' windows (for tests). */
uint64_t mm_file_cache_bytes(void);

enum vma_flags {
    VMA_SHARED = 1 << 0,    /* MAP_SHARED: pages are never copied on write */
    VMA_GROWSDOWN = 1 << 1, /* the main stack */
    VMA_HEAP = 1 << 2,      /* made by brk */
    VMA_LOCKED = 1 << 3,    /* mlock(2): counts against RLIMIT_MEMLOCK */
    /* A page the kernel installs for every process (the vDSO's vvar): its pages are the
     * mappable's own, as with VMA_SHARED (set with it), yet /proc/PID/maps shows it private and
     * mprotect can never add PROT_WRITE or PROT_EXEC to it (EACCES: Linux's special mappings
     * without VM_MAYWRITE/VM_MAYEXEC). */
    VMA_SPECIAL = 1 << 4,
};

struct vma {
    uint64_t start, end; /* page aligned, start < end */
    int prot;            /* PROT_READ | PROT_WRITE | PROT_EXEC */
    unsigned flags;      /* enum vma_flags */
    struct mappable *file; /* a reference, or NULL for anonymous memory */
    uint64_t file_off;   /* file offset of `start` */
};

/* Parameters for mm_map. */
struct mm_map_request {
    uint64_t addr;       /* hint, or the address with `fixed` */
    uint64_t len;
    int prot;
    unsigned vma_flags;
    bool fixed;          /* MAP_FIXED: replace what is there */
    bool noreplace;      /* MAP_FIXED_NOREPLACE: fail with EEXIST if anything is there */
    bool noreserve;      /* MAP_NORESERVE: exempt from the overcommit check */
    struct mappable *file; /* borrowed; the VMA takes its own reference */
    uint64_t file_off;
};

struct mm;

/* A new empty address space whose guest addresses end at `max_addr`. */
int mm_create(struct memfile *mf, uint64_t max_addr, struct mm **out);
void mm_destroy(struct mm *mm);
/* References for tasks sharing the address space (threads); the last put destroys it. */
void mm_get(struct mm *mm);
void mm_put(struct mm *mm);
/* The platform address space mirroring this mm (NULL before one is attached). */
struct platform_as *mm_platform_as(struct mm *mm);
/* fork(2): a new mm with the same VMAs whose private pages are shared copy-on-write with the
 * parent's. The child has no platform address space yet. Returns 0 or -ENOMEM. */
int mm_fork(struct mm *parent, struct mm **out);
/* mm_fork, but the parent's private pages around `hot` (the forking thread's stack pointer: both
 * processes write there first) are copied for the child at once instead of shared copy-on-write,
 * and stay writable in the parent. */
int mm_fork_near(struct mm *parent, uint64_t hot, struct mm **out);
/* Attaches the platform address space that mirrors this mm; the mm owns it from now on. */
void mm_set_platform_as(struct mm *mm, struct platform_as *as);

/* The resource limits the mm enforces, in bytes (UINT64_MAX: none): the owning process's soft
 * RLIMIT_AS, RLIMIT_DATA, RLIMIT_STACK and RLIMIT_MEMLOCK. `memlock_exempt`: CAP_IPC_LOCK.
 * Set at exec and by setrlimit(2); fork copies them. */
struct mm_limits {
    uint64_t as, data, stack, memlock;
    bool memlock_exempt;
};
void mm_set_limits(struct mm *mm, const struct mm_limits *l);

/* mlock(2)/munlock(2) (lock true/false) on [addr, addr+len), and mlockall/munlockall as the
 * whole address space (`all`). Memory is never swapped, so locking only marks VMAs and counts
 * them against RLIMIT_MEMLOCK: 0, -ENOMEM (a hole, or over the limit) or -EPERM (limit 0). */
int mm_lock(struct mm *mm, uint64_t addr, uint64_t len, bool lock);
int mm_lock_all(struct mm *mm, bool lock);

/* Layout fixed at exec. */
void mm_set_layout(struct mm *mm, uint64_t brk_start, uint64_t mmap_base);
uint64_t mm_max_addr(const struct mm *mm);

/* mmap(2), munmap(2), mprotect(2), mremap(2), brk(2), madvise(2): return what the guest sees. */
int64_t mm_map(struct mm *mm, const struct mm_map_request *req);
int mm_unmap(struct mm *mm, uint64_t addr, uint64_t len);
int mm_protect(struct mm *mm, uint64_t addr, uint64_t len, int prot);
int64_t mm_remap(struct mm *mm, uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags,
                 uint64_t new_addr);
uint64_t mm_brk(struct mm *mm, uint64_t addr);
int mm_advise(struct mm *mm, uint64_t addr, uint64_t len, int advice);

/* Resolves a page fault at `addr`: 0 when the page is now mapped and the guest may retry,
 * -EFAULT when nothing is mapped there (SEGV_MAPERR), -EACCES when the mapping forbids the access
 * (SEGV_ACCERR), -ENOMEM when no memory is left. */
int mm_handle_fault(struct mm *mm, uint64_t addr);
/* For a new image (execve): populates and maps into the platform, in one batch, what it is sure
 * to touch: pages already populated (the stack the loader wrote), small mappings whole (bss, the
 * vDSO and vvar), and private mappings of cached files up to `file_budget` bytes, copy-on-write.
 * Must be called from a thread with a context in the mm's address space. Returns 0 or -errno;
 * on error what is not mapped simply faults later. */
int mm_map_eager(struct mm *mm, uint64_t file_budget);
/* For a child of fork at its first run: maps in one batch the pages its parent had mapped at the
 * fork (shared ones copy-on-write, so read-only), which it would otherwise fault in one by one.
 * Same calling rule and errors as mm_map_eager. */
int mm_map_inherited(struct mm *mm);
/* The same for a thread that entered the guest when mm_map_generation() was `gen`: a fault on a
 * page whose mapping changed since then (another thread resolved it) is retried, not a
 * violation. */
int mm_handle_fault_since(struct mm *mm, uint64_t addr, uint64_t gen);
uint64_t mm_map_generation(struct mm *mm);

/* Copies between guest memory and the sentry, honouring the guest's protections as the host's
 * copy_{from,to}_user would. The _partial forms return how many bytes were copied before the
 * first bad page (-EFAULT if none could be); the others are all or nothing. */
ssize_t mm_copy_in_partial(struct mm *mm, uint64_t addr, void *buf, size_t len);
ssize_t mm_copy_out_partial(struct mm *mm, uint64_t addr, const void *buf, size_t len);
int mm_copy_in(struct mm *mm, uint64_t addr, void *buf, size_t len);
int mm_copy_out(struct mm *mm, uint64_t addr, const void *buf, size_t len);
/* Copies a NUL-terminated string of at most `size` bytes including the NUL; returns its length,
 * -EFAULT, or -ENAMETOOLONG if no NUL is found within `size` bytes. */
ssize_t mm_copy_string_in(struct mm *mm, uint64_t addr, char *buf, size_t size);
/* Linux's access_ok(): whether [addr, addr+len) lies in the user address range at all. Syscalls
 * that check it up front fail with EFAULT before doing anything else. */
bool mm_access_ok(const struct mm *mm, uint64_t addr, uint64_t len);
/* How many bytes from `addr` the guest could have written by a copy-out right now (populating
 * pages, copying nothing): lets a read check its buffer before consuming data. -EFAULT if none. */
ssize_t mm_writable_prefix(struct mm *mm, uint64_t addr, size_t len);
/* Runs `fn` on the aligned 32-bit guest word at `addr` through the sentry's own mapping, with the
 * mm locked so the page can't go away meanwhile; `fn` uses host atomics, which are coherent with
 * guest threads (futexes). `write` breaks copy-on-write first. *mf_off gets the word's memory-file
 * offset, which names it across processes. Returns fn's result, or -EFAULT for a bad address. */
long mm_word_op(struct mm *mm, uint64_t addr, bool write, uint64_t *mf_off,
                long (*fn)(uint32_t *word, void *arg), void *arg);
/* Zeroes guest memory regardless of protection: for the loader (bss in a file page). */
int mm_zero_force(struct mm *mm, uint64_t addr, size_t len);

/* What /proc/PID/{stat,cmdline,environ,auxv} report about the layout the loader made (Linux's
 * mm->start_code, arg_start...): guest addresses, 0 when unknown. */
struct mm_proc_ranges {
    uint64_t start_code, end_code, start_data, end_data;
    uint64_t start_stack;          /* where argc sits at entry */
    uint64_t arg_start, arg_end;   /* the argv strings, NUL-separated */
    uint64_t env_start, env_end;   /* the envp strings */
    uint64_t auxv_start, auxv_end; /* the auxv pairs including AT_NULL */
    uint64_t start_brk, brk;       /* filled by mm_get_proc_ranges from the heap's state */
};
/* Set by the loader at exec; copied by fork. start_brk/brk are ignored here. */
void mm_set_proc_ranges(struct mm *mm, const struct mm_proc_ranges *r);
void mm_get_proc_ranges(struct mm *mm, struct mm_proc_ranges *out);

/* Memory accounting for /proc/PID/status, statm and smaps_rollup, in bytes. Peaks are the
 * largest values seen by any call so far (Linux tracks them at every change). */
struct mm_stats {
    uint64_t vm_size, vm_peak;  /* all VMAs */
    uint64_t rss, rss_peak;     /* memory-file pages mapped */
    uint64_t rss_anon, rss_file; /* of rss: in anonymous / file VMAs */
    uint64_t rss_shared;        /* of rss: pages also mapped by another address space */
    uint64_t vm_data;           /* private writable non-stack VMAs (Linux's data_vm) */
    uint64_t vm_locked;         /* mlock'd VMAs */
    uint64_t vm_stack;          /* growsdown VMAs */
    uint64_t vm_exe;            /* executable file VMAs of the main executable's code range */
    uint64_t vm_lib;            /* other executable file VMAs */
    uint64_t start, end;        /* first VMA start and last VMA end (0 without VMAs) */
};
void mm_get_stats(struct mm *mm, struct mm_stats *out);

/* Calls fn for each VMA in address order with the mm locked (for /proc/PID/maps): fn must not
 * block or touch any mm. Stops early when fn returns non-zero, and returns that. */
int mm_for_each_vma(struct mm *mm, int (*fn)(const struct vma *v, void *arg), void *arg);

/* Statistics for tests and /proc: number of VMAs and bytes of memory-file pages in use. */
size_t mm_vma_count(struct mm *mm);
uint64_t mm_resident_bytes(struct mm *mm);
/* Copies the VMA covering `addr` (or the first after it) into *out; false if none. */
bool mm_find_vma(struct mm *mm, uint64_t addr, struct vma *out);

#endif
