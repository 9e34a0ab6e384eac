/* Parsing and validation of ELF executables (see elf.h). The checks follow Linux's
 * fs/binfmt_elf.c (load_elf_binary, load_elf_phdrs) and the System V gABI, and are stricter where
 * that is cheap: the loader that consumes an elf_image may then trust every field. */
#include "sentry/loader/elf.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "arch.h"

/* Linux's default vm.mmap_min_addr: a fixed ET_EXEC mapping below it fails with EPERM. */
#define ELF_MIN_EXEC_VADDR 0x10000UL

static uint64_t elf_page_down(uint64_t addr)
{
    return addr & ~(ARCH_PAGE_SIZE - 1);
}

/* Reads exactly len bytes at off: a short read means the file is shorter than its headers claim,
 * which makes it malformed; a read error is passed up as is. */
static int elf_read_exact(elf_read_fn read_fn, void *ctx, void *buf, size_t len, uint64_t off)
{
    ssize_t n = read_fn(ctx, buf, len, off);

    if (n < 0)
        return (int)n;
    if ((size_t)n != len)
        return -ENOEXEC;
    return 0;
}

/* True if [off, off + len) lies inside a file of file_size bytes. */
static bool elf_range_in_file(uint64_t off, uint64_t len, uint64_t file_size)
{
    uint64_t end;

    return !__builtin_add_overflow(off, len, &end) && end <= file_size;
}

static int elf_check_ehdr(const Elf64_Ehdr *eh, uint64_t file_size)
{
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        return -ENOEXEC;
    /* Only the native layout. Linux checks neither version field; like gVisor (Go's debug/elf),
     * we insist on EI_VERSION == EV_CURRENT, which every real toolchain writes. */
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_ident[EI_VERSION] != EV_CURRENT)
        return -ENOEXEC;
    if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
        return -ENOEXEC;
    if (eh->e_machine != ARCH_ELF_MACHINE)
        return -ENOEXEC;
    /* Linux (load_elf_phdrs) requires the native entry size and bounds e_phnum; we bound it
     * tighter, which also rejects PN_XNUM (0xffff). e_phnum == 0 fails later: no PT_LOAD. */
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum > ELF_MAX_PHNUM)
        return -ENOEXEC;
    if (!elf_range_in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), file_size))
        return -ENOEXEC;
    return 0;
}

static int elf_check_load(const Elf64_Phdr *ph, uint64_t file_size)
{
    uint64_t end;

    /* gABI: p_memsz >= p_filesz; the excess is zero-filled (.bss). */
    if (ph->p_filesz > ph->p_memsz)
        return -ENOEXEC;
    if (!elf_range_in_file(ph->p_offset, ph->p_filesz, file_size))
        return -ENOEXEC;
    if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end))
        return -ENOEXEC;
    /* gABI: p_align is 0 or 1 (no alignment), or a positive integral power of 2. */
    if ((ph->p_align & (ph->p_align - 1)) != 0)
        return -ENOEXEC;
    /* The file page holding p_offset is mapped at the page holding p_vaddr, so both must have
     * the same offset within a page. The gABI asks congruence modulo p_align; mmap, and so
     * Linux, need only this. */
    if (((ph->p_vaddr ^ ph->p_offset) & (ARCH_PAGE_SIZE - 1)) != 0)
        return -ENOEXEC;
    return 0;
}

static int elf_prot(uint32_t flags)
{
    int prot = 0;

    if (flags & PF_R)
        prot |= PROT_READ;
    if (flags & PF_W)
        prot |= PROT_WRITE;
    if (flags & PF_X)
        prot |= PROT_EXEC;
    return prot;
}

static int elf_add_load(struct elf_image *out, const Elf64_Phdr *ph, uint64_t file_size)
{
    int err = elf_check_load(ph, file_size);

    if (err)
        return err;
    if (out->nsegments == ELF_MAX_LOAD_SEGMENTS)
        return -ENOEXEC;
    if (out->nsegments > 0) {
        const struct elf_segment *prev = &out->segments[out->nsegments - 1];

        /* gABI: PT_LOAD entries are sorted on p_vaddr. Their byte ranges must not overlap, but
         * adjacent segments may share the page holding the boundary, as linkers emit them. */
        if (ph->p_vaddr < prev->vaddr + prev->memsz)
            return -ENOEXEC;
    }
    out->segments[out->nsegments++] = (struct elf_segment){
        .vaddr = ph->p_vaddr,
        .memsz = ph->p_memsz,
        .offset = ph->p_offset,
        .filesz = ph->p_filesz,
        .prot = elf_prot(ph->p_flags),
    };
    return 0;
}

static int elf_read_interp(elf_read_fn read_fn, void *ctx, const Elf64_Phdr *ph, uint64_t file_size,
                           struct elf_image *out)
{
    int err;

