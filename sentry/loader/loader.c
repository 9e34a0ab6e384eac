/* The ELF loader: maps PT_LOAD segments as private file mappings (bss as anonymous memory),
 * chooses the layout (load bias, brk, stack, mmap base) the way Linux's binfmt_elf does, and
 * builds the initial stack. */
#include "sentry/loader/loader.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "arch.h"
#include "sentry/loader/elf.h"
#include "sentry/loader/stack.h"
#include "sentry/mm/mm.h"
#include "sentry/vdso/vdso.h"

#define PAGE ARCH_PAGE_SIZE
/* Linux's minimum gap between the stack and the mmap area (mmap_base()). */
#define STACK_GAP_MIN (128UL << 20)
/* Randomization ranges, in pages: stack top, mmap base, and brk (Linux: 32 MiB). */
#define STACK_RND_PAGES (1UL << 20)
#define MMAP_RND_PAGES (1UL << 24)
#define BRK_RND_PAGES ((32UL << 20) / PAGE)

static uint64_t random_pages(uint64_t range)
{
    uint64_t r = 0;

    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
        r = 0;
    return (r % range) * PAGE;
}

static uint64_t align_up(uint64_t a)
{
    return (a + PAGE - 1) & ~(PAGE - 1);
}

static ssize_t elf_read_mappable(void *ctx, void *buf, size_t len, uint64_t off)
{
    struct mappable *m = ctx;
    return m->ops->read(m, buf, len, off);
}

/* Maps one PT_LOAD segment of `file` at `bias`. */
static int map_segment(struct mm *mm, struct mappable *file, const struct elf_segment *s,
                       uint64_t bias)
{
    uint64_t start = (s->vaddr + bias) & ~(PAGE - 1);
    uint64_t file_end = s->vaddr + bias + s->filesz;
    uint64_t mem_end = align_up(s->vaddr + bias + s->memsz);
    int64_t r;

    if (s->filesz > 0) {
        struct mm_map_request req = {
            .addr = start,
            .len = align_up(file_end) - start,
            .prot = s->prot,
            .fixed = true,
            .file = file,
            .file_off = s->offset & ~(PAGE - 1),
        };
        if ((r = mm_map(mm, &req)) < 0)
            return (int)r;
        /* The bytes after the file data in its last page belong to bss and must read zero. */
        if (s->memsz > s->filesz && (file_end & (PAGE - 1))) {
            int err = mm_zero_force(mm, file_end, PAGE - (file_end & (PAGE - 1)));
            if (err)
                return err;
        }
        start = align_up(file_end);
    }
    if (mem_end > start) {
        struct mm_map_request req = {
            .addr = start, .len = mem_end - start, .prot = s->prot, .fixed = true};
        if ((r = mm_map(mm, &req)) < 0)
            return (int)r;
    }
    return 0;
}

/* Reserves room for an ET_DYN image where mmap would put it; returns the load bias. */
static int64_t place_dyn(struct mm *mm, const struct elf_image *img)
{
    struct mm_map_request probe = {.len = img->max_vaddr - img->min_vaddr, .prot = PROT_NONE};
    int64_t at = mm_map(mm, &probe);
    if (at < 0)
        return at;
    mm_unmap(mm, (uint64_t)at, probe.len);
    return at - (int64_t)img->min_vaddr;
}

/* Maps the interpreter named by PT_INTERP; *entry and *base get its entry point and load bias. */
static int load_interp(struct mm *mm, const struct loader_args *a, const char *path,
                       uint64_t *entry, uint64_t *base, const char **why)
{
    struct mappable *m;
    uint64_t size;
    int err = a->open_interp(a->open_ctx, path, &m, &size);
    if (err) {
        *why = "cannot open the program interpreter";
        return err == -ENOEXEC ? -ELIBBAD : err;
    }
    struct elf_image img;
    err = elf_parse(elf_read_mappable, m, size, &img);
    if (err == 0 && (img.has_interp || !img.is_dyn))
        err = -ELIBBAD; /* an interpreter is one ET_DYN image without its own interpreter */
    if (err) {
        *why = "bad program interpreter";
        m->ops->put(m);
        return err == -ENOEXEC ? -ELIBBAD : err;
    }
    int64_t bias = place_dyn(mm, &img);
    err = bias < 0 ? (int)bias : 0;
    for (int i = 0; !err && i < img.nsegments; i++)
        err = map_segment(mm, m, &img.segments[i], (uint64_t)bias);
    m->ops->put(m);
    if (err)
        return err;
    *entry = img.entry + (uint64_t)bias;
    *base = (uint64_t)bias;
    return 0;
}

