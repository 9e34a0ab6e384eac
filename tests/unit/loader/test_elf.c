/* Unit tests for elf_parse: ELF images built in memory (valid and malformed), real binaries from
 * the host, and a deterministic mutation loop that must never get anything but 0 or -ENOEXEC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch.h"
#include "sentry/loader/elf.h"

#define IMAGE_CAPACITY 0x3000
#define LD_SO_PATH "/lib64/ld-linux-x86-64.so.2"

/* An ELF file in memory: the header at 0, program headers right after it (e_phoff == 64), at
 * most 0x400 bytes of them; the images below keep their PT_INTERP strings at 0x200 and above. */
struct image {
    uint8_t bytes[IMAGE_CAPACITY];
    uint64_t size;  /* the file size elf_parse is told */
    uint64_t valid; /* how many bytes the read callback can return */
};

static struct image test_image;

static ssize_t image_read(void *ctx, void *buf, size_t len, uint64_t off)
{
    const struct image *im = ctx;

    if (off >= im->valid)
        return 0;
    if (len > im->valid - off)
        len = im->valid - off;
    memcpy(buf, im->bytes + off, len);
    return (ssize_t)len;
}

static Elf64_Ehdr *image_ehdr(struct image *im)
{
    return (Elf64_Ehdr *)im->bytes;
}

static Elf64_Phdr *image_phdr(struct image *im, int i)
{
    return (Elf64_Phdr *)(im->bytes + sizeof(Elf64_Ehdr)) + i;
}

/* A valid header with no program headers yet. */
static struct image *image_new(uint16_t type, uint64_t entry)
{
    struct image *im = &test_image;
    Elf64_Ehdr *eh = image_ehdr(im);

    memset(im, 0, sizeof(*im));
    im->size = im->valid = IMAGE_CAPACITY;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = type;
    eh->e_machine = ARCH_ELF_MACHINE;
    eh->e_version = EV_CURRENT;
    eh->e_entry = entry;
    eh->e_phoff = sizeof(Elf64_Ehdr);
    eh->e_ehsize = sizeof(Elf64_Ehdr);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    return im;
}

static Elf64_Phdr *image_add(struct image *im, uint32_t type, uint32_t flags, uint64_t offset,
                             uint64_t vaddr, uint64_t filesz, uint64_t memsz)
{
    Elf64_Ehdr *eh = image_ehdr(im);
    Elf64_Phdr *ph = image_phdr(im, eh->e_phnum++);

    assert_true(sizeof(Elf64_Ehdr) + eh->e_phnum * sizeof(Elf64_Phdr) <= 0x400);
    *ph = (Elf64_Phdr){
        .p_type = type,
        .p_flags = flags,
        .p_offset = offset,
        .p_vaddr = vaddr,
        .p_paddr = vaddr,
        .p_filesz = filesz,
        .p_memsz = memsz,
        .p_align = type == PT_LOAD ? ARCH_PAGE_SIZE : 8,
    };
    return ph;
}

static Elf64_Phdr *image_add_interp(struct image *im, uint64_t offset, const char *path)
{
    size_t len = strlen(path) + 1;

    memcpy(im->bytes + offset, path, len);
    return image_add(im, PT_INTERP, PF_R, offset, offset, len, len);
}

static int image_parse(struct image *im, struct elf_image *out)
{
    return elf_parse(image_read, im, im->size, out);
}

static void assert_enoexec(struct image *im)
{
    struct elf_image out;

    assert_int_equal(image_parse(im, &out), -ENOEXEC);
}

/* A static non-PIE executable: text (with the headers) then data+bss, and a non-exec stack. */
static struct image *image_static_exec(void)
{
    struct image *im = image_new(ET_EXEC, 0x400100);

    image_add(im, PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1800, 0x1800);
    image_add(im, PT_LOAD, PF_R | PF_W, 0x2010, 0x402010, 0x100, 0x2000);
    image_add(im, PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0);
    return im;
}

/* A static PIE: PT_PHDR, read-only headers, text, data. No PT_GNU_STACK. */
static struct image *image_static_pie(void)
{
    struct image *im = image_new(ET_DYN, 0x1040);

