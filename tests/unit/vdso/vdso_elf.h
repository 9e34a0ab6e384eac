/* For the vDSO unit tests: looks a symbol up in a loaded vDSO image as glibc and musl do, by its
 * dynamic section: the SysV hash table (DT_HASH), DT_SYMTAB, DT_STRTAB and the version tables
 * (DT_VERSYM, DT_VERDEF). Include after cmocka.h. */
#ifndef RUNSC_TESTS_UNIT_VDSO_VDSO_ELF_H
#define RUNSC_TESTS_UNIT_VDSO_VDSO_ELF_H

#include <elf.h>
#include <stdint.h>
#include <string.h>

/* The SysV ELF hash (System V ABI, "Hash Table"). */
static inline uint32_t elf_sysv_hash(const char *name)
{
    uint32_t h = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h = (h << 4) + *p;
        uint32_t g = h & 0xf0000000U;
        if (g)
            h ^= g >> 24;
        h &= ~g;
    }
    return h;
}

/* The address of `name` with version `version` in the image mapped at `base`, or NULL. */
static inline void *vdso_elf_lookup(const void *base, const char *name, const char *version)
{
    const Elf64_Ehdr *eh = base;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)base + eh->e_phoff);
    const Elf64_Dyn *dyn = NULL;
    uint64_t load_vaddr = UINT64_MAX;

    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && load_vaddr == UINT64_MAX)
            load_vaddr = ph[i].p_vaddr - ph[i].p_offset;
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = (const Elf64_Dyn *)((const char *)base + ph[i].p_offset);
    }
    if (!dyn || load_vaddr == UINT64_MAX)
        return NULL;
    const char *bias = (const char *)base - load_vaddr;
    const uint32_t *hash = NULL;
    const Elf64_Sym *syms = NULL;
    const char *strs = NULL;
    const Elf64_Half *versym = NULL;
    const Elf64_Verdef *verdef = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_HASH:
            hash = (const uint32_t *)(bias + dyn->d_un.d_ptr);
            break;
        case DT_SYMTAB:
            syms = (const Elf64_Sym *)(bias + dyn->d_un.d_ptr);
            break;
        case DT_STRTAB:
            strs = bias + dyn->d_un.d_ptr;
            break;
        case DT_VERSYM:
            versym = (const Elf64_Half *)(bias + dyn->d_un.d_ptr);
            break;
        case DT_VERDEF:
            verdef = (const Elf64_Verdef *)(bias + dyn->d_un.d_ptr);
            break;
        }
    }
    if (!hash || !syms || !strs)
        return NULL;
    uint32_t nbucket = hash[0];
    const uint32_t *bucket = hash + 2, *chain = bucket + nbucket;
    for (uint32_t i = bucket[elf_sysv_hash(name) % nbucket]; i != STN_UNDEF; i = chain[i]) {
        const Elf64_Sym *s = &syms[i];
        if (strcmp(strs + s->st_name, name) != 0 || s->st_shndx == SHN_UNDEF)
            continue;
        if (version) {
            if (!versym || !verdef)
                return NULL;
            const Elf64_Verdef *d = verdef;
            for (;;) {
                if (d->vd_ndx == (versym[i] & 0x7fff)) {
                    const Elf64_Verdaux *aux = (const Elf64_Verdaux *)((const char *)d + d->vd_aux);
                    if (strcmp(strs + aux->vda_name, version) != 0)
                        return NULL;
                    break;
                }
                if (!d->vd_next)
                    return NULL;
                d = (const Elf64_Verdef *)((const char *)d + d->vd_next);
            }
        }
        return (void *)(bias + s->st_value);
    }
    return NULL;
}

#endif
