/* Data through regular files: read/write and their positioned and vectored forms (preadv2 and
 * pwritev2 at -1 use the file position), sparse files, ftruncate, fallocate, sendfile,
 * copy_file_range, FIONREAD, fsync/fdatasync, and O_APPEND with pwrite's Linux quirk. */
#include "guest_files.h"

#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

static int all_zero(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return 0;
    return 1;
}

static long size_of(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (long)st.st_size : -1;
}

static void check_read_write(void)
{
    char buf[64];
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);

    EXPECT_RET("write", write(fd, "abcdefgh", 8), 8);
    EXPECT_RET("write of 0 bytes", write(fd, "", 0), 0);
    EXPECT_RET("read at the end", read(fd, buf, sizeof(buf)), 0);
    lseek(fd, 2, SEEK_SET);
    EXPECT_RET("read 3 at 2", read(fd, buf, 3), 3);
    printf("got: %.3s\n", buf);
    EXPECT_RET("pread64 at 5", pread(fd, buf, 10, 5), 3);
    printf("got: %.3s\n", buf);
    EXPECT_RET("pread64 keeps the offset", lseek(fd, 0, SEEK_CUR), 5);
    EXPECT_RET("pwrite64 at 1", pwrite(fd, "XY", 2, 1), 2);
    EXPECT_RET("pwrite64 keeps the offset", lseek(fd, 0, SEEK_CUR), 5);
    EXPECT_ERRNO("pread64 negative offset", pread(fd, buf, 1, -1), EINVAL);
    EXPECT_ERRNO("pwrite64 negative offset", pwrite(fd, buf, 1, -1), EINVAL);
    EXPECT_ERRNO("read into a bad buffer", syscall(SYS_read, fd, 8, 1), EFAULT);
    EXPECT_ERRNO("write from a bad buffer", syscall(SYS_write, fd, 8, 1), EFAULT);
    EXPECT_RET("offset after the failed I/O", lseek(fd, 0, SEEK_CUR), 5);
    close(fd);

    fd = open("f", O_RDONLY);
    EXPECT_ERRNO("write to an O_RDONLY fd", write(fd, "x", 1), EBADF);
    EXPECT_ERRNO("pwrite64 to an O_RDONLY fd", pwrite(fd, "x", 1, 0), EBADF);
    close(fd);
    fd = open("f", O_WRONLY);
    EXPECT_ERRNO("read from an O_WRONLY fd", read(fd, buf, 1), EBADF);
    close(fd);
    guest_file_get("f", buf, sizeof(buf));
    printf("contents: %s\n", buf);

    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_ERRNO("pread64 on a dir", pread(dfd, buf, 1, 0), EISDIR);
    close(dfd);
    int fds[2];
    pipe(fds);
    EXPECT_ERRNO("pread64 on a pipe", pread(fds[0], buf, 1, 0), ESPIPE);
    EXPECT_ERRNO("pwrite64 on a pipe", pwrite(fds[1], buf, 1, 0), ESPIPE);
    close(fds[0]);
    close(fds[1]);
}