    image_add(im, PT_PHDR, PF_R, 0x40, 0x40, 4 * sizeof(Elf64_Phdr), 4 * sizeof(Elf64_Phdr));
    image_add(im, PT_LOAD, PF_R, 0, 0, 0x400, 0x400);
    image_add(im, PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 0x800, 0x800);
    image_add(im, PT_LOAD, PF_R | PF_W, 0x2000, 0x2000, 0x100, 0x1100);
    return im;
}

/* A dynamic PIE asking for the dynamic linker. */
static struct image *image_dynamic_pie(void)
{
    struct image *im = image_new(ET_DYN, 0x1000);

    image_add(im, PT_PHDR, PF_R, 0x40, 0x40, 5 * sizeof(Elf64_Phdr), 5 * sizeof(Elf64_Phdr));
    image_add_interp(im, 0x200, LD_SO_PATH);
    image_add(im, PT_LOAD, PF_R, 0, 0, 0x400, 0x400);
    image_add(im, PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 0x800, 0x800);
    image_add(im, PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0);
    return im;
}

static void test_static_exec(void **state)
{
    struct elf_image out;

    assert_int_equal(image_parse(image_static_exec(), &out), 0);
    assert_false(out.is_dyn);
    assert_int_equal(out.entry, 0x400100);
    assert_int_equal(out.phoff, sizeof(Elf64_Ehdr));
    assert_int_equal(out.phnum, 3);
    assert_int_equal(out.phentsize, sizeof(Elf64_Phdr));
    assert_int_equal(out.phdr_vaddr, 0x400040); /* inside the first PT_LOAD */
    assert_int_equal(out.nsegments, 2);
    assert_int_equal(out.segments[0].vaddr, 0x400000);
    assert_int_equal(out.segments[0].memsz, 0x1800);
    assert_int_equal(out.segments[0].offset, 0);
    assert_int_equal(out.segments[0].filesz, 0x1800);
    assert_int_equal(out.segments[0].prot, PROT_READ | PROT_EXEC);
    assert_int_equal(out.segments[1].vaddr, 0x402010);
    assert_int_equal(out.segments[1].memsz, 0x2000);
    assert_int_equal(out.segments[1].offset, 0x2010);
    assert_int_equal(out.segments[1].filesz, 0x100);
    assert_int_equal(out.segments[1].prot, PROT_READ | PROT_WRITE);
    assert_int_equal(out.min_vaddr, 0x400000);
    assert_int_equal(out.max_vaddr, 0x405000);
    assert_false(out.has_interp);
    assert_int_equal(out.interp[0], '\0');
    assert_false(out.exec_stack);
}

static void test_static_pie_with_pt_phdr(void **state)
{
    struct elf_image out;

    assert_int_equal(image_parse(image_static_pie(), &out), 0);
    assert_true(out.is_dyn);
    assert_int_equal(out.entry, 0x1040);
    assert_int_equal(out.phnum, 4);
    assert_int_equal(out.phdr_vaddr, 0x40);
    assert_int_equal(out.nsegments, 3);
    assert_int_equal(out.segments[0].prot, PROT_READ);
    assert_int_equal(out.segments[1].prot, PROT_READ | PROT_EXEC);
    assert_int_equal(out.segments[2].prot, PROT_READ | PROT_WRITE);
    assert_int_equal(out.min_vaddr, 0);
    assert_int_equal(out.max_vaddr, 0x4000);
    assert_false(out.has_interp);
    assert_true(out.exec_stack); /* no PT_GNU_STACK */
}

static void test_pt_phdr_wins_over_load(void **state)
{
    struct image *im = image_static_pie();
    struct elf_image out;

    image_phdr(im, 0)->p_vaddr = 0x1040; /* the first PT_LOAD would say 0x40 */
    assert_int_equal(image_parse(im, &out), 0);
    assert_int_equal(out.phdr_vaddr, 0x1040);
}

static void test_phdrs_not_loaded(void **state)
{
    struct image *im = image_new(ET_EXEC, 0x401000);
    struct elf_image out;

    image_add(im, PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x100, 0x100);
    assert_int_equal(image_parse(im, &out), 0);
    assert_int_equal(out.phdr_vaddr, 0);
}

