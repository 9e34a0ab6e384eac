/* Unit tests for sentry/memfile: the memfd, its allocator, refcounts and hole punching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sentry/memfile/memfile.h"

#define PAGE MEMFILE_PAGE_SIZE
#define MIB (1UL << 20)
#define GIB (1UL << 30)

static struct memfile *create_or_fail(uint64_t size)
{
    struct memfile *mf = NULL;
    assert_int_equal(memfile_create(size, &mf), 0);
    assert_non_null(mf);
    return mf;
}

static uint64_t alloc_or_fail(struct memfile *mf, uint64_t len)
{
    uint64_t off = UINT64_MAX;
    assert_int_equal(memfile_alloc(mf, len, &off), 0);
    assert_int_equal(off % PAGE, 0);
    assert_true(off + len <= memfile_size(mf));
    return off;
}

static unsigned char *at(struct memfile *mf, uint64_t off)
{
    return (unsigned char *)memfile_base(mf) + off;
}

static bool all_zero(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i])
            return false;
    }
    return true;
}

static uint64_t blocks_of(struct memfile *mf)
{
    struct stat st;
    assert_int_equal(fstat(memfile_fd(mf), &st), 0);
    return (uint64_t)st.st_blocks;
}

/* Resident set size now, in bytes (getrusage only knows the peak). */
static uint64_t rss_now(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%lu %lu", &size, &resident), 2);
    fclose(f);
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t max_rss(void)
{
    struct rusage ru;
    assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
    return (uint64_t)ru.ru_maxrss * 1024;
}

static void test_create_destroy_small(void **state)
{
    struct memfile *mf = create_or_fail(16 * PAGE);
    assert_true(memfile_fd(mf) >= 0);
    assert_non_null(memfile_base(mf));
    assert_int_equal(memfile_size(mf), 16 * PAGE);
    assert_int_equal(memfile_used(mf), 0);
    assert_int_equal(memfile_refcount(mf, 0), 0);
    assert_true(fcntl(memfile_fd(mf), F_GETFD) & FD_CLOEXEC);
    memfile_destroy(mf);
    memfile_destroy(NULL);
}

static void test_create_64g_is_cheap(void **state)
{
    uint64_t rss_before = rss_now(), peak_before = max_rss();
    struct memfile *mf = create_or_fail(64 * GIB);
    assert_int_equal(memfile_size(mf), 64 * GIB);
    assert_int_equal(blocks_of(mf), 0);

    /* A page in use costs its page and its refcount chunk, nothing more. */
    uint64_t first = alloc_or_fail(mf, PAGE);
    at(mf, first)[0] = 1;
    assert_true(rss_now() < rss_before + 4 * MIB);
    assert_true(max_rss() < peak_before + 4 * MIB);

    /* The whole file can be handed out; refcounts then cost 4 bytes a page. */
    uint64_t big = alloc_or_fail(mf, 32 * GIB - 2 * MIB);
    uint64_t tail = alloc_or_fail(mf, 32 * GIB);
    assert_int_equal(big, 2 * MIB);
    assert_int_equal(tail, 32 * GIB);
    at(mf, tail + 32 * GIB - 1)[0] = 2;
    assert_int_equal(at(mf, big)[0], 0);
    assert_int_equal(memfile_used(mf), PAGE + 64 * GIB - 2 * MIB);
    uint64_t off;
    assert_int_equal(memfile_alloc(mf, 2 * MIB, &off), -ENOMEM);
    memfile_decref(mf, big, 32 * GIB - 2 * MIB);
    memfile_decref(mf, tail, 32 * GIB);
    memfile_decref(mf, first, PAGE);
    assert_int_equal(memfile_used(mf), 0);
    assert_int_equal(blocks_of(mf), 0);
    memfile_destroy(mf);
}

static void test_create_invalid(void **state)
{
    struct memfile *mf = NULL;
    assert_int_equal(memfile_create(0, &mf), -EINVAL);
    assert_int_equal(memfile_create(PAGE - 1, &mf), -EINVAL);
    assert_int_equal(memfile_create(PAGE + 1, &mf), -EINVAL);
    assert_null(mf);
}

static void test_alloc_invalid(void **state)
{
    struct memfile *mf = create_or_fail(16 * PAGE);
    uint64_t off = 12345;
    assert_int_equal(memfile_alloc(mf, 0, &off), -EINVAL);
    assert_int_equal(memfile_alloc(mf, 1, &off), -EINVAL);
    assert_int_equal(memfile_alloc(mf, PAGE - 1, &off), -EINVAL);
    assert_int_equal(memfile_alloc(mf, PAGE + 1, &off), -EINVAL);
    assert_int_equal(off, 12345);
    assert_int_equal(memfile_used(mf), 0);
    memfile_destroy(mf);
}

static void test_alloc_distinct_ranges(void **state)
{
    enum { N = 40 };
    struct memfile *mf = create_or_fail(4 * MIB);
    uint64_t off[N], len[N];
    for (int i = 0; i < N; i++) {
        len[i] = (uint64_t)(i % 5 + 1) * PAGE;
        off[i] = alloc_or_fail(mf, len[i]);
        for (int j = 0; j < i; j++)
            assert_true(off[i] + len[i] <= off[j] || off[j] + len[j] <= off[i]);
        memset(at(mf, off[i]), i + 1, len[i]);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(at(mf, off[i])[0], i + 1);
        assert_int_equal(at(mf, off[i] + len[i] - 1)[0], i + 1);
        memfile_decref(mf, off[i], len[i]);
    }
    assert_int_equal(memfile_used(mf), 0);
    memfile_destroy(mf);
}

static void test_memory_shared_with_second_mapping(void **state)
{
    struct memfile *mf = create_or_fail(64 * PAGE);
    alloc_or_fail(mf, 3 * PAGE);
    uint64_t off = alloc_or_fail(mf, 4 * PAGE);
    assert_int_equal(off, 3 * PAGE);

    unsigned char *other =
        mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfile_fd(mf), (off_t)off);
    assert_true(other != MAP_FAILED);
    strcpy((char *)at(mf, off + PAGE), "through the sentry");
    assert_string_equal((char *)other + PAGE, "through the sentry");
    strcpy((char *)other + 3 * PAGE, "through a stub");
    assert_string_equal((char *)at(mf, off + 3 * PAGE), "through a stub");
    munmap(other, 4 * PAGE);
    memfile_destroy(mf);
}