static void check_vectored(void)
{
    char a[4], b[6], buf[32];
    struct iovec out[3] = {{"one", 3}, {"", 0}, {"-two-", 5}};
    int fd = open("v", O_RDWR | O_CREAT | O_TRUNC, 0644);

    EXPECT_RET("writev", writev(fd, out, 3), 8);
    EXPECT_RET("writev with 0 vectors", writev(fd, out, 0), 0);
    struct iovec in[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
    lseek(fd, 0, SEEK_SET);
    EXPECT_RET("readv", readv(fd, in, 2), 8);
    printf("readv: %.4s|%.4s\n", a, b);
    EXPECT_ERRNO("readv with IOV_MAX+1 vectors", syscall(SYS_readv, fd, in, 1025), EINVAL);
    EXPECT_ERRNO("readv with a negative count", syscall(SYS_readv, fd, in, -1), EINVAL);
    struct iovec bad[2] = {{a, sizeof(a)}, {(void *)8, 4}};
    lseek(fd, 0, SEEK_SET);
    EXPECT_RET("readv with a bad second buffer stops short", readv(fd, bad, 2), 4);
    struct iovec huge[2] = {{a, 1}, {b, (size_t)-1}};
    EXPECT_ERRNO("readv with a length over SSIZE_MAX", readv(fd, huge, 2), EINVAL);

    lseek(fd, 2, SEEK_SET);
    EXPECT_RET("preadv at 4", preadv(fd, in, 2, 4), 4);
    printf("preadv: %.4s\n", a);
    EXPECT_RET("preadv keeps the offset", lseek(fd, 0, SEEK_CUR), 2);
    struct iovec w = {"ZZ", 2};
    EXPECT_RET("pwritev at 0", pwritev(fd, &w, 1, 0), 2);
    EXPECT_RET("pwritev keeps the offset", lseek(fd, 0, SEEK_CUR), 2);
    EXPECT_RET("preadv2 at -1 reads at the offset", preadv2(fd, in, 1, -1, 0), 4);
    printf("preadv2: %.4s\n", a);
    EXPECT_RET("preadv2 at -1 advances the offset", lseek(fd, 0, SEEK_CUR), 6);
    EXPECT_RET("pwritev2 at -1 writes at the offset", pwritev2(fd, &w, 1, -1, 0), 2);
    EXPECT_RET("pwritev2 at -1 advances the offset", lseek(fd, 0, SEEK_CUR), 8);
    EXPECT_RET("preadv2 at 0", preadv2(fd, in, 2, 0, 0), 8);
    printf("preadv2 at 0: %.4s|%.4s\n", a, b);
    EXPECT_RET("preadv2 at 0 keeps the offset", lseek(fd, 0, SEEK_CUR), 8);
    EXPECT_ERRNO("preadv2 at -2", preadv2(fd, in, 1, -2, 0), EINVAL);
    EXPECT_ERRNO("preadv2 unknown flag", preadv2(fd, in, 1, 0, 0x1000), EOPNOTSUPP);
    EXPECT_RET("pwritev2 RWF_APPEND", pwritev2(fd, &w, 1, 0, RWF_APPEND), 2);
    EXPECT_RET("size after RWF_APPEND", size_of(fd), 10);
    EXPECT_RET("RWF_APPEND at an offset keeps the file offset", lseek(fd, 0, SEEK_CUR), 8);
    close(fd);
    guest_file_get("v", buf, sizeof(buf));
    printf("contents: %s\n", buf);
}

static void check_sparse_and_truncate(void)
{
    static char buf[1 << 16];
    int fd = open("s", O_RDWR | O_CREAT | O_TRUNC, 0644);

    EXPECT_RET("pwrite at 1 MiB", pwrite(fd, "end", 3, 1 << 20), 3);
    EXPECT_RET("size of the sparse file", size_of(fd), (1 << 20) + 3);
    EXPECT_RET("read the hole", pread(fd, buf, sizeof(buf), 500000), (long)sizeof(buf));
    EXPECT_FACT("the hole reads as zeros", all_zero(buf, sizeof(buf)));
    EXPECT_RET("read across the end of the hole", pread(fd, buf, 10, (1 << 20) - 2), 5);
    EXPECT_FACT("zeros then the data", !buf[0] && !buf[1] && !memcmp(buf + 2, "end", 3));

    EXPECT_RET("ftruncate shrink", ftruncate(fd, 10), 0);
    EXPECT_RET("size after shrink", size_of(fd), 10);
    EXPECT_RET("ftruncate grow", ftruncate(fd, 5000), 0);
    EXPECT_RET("size after grow", size_of(fd), 5000);
    EXPECT_RET("read the grown part", pread(fd, buf, 8192, 0), 5000);
    EXPECT_FACT("grown part reads as zeros", all_zero(buf, 5000));
    pwrite(fd, "abcdef", 6, 0);
    ftruncate(fd, 3);
    ftruncate(fd, 6);
    EXPECT_RET("read after shrink then grow", pread(fd, buf, 6, 0), 6);
    EXPECT_FACT("truncated bytes come back as zeros", !memcmp(buf, "abc\0\0\0", 6));
    EXPECT_ERRNO("ftruncate negative", ftruncate(fd, -1), EINVAL);
    EXPECT_RET("ftruncate keeps the offset", lseek(fd, 0, SEEK_CUR), 0);
    close(fd);
    fd = open("s", O_RDONLY);
    EXPECT_ERRNO("ftruncate an O_RDONLY fd", ftruncate(fd, 0), EINVAL);
    close(fd);
    fd = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_ERRNO("ftruncate a dir", ftruncate(fd, 0), EINVAL);
    close(fd);
    EXPECT_ERRNO("ftruncate a closed fd", ftruncate(400, 0), EBADF);
}

static void check_fallocate(void)
{
    char buf[16];
    int fd = open("fa", O_RDWR | O_CREAT | O_TRUNC, 0644);

    EXPECT_RET("fallocate extends", fallocate(fd, 0, 0, 8192), 0);
    EXPECT_RET("size after fallocate", size_of(fd), 8192);
    EXPECT_RET("fallocate inside keeps the size", fallocate(fd, 0, 100, 100), 0);
    EXPECT_RET("size unchanged", size_of(fd), 8192);
    EXPECT_RET("fallocate KEEP_SIZE past the end", fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 8192),
               0);
    EXPECT_RET("KEEP_SIZE leaves the size", size_of(fd), 8192);
    EXPECT_RET("allocated range reads as zeros", pread(fd, buf, sizeof(buf), 4000),
               (long)sizeof(buf));
    EXPECT_FACT("zeros", all_zero(buf, sizeof(buf)));
    pwrite(fd, "xxxxxxxx", 8, 0);
    EXPECT_RET("punch a hole", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 4), 0);
    pread(fd, buf, 8, 0);
    EXPECT_FACT("the punched range reads as zeros", !memcmp(buf, "xx\0\0\0\0xx", 8));
    EXPECT_RET("size after the punch", size_of(fd), 8192);
    EXPECT_ERRNO("punch without KEEP_SIZE", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4), EOPNOTSUPP);
    EXPECT_ERRNO("fallocate length 0", fallocate(fd, 0, 0, 0), EINVAL);
    EXPECT_ERRNO("fallocate negative offset", fallocate(fd, 0, -1, 10), EINVAL);
    close(fd);
    fd = open("fa", O_RDONLY);
    EXPECT_ERRNO("fallocate an O_RDONLY fd", fallocate(fd, 0, 0, 10), EBADF);
    close(fd);
    int fds[2];
    pipe(fds);
    EXPECT_ERRNO("fallocate a pipe", fallocate(fds[1], 0, 0, 10), ESPIPE);
    close(fds[0]);
    close(fds[1]);
}