static void test_dynamic_with_interp(void **state)
{
    struct elf_image out;

    assert_int_equal(image_parse(image_dynamic_pie(), &out), 0);
    assert_true(out.is_dyn);
    assert_true(out.has_interp);
    assert_string_equal(out.interp, LD_SO_PATH);
    assert_int_equal(out.nsegments, 2);
    assert_int_equal(out.phdr_vaddr, 0x40);
    assert_false(out.exec_stack);
}

static void test_exec_stack_flag(void **state)
{
    struct image *im = image_static_exec();
    struct elf_image out;

    image_phdr(im, 2)->p_flags = PF_R | PF_W | PF_X;
    assert_int_equal(image_parse(im, &out), 0);
    assert_true(out.exec_stack);
}

static void test_adjacent_segments_share_page(void **state)
{
    struct image *im = image_static_exec();
    struct elf_image out;

    *image_phdr(im, 1) = (Elf64_Phdr){.p_type = PT_LOAD,
                                      .p_flags = PF_R | PF_W,
                                      .p_offset = 0x1800,
                                      .p_vaddr = 0x401800,
                                      .p_filesz = 0x10,
                                      .p_memsz = 0x10,
                                      .p_align = 0x1000};
    assert_int_equal(image_parse(im, &out), 0);
    assert_int_equal(out.max_vaddr, 0x402000);
}

static void test_segment_ending_at_limit(void **state)
{
    struct image *im = image_static_exec();
    struct elf_image out;

    image_phdr(im, 1)->p_memsz = ARCH_USER_ADDR_LIMIT - 0x402010;
    assert_int_equal(image_parse(im, &out), 0);
    assert_int_equal(out.max_vaddr, ARCH_USER_ADDR_LIMIT);
}

static void test_bad_magic(void **state)
{
    struct image *im = image_static_exec();

    im->bytes[EI_MAG1] = 'e';
    assert_enoexec(im);
}

static void test_wrong_class(void **state)
{
    struct image *im = image_static_exec();

    im->bytes[EI_CLASS] = ELFCLASS32;
    assert_enoexec(im);
}

static void test_big_endian(void **state)
{
    struct image *im = image_static_exec();

    im->bytes[EI_DATA] = ELFDATA2MSB;
    assert_enoexec(im);
}

static void test_wrong_ident_version(void **state)
{
    struct image *im = image_static_exec();

    im->bytes[EI_VERSION] = EV_NONE;
    assert_enoexec(im);
}

static void test_wrong_machine(void **state)
{
    struct image *im = image_static_exec();

    image_ehdr(im)->e_machine = ARCH_ELF_MACHINE == EM_X86_64 ? EM_AARCH64 : EM_X86_64;
    assert_enoexec(im);
}

static void test_rel_and_core(void **state)
{
    struct image *im = image_static_exec();

    image_ehdr(im)->e_type = ET_REL;
    assert_enoexec(im);
    image_ehdr(im)->e_type = ET_CORE;
    assert_enoexec(im);
    image_ehdr(im)->e_type = ET_NONE;
    assert_enoexec(im);
}

static void test_truncated_header(void **state)
{
    struct image *im = image_static_exec();

    im->size = im->valid = sizeof(Elf64_Ehdr) - 1;
    assert_enoexec(im);
    /* The caller's size may be stale: a short read is just as malformed. */
    im->size = IMAGE_CAPACITY;
    assert_enoexec(im);
    /* And file_size is authoritative even if more could be read. */
    im->size = sizeof(Elf64_Ehdr) - 1;
    im->valid = IMAGE_CAPACITY;
    assert_enoexec(im);
}

static void test_truncated_phdrs(void **state)
{
    struct image *im = image_static_exec();

    im->size = im->valid = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
    assert_enoexec(im);
    im->size = IMAGE_CAPACITY;
    assert_enoexec(im);
}

static void test_wrong_phentsize(void **state)
{
    struct image *im = image_static_exec();

    image_ehdr(im)->e_phentsize = sizeof(Elf64_Phdr) - 4;
    assert_enoexec(im);
    image_ehdr(im)->e_phentsize = sizeof(Elf64_Phdr) + 8;
    assert_enoexec(im);
}