int loader_load(struct mm *mm, const struct loader_args *a, struct loader_result *out,
                const char **why)
{
    struct elf_image img;
    uint64_t max = mm_max_addr(mm);
    int err;

    err = elf_parse(elf_read_mappable, a->file, a->file_size, &img);
    if (err == -ENOEXEC)
        *why = "exec format error";
    if (err)
        return err;
    if (img.has_interp && !a->open_interp) {
        *why = "dynamically linked executables need a filesystem to find their interpreter";
        return -ENOEXEC;
    }

    /* The stack at the top, the mmap area below it, as Linux lays them out. */
    uint64_t stack_limit = a->stack_limit;
    if (stack_limit < STACK_GAP_MIN)
        stack_limit = STACK_GAP_MIN;
    if (stack_limit > max / 6)
        stack_limit = max / 6;
    uint64_t stack_top = max - PAGE - random_pages(STACK_RND_PAGES);
    uint64_t mmap_base = stack_top - stack_limit - random_pages(MMAP_RND_PAGES);

    uint64_t bias = 0, brk;
    mm_set_layout(mm, 0, mmap_base);
    if (img.is_dyn && img.has_interp) {
        /* A PIE with an interpreter loads at ELF_ET_DYN_BASE (binfmt_elf), brk after it. */
        bias = ((ARCH_ELF_ET_DYN_BASE(max) + random_pages(MMAP_RND_PAGES / 256)) & ~(PAGE - 1)) -
               img.min_vaddr;
        brk = align_up(img.max_vaddr + bias) + random_pages(BRK_RND_PAGES);
    } else if (img.is_dyn) {
        /* A static PIE goes where mmap would put it; its brk moves to ELF_ET_DYN_BASE so it has
         * room to grow (Linux does the same for executables without an interpreter). */
        int64_t at = place_dyn(mm, &img);
        if (at < 0)
            return (int)at;
        bias = (uint64_t)at;
        brk = ARCH_ELF_ET_DYN_BASE(max) + random_pages(BRK_RND_PAGES);
    } else {
        brk = align_up(img.max_vaddr) + random_pages(BRK_RND_PAGES);
    }
    /* Linux's load_elf_binary: code is the executable segments' file part, data reaches from
     * the last segment's start to the end of the file parts. */
    struct mm_proc_ranges ranges = {.start_code = UINT64_MAX};
    for (int i = 0; i < img.nsegments; i++) {
        const struct elf_segment *s = &img.segments[i];
        if ((err = map_segment(mm, a->file, s, bias)) != 0)
            return err;
        uint64_t file_end = s->vaddr + bias + s->filesz;
        if ((s->prot & PROT_EXEC) && s->vaddr + bias < ranges.start_code)
            ranges.start_code = s->vaddr + bias;
        if ((s->prot & PROT_EXEC) && file_end > ranges.end_code)
            ranges.end_code = file_end;
        if (s->vaddr + bias > ranges.start_data)
            ranges.start_data = s->vaddr + bias;
        if (file_end > ranges.end_data)
            ranges.end_data = file_end;
    }
    if (ranges.start_code == UINT64_MAX)
        ranges.start_code = 0;
    uint64_t start = img.entry + bias, interp_base = 0;
    if (img.has_interp &&
        (err = load_interp(mm, a, img.interp, &start, &interp_base, why)) != 0)
        return err;
    mm_set_layout(mm, brk, mmap_base);
    /* Last, as Linux's arch_setup_additional_pages: the vDSO goes where mmap would put it. */
    uint64_t vdso_base = 0;
    if (a->vdso && (err = vdso_map(a->vdso, mm, &vdso_base)) != 0)
        return err;

    struct stack_info si = {
        .argv = a->argv,
        .envp = a->envp,
        .execfn = a->execfn,
        .entry = img.entry + bias,
        .phdr = img.phdr_vaddr ? img.phdr_vaddr + bias : 0,
        .phent = img.phentsize,
        .phnum = img.phnum,
        .uid = a->uid,
        .euid = a->euid,
        .gid = a->gid,
        .egid = a->egid,
        .interp_base = interp_base,
        .vdso_base = vdso_base,
    };
    uint64_t stack_size = a->stack_limit < (8UL << 20) ? a->stack_limit : (8UL << 20);
    if (stack_size < 128UL << 10)
        stack_size = 128UL << 10;
    struct mm_map_request stack = {
        .addr = stack_top - stack_size,
        .len = stack_size,
        .prot = PROT_READ | PROT_WRITE,
        .vma_flags = VMA_GROWSDOWN,
        .fixed = true,
    };
    int64_t r = mm_map(mm, &stack);
    if (r < 0)
        return (int)r;
    err = stack_build(mm, stack_top, stack_size, &si, &out->sp, &ranges);
    if (err == -E2BIG)
        *why = "argument list too long";
    if (err)
        return err;
    mm_set_proc_ranges(mm, &ranges);
    out->entry = start;
    return 0;
}