static void check_sendfile_and_copy(void)
{
    char buf[32];
    guest_file_put("src", "0123456789abcdef", 0644);
    int in = open("src", O_RDONLY);
    int out = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);

    EXPECT_RET("sendfile from the offset", sendfile(out, in, NULL, 4), 4);
    EXPECT_RET("sendfile advanced the input offset", lseek(in, 0, SEEK_CUR), 4);
    off_t off = 10;
    EXPECT_RET("sendfile with an offset", sendfile(out, in, &off, 100), 6);
    EXPECT_RET("the offset advanced", off, 16);
    EXPECT_RET("the input offset stayed", lseek(in, 0, SEEK_CUR), 4);
    EXPECT_RET("sendfile at the end", sendfile(out, in, &off, 10), 0);
    EXPECT_RET("output offset", lseek(out, 0, SEEK_CUR), 10);
    pread(out, buf, sizeof(buf), 0);
    printf("sendfile result: %.10s\n", buf);
    off = -1;
    EXPECT_ERRNO("sendfile negative offset", sendfile(out, in, &off, 1), EINVAL);
    EXPECT_ERRNO("sendfile to an O_RDONLY fd", sendfile(in, in, NULL, 1), EBADF);

    int fds[2];
    pipe(fds);
    off = 0;
    EXPECT_RET("sendfile into a pipe", sendfile(fds[1], in, &off, 5), 5);
    EXPECT_RET("read from the pipe", read(fds[0], buf, sizeof(buf)), 5);
    printf("from the pipe: %.5s\n", buf);
    close(fds[0]);
    close(fds[1]);

    loff_t in_off = 2, out_off = 20;
    EXPECT_RET("copy_file_range with offsets", copy_file_range(in, &in_off, out, &out_off, 5, 0),
               5);
    EXPECT_RET("input offset advanced", in_off, 7);
    EXPECT_RET("output offset advanced", out_off, 25);
    EXPECT_RET("size after copy_file_range past the end", size_of(out), 25);
    pread(out, buf, 25, 0);
    EXPECT_FACT("gap reads as zeros", all_zero(buf + 10, 10));
    printf("copied: %.5s\n", buf + 20);
    lseek(in, 12, SEEK_SET);
    lseek(out, 0, SEEK_SET);
    EXPECT_RET("copy_file_range at the file offsets", copy_file_range(in, NULL, out, NULL, 10, 0),
               4);
    EXPECT_RET("input file offset advanced", lseek(in, 0, SEEK_CUR), 16);
    EXPECT_RET("output file offset advanced", lseek(out, 0, SEEK_CUR), 4);
    EXPECT_RET("copy_file_range at the end", copy_file_range(in, NULL, out, NULL, 10, 0), 0);
    EXPECT_ERRNO("copy_file_range flags", copy_file_range(in, NULL, out, NULL, 1, 1), EINVAL);
    in_off = 0;
    out_off = 2;
    EXPECT_ERRNO("copy_file_range overlapping in one file",
                 copy_file_range(out, &in_off, out, &out_off, 4, 0), EINVAL);
    EXPECT_ERRNO("copy_file_range to an O_RDONLY fd", copy_file_range(in, NULL, in, NULL, 1, 0),
                 EBADF);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_ERRNO("copy_file_range from a dir", copy_file_range(dfd, NULL, out, NULL, 1, 0), EISDIR);
    close(dfd);
    int app = open("dst", O_WRONLY | O_APPEND);
    EXPECT_ERRNO("copy_file_range to O_APPEND", copy_file_range(in, NULL, app, NULL, 1, 0), EBADF);
    close(app);
    pread(out, buf, 25, 0);
    printf("destination: %.4s\n", buf);
    close(in);
    close(out);
}