static void test_huge_phnum(void **state)
{
    struct image *im = image_static_exec();

    image_ehdr(im)->e_phnum = 0xffff; /* PN_XNUM */
    assert_enoexec(im);
    image_ehdr(im)->e_phnum = ELF_MAX_PHNUM + 1;
    assert_enoexec(im);
}

static void test_phoff_beyond_file(void **state)
{
    struct image *im = image_static_exec();
    struct elf_image out;

    image_ehdr(im)->e_phoff = IMAGE_CAPACITY - sizeof(Elf64_Phdr);
    assert_enoexec(im);
    image_ehdr(im)->e_phoff = IMAGE_CAPACITY + 0x1000;
    assert_enoexec(im);
    /* Readable, but one byte beyond file_size (which covers the PT_LOADs): file_size rules. */
    image_ehdr(im)->e_phoff = 0x2800;
    memcpy(im->bytes + 0x2800, image_phdr(im, 0), 3 * sizeof(Elf64_Phdr));
    im->size = 0x2800 + 3 * sizeof(Elf64_Phdr) - 1;
    assert_enoexec(im);
    im->size += 1;
    assert_int_equal(image_parse(im, &out), 0);
}

static void test_phoff_overflow(void **state)
{
    struct image *im = image_static_exec();

    image_ehdr(im)->e_phoff = UINT64_MAX - sizeof(Elf64_Phdr);
    assert_enoexec(im);
}

static void test_no_phdrs(void **state)
{
    struct image *im = image_static_exec();

    image_ehdr(im)->e_phnum = 0;
    assert_enoexec(im);
}

static void test_load_beyond_file(void **state)
{
    struct image *im = image_static_exec();

    image_phdr(im, 1)->p_filesz = IMAGE_CAPACITY - 0x2010 + 1;
    image_phdr(im, 1)->p_memsz = 0x10000;
    assert_enoexec(im);
}

static void test_load_offset_overflow(void **state)
{
    struct image *im = image_static_exec();

    image_phdr(im, 1)->p_offset = UINT64_MAX - 0xfef;
    image_phdr(im, 1)->p_vaddr = 0x402010;
    assert_enoexec(im);
}

static void test_filesz_above_memsz(void **state)
{
    struct image *im = image_static_exec();

    image_phdr(im, 1)->p_memsz = image_phdr(im, 1)->p_filesz - 1;
    assert_enoexec(im);
}

static void test_memsz_overflows(void **state)
{
    struct image *im = image_static_exec();

    image_phdr(im, 1)->p_memsz = UINT64_MAX - 0x1000;
    assert_enoexec(im);

    im = image_static_pie(); /* no address limit for ET_DYN, but still no wrap-around */
    image_phdr(im, 3)->p_memsz = UINT64_MAX - 0x1000;
    assert_enoexec(im);
    image_phdr(im, 3)->p_vaddr = UINT64_MAX & ~0xfffUL;
    image_phdr(im, 3)->p_offset = 0x2000;
    image_phdr(im, 3)->p_memsz = 0x100; /* the end does not wrap, rounding it up would */
    assert_enoexec(im);
}

static void test_memsz_beyond_limit(void **state)
{
    struct image *im = image_static_exec();

    image_phdr(im, 1)->p_memsz = ARCH_USER_ADDR_LIMIT - 0x402010 + 1;
    assert_enoexec(im);
}

static void test_exec_below_mmap_min_addr(void **state)
{
    struct image *im = image_new(ET_EXEC, 0x1000);

    image_add(im, PT_LOAD, PF_R | PF_X, 0, 0xf000, 0x1800, 0x1800);
    assert_enoexec(im);
    image_phdr(im, 0)->p_vaddr = 0;
    assert_enoexec(im);
}

static void test_dyn_extent_too_large(void **state)
{
    struct image *im = image_static_pie();

    image_phdr(im, 3)->p_memsz = ARCH_USER_ADDR_LIMIT / 2;
    assert_enoexec(im);
}

static void test_overlapping_segments(void **state)
{
    struct image *im = image_static_exec();

    image_phdr(im, 1)->p_vaddr = 0x4017f0; /* 0x10 bytes into the first segment's last bytes */
    image_phdr(im, 1)->p_offset = 0x17f0;
    assert_enoexec(im);
}