static void test_refcounts(void **state)
{
    struct memfile *mf = create_or_fail(64 * PAGE);
    uint64_t off = alloc_or_fail(mf, 2 * PAGE);
    assert_int_equal(memfile_refcount(mf, off), 1);
    assert_int_equal(memfile_refcount(mf, off + PAGE + 17), 1);
    memfile_incref(mf, off, 2 * PAGE);
    assert_int_equal(memfile_refcount(mf, off), 2);
    assert_int_equal(memfile_refcount(mf, off + PAGE), 2);
    memfile_decref(mf, off, 2 * PAGE);
    assert_int_equal(memfile_refcount(mf, off), 1);
    assert_int_equal(memfile_used(mf), 2 * PAGE);
    memfile_decref(mf, off, 2 * PAGE);
    assert_int_equal(memfile_refcount(mf, off), 0);
    assert_int_equal(memfile_refcount(mf, off + PAGE), 0);
    assert_int_equal(memfile_used(mf), 0);
    /* An empty range is allowed and touches nothing. */
    memfile_incref(mf, off, 0);
    memfile_decref(mf, off, 0);
    memfile_destroy(mf);
}

static void test_partial_decref_frees_only_unshared_pages(void **state)
{
    struct memfile *mf = create_or_fail(64 * PAGE);
    uint64_t off = alloc_or_fail(mf, 5 * PAGE);
    memfile_incref(mf, off + 2 * PAGE, PAGE);
    memset(at(mf, off), 0x5a, 5 * PAGE);

    /* Pages 0-1 and 3-4 reach zero: two runs around the shared page 2. */
    memfile_decref(mf, off, 5 * PAGE);
    assert_int_equal(memfile_used(mf), PAGE);
    assert_int_equal(memfile_refcount(mf, off + PAGE), 0);
    assert_int_equal(memfile_refcount(mf, off + 2 * PAGE), 1);
    assert_int_equal(memfile_refcount(mf, off + 3 * PAGE), 0);
    assert_int_equal(at(mf, off + 2 * PAGE)[PAGE - 1], 0x5a);
    assert_true(all_zero(at(mf, off), 2 * PAGE));
    assert_true(all_zero(at(mf, off + 3 * PAGE), 2 * PAGE));

    /* The first hole is reused first. */
    assert_int_equal(alloc_or_fail(mf, 2 * PAGE), off);
    assert_int_equal(alloc_or_fail(mf, 2 * PAGE), off + 3 * PAGE);
    assert_int_equal(memfile_used(mf), 5 * PAGE);
    memfile_destroy(mf);
}

