/* Shared by the sentry/mm unit tests: an mm over a 64 MiB memory file with no platform address
 * space (platform calls are skipped), and helpers to map, fill and check guest memory. Include
 * after cmocka.h. */
#ifndef RUNSC_TESTS_UNIT_MM_MM_FIXTURE_H
#define RUNSC_TESTS_UNIT_MM_MM_FIXTURE_H

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/mm/mm_internal.h"

#define PAGE 4096UL
#define MIB (1UL << 20)
#define MAX_ADDR 0x7ffffffff000UL
#define MMAP_BASE 0x7f0000000000UL
#define BRK_START 0x10000000UL
#define AREA 0x40000000UL /* 2 MiB aligned, far from brk and mmap_base: for fixed mappings */
#define RW (PROT_READ | PROT_WRITE)

struct env {
    struct memfile *mf;
    struct mm *mm;
};

static inline int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    if (!e || memfile_create(64 * MIB, &e->mf) != 0 || mm_create(e->mf, MAX_ADDR, &e->mm) != 0)
        return -1;
    mm_set_layout(e->mm, BRK_START, MMAP_BASE);
    *state = e;
    return 0;
}

/* Every test ends by checking that destroying the mm gives back every memory-file page. */
static inline int teardown(void **state)
{
    struct env *e = *state;
    mm_destroy(e->mm);
    uint64_t used = memfile_used(e->mf);
    memfile_destroy(e->mf);
    free(e);
    if (used != 0)
        print_error("memory-file pages leaked: %llu bytes\n", (unsigned long long)used);
    return used == 0 ? 0 : -1;
}

static inline struct mm *mm_of(void **state)
{
    return ((struct env *)*state)->mm;
}

static inline struct memfile *mf_of(void **state)
{
    return ((struct env *)*state)->mf;
}

static inline int64_t map_fixed(struct mm *mm, uint64_t addr, uint64_t len, int prot)
{
    struct mm_map_request req = {.addr = addr, .len = len, .prot = prot, .fixed = true};
    return mm_map(mm, &req);
}

static inline int64_t map_any(struct mm *mm, uint64_t hint, uint64_t len, int prot)
{
    struct mm_map_request req = {.addr = hint, .len = len, .prot = prot};
    return mm_map(mm, &req);
}

static inline uint8_t pattern_byte(size_t off, uint8_t seed)
{
    return (uint8_t)(off * 131 + (off >> 12) * 7 + seed);
}

/* Writes pattern bytes [off, off+len) of pattern `seed` at addr. */
static inline void fill_pattern(struct mm *mm, uint64_t addr, size_t len, uint8_t seed, size_t off)
{
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = pattern_byte(off + i, seed);
    assert_int_equal(mm_copy_out(mm, addr, buf, len), 0);
    free(buf);
}

static inline void check_pattern(struct mm *mm, uint64_t addr, size_t len, uint8_t seed, size_t off)
{
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(mm_copy_in(mm, addr, buf, len), 0);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != pattern_byte(off + i, seed))
            fail_msg("byte %#zx of %#llx: %#x, want %#x", i, (unsigned long long)addr, buf[i],
                     pattern_byte(off + i, seed));
    }
    free(buf);
}

static inline void check_zero(struct mm *mm, uint64_t addr, size_t len)
{
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(mm_copy_in(mm, addr, buf, len), 0);
    for (size_t i = 0; i < len; i++) {
        if (buf[i])
            fail_msg("byte %#zx of %#llx is %#x, want 0", i, (unsigned long long)addr, buf[i]);
    }
    free(buf);
}

/* The VMA covering or following addr is exactly [start, end) with prot. */
static inline void assert_vma(struct mm *mm, uint64_t addr, uint64_t start, uint64_t end, int prot)
{
    struct vma v;
    assert_true(mm_find_vma(mm, addr, &v));
    assert_int_equal(v.start, start);
    assert_int_equal(v.end, end);
    assert_int_equal(v.prot, prot);
}

static inline bool is_mapped(struct mm *mm, uint64_t addr)
{
    struct vma v;
    return mm_find_vma(mm, addr, &v) && v.start <= addr;
}

#endif
