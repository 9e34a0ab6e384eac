/* Helpers for the file-syscall guest programs: a scratch directory made with mkdtemp (entered,
 * so that everything printed is relative to it and never shows its random part), removed with
 * everything under it at the end, and small whole-file read/write helpers. */
#ifndef GUEST_FILES_H
#define GUEST_FILES_H

#include "guest.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

/* The mkdtemp template length plus room: "/dev/shm/gt-XXXXXX" is the longest parent we use. */
#define GUEST_TMPDIR_SIZE 64

/* Make PARENT/gt-XXXXXX into `dir` (GUEST_TMPDIR_SIZE bytes) and chdir into it. */
static inline void guest_tmpdir_make(char *dir, const char *parent)
{
    snprintf(dir, GUEST_TMPDIR_SIZE, "%s/gt-XXXXXX", parent);
    CHECK(mkdtemp(dir) != NULL, "mkdtemp in %s: %s", parent, guest_errno_name(errno));
    CHECK(chdir(dir) == 0, "chdir to the scratch dir: %s", guest_errno_name(errno));
}

static inline int guest_tmpdir_remove_one(const char *path, const struct stat *st, int type,
                                          struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        return rmdir(path) == 0 ? 0 : errno;
    return unlink(path) == 0 ? 0 : errno;
}

/* Leave the scratch dir and remove it with everything under it; it must be gone afterwards. */
static inline void guest_tmpdir_remove(const char *dir)
{
    CHECK(chdir("/") == 0, "chdir /: %s", guest_errno_name(errno));
    int err = nftw(dir, guest_tmpdir_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    CHECK(err == 0, "remove the scratch dir: %s", guest_errno_name(err > 0 ? err : errno));
    struct stat st;
    CHECK(lstat(dir, &st) == -1 && errno == ENOENT, "the scratch dir is still there");
}

/* Create (or truncate) `path` with `mode` and write `text` into it. */
static inline void guest_file_put(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECK(fd >= 0, "create %s: %s", path, guest_errno_name(errno));
    size_t len = strlen(text);
    CHECK(write(fd, text, len) == (ssize_t)len, "write %s: %s", path, guest_errno_name(errno));
    CHECK(close(fd) == 0, "close %s: %s", path, guest_errno_name(errno));
}

/* Read up to size-1 bytes of `path` into buf as a string; returns the byte count. */
static inline size_t guest_file_get(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0, "open %s: %s", path, guest_errno_name(errno));
    size_t got = 0;
    ssize_t n;
    while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
    return got;
}

/* The permission bits (with set-id and sticky) of a path, or -1 with errno. */
static inline long guest_mode_of(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return -1;
    return (long)(st.st_mode & 07777);
}

/* Like EXPECT_RET for a mode or flag word: print it in octal ("what: 0644") and check it. */
#define EXPECT_OCTAL(what, expr, want)                                                             \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long guest_oct_ = (long)(expr);                                                            \
        int guest_oct_errno_ = errno;                                                              \
        if (guest_oct_ == -1)                                                                      \
            printf("%s: -1 %s\n", (what), guest_errno_name(guest_oct_errno_));                     \
        else                                                                                       \
            printf("%s: 0%lo\n", (what), guest_oct_);                                              \
        CHECK(guest_oct_ == (long)(want), "got 0%lo, want 0%lo", guest_oct_, (long)(want));        \
    } while (0)

#endif /* GUEST_FILES_H */
