/* A randomized check of sentry/mm against a page-granular model: thousands of map, unmap,
 * protect, remap, brk, madvise and copy operations on a small address space, each followed by a
 * comparison of the VMAs, the PMAs and the memory contents with what the model predicts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "tests/unit/mm/mm_fixture.h"

/* The whole address space is NPAGES pages from mmap_min_addr, so every placement is in view. */
#define NPAGES 128
#define LO MM_MIN_ADDR
#define HI (LO + NPAGES * PAGE)
#define MODEL_MMAP_BASE (LO + 96 * PAGE)
#define MODEL_BRK (LO + 16 * PAGE)
#define OPS 20000

struct model_page {
    bool mapped;
    int prot;
    unsigned flags;
};

struct model {
    struct model_page pg[NPAGES];
    uint8_t data[NPAGES * PAGE];
    uint64_t brk;
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static int step;
static char op[160];

static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

#define EXPECT_EQ(got, want)                                                                       \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        if (g_ != w_)                                                                              \
            fail_msg("step %d: %s: %s is %#llx, want %#llx", step, op, #got, g_, w_);              \
    } while (0)

static size_t pgi(uint64_t addr)
{
    return (addr - LO) / PAGE;
}

static bool model_free(const struct model *m, uint64_t addr, uint64_t len)
{
    if (addr < LO || addr > HI || len > HI - addr)
        return false;
    for (size_t i = pgi(addr); i < pgi(addr + len); i++) {
        if (m->pg[i].mapped)
            return false;
    }
    return true;
}

/* Clips to the model's range: the mm has nothing above HI either. */
static void model_unmap(struct model *m, uint64_t addr, uint64_t len)
{
    uint64_t end = len > HI - addr ? HI : addr + len;
    for (uint64_t a = addr; a < end; a += PAGE) {
        m->pg[pgi(a)].mapped = false;
        memset(m->data + (a - LO), 0, PAGE);
    }
}

static void model_map(struct model *m, uint64_t addr, uint64_t len, int prot, unsigned flags)
{
    model_unmap(m, addr, len);
    for (uint64_t a = addr; a < addr + len; a += PAGE)
        m->pg[pgi(a)] = (struct model_page){.mapped = true, .prot = prot, .flags = flags};
}

static bool model_all_mapped(const struct model *m, uint64_t addr, uint64_t len)
{
    if (addr > HI || len > HI - addr)
        return false;
    for (uint64_t a = addr; a < addr + len; a += PAGE) {
        if (!m->pg[pgi(a)].mapped)
            return false;
    }
    return true;
}

/* mm_find_free's rule: the hint if free, else the highest fit below mmap_base, else the lowest
 * above it. 0 if nothing fits. */
static uint64_t model_find_free(const struct model *m, uint64_t hint, uint64_t len)
{
    if (hint && model_free(m, page_align_down(hint), len))
        return page_align_down(hint);
    for (uint64_t a = MODEL_MMAP_BASE - len; a >= LO && a < MODEL_MMAP_BASE; a -= PAGE) {
        if (model_free(m, a, len))
            return a;
    }
    for (uint64_t a = MODEL_MMAP_BASE; a + len <= HI; a += PAGE) {
        if (model_free(m, a, len))
            return a;
    }
    return 0;
}

/* How many bytes from addr a copy may touch: mapped pages whose protection allows it. */
static size_t model_prefix(const struct model *m, uint64_t addr, size_t len, bool write)
{
    size_t n = 0;
    while (n < len && addr + n < HI) {
        const struct model_page *p = &m->pg[pgi(addr + n)];
        if (!p->mapped || (write ? !(p->prot & PROT_WRITE) : p->prot == PROT_NONE))
            break;
        n += PAGE - ((addr + n) & (PAGE - 1));
    }
    return n < len ? n : len;
}

/* Guest memory as the memory file holds it, whatever the protection; NULL if not populated. */
static const uint8_t *peek(struct mm *mm, uint64_t addr)
{
    const struct pma *p = (const struct pma *)rangevec_find(&mm->pmas, addr);
    if (!p)
        return NULL;
    return (const uint8_t *)memfile_base(mm->mf) + p->mf_off + (addr - p->start);
}

static void check_structure(struct mm *mm, const struct model *m, uint64_t used0)
{
    struct vma v;
    uint64_t at = 0, prev_end = 0;
    size_t count = 0, pages = 0, want_pages = 0;

    while (mm_find_vma(mm, at, &v)) {
        EXPECT_EQ(v.start % PAGE, 0);
        EXPECT_EQ(v.end % PAGE, 0);
        EXPECT_EQ(v.start < v.end, 1);
        EXPECT_EQ(v.start >= prev_end, 1);
        EXPECT_EQ(v.start >= LO && v.end <= HI, 1);
        for (uint64_t a = v.start; a < v.end; a += PAGE) {
            const struct model_page *p = &m->pg[pgi(a)];
            EXPECT_EQ(p->mapped, 1);
            EXPECT_EQ(p->prot, v.prot);
            EXPECT_EQ(p->flags, v.flags);
        }
        pages += (v.end - v.start) / PAGE;
        prev_end = at = v.end;
        count++;
    }
    for (size_t i = 0; i < NPAGES; i++)
        want_pages += m->pg[i].mapped;
    EXPECT_EQ(pages, want_pages);
    EXPECT_EQ(count, mm_vma_count(mm));
    /* Each PMA lies inside one VMA, and the mm is the only user of the memory file. */
    prev_end = 0;
    for (size_t i = 0; i < mm->pmas.len; i++) {
        const struct pma *p = pma_at(mm, i);
        const struct vma *pv = mm_vma_find(mm, p->start);
        EXPECT_EQ(p->start % PAGE == 0 && p->end % PAGE == 0 && p->start < p->end, 1);
        EXPECT_EQ(p->start >= prev_end, 1);
        EXPECT_EQ(pv != NULL && p->end <= pv->end, 1);
        prev_end = p->end;
    }
    EXPECT_EQ(mm_resident_bytes(mm), memfile_used(mm->mf) - used0);
}

static void check_contents(struct mm *mm, const struct model *m)
{
    static const uint8_t zero[PAGE];
    for (size_t i = 0; i < NPAGES; i++) {
        if (!m->pg[i].mapped)
            continue;
        const uint8_t *have = peek(mm, LO + i * PAGE);
        if (memcmp(have ? have : zero, m->data + i * PAGE, PAGE) != 0)
            fail_msg("step %d: after %s: page %#llx differs", step, op,
                     (unsigned long long)(LO + i * PAGE));
    }
}

static const int prots[] = {PROT_NONE, PROT_READ, RW, RW | PROT_EXEC, PROT_READ | PROT_EXEC};

static uint64_t rnd_addr(void)
{
    return LO + rnd(NPAGES + 4) * PAGE;
}

static uint64_t rnd_len(uint64_t max_pages)
{
    return (1 + rnd(max_pages)) * PAGE;
}

static void op_map(struct mm *mm, struct model *m)
{
    uint64_t addr = rnd_addr(), len = rnd_len(12);
    int prot = prots[rnd(5)], kind = (int)rnd(10);
    struct mm_map_request req = {.addr = addr, .len = len, .prot = prot};
    int64_t want;

    if (kind < 5) {
        req.fixed = kind < 4;
        req.noreplace = kind == 4;
        if (addr > HI || len > HI - addr)
            want = -ENOMEM;
        else if (req.noreplace && !model_free(m, addr, len))
            want = -EEXIST;
        else
            want = (int64_t)addr;
    } else {
        req.addr = kind < 8 ? addr - PAGE + rnd(3 * PAGE) : 0; /* hints: any alignment */
        uint64_t at = model_find_free(m, req.addr, len);
        want = at ? (int64_t)at : -ENOMEM;
    }
    snprintf(op, sizeof(op), "map(%#llx, %#llx, prot %d, kind %d)", (unsigned long long)req.addr,
             (unsigned long long)len, prot, kind);
    EXPECT_EQ(mm_map(mm, &req), want);
    if (want > 0)
        model_map(m, (uint64_t)want, len, prot, 0);
}

static void op_unmap(struct mm *mm, struct model *m)
{
    uint64_t addr = rnd_addr(), len = rnd_len(16);
    int want = addr > HI || len > HI - addr ? -EINVAL : 0;

    if (rnd(20) == 0)
        addr += 1 + rnd(PAGE - 1), want = -EINVAL;
    snprintf(op, sizeof(op), "unmap(%#llx, %#llx)", (unsigned long long)addr,
             (unsigned long long)len);
    EXPECT_EQ(mm_unmap(mm, addr, len), want);
    if (want == 0)
        model_unmap(m, addr, len);
}

static void op_protect(struct mm *mm, struct model *m)
{
    uint64_t addr = rnd_addr(), len = rnd_len(8);
    int prot = prots[rnd(5)];
    int want = model_all_mapped(m, addr, len) ? 0 : -ENOMEM;

    snprintf(op, sizeof(op), "protect(%#llx, %#llx, %d)", (unsigned long long)addr,
             (unsigned long long)len, prot);
    EXPECT_EQ(mm_protect(mm, addr, len, prot), want);
    for (uint64_t a = addr; want == 0 && a < addr + len; a += PAGE)
        m->pg[pgi(a)].prot = prot;
}

/* Moves the model's pages [old, old+len) to `to` (which the caller made free) as mremap does. */
static void model_move(struct model *m, uint64_t old, uint64_t len, uint64_t to, uint64_t new_len,
                       const struct vma *v)
{
    static uint8_t saved[NPAGES * PAGE];
    memcpy(saved, m->data + (old - LO), len);
    model_unmap(m, old, len);
    model_map(m, to, new_len, v->prot, v->flags);
    memcpy(m->data + (to - LO), saved, len);
}

static void op_remap(struct mm *mm, struct model *m)
{
    uint64_t old = rnd_addr(), old_len = rnd_len(8), new_len = rnd_len(12), to = rnd_addr();
    static const int flag_sets[] = {0, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED};
    int flags = flag_sets[rnd(3)];
    struct vma v;
    int64_t want;

    /* Mostly start inside a mapping: random addresses would nearly always fail. */
    bool pick_mapped = rnd(4) != 0;
    for (size_t k = 0, i = rnd(NPAGES); pick_mapped && k < NPAGES; k++, i = (i + 1) % NPAGES) {
        if (m->pg[i].mapped) {
            old = LO + i * PAGE;
            break;
        }
    }
    bool found = old < HI && m->pg[pgi(old)].mapped && mm_find_vma(mm, old, &v);
    if (found && rnd(2) == 0)
        old_len = v.end - old; /* up to the VMA's end, so it may grow in place */
    snprintf(op, sizeof(op), "remap(%#llx, %#llx, %#llx, %d, %#llx)", (unsigned long long)old,
             (unsigned long long)old_len, (unsigned long long)new_len, flags,
             (unsigned long long)to);
    uint64_t kept = new_len < old_len ? new_len : old_len;
    if (!found) {
        want = -EFAULT;
    } else if (new_len < old_len && old_len > HI - old) {
        want = -EINVAL;
    } else if (flags & MREMAP_FIXED) {
        if (to > HI || new_len > HI - to || (to < old + old_len && old < to + new_len))
            want = -EINVAL;
        else if (kept > v.end - old)
            want = -EFAULT;
        else
            want = (int64_t)to;
    } else if (new_len <= old_len) {
        want = (int64_t)old;
    } else if (old_len > v.end - old) {
        want = -EFAULT;
    } else if (old + old_len == v.end && model_free(m, v.end, new_len - old_len)) {
        want = (int64_t)old;
    } else if (!(flags & MREMAP_MAYMOVE)) {
        want = -ENOMEM;
    } else {
        to = model_find_free(m, 0, new_len);
        want = to ? (int64_t)to : -ENOMEM;
    }
    EXPECT_EQ(mm_remap(mm, old, old_len, new_len, flags, to), want);
    if (want < 0)
        return;
    if (new_len < old_len)
        model_unmap(m, old + new_len, old_len - new_len);
    if ((uint64_t)want == old && !(flags & MREMAP_FIXED)) {
        if (new_len > old_len)
            model_map(m, old + old_len, new_len - old_len, v.prot, v.flags);
        return;
    }
    model_unmap(m, to, new_len);
    model_move(m, old, kept, to, new_len, &v);
}

static void op_brk(struct mm *mm, struct model *m)
{
    uint64_t addr = MODEL_BRK - 2 * PAGE + rnd(MODEL_MMAP_BASE - MODEL_BRK + 4 * PAGE);
    if (rnd(2) == 0)
        addr = m->brk - 4 * PAGE + rnd(8 * PAGE); /* mostly small moves, as programs make */
    uint64_t want = m->brk, new_end = 0, old_end = 0;

    page_align_up(addr, &new_end);
    page_align_up(m->brk, &old_end);
    if (addr >= MODEL_BRK && new_end <= MODEL_MMAP_BASE) {
        if (new_end < old_end) {
            model_unmap(m, new_end, old_end - new_end);
            want = addr;
        } else if (new_end == old_end) {
            want = addr;
        } else if (model_free(m, old_end, new_end - old_end)) {
            model_map(m, old_end, new_end - old_end, RW, VMA_HEAP);
            want = addr;
        }
    }
    snprintf(op, sizeof(op), "brk(%#llx) from %#llx", (unsigned long long)addr,
             (unsigned long long)m->brk);
    EXPECT_EQ(mm_brk(mm, addr), want);
    m->brk = want;
}

static void op_dontneed(struct mm *mm, struct model *m)
{
    uint64_t addr = rnd_addr(), len = rnd_len(8);
    int want = model_all_mapped(m, addr, len) ? 0 : -ENOMEM;

    snprintf(op, sizeof(op), "dontneed(%#llx, %#llx)", (unsigned long long)addr,
             (unsigned long long)len);
    EXPECT_EQ(mm_advise(mm, addr, len, MADV_DONTNEED), want);
    for (uint64_t a = addr; a < addr + len && a < HI; a += PAGE) {
        if (m->pg[pgi(a)].mapped)
            memset(m->data + (a - LO), 0, PAGE);
    }
}

static void op_copy(struct mm *mm, struct model *m, bool write)
{
    static uint8_t buf[8 * PAGE];
    uint64_t addr = rnd_addr() + rnd(PAGE);
    size_t len = 1 + rnd(sizeof(buf) - 1);
    size_t n = model_prefix(m, addr, len, write);

    snprintf(op, sizeof(op), "copy_%s(%#llx, %#zx)", write ? "out" : "in", (unsigned long long)addr,
             len);
    if (write) {
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rnd(256);
        EXPECT_EQ(mm_copy_out_partial(mm, addr, buf, len), n ? (ssize_t)n : -EFAULT);
        memcpy(m->data + (addr - LO), buf, n);
    } else {
        EXPECT_EQ(mm_copy_in_partial(mm, addr, buf, len), n ? (ssize_t)n : -EFAULT);
        if (memcmp(buf, m->data + (addr - LO), n) != 0)
            fail_msg("step %d: %s read the wrong bytes", step, op);
    }
}

static void test_mm_matches_page_model(void **state)
{
    (void)state;
    struct memfile *mf;
    struct mm *mm;
    struct model *m = calloc(1, sizeof(*m));

    assert_non_null(m);
    assert_int_equal(memfile_create(64 * MIB, &mf), 0);
    assert_int_equal(mm_create(mf, HI, &mm), 0);
    mm_set_layout(mm, MODEL_BRK, MODEL_MMAP_BASE);
    m->brk = MODEL_BRK;
    uint64_t used0 = memfile_used(mf);

    for (step = 0; step < OPS; step++) {
        uint64_t r = rnd(100);
        if (r < 18)
            op_map(mm, m);
        else if (r < 32)
            op_unmap(mm, m);
        else if (r < 46)
            op_protect(mm, m);
        else if (r < 60)
            op_remap(mm, m);
        else if (r < 68)
            op_brk(mm, m);
        else if (r < 74)
            op_dontneed(mm, m);
        else
            op_copy(mm, m, r < 88);
        check_structure(mm, m, used0);
        check_contents(mm, m);
    }
    mm_destroy(mm);
    assert_int_equal(memfile_used(mf), used0);
    memfile_destroy(mf);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mm_matches_page_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
