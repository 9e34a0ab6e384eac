/* Benchmark guest for file operations, one per mode, each timed after an untimed set-up, and
 * printed as "ns_per_op <mean ns>". Fixtures live in a directory it makes in /tmp (in a sandbox,
 * the sandbox's /tmp) and removes at exit:
 *   open N [PATH]  open(O_RDONLY) + close of an existing file: PATH, or one it creates
 *   stat N [PATH]  stat(2) of the same
 *   getdents N     open + getdents64 to the end + close of a 1000-entry directory it creates
 *   read MIB       one read of a MIB MiB file it creates, 1 MiB per read(2), after an untimed
 *                  first read (so the file is cached); the op is the whole file
 *   write MIB      open + MIB MiB of 1 MiB write(2)s + close of a new file; the op is the file
 * If the system cannot do the set-up (a sandbox that serves no files yet), it prints
 * "n/a <step>: <error>" and exits with NOT_AVAILABLE, so the tool shows n/a, not a failure. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

#define NOT_AVAILABLE 77
#define DIR_ENTRIES 1000
#define BLOCK_SIZE (1L << 20)
#define PAGE_STRIDE 4096L
#define GETDENTS_BUFFER 32768 /* what glibc's readdir uses */

/* What the run created, so that cleanup() removes exactly that. */
static char fixture_dir[64];
static int fixture_files; /* entry-NNNN files created in fixture_dir */
static int fixture_has_file; /* fixture_dir/file exists */
static int fixture_has_big; /* fixture_dir/big exists */

static char *fixture_path(const char *name)
{
    static char path[128];

    snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
    return path;
}

static void cleanup(void)
{
    char name[32];

    for (int i = 0; i < fixture_files; i++) {
        snprintf(name, sizeof(name), "entries/entry-%04d", i);
        unlink(fixture_path(name));
    }
    if (fixture_files > 0)
        rmdir(fixture_path("entries"));
    if (fixture_has_file)
        unlink(fixture_path("file"));
    if (fixture_has_big)
        unlink(fixture_path("big"));
    if (fixture_dir[0] != '\0')
        rmdir(fixture_dir);
}

/* A set-up step failed: the system under test lacks what the benchmark needs. */
static int not_available(const char *step)
{
    printf("n/a %s: %s\n", step, strerror(errno));
    return NOT_AVAILABLE;
}

static int failed(const char *what)
{
    fprintf(stderr, "file_ops: %s: %s\n", what, strerror(errno));
    return 1;
}

static int make_fixture_dir(void)
{
    snprintf(fixture_dir, sizeof(fixture_dir), "/tmp/file_ops.XXXXXX");
    if (mkdtemp(fixture_dir) == NULL) {
        fixture_dir[0] = '\0';
        return not_available("mkdir in /tmp");
    }
    return 0;
}

static int make_empty_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

    if (fd < 0)
        return -1;
    return close(fd);
}

/* open + close, or stat, of PATH (or a file it creates), ITERATIONS times. */
static int bench_lookup(int do_open, long iterations, const char *path, double *elapsed_ns)
{
    struct timespec start, end;
    struct stat st;
    int rc;

    if (path == NULL) {
        if ((rc = make_fixture_dir()) != 0)
            return rc;
        if (make_empty_file(fixture_path("file")) != 0)
            return not_available("create a file in /tmp");
        fixture_has_file = 1;
        path = fixture_path("file");
    }
    /* Untimed warm-up, which also shows whether the system can do it at all. */
    for (int i = 0; i < 100; i++) {
        if (do_open) {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || close(fd) != 0)
                return not_available("open");
        } else if (stat(path, &st) != 0) {
            return not_available("stat");
        }
    }

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < iterations; i++) {
        if (do_open) {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || close(fd) != 0)
                return failed("open");
        } else if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            return failed("stat");
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    *elapsed_ns = timespec_diff_ns(&start, &end);
    return 0;
}