static void test_unsorted_segments(void **state)
{
    struct image *im = image_static_exec();
    Elf64_Phdr first = *image_phdr(im, 0);

    *image_phdr(im, 0) = *image_phdr(im, 1);
    *image_phdr(im, 1) = first;
    assert_enoexec(im);
}

static void test_misaligned_congruence(void **state)
{
    struct image *im = image_static_exec();

    image_phdr(im, 1)->p_offset = 0x2018; /* vaddr is 0x402010 */
    assert_enoexec(im);
}

static void test_align_not_power_of_two(void **state)
{
    struct image *im = image_static_exec();

    image_phdr(im, 1)->p_align = 0x3000;
    assert_enoexec(im);
}

static void test_no_load_segments(void **state)
{
    struct image *im = image_new(ET_EXEC, 0x401000);

    image_add(im, PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0);
    image_add_interp(im, 0x200, LD_SO_PATH);
    assert_enoexec(im);
    image_ehdr(im)->e_type = ET_DYN;
    assert_enoexec(im);
}

static void test_load_segment_count(void **state)
{
    struct image *im = image_new(ET_EXEC, 0x400000);
    struct elf_image out;

    for (int i = 0; i < ELF_MAX_LOAD_SEGMENTS; i++)
        image_add(im, PT_LOAD, PF_R, 0, 0x400000 + i * 0x1000UL, 0, 0x1000);
    assert_int_equal(image_parse(im, &out), 0);
    assert_int_equal(out.nsegments, ELF_MAX_LOAD_SEGMENTS);
    assert_int_equal(out.max_vaddr, 0x400000 + ELF_MAX_LOAD_SEGMENTS * 0x1000UL);

    image_add(im, PT_LOAD, PF_R, 0, 0x400000 + ELF_MAX_LOAD_SEGMENTS * 0x1000UL, 0, 0x1000);
    assert_enoexec(im);
}

static void test_interp_not_terminated(void **state)
{
    struct image *im = image_dynamic_pie();

    image_phdr(im, 1)->p_filesz -= 1; /* drop the NUL */
    assert_enoexec(im);
}

static void test_interp_too_long(void **state)
{
    struct image *im = image_dynamic_pie();

    memset(im->bytes + 0x1000, 'a', ELF_INTERP_MAX);
    im->bytes[0x1000 + ELF_INTERP_MAX] = '\0';
    image_phdr(im, 1)->p_offset = 0x1000;
    image_phdr(im, 1)->p_filesz = ELF_INTERP_MAX + 1;
    assert_enoexec(im);
    image_phdr(im, 1)->p_filesz = 1; /* just the NUL: Linux wants at least 2 bytes */
    assert_enoexec(im);
}

static void test_interp_beyond_file(void **state)
{
    struct image *im = image_dynamic_pie();
    struct elf_image out;

    image_phdr(im, 1)->p_offset = IMAGE_CAPACITY - 4;
    assert_enoexec(im);
    /* Readable, but one byte beyond file_size: file_size rules. The PT_LOADs are shrunk to fit
     * the shorter file, so that only the interpreter is out of bounds. */
    image_phdr(im, 1)->p_offset = 0x200;
    image_phdr(im, 2)->p_filesz = 0x100;
    image_phdr(im, 3)->p_offset = 0;
    image_phdr(im, 3)->p_filesz = 0;
    im->size = 0x200 + sizeof(LD_SO_PATH) - 1;
    assert_enoexec(im);
    im->size += 1;
    assert_int_equal(image_parse(im, &out), 0);
}

static void test_interp_twice(void **state)
{
    struct image *im = image_dynamic_pie();

    image_add_interp(im, 0x280, LD_SO_PATH);
    assert_enoexec(im);
}

/* Lets reads_left reads through, then fails with -EIO: reaches the header, phdr and interp
 * reads in turn. */
struct failing_reader {
    struct image *im;
    int reads_left;
};

static ssize_t failing_read(void *ctx, void *buf, size_t len, uint64_t off)
{
    struct failing_reader *r = ctx;

    if (r->reads_left-- <= 0)
        return -EIO;
    return image_read(r->im, buf, len, off);
}