static void test_freed_pages_read_zero(void **state)
{
    struct memfile *mf = create_or_fail(256 * PAGE);
    uint64_t off = alloc_or_fail(mf, 16 * PAGE);
    assert_true(all_zero(at(mf, off), 16 * PAGE));
    memset(at(mf, off), 0xab, 16 * PAGE);
    memfile_decref(mf, off, 16 * PAGE);

    assert_int_equal(alloc_or_fail(mf, 16 * PAGE), off);
    assert_true(all_zero(at(mf, off), 16 * PAGE));
    memfile_destroy(mf);
}

static void test_fragmentation(void **state)
{
    enum { N = 64 };
    struct memfile *mf = create_or_fail(256 * PAGE);
    uint64_t off[N];
    for (int i = 0; i < N; i++) {
        off[i] = alloc_or_fail(mf, PAGE);
        assert_int_equal(off[i], i * PAGE);
    }
    for (int i = 1; i < N; i += 2)
        memfile_decref(mf, off[i], PAGE);
    assert_int_equal(memfile_used(mf), N / 2 * PAGE);

    /* One-page holes only, but the freed top page lowered the bump: two pages start there. */
    uint64_t two = alloc_or_fail(mf, 2 * PAGE);
    for (int i = 0; i < N; i += 2)
        assert_true(off[i] < two || off[i] >= two + 2 * PAGE);
    assert_int_equal(two, (N - 1) * PAGE);

    /* Freeing page 2 joins the holes at 1 and 3 into one run of three pages. */
    memfile_decref(mf, off[2], PAGE);
    assert_int_equal(alloc_or_fail(mf, 2 * PAGE), PAGE);
    assert_int_equal(alloc_or_fail(mf, PAGE), 3 * PAGE);
    assert_int_equal(alloc_or_fail(mf, PAGE), 5 * PAGE);
    memfile_destroy(mf);
}

static void test_coalescing(void **state)
{
    struct memfile *mf = create_or_fail(64 * PAGE);
    uint64_t off[5];
    for (int i = 0; i < 5; i++)
        off[i] = alloc_or_fail(mf, PAGE);

    /* Left, right, then the middle: one extent [0, 3). */
    memfile_decref(mf, off[0], PAGE);
    memfile_decref(mf, off[2], PAGE);
    memfile_decref(mf, off[1], PAGE);
    assert_int_equal(alloc_or_fail(mf, 3 * PAGE), 0);

    /* Freeing the top pages lowers the bump, and the next run starts there. */
    memfile_decref(mf, off[4], PAGE);
    memfile_decref(mf, off[3], PAGE);
    assert_int_equal(alloc_or_fail(mf, 2 * PAGE), 3 * PAGE);

    /* Everything freed in pieces becomes one run again. */
    memfile_decref(mf, 3 * PAGE, 2 * PAGE);
    memfile_decref(mf, PAGE, PAGE);
    memfile_decref(mf, 0, PAGE);
    memfile_decref(mf, 2 * PAGE, PAGE);
    assert_int_equal(memfile_used(mf), 0);
    assert_int_equal(alloc_or_fail(mf, 64 * PAGE), 0);
    memfile_destroy(mf);
}