static void check_fionread_and_sync(void)
{
    int n = -1;
    int fd = open("src", O_RDONLY);

    EXPECT_RET("FIONREAD on a file", ioctl(fd, FIONREAD, &n), 0);
    EXPECT_RET("bytes left at offset 0", n, 16);
    lseek(fd, 10, SEEK_SET);
    ioctl(fd, FIONREAD, &n);
    EXPECT_RET("bytes left at offset 10", n, 6);
    lseek(fd, 100, SEEK_SET);
    ioctl(fd, FIONREAD, &n);
    /* do_vfs_ioctl answers i_size - f_pos as an int: negative past the end. */
    EXPECT_RET("bytes left 100 bytes in, past the end", n, -84);
    EXPECT_RET("fsync a read-only fd", fsync(fd), 0);
    EXPECT_RET("fdatasync", fdatasync(fd), 0);
    close(fd);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_RET("fsync a dir", fsync(dfd), 0);
    close(dfd);
    int fds[2];
    pipe(fds);
    write(fds[1], "abc", 3);
    EXPECT_RET("FIONREAD on a pipe's read end", ioctl(fds[0], FIONREAD, &n), 0);
    EXPECT_RET("bytes in the pipe", n, 3);
    n = -1;
    EXPECT_RET("FIONREAD on a pipe's write end", ioctl(fds[1], FIONREAD, &n), 0);
    EXPECT_RET("bytes in the pipe, seen from the write end", n, 3);
    EXPECT_ERRNO("fsync a pipe", fsync(fds[0]), EINVAL);
    EXPECT_ERRNO("fdatasync a pipe", fdatasync(fds[0]), EINVAL);
    close(fds[0]);
    close(fds[1]);
    EXPECT_ERRNO("fsync a closed fd", fsync(400), EBADF);
}

static void check_append(void)
{
    char buf[32];
    guest_file_put("ap", "base", 0644);
    int fd = open("ap", O_RDWR | O_APPEND);

    EXPECT_RET("initial offset", lseek(fd, 0, SEEK_CUR), 0);
    EXPECT_RET("append write", write(fd, "+w", 2), 2);
    EXPECT_RET("offset after", lseek(fd, 0, SEEK_CUR), 6);
    /* pwrite(2) BUGS: with O_APPEND, Linux appends whatever the offset says. */
    EXPECT_RET("pwrite at 0 with O_APPEND", pwrite(fd, "+p", 2, 0), 2);
    EXPECT_RET("pwrite left the offset", lseek(fd, 0, SEEK_CUR), 6);
    EXPECT_RET("size", size_of(fd), 8);
    struct iovec v = {"+v", 2};
    EXPECT_RET("pwritev at 1 with O_APPEND", pwritev(fd, &v, 1, 1), 2);
    EXPECT_RET("O_APPEND read from 0", pread(fd, buf, sizeof(buf), 0), 10);
    printf("contents: %.10s\n", buf);
    lseek(fd, 0, SEEK_SET);
    EXPECT_RET("read works at 0 with O_APPEND", read(fd, buf, 4), 4);
    close(fd);
}

int main(int argc, char **argv)
{
    char dir[GUEST_TMPDIR_SIZE];

    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(022);
    guest_tmpdir_make(dir, argc > 1 ? argv[1] : "/tmp");
    check_read_write();
    check_vectored();
    check_sparse_and_truncate();
    check_fallocate();
    check_sendfile_and_copy();
    check_fionread_and_sync();
    check_append();
    guest_tmpdir_remove(dir);
    return guest_ok();
}