static void test_read_error(void **state)
{
    struct elf_image out;

    for (int ok_reads = 0; ok_reads < 3; ok_reads++) {
        struct failing_reader r = {.im = image_dynamic_pie(), .reads_left = ok_reads};

        assert_int_equal(elf_parse(failing_read, &r, r.im->size, &out), -EIO);
    }
    struct failing_reader r = {.im = image_dynamic_pie(), .reads_left = 3};
    assert_int_equal(elf_parse(failing_read, &r, r.im->size, &out), 0);
}

static ssize_t fd_read(void *ctx, void *buf, size_t len, uint64_t off)
{
    ssize_t n = pread(*(int *)ctx, buf, len, (off_t)off);

    return n < 0 ? -errno : n;
}

/* Parses a host file, which must succeed; skips the test only if the file does not exist. */
static void parse_host_file(const char *path, struct elf_image *out)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT)
        skip();
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(elf_parse(fd_read, &fd, (uint64_t)st.st_size, out), 0);
    close(fd);
}

/* The segment holding addr, or NULL. */
static const struct elf_segment *find_segment(const struct elf_image *img, uint64_t addr)
{
    for (int i = 0; i < img->nsegments; i++) {
        if (addr >= img->segments[i].vaddr &&
            addr - img->segments[i].vaddr < img->segments[i].memsz)
            return &img->segments[i];
    }
    return NULL;
}

/* Debian's busybox-static: a static non-PIE executable linked at the traditional 0x400000. */
static void test_host_busybox(void **state)
{
    struct elf_image img;
    const struct elf_segment *text;

    parse_host_file("/bin/busybox", &img);
    assert_false(img.is_dyn);
    assert_false(img.has_interp);
    assert_false(img.exec_stack);
    assert_int_equal(img.min_vaddr, 0x400000);
    assert_true(img.nsegments >= 2);
    assert_int_equal(img.phentsize, sizeof(Elf64_Phdr));
    assert_int_equal(img.phdr_vaddr, img.min_vaddr + img.phoff);
    text = find_segment(&img, img.entry);
    assert_non_null(text);
    assert_int_equal(text->prot, PROT_READ | PROT_EXEC);
    assert_true(img.max_vaddr <= ARCH_USER_ADDR_LIMIT);
}

/* Debian's coreutils ls: a dynamic PIE with PT_PHDR and the standard dynamic linker. */
static void test_host_ls(void **state)
{
    struct elf_image img;
    const struct elf_segment *text;

    parse_host_file("/bin/ls", &img);
    assert_true(img.is_dyn);
    assert_true(img.has_interp);
#if defined(__x86_64__)
    assert_string_equal(img.interp, LD_SO_PATH);
#endif
    assert_false(img.exec_stack);
    assert_int_equal(img.min_vaddr, 0);
    assert_int_equal(img.phdr_vaddr, img.phoff); /* PT_PHDR, in the first page */
    text = find_segment(&img, img.entry);
    assert_non_null(text);
    assert_int_equal(text->prot, PROT_READ | PROT_EXEC);
    assert_true(find_segment(&img, img.phdr_vaddr) != NULL);
}