    /* gABI: at most one PT_INTERP. Linux silently uses the first; a second is malformed here. */
    if (out->has_interp)
        return -ENOEXEC;
    /* Linux (load_elf_binary): 2 <= p_filesz <= PATH_MAX, and the last byte is the NUL. */
    if (ph->p_filesz < 2 || ph->p_filesz > ELF_INTERP_MAX)
        return -ENOEXEC;
    if (!elf_range_in_file(ph->p_offset, ph->p_filesz, file_size))
        return -ENOEXEC;
    err = elf_read_exact(read_fn, ctx, out->interp, ph->p_filesz, ph->p_offset);
    if (err)
        return err;
    if (out->interp[ph->p_filesz - 1] != '\0')
        return -ENOEXEC;
    out->has_interp = true;
    return 0;
}

/* Sets min_vaddr and max_vaddr, and checks the extent fits the user address range. Segments are
 * sorted and each end was checked for overflow, so the last segment's end is the highest. */
static int elf_check_layout(struct elf_image *out)
{
    const struct elf_segment *last;
    uint64_t end;

    if (out->nsegments == 0)
        return -ENOEXEC;
    last = &out->segments[out->nsegments - 1];
    end = last->vaddr + last->memsz;
    out->min_vaddr = elf_page_down(out->segments[0].vaddr);
    if (!out->is_dyn) {
        /* ET_EXEC is mapped where it says: it must fit between mmap_min_addr and the limit. */
        if (out->min_vaddr < ELF_MIN_EXEC_VADDR || end > ARCH_USER_ADDR_LIMIT)
            return -ENOEXEC;
    }
    if (__builtin_add_overflow(end, ARCH_PAGE_SIZE - 1, &out->max_vaddr))
        return -ENOEXEC;
    out->max_vaddr = elf_page_down(out->max_vaddr);
    /* ET_DYN is relocated: only its extent matters, and it must leave room for the load base
     * (Linux puts ELF_ET_DYN_BASE at 2/3 of TASK_SIZE; half keeps the arithmetic simple). */
    if (out->is_dyn && out->max_vaddr - out->min_vaddr >= ARCH_USER_ADDR_LIMIT / 2)
        return -ENOEXEC;
    return 0;
}

/* Without PT_PHDR, the program headers are in memory if a PT_LOAD's file range covers them
 * (this is how Linux >= 5.18 computes AT_PHDR); otherwise they are not loaded at all. */
static uint64_t elf_phdr_in_load(const struct elf_image *out)
{
    uint64_t size = (uint64_t)out->phnum * out->phentsize;

    for (int i = 0; i < out->nsegments; i++) {
        const struct elf_segment *seg = &out->segments[i];

        /* offset + filesz and phoff + size were checked to lie inside the file. */
        if (seg->offset <= out->phoff && out->phoff + size <= seg->offset + seg->filesz)
            return seg->vaddr + (out->phoff - seg->offset);
    }
    return 0;
}

int elf_parse(elf_read_fn read_fn, void *ctx, uint64_t file_size, struct elf_image *out)
{
    Elf64_Phdr phdrs[ELF_MAX_PHNUM];
    Elf64_Ehdr eh;
    bool has_pt_phdr = false;
    int err;

    memset(out, 0, sizeof(*out));
    if (file_size < sizeof(eh))
        return -ENOEXEC;
    err = elf_read_exact(read_fn, ctx, &eh, sizeof(eh), 0);
    if (err)
        return err;
    err = elf_check_ehdr(&eh, file_size);
    if (err)
        return err;
    err = elf_read_exact(read_fn, ctx, phdrs, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff);
    if (err)
        return err;

    out->is_dyn = eh.e_type == ET_DYN;
    out->entry = eh.e_entry; /* not checked, as in Linux: a bad entry faults in the guest */
    out->phoff = eh.e_phoff;
    out->phnum = eh.e_phnum;
    out->phentsize = eh.e_phentsize;
    /* Without PT_GNU_STACK, Linux leaves the stack to EXSTACK_DEFAULT, historically executable. */
    out->exec_stack = true;
    for (int i = 0; i < eh.e_phnum && err == 0; i++) {
        const Elf64_Phdr *ph = &phdrs[i];

        switch (ph->p_type) {
        case PT_LOAD:
            err = elf_add_load(out, ph, file_size);
            break;
        case PT_INTERP:
            err = elf_read_interp(read_fn, ctx, ph, file_size, out);
            break;
        case PT_PHDR:
            if (!has_pt_phdr)
                out->phdr_vaddr = ph->p_vaddr;
            has_pt_phdr = true;
            break;
        case PT_GNU_STACK:
            /* Linux: the last PT_GNU_STACK wins. */
            out->exec_stack = (ph->p_flags & PF_X) != 0;
            break;
        default:
            break;
        }
    }
    if (err)
        return err;
    err = elf_check_layout(out);
    if (err)
        return err;
    if (!has_pt_phdr)
        out->phdr_vaddr = elf_phdr_in_load(out);
    return 0;
}
