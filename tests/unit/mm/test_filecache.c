/* The page cache for unchanging files: windows filled once and shared copy-on-write by every
 * private mapping, released with the cache while mappings keep their pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mm_fixture.h"

#define FILE_SIZE (600UL << 10) /* three windows, the last one partly past end of file */

struct cached_file {
    struct mappable m;
    struct mm_file_cache cache;
    int reads;      /* read calls made */
    uint64_t bytes; /* bytes they returned */
};

static ssize_t cf_read(struct mappable *m, void *buf, size_t len, uint64_t off)
{
    struct cached_file *f = (struct cached_file *)m;
    f->reads++;
    if (off >= FILE_SIZE)
        return 0;
    if (len > FILE_SIZE - off)
        len = FILE_SIZE - off;
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = pattern_byte(off + i, 9);
    f->bytes += len;
    return (ssize_t)len;
}

static void cf_get(struct mappable *m)
{
    (void)m;
}

static void cf_put(struct mappable *m)
{
    (void)m;
}

static int cf_cache_range(struct mappable *m, struct memfile *mf, uint64_t off, uint64_t len,
                          uint64_t *mf_off)
{
    return mm_file_cache_range(&((struct cached_file *)m)->cache, m, mf, off, len, mf_off);
}

static const struct mappable_ops cf_ops = {
    .read = cf_read, .get = cf_get, .put = cf_put, .cache_range = cf_cache_range};

static void cf_init(struct cached_file *f)
{
    *f = (struct cached_file){.m.ops = &cf_ops};
    mm_file_cache_init(&f->cache);
}

static int64_t map_file(struct mm *mm, uint64_t addr, uint64_t len, int prot, struct cached_file *f,
                        uint64_t off)
{
    struct mm_map_request req = {
        .addr = addr, .len = len, .prot = prot, .fixed = true, .file = &f->m, .file_off = off};
    return mm_map(mm, &req);
}

/* The memory-file offset of the page at addr, read without breaking copy-on-write. */
static long nop_word(uint32_t *word, void *arg)
{
    (void)word;
    (void)arg;
    return 0;
}

static uint64_t page_of(struct mm *mm, uint64_t addr)
{
    uint64_t off = 0;
    assert_int_equal(mm_word_op(mm, addr, false, &off, nop_word, NULL), 0);
    return off & ~(PAGE - 1);
}

static void test_fill_reads_each_window_once(void **state)
{
    struct mm *mm = mm_of(state);
    struct cached_file f;
    cf_init(&f);
    assert_int_equal(map_file(mm, AREA, FILE_SIZE, PROT_READ, &f, 0), (int64_t)AREA);
    check_pattern(mm, AREA, FILE_SIZE, 9, 0);
    /* Three windows, one read each (the last stops at end of file after one short read). */
    assert_int_equal(f.bytes, FILE_SIZE);
    assert_true(f.reads <= 4);
    assert_int_equal(mm_file_cache_bytes(), 3 * MM_FILE_CACHE_WINDOW);
    /* The mapping's pages are the cache's: one reference each from both. */
    assert_int_equal(memfile_refcount(mf_of(state), page_of(mm, AREA + 5 * PAGE)), 2);
    int reads = f.reads;
    /* Dropping the pages and reading again maps the cache, reading nothing. */
    assert_int_equal(mm_advise(mm, AREA, FILE_SIZE, MADV_DONTNEED), 0);
    check_pattern(mm, AREA, FILE_SIZE, 9, 0);
    assert_int_equal(f.reads, reads);
    assert_int_equal(mm_unmap(mm, AREA, FILE_SIZE), 0);
    mm_file_cache_release(&f.cache);
    assert_int_equal(mm_file_cache_bytes(), 0);
}

static void test_two_mms_share_pages(void **state)
{
    struct mm *mm = mm_of(state), *other;
    assert_int_equal(mm_create(mf_of(state), MAX_ADDR, &other), 0);
    mm_set_layout(other, BRK_START, MMAP_BASE);
    struct cached_file f;
    cf_init(&f);
    assert_int_equal(map_file(mm, AREA, FILE_SIZE, PROT_READ, &f, 0), (int64_t)AREA);
    /* The other maps the file from its second page at an address not window aligned: its pages
     * still come from the windows aligned by file offset. */
    uint64_t at = AREA + 3 * PAGE;
    assert_int_equal(map_file(other, at, FILE_SIZE - PAGE, PROT_READ | PROT_EXEC, &f, PAGE),
                     (int64_t)at);
    check_pattern(mm, AREA, FILE_SIZE, 9, 0);
    int reads = f.reads;
    check_pattern(other, at, FILE_SIZE - PAGE, 9, PAGE);
    assert_int_equal(f.reads, reads);
    for (uint64_t off = PAGE; off < FILE_SIZE; off += 37 * PAGE)
        assert_int_equal(page_of(mm, AREA + off), page_of(other, at + off - PAGE));
    assert_int_equal(memfile_refcount(mf_of(state), page_of(mm, AREA + 70 * PAGE)), 3);
    mm_destroy(other);
    assert_int_equal(mm_unmap(mm, AREA, FILE_SIZE), 0);
    mm_file_cache_release(&f.cache);
}

