/* Parsing and validation of ELF executables for the loader. Everything here treats the file as
 * hostile: a malformed file yields -ENOEXEC, never a crash or an unbounded allocation. */
#ifndef RUNSC_SENTRY_LOADER_ELF_H
#define RUNSC_SENTRY_LOADER_ELF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define ELF_MAX_LOAD_SEGMENTS 16
#define ELF_MAX_PHNUM 128
#define ELF_INTERP_MAX 4096

struct elf_segment {
    uint64_t vaddr;  /* p_vaddr, unrelocated */
    uint64_t memsz;  /* p_memsz >= filesz */
    uint64_t offset; /* p_offset */
    uint64_t filesz; /* p_filesz */
    int prot;        /* PROT_READ|PROT_WRITE|PROT_EXEC from p_flags */
};

struct elf_image {
    bool is_dyn;             /* ET_DYN (PIE or interpreter), relocated by the loader */
    uint64_t entry;          /* e_entry, unrelocated */
    uint64_t phoff;          /* e_phoff */
    uint16_t phnum;          /* e_phnum */
    uint16_t phentsize;      /* e_phentsize */
    uint64_t phdr_vaddr;     /* where the program headers are in memory (PT_PHDR, or the
                                PT_LOAD covering e_phoff), unrelocated; 0 if not loaded */
    int nsegments;
    struct elf_segment segments[ELF_MAX_LOAD_SEGMENTS]; /* PT_LOAD, in file order */
    uint64_t min_vaddr;      /* page-aligned down lowest PT_LOAD vaddr */
    uint64_t max_vaddr;      /* page-aligned up end of highest PT_LOAD (vaddr + memsz) */
    bool has_interp;
    char interp[ELF_INTERP_MAX]; /* PT_INTERP path, NUL-terminated, when has_interp */
    bool exec_stack;         /* PT_GNU_STACK has PF_X, or there is no PT_GNU_STACK */
};

/* Reads exactly `len` bytes at `off`; returns len, fewer at end of file, or -errno. */
typedef ssize_t (*elf_read_fn)(void *ctx, void *buf, size_t len, uint64_t off);

/* Parses and validates the executable: the ELF magic, class ELFCLASS64, data ELFDATA2LSB,
 * version, e_machine == ARCH_ELF_MACHINE, type ET_EXEC or ET_DYN, e_phentsize, a bounded e_phnum,
 * program headers inside the file, 1..ELF_MAX_LOAD_SEGMENTS PT_LOAD segments with filesz <= memsz,
 * offset+filesz inside the file, p_align 0 or a power of two, p_vaddr == p_offset modulo the page
 * size, ascending non-overlapping byte ranges (adjacent segments may share a page), no address
 * arithmetic overflow, ET_EXEC between mmap_min_addr (0x10000) and ARCH_USER_ADDR_LIMIT, ET_DYN
 * with an extent max_vaddr - min_vaddr below ARCH_USER_ADDR_LIMIT / 2, at most one PT_INTERP of
 * 2..ELF_INTERP_MAX bytes whose last byte is NUL (as Linux). file_size bounds every offset, even
 * if `read` could return more. Returns 0, -ENOEXEC for a malformed file, or the read function's
 * -errno; on error *out is unspecified. */
int elf_parse(elf_read_fn read, void *ctx, uint64_t file_size, struct elf_image *out);

#endif