static uint64_t xorshift64(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* What a successful parse promises the loader, whatever the input. */
static void assert_image_sane(const struct elf_image *img, uint64_t file_size)
{
    assert_true(img->nsegments >= 1 && img->nsegments <= ELF_MAX_LOAD_SEGMENTS);
    assert_true(img->phnum <= ELF_MAX_PHNUM);
    assert_true(img->min_vaddr < img->max_vaddr || img->segments[0].memsz == 0);
    for (int i = 0; i < img->nsegments; i++) {
        const struct elf_segment *seg = &img->segments[i];

        assert_true(seg->filesz <= seg->memsz);
        assert_true(seg->offset + seg->filesz <= file_size);
        assert_true(seg->vaddr >= img->min_vaddr && seg->vaddr + seg->memsz <= img->max_vaddr);
        if (i > 0)
            assert_true(seg->vaddr >= img->segments[i - 1].vaddr + img->segments[i - 1].memsz);
    }
    if (!img->is_dyn)
        assert_true(img->max_vaddr <= ARCH_USER_ADDR_LIMIT);
    if (img->has_interp)
        assert_non_null(memchr(img->interp, '\0', ELF_INTERP_MAX));
}

/* Mutates a valid image 10000 times: bytes flipped (mostly in the headers, where they matter),
 * fields set to extremes, the file truncated. Only 0 or -ENOEXEC may come back; ASan watches. */
static void test_mutations(void **state)
{
    static struct image base;
    static const uint64_t extremes[] = {
        0, 1, 0x7f, 0x1000, 0xffff, UINT32_MAX, INT64_MAX, UINT64_MAX, ARCH_USER_ADDR_LIMIT};
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    const size_t headers = 0x240; /* header, phdrs and the interp string */
    int accepted = 0;

    base = *image_dynamic_pie();
    for (int iter = 0; iter < 10000; iter++) {
        struct image *im = &test_image;
        struct elf_image out;
        int flips = 1 + (int)(xorshift64(&seed) % 8);
        int rc;

        *im = base;
        for (int i = 0; i < flips; i++) {
            uint64_t r = xorshift64(&seed);
            size_t pos = (r & 1) ? (r >> 8) % headers : (r >> 8) % IMAGE_CAPACITY;

            if ((r & 6) == 6 && pos + 8 <= IMAGE_CAPACITY) {
                uint64_t v = extremes[(r >> 40) % (sizeof(extremes) / sizeof(extremes[0]))];

                memcpy(im->bytes + pos, &v, sizeof(v));
            } else {
                im->bytes[pos] ^= (uint8_t)(1u << ((r >> 3) & 7));
            }
        }
        if (xorshift64(&seed) % 8 == 0)
            im->size = im->valid = xorshift64(&seed) % IMAGE_CAPACITY;
        rc = image_parse(im, &out);
        if (rc != 0 && rc != -ENOEXEC)
            fail_msg("iteration %d: elf_parse returned %d", iter, rc);
        if (rc == 0) {
            assert_image_sane(&out, im->size);
            accepted++;
        }
    }
    /* Some mutations hit bytes nobody reads: the loop must exercise both outcomes. */
    assert_true(accepted > 0 && accepted < 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_exec),
        cmocka_unit_test(test_static_pie_with_pt_phdr),
        cmocka_unit_test(test_pt_phdr_wins_over_load),
        cmocka_unit_test(test_phdrs_not_loaded),
        cmocka_unit_test(test_dynamic_with_interp),
        cmocka_unit_test(test_exec_stack_flag),
        cmocka_unit_test(test_adjacent_segments_share_page),
        cmocka_unit_test(test_segment_ending_at_limit),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_wrong_class),
        cmocka_unit_test(test_big_endian),
        cmocka_unit_test(test_wrong_ident_version),
        cmocka_unit_test(test_wrong_machine),
        cmocka_unit_test(test_rel_and_core),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_truncated_phdrs),
        cmocka_unit_test(test_wrong_phentsize),
        cmocka_unit_test(test_huge_phnum),
        cmocka_unit_test(test_phoff_beyond_file),
        cmocka_unit_test(test_phoff_overflow),
        cmocka_unit_test(test_no_phdrs),
        cmocka_unit_test(test_load_beyond_file),
        cmocka_unit_test(test_load_offset_overflow),
        cmocka_unit_test(test_filesz_above_memsz),
        cmocka_unit_test(test_memsz_overflows),
        cmocka_unit_test(test_memsz_beyond_limit),
        cmocka_unit_test(test_exec_below_mmap_min_addr),
        cmocka_unit_test(test_dyn_extent_too_large),
        cmocka_unit_test(test_overlapping_segments),
        cmocka_unit_test(test_unsorted_segments),
        cmocka_unit_test(test_misaligned_congruence),
        cmocka_unit_test(test_align_not_power_of_two),
        cmocka_unit_test(test_no_load_segments),
        cmocka_unit_test(test_load_segment_count),
        cmocka_unit_test(test_interp_not_terminated),
        cmocka_unit_test(test_interp_too_long),
        cmocka_unit_test(test_interp_beyond_file),
        cmocka_unit_test(test_interp_twice),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_host_busybox),
        cmocka_unit_test(test_host_ls),
        cmocka_unit_test(test_mutations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