static void test_write_copies_and_leaves_cache(void **state)
{
    struct mm *mm = mm_of(state);
    struct cached_file f;
    cf_init(&f);
    assert_int_equal(map_file(mm, AREA, FILE_SIZE, PROT_READ, &f, 0), (int64_t)AREA);
    assert_int_equal(map_file(mm, AREA + 4 * MIB, FILE_SIZE, RW, &f, 0), (int64_t)(AREA + 4 * MIB));
    check_pattern(mm, AREA + 4 * MIB, FILE_SIZE, 9, 0);
    uint64_t shared = page_of(mm, AREA + 4 * MIB + 2 * PAGE);
    /* A write to the writable mapping copies its window; the cache and the other mapping keep
     * the file's data. */
    fill_pattern(mm, AREA + 4 * MIB + 2 * PAGE, 3 * PAGE, 5, 0);
    assert_int_not_equal(page_of(mm, AREA + 4 * MIB + 2 * PAGE), shared);
    check_pattern(mm, AREA + 4 * MIB + 2 * PAGE, 3 * PAGE, 5, 0);
    check_pattern(mm, AREA + 4 * MIB, 2 * PAGE, 9, 0);
    check_pattern(mm, AREA, FILE_SIZE, 9, 0);
    assert_int_equal(page_of(mm, AREA + 2 * PAGE), shared);
    /* The read-only mapping made writable later copies too (mprotect keeps COW). */
    assert_int_equal(mm_protect(mm, AREA, FILE_SIZE, RW), 0);
    fill_pattern(mm, AREA + 100 * PAGE, PAGE, 6, 0);
    check_pattern(mm, AREA + 100 * PAGE, PAGE, 6, 0);
    struct cached_file *cf = &f;
    uint8_t byte;
    assert_int_equal(cf_read(&cf->m, &byte, 1, 100 * PAGE), 1);
    char *cached = (char *)memfile_base(mf_of(state)) + cf->cache.windows[1] - 1 +
                   (100 * PAGE - MM_FILE_CACHE_WINDOW);
    assert_int_equal((uint8_t)cached[0], byte);
    assert_int_equal(mm_unmap(mm, AREA, 8 * MIB), 0);
    mm_file_cache_release(&f.cache);
}

static void test_release_while_mapped(void **state)
{
    struct mm *mm = mm_of(state);
    struct cached_file f;
    cf_init(&f);
    assert_int_equal(map_file(mm, AREA, FILE_SIZE, PROT_READ, &f, 0), (int64_t)AREA);
    check_pattern(mm, AREA, MM_FILE_CACHE_WINDOW, 9, 0);
    uint64_t used = memfile_used(mf_of(state));
    assert_int_equal(used, MM_FILE_CACHE_WINDOW);
    /* The cache goes (its inode was evicted): the mapping keeps its pages and data. */
    mm_file_cache_release(&f.cache);
    assert_int_equal(memfile_used(mf_of(state)), used);
    assert_int_equal(memfile_refcount(mf_of(state), page_of(mm, AREA)), 1);
    check_pattern(mm, AREA, MM_FILE_CACHE_WINDOW, 9, 0);
    assert_int_equal(mm_unmap(mm, AREA, FILE_SIZE), 0);
    assert_int_equal(memfile_used(mf_of(state)), 0);
}

static void test_limit_bypasses_cache(void **state)
{
    struct mm *mm = mm_of(state);
    struct cached_file f;
    cf_init(&f);
    memfile_set_limit(mf_of(state), 32 * MIB);
    uint64_t off;
    assert_int_equal(mm_file_cache_range(&f.cache, &f.m, mf_of(state), 0, PAGE, &off), -EOPNOTSUPP);
    assert_int_equal(map_file(mm, AREA, FILE_SIZE, PROT_READ, &f, 0), (int64_t)AREA);
    check_pattern(mm, AREA, FILE_SIZE, 9, 0);
    assert_int_equal(mm_file_cache_bytes(), 0);
    assert_int_equal(memfile_refcount(mf_of(state), page_of(mm, AREA)), 1);
    assert_int_equal(mm_unmap(mm, AREA, FILE_SIZE), 0);
    mm_file_cache_release(&f.cache);
}

static void test_range_must_stay_in_one_window(void **state)
{
    struct cached_file f;
    cf_init(&f);
    uint64_t off;
    struct memfile *mf = mf_of(state);
    assert_int_equal(
        mm_file_cache_range(&f.cache, &f.m, mf, MM_FILE_CACHE_WINDOW - PAGE, 2 * PAGE, &off),
        -EINVAL);
    assert_int_equal(mm_file_cache_range(&f.cache, &f.m, mf, 100, PAGE, &off), -EINVAL);
    assert_int_equal(mm_file_cache_range(&f.cache, &f.m, mf, 0, 0, &off), -EINVAL);
    assert_int_equal(f.reads, 0);
    assert_int_equal(mm_file_cache_range(&f.cache, &f.m, mf, PAGE, PAGE, &off), 0);
    assert_int_equal(memfile_refcount(mf, off), 2);
    assert_int_equal(memfile_refcount(mf, off - PAGE), 1);
    memfile_decref(mf, off, PAGE);
    mm_file_cache_release(&f.cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fill_reads_each_window_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_mms_share_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_copies_and_leaves_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_while_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_bypasses_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_must_stay_in_one_window, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