/* Lists DIR with getdents64 to the end; returns the number of entries, or -1. */
static long list_directory(const char *dir)
{
    static char buffer[GETDENTS_BUFFER];
    long entries = 0, n;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    while ((n = syscall(SYS_getdents64, fd, buffer, sizeof(buffer))) > 0) {
        for (long offset = 0; offset < n;) {
            const struct dirent64 *d = (const struct dirent64 *)(buffer + offset);
            offset += d->d_reclen;
            entries++;
        }
    }
    if (close(fd) != 0 || n < 0)
        return -1;
    return entries;
}

static int bench_getdents(long iterations, double *elapsed_ns)
{
    struct timespec start, end;
    char name[32];
    int rc;

    if ((rc = make_fixture_dir()) != 0)
        return rc;
    if (mkdir(fixture_path("entries"), 0755) != 0)
        return not_available("mkdir in /tmp");
    for (int i = 0; i < DIR_ENTRIES; i++) {
        snprintf(name, sizeof(name), "entries/entry-%04d", i);
        if (make_empty_file(fixture_path(name)) != 0)
            return i == 0 ? not_available("create a file in /tmp") : failed("create entry");
        fixture_files = i + 1;
    }
    /* Every listing must see all entries plus "." and "..". */
    if (list_directory(fixture_path("entries")) != DIR_ENTRIES + 2)
        return not_available("getdents64");

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < iterations; i++) {
        if (list_directory(fixture_path("entries")) != DIR_ENTRIES + 2)
            return failed("getdents64: wrong entry count or error");
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    *elapsed_ns = timespec_diff_ns(&start, &end);
    return 0;
}

/* Block contents: each 4 KiB page is filled with a byte that depends on its place in the block
 * and starts with the block's number, so a dropped or misplaced block cannot read back right. */
static unsigned char page_byte(long off)
{
    return (unsigned char)((off / PAGE_STRIDE) ^ 0x5a);
}

static void fill_block(unsigned char *buf)
{
    for (long off = 0; off < BLOCK_SIZE; off += PAGE_STRIDE)
        memset(buf + off, page_byte(off), PAGE_STRIDE);
}

/* Stamps BLOCK into each page of a filled buffer: 256 stores, cheap next to a 1 MiB write. */
static void stamp_block(unsigned char *buf, long block)
{
    for (long off = 0; off < BLOCK_SIZE; off += PAGE_STRIDE)
        memcpy(buf + off, &block, sizeof(block));
}

static int page_matches(const unsigned char *page, long block, long off)
{
    long stamp;

    memcpy(&stamp, page, sizeof(stamp));
    return stamp == block && page[sizeof(stamp)] == page_byte(off);
}

/* Creates PATH and writes MIB blocks to it. Returns 0; -1 if it could not be created; -2 if a
 * write or the close failed. errno says why. */
static int write_file(const char *path, long mib, unsigned char *buf)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    ssize_t n;

    if (fd < 0)
        return -1;
    fill_block(buf);
    for (long block = 0; block < mib; block++) {
        stamp_block(buf, block);
        if ((n = write(fd, buf, BLOCK_SIZE)) != BLOCK_SIZE) {
            int saved = n < 0 ? errno : EIO;
            close(fd);
            errno = saved;
            return -2;
        }
    }
    return close(fd) == 0 ? 0 : -2;
}

/* Reads FD from offset 0 to the end; returns 0 if it read MIB blocks as write_file wrote them.
 * With FULL every byte is compared (EXPECT is scratch), otherwise the start of each page. */
static int read_file(int fd, long mib, unsigned char *buf, unsigned char *expect, int full)
{
    long block = 0;
    ssize_t n;

    if (lseek(fd, 0, SEEK_SET) != 0)
        return -1;
    if (full)
        fill_block(expect);
    while ((n = read(fd, buf, BLOCK_SIZE)) == BLOCK_SIZE) {
        if (full) {
            stamp_block(expect, block);
            if (memcmp(buf, expect, BLOCK_SIZE) != 0)
                return -1;
        } else {
            for (long off = 0; off < BLOCK_SIZE; off += PAGE_STRIDE) {
                if (!page_matches(buf + off, block, off))
                    return -1;
            }
        }
        block++;
    }
    return n == 0 && block == mib ? 0 : -1;
}

