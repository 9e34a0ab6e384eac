/* The memory file: the one memfd that backs all guest memory, and its page allocator.
 * The sentry maps the whole file once (memfile_base) and platforms map ranges of it into guest
 * address spaces by offset. Pages have reference counts; a page whose count drops to zero is
 * hole-punched, so freed memory returns to the host and reads back as zeroes.
 *
 * Concurrency: every function may be called from any thread. One mutex inside struct memfile
 * protects the allocator and the counts; it is a leaf in the sentry's lock order (taken last,
 * nothing is called out while it is held). Misuse the sentry owns (a range that is not page-
 * aligned, outside the file or not allocated; a count over- or underflowing) aborts, even under
 * NDEBUG: a guest never reaches these functions with its own numbers. */
#ifndef RUNSC_SENTRY_MEMFILE_MEMFILE_H
#define RUNSC_SENTRY_MEMFILE_MEMFILE_H

#include <stddef.h>
#include <stdint.h>

#define MEMFILE_PAGE_SIZE 4096UL

struct memfile;

/* Creates a sparse memfd of `size` bytes (a non-zero multiple of MEMFILE_PAGE_SIZE, else -EINVAL)
 * and maps it into the sentry. Costs no memory up front, whatever the size. Returns 0 or -errno. */
int memfile_create(uint64_t size, struct memfile **out);
void memfile_destroy(struct memfile *mf);

/* The host fd of the memfd (platforms map it into stubs) and the sentry's own mapping. */
int memfile_fd(const struct memfile *mf);
void *memfile_base(const struct memfile *mf);
uint64_t memfile_size(const struct memfile *mf);

/* Allocates `len` bytes (a page multiple) of contiguous, zero-filled pages, each with reference
 * count 1, and stores their offset in *off. Returns 0, -EINVAL when len is 0 or not a page
 * multiple, or -ENOMEM when no contiguous run of that length is free. Lengths that are multiples
 * of 2 MiB are placed 2 MiB-aligned when such a run is free. */
int memfile_alloc(struct memfile *mf, uint64_t len, uint64_t *off);

/* Adds or drops one reference on every page of [off, off+len). Pages that reach zero are freed
 * (hole-punched and returned to the allocator). Every page of the range must be allocated; the
 * range need not be one allocation, and len 0 does nothing. */
void memfile_incref(struct memfile *mf, uint64_t off, uint64_t len);
void memfile_decref(struct memfile *mf, uint64_t off, uint64_t len);

/* The reference count of the page containing `off` (0 if free); for COW decisions and tests. */
uint32_t memfile_refcount(const struct memfile *mf, uint64_t off);

/* Bytes currently allocated (pages with a non-zero count). */
uint64_t memfile_used(const struct memfile *mf);

/* The sandbox's memory limit (linux.resources.memory.limit): memfile_alloc fails with -ENOMEM
 * rather than take memfile_used past `limit` bytes (0: no limit but the file's size). Lowering
 * it below what is in use frees nothing; later allocations fail until enough is freed. */
void memfile_set_limit(struct memfile *mf, uint64_t limit);
uint64_t memfile_limit(const struct memfile *mf);

/* What an allocation that may wait does when memfile_alloc fails: the hook (the kernel's OOM
 * killer) frees memory or gives up. It returns 0 when the allocation is worth retrying, -errno
 * to give up with. It may block, so it is called with no memfile lock held. */
typedef int (*memfile_oom_fn)(void *arg);
void memfile_set_oom_hook(struct memfile *mf, memfile_oom_fn fn, void *arg);

/* Runs the OOM hook once (no lock of the caller's may be one the hook's kill needs: no mm
 * lock): 0 when an allocation is worth retrying, else -errno (-ENOMEM without a hook). */
int memfile_oom_wait(struct memfile *mf);

/* memfile_alloc for callers that may block and hold no lock the OOM hook could need (tmpfs and
 * shm pages allocated by a syscall): on -ENOMEM it asks the hook and retries while the hook
 * says so. Returns as memfile_alloc, or the hook's -errno. */
int memfile_alloc_wait(struct memfile *mf, uint64_t len, uint64_t *off);

#endif