static void test_huge_alignment(void **state)
{
    struct memfile *mf = create_or_fail(16 * MIB);
    assert_int_equal(alloc_or_fail(mf, PAGE), 0);
    assert_int_equal(alloc_or_fail(mf, 2 * MIB), 2 * MIB);
    /* The space skipped for alignment is free for small requests. */
    assert_int_equal(alloc_or_fail(mf, PAGE), PAGE);
    assert_int_equal(alloc_or_fail(mf, 4 * MIB), 4 * MIB);
    assert_int_equal(alloc_or_fail(mf, 2 * MIB - 2 * PAGE), 2 * PAGE);
    memfile_destroy(mf);

    /* Alignment is a preference: without an aligned run, any run will do. */
    mf = create_or_fail(3 * MIB);
    assert_int_equal(alloc_or_fail(mf, PAGE), 0);
    assert_int_equal(alloc_or_fail(mf, 2 * MIB), PAGE);
    memfile_destroy(mf);
}

static void test_exhaustion(void **state)
{
    struct memfile *mf = create_or_fail(16 * PAGE);
    uint64_t off = 777;
    uint64_t all = alloc_or_fail(mf, 16 * PAGE);
    assert_int_equal(memfile_alloc(mf, PAGE, &off), -ENOMEM);
    assert_int_equal(memfile_alloc(mf, UINT64_MAX - PAGE + 1, &off), -ENOMEM);
    assert_int_equal(off, 777);
    memfile_decref(mf, all, 16 * PAGE);

    assert_int_equal(memfile_alloc(mf, 17 * PAGE, &off), -ENOMEM);
    assert_int_equal(memfile_alloc(mf, UINT64_MAX - PAGE + 1, &off), -ENOMEM);
    for (int i = 0; i < 16; i++)
        assert_int_equal(alloc_or_fail(mf, PAGE), i * PAGE);
    assert_int_equal(memfile_alloc(mf, PAGE, &off), -ENOMEM);

    /* Eight free pages, none adjacent: a two-page run does not exist. */
    for (int i = 0; i < 16; i += 2)
        memfile_decref(mf, i * PAGE, PAGE);
    assert_int_equal(memfile_used(mf), 8 * PAGE);
    assert_int_equal(memfile_alloc(mf, 2 * PAGE, &off), -ENOMEM);
    assert_int_equal(alloc_or_fail(mf, PAGE), 0);
    assert_int_equal(memfile_used(mf), 9 * PAGE);
    memfile_destroy(mf);
}

static void test_used_accounting(void **state)
{
    struct memfile *mf = create_or_fail(1024 * PAGE);
    uint64_t a = alloc_or_fail(mf, 3 * PAGE);
    uint64_t b = alloc_or_fail(mf, 10 * PAGE);
    assert_int_equal(memfile_used(mf), 13 * PAGE);
    memfile_incref(mf, b, 10 * PAGE);
    assert_int_equal(memfile_used(mf), 13 * PAGE);
    memfile_decref(mf, b, 10 * PAGE);
    assert_int_equal(memfile_used(mf), 13 * PAGE);
    memfile_decref(mf, b + 4 * PAGE, 2 * PAGE);
    assert_int_equal(memfile_used(mf), 11 * PAGE);
    memfile_decref(mf, a, 3 * PAGE);
    assert_int_equal(memfile_used(mf), 8 * PAGE);
    memfile_decref(mf, b, 4 * PAGE);
    memfile_decref(mf, b + 6 * PAGE, 4 * PAGE);
    assert_int_equal(memfile_used(mf), 0);
    memfile_destroy(mf);
}

static void test_hole_punch_returns_host_memory(void **state)
{
    struct memfile *mf = create_or_fail(64 * MIB);
    uint64_t keep = alloc_or_fail(mf, PAGE);
    uint64_t off = alloc_or_fail(mf, 8 * MIB);
    memset(at(mf, keep), 1, PAGE);
    memset(at(mf, off), 0xcd, 8 * MIB);
    uint64_t written = blocks_of(mf);
    assert_true(written * 512 >= 8 * MIB);

    memfile_decref(mf, off, 8 * MIB);
    uint64_t freed = blocks_of(mf);
    assert_true(freed * 512 <= written * 512 - 8 * MIB);
    assert_int_equal(at(mf, keep)[0], 1);
    memfile_destroy(mf);
}

/* Runs fn in a child and expects the sentry-bug abort. */
static void expect_abort(void (*fn)(struct memfile *), struct memfile *mf)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDERR_FILENO);
        fn(mf);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void decref_free_page(struct memfile *mf)
{
    memfile_decref(mf, 8 * PAGE, PAGE);
}