static int bench_read(long mib, double *elapsed_ns)
{
    unsigned char *buf = malloc(BLOCK_SIZE), *expect = malloc(BLOCK_SIZE);
    struct timespec start, end;
    int fd = -1, rc;

    if (buf == NULL || expect == NULL) {
        rc = failed("malloc");
        goto out;
    }
    if ((rc = make_fixture_dir()) != 0)
        goto out;
    fixture_has_big = 1;
    if ((rc = write_file(fixture_path("big"), mib, buf)) != 0) {
        rc = rc == -1 ? not_available("create a file in /tmp") : failed("write the file");
        goto out;
    }
    fd = open(fixture_path("big"), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read_file(fd, mib, buf, expect, 1) != 0) {
        rc = not_available("read back a file in /tmp");
        goto out;
    }

    clock_gettime(CLOCK_MONOTONIC, &start);
    if (read_file(fd, mib, buf, expect, 0) != 0) {
        rc = failed("second read: short, failed or wrong data");
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    *elapsed_ns = timespec_diff_ns(&start, &end);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(expect);
    free(buf);
    return rc;
}

static int bench_write(long mib, double *elapsed_ns)
{
    unsigned char *buf = malloc(BLOCK_SIZE), *check = malloc(BLOCK_SIZE);
    struct timespec start, end;
    int fd = -1, rc;

    if (buf == NULL || check == NULL) {
        rc = failed("malloc");
        goto out;
    }
    if ((rc = make_fixture_dir()) != 0)
        goto out;
    /* Untimed: fault the buffer in; write_file refills it, the same cost on every runtime. */
    fill_block(buf);
    fixture_has_big = 1;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if ((rc = write_file(fixture_path("big"), mib, buf)) != 0) {
        rc = rc == -1 ? not_available("create a file in /tmp") : failed("write the file");
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    *elapsed_ns = timespec_diff_ns(&start, &end);

    /* A sandbox that dropped the data must not look fast. */
    fd = open(fixture_path("big"), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read_file(fd, mib, buf, check, 0) != 0) {
        rc = failed("written file: short, unreadable or wrong data");
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(check);
    free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    long count = argc > 2 ? parse_count(argv[2]) : -1;
    const char *path = argc > 3 ? argv[3] : NULL;
    int lookup = strcmp(mode, "open") == 0 || strcmp(mode, "stat") == 0;
    double elapsed_ns = 0;
    int rc;

    if (count < 0 || argc > 4 || (argc == 4 && !lookup)) {
        fprintf(stderr, "usage: file_ops open|stat ITERATIONS [PATH]\n"
                        "       file_ops getdents ITERATIONS\n"
                        "       file_ops read|write MIB\n");
        return 2;
    }
    if (lookup)
        rc = bench_lookup(strcmp(mode, "open") == 0, count, path, &elapsed_ns);
    else if (strcmp(mode, "getdents") == 0)
        rc = bench_getdents(count, &elapsed_ns);
    else if (strcmp(mode, "read") == 0)
        rc = bench_read(count, &elapsed_ns);
    else if (strcmp(mode, "write") == 0)
        rc = bench_write(count, &elapsed_ns);
    else {
        fprintf(stderr, "file_ops: unknown mode %s\n", mode);
        return 2;
    }
    cleanup();
    if (rc != 0)
        return rc;
    /* read and write time one pass over the file: that is the op. */
    if (strcmp(mode, "read") == 0 || strcmp(mode, "write") == 0)
        count = 1;
    printf("ns_per_op %.1f\n", elapsed_ns / (double)count);
    return 0;
}