static void incref_free_page(struct memfile *mf)
{
    memfile_incref(mf, 8 * PAGE, PAGE);
}

static void decref_twice(struct memfile *mf)
{
    memfile_decref(mf, 0, PAGE);
    memfile_decref(mf, 0, PAGE);
}

static void decref_unaligned(struct memfile *mf)
{
    memfile_decref(mf, 1, PAGE);
}

static void decref_past_end(struct memfile *mf)
{
    memfile_decref(mf, 0, memfile_size(mf) + PAGE);
}

static void test_misuse_aborts(void **state)
{
    struct memfile *mf = create_or_fail(16 * PAGE);
    alloc_or_fail(mf, 2 * PAGE);
    expect_abort(decref_free_page, mf);
    expect_abort(incref_free_page, mf);
    expect_abort(decref_twice, mf);
    expect_abort(decref_unaligned, mf);
    expect_abort(decref_past_end, mf);
    assert_int_equal(memfile_refcount(mf, 0), 1);
    memfile_destroy(mf);
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* A reference the stress test holds: one count on each page of [off, off+len). */
struct stress_ref {
    uint64_t off;
    uint64_t len;
};

static uint64_t stamp(uint64_t page_off)
{
    return page_off * 0x9e3779b97f4a7c15ULL | 1;
}

static void test_stress_against_model(void **state)
{
    enum { PAGES = 2048, MAX_REFS = 4096, TARGET_REFS = 300, OPS = 100000 };
    struct memfile *mf = create_or_fail(PAGES * PAGE);
    uint32_t *model = calloc(PAGES, sizeof(*model));
    struct stress_ref *refs = calloc(MAX_REFS, sizeof(*refs));
    size_t nrefs = 0;
    uint64_t model_used = 0, seed = 0x2545f4914f6cdd1dULL, enomem = 0;
    assert_non_null(model);
    assert_non_null(refs);

    for (int op = 0; op < OPS; op++) {
        uint64_t r = xorshift64(&seed) % 100;
        bool grow = nrefs < TARGET_REFS;
        if (nrefs == 0 || (nrefs < MAX_REFS && r < (grow ? 50u : 30u))) {
            uint64_t pick = xorshift64(&seed);
            uint64_t pages = pick % 64 == 0 ? 512 : pick % 16 == 0 ? 16 + pick % 49 : 1 + pick % 8;
            uint64_t off;
            int err = memfile_alloc(mf, pages * PAGE, &off);
            if (err == -ENOMEM) {
                /* Only right if no run of `pages` free pages exists anywhere. */
                uint64_t run = 0;
                for (size_t p = 0; p < PAGES; p++) {
                    run = model[p] ? 0 : run + 1;
                    assert_true(run < pages);
                }
                enomem++;
                continue;
            }
            assert_int_equal(err, 0);
            assert_int_equal(off % PAGE, 0);
            assert_true(off / PAGE + pages <= PAGES);
            for (uint64_t p = off / PAGE; p < off / PAGE + pages; p++) {
                assert_int_equal(model[p], 0);
                uint64_t *word = (uint64_t *)at(mf, p * PAGE);
                assert_int_equal(word[0], 0);
                assert_int_equal(word[PAGE / 8 - 1], 0);
                word[0] = stamp(p * PAGE);
                model[p] = 1;
            }
            model_used += pages * PAGE;
            refs[nrefs++] = (struct stress_ref){.off = off, .len = pages * PAGE};
        } else if (nrefs < MAX_REFS && r < (grow ? 70u : 40u)) {
            const struct stress_ref *from = &refs[xorshift64(&seed) % nrefs];
            uint64_t pages = from->len / PAGE;
            uint64_t first = xorshift64(&seed) % pages;
            uint64_t count = 1 + xorshift64(&seed) % (pages - first);
            struct stress_ref sub = {.off = from->off + first * PAGE, .len = count * PAGE};
            memfile_incref(mf, sub.off, sub.len);
            for (uint64_t p = sub.off / PAGE; p < (sub.off + sub.len) / PAGE; p++)
                model[p]++;
            refs[nrefs++] = sub;
        } else {
            size_t i = xorshift64(&seed) % nrefs;
            struct stress_ref drop = refs[i];
            refs[i] = refs[--nrefs];
            for (uint64_t p = drop.off / PAGE; p < (drop.off + drop.len) / PAGE; p++) {
                assert_int_equal(*(uint64_t *)at(mf, p * PAGE), stamp(p * PAGE));
                assert_true(model[p] > 0);
                if (--model[p] == 0)
                    model_used -= PAGE;
            }
            memfile_decref(mf, drop.off, drop.len);
        }
        assert_int_equal(memfile_used(mf), model_used);

        if (op % 4096 == 0) {
            for (size_t p = 0; p < PAGES; p++) {
                assert_int_equal(memfile_refcount(mf, p * PAGE), model[p]);
                if (model[p])
                    assert_int_equal(*(uint64_t *)at(mf, p * PAGE), stamp(p * PAGE));
            }
        }
    }
    assert_true(enomem > 0);

    while (nrefs > 0) {
        nrefs--;
        memfile_decref(mf, refs[nrefs].off, refs[nrefs].len);
    }
    assert_int_equal(memfile_used(mf), 0);
    /* Everything coalesced back: the whole file is one free run of zeroes. */
    uint64_t off = alloc_or_fail(mf, PAGES * PAGE);
    assert_int_equal(off, 0);
    assert_true(all_zero(at(mf, 0), PAGES * PAGE));
    free(refs);
    free(model);
    memfile_destroy(mf);
}

struct thread_arg {
    struct memfile *mf;
    uint64_t seed;
    bool ok;
};

static void *thread_churn(void *p)
{
    enum { LIVE = 32, OPS = 20000 };
    struct thread_arg *arg = p;
    struct stress_ref live[LIVE] = {{0}};
    uint64_t tag = arg->seed;
    arg->ok = true;
    for (int op = 0; op < OPS; op++) {
        struct stress_ref *slot = &live[xorshift64(&arg->seed) % LIVE];
        if (slot->len) {
            for (uint64_t o = slot->off; o < slot->off + slot->len; o += PAGE)
                arg->ok &= *(uint64_t *)at(arg->mf, o) == (tag ^ o);
            memfile_decref(arg->mf, slot->off, slot->len);
            slot->len = 0;
            continue;
        }
        uint64_t len = (1 + xorshift64(&arg->seed) % 4) * PAGE;
        if (memfile_alloc(arg->mf, len, &slot->off) != 0)
            continue;
        slot->len = len;
        for (uint64_t o = slot->off; o < slot->off + len; o += PAGE) {
            arg->ok &= *(uint64_t *)at(arg->mf, o) == 0;
            *(uint64_t *)at(arg->mf, o) = tag ^ o;
        }
    }
    for (int i = 0; i < LIVE; i++) {
        if (live[i].len)
            memfile_decref(arg->mf, live[i].off, live[i].len);
    }
    return NULL;
}

static void test_threads(void **state)
{
    enum { THREADS = 4 };
    struct memfile *mf = create_or_fail(4 * MIB);
    pthread_t threads[THREADS];
    struct thread_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct thread_arg){.mf = mf, .seed = 0x1234567ULL * (uint64_t)(i + 1)};
        assert_int_equal(pthread_create(&threads[i], NULL, thread_churn, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_true(args[i].ok);
    }
    assert_int_equal(memfile_used(mf), 0);
    memfile_destroy(mf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_64g_is_cheap),
        cmocka_unit_test(test_create_destroy_small),
        cmocka_unit_test(test_create_invalid),
        cmocka_unit_test(test_alloc_invalid),
        cmocka_unit_test(test_alloc_distinct_ranges),
        cmocka_unit_test(test_memory_shared_with_second_mapping),
        cmocka_unit_test(test_refcounts),
        cmocka_unit_test(test_partial_decref_frees_only_unshared_pages),
        cmocka_unit_test(test_freed_pages_read_zero),
        cmocka_unit_test(test_fragmentation),
        cmocka_unit_test(test_coalescing),
        cmocka_unit_test(test_huge_alignment),
        cmocka_unit_test(test_exhaustion),
        cmocka_unit_test(test_used_accounting),
        cmocka_unit_test(test_hole_punch_returns_host_memory),
        cmocka_unit_test(test_misuse_aborts),
        cmocka_unit_test(test_stress_against_model),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
