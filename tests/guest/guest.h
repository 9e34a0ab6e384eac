/* Shared helpers for the differential guest programs: checks that fail with a stable message,
 * errno names instead of numbers, and the final "guest: ok" line the harness looks for.
 * Include this first: it defines _GNU_SOURCE for the headers that follow. */
#ifndef GUEST_H
#define GUEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The name of an errno value ("EFAULT"), so output never depends on strerror's wording. */
static inline const char *guest_errno_name(int err)
{
    static const char *const names[] = {
        [0] = "OK",          [EPERM] = "EPERM",         [ENOENT] = "ENOENT",
        [ESRCH] = "ESRCH",   [EINTR] = "EINTR",         [EIO] = "EIO",
        [ENXIO] = "ENXIO",   [E2BIG] = "E2BIG",         [ENOEXEC] = "ENOEXEC",
        [EBADF] = "EBADF",   [ECHILD] = "ECHILD",       [EAGAIN] = "EAGAIN",
        [ENOMEM] = "ENOMEM", [EACCES] = "EACCES",       [EFAULT] = "EFAULT",
        [EBUSY] = "EBUSY",   [EEXIST] = "EEXIST",       [EXDEV] = "EXDEV",
        [ENODEV] = "ENODEV", [ENOTDIR] = "ENOTDIR",     [EISDIR] = "EISDIR",
        [EINVAL] = "EINVAL", [ENFILE] = "ENFILE",       [EMFILE] = "EMFILE",
        [ENOTTY] = "ENOTTY", [EFBIG] = "EFBIG",         [ENOSPC] = "ENOSPC",
        [ESPIPE] = "ESPIPE", [EROFS] = "EROFS",         [EPIPE] = "EPIPE",
        [ERANGE] = "ERANGE",       [ENAMETOOLONG] = "ENAMETOOLONG",
        [ENOSYS] = "ENOSYS", [EOVERFLOW] = "EOVERFLOW", [EOPNOTSUPP] = "EOPNOTSUPP",
        [ELOOP] = "ELOOP",   [ENOTEMPTY] = "ENOTEMPTY", [ENODATA] = "ENODATA",
        [EMLINK] = "EMLINK", [ETXTBSY] = "ETXTBSY",     [ENOTBLK] = "ENOTBLK",
        [ENOTSOCK] = "ENOTSOCK", [EDESTADDRREQ] = "EDESTADDRREQ", [EMSGSIZE] = "EMSGSIZE",
        [EPROTOTYPE] = "EPROTOTYPE", [ENOPROTOOPT] = "ENOPROTOOPT",
        [EPROTONOSUPPORT] = "EPROTONOSUPPORT", [ESOCKTNOSUPPORT] = "ESOCKTNOSUPPORT",
        [EAFNOSUPPORT] = "EAFNOSUPPORT", [EADDRINUSE] = "EADDRINUSE",
        [ECONNABORTED] = "ECONNABORTED", [ECONNRESET] = "ECONNRESET", [EISCONN] = "EISCONN",
        [ENOTCONN] = "ENOTCONN", [ECONNREFUSED] = "ECONNREFUSED", [EDOM] = "EDOM",
        [EIDRM] = "EIDRM",   [ENOMSG] = "ENOMSG",       [EOWNERDEAD] = "EOWNERDEAD",
        [ENOTRECOVERABLE] = "ENOTRECOVERABLE",
    };
    static char unknown[32];

    if (err >= 0 && (size_t)err < sizeof(names) / sizeof(names[0]) && names[err])
        return names[err];
    snprintf(unknown, sizeof(unknown), "errno%d", err);
    return unknown;
}

#ifdef GUEST_KEEP_GOING
#define GUEST_FAIL_NORETURN
#else
#define GUEST_FAIL_NORETURN __attribute__((noreturn))
#endif

GUEST_FAIL_NORETURN __attribute__((format(printf, 4, 5))) static inline void
guest_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;

    /* stdout carries the verdict (the harness diffs it); stderr repeats it for a human. */
    fflush(stdout);
    printf("FAIL %s:%d: %s: ", file, line, cond);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, cond);
#ifdef GUEST_KEEP_GOING
    /* A developer's build (-DGUEST_KEEP_GOING) lists every failed check instead of the first. */
    return;
#else
    exit(1);
#endif
}

/* CHECK(cond, fmt, ...): on failure print where and why, then exit 1 (no "guest: ok" line). */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            guest_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                    \
    } while (0)

/* Evaluate a call that must fail with errno `err`; print "what: ENAME" and check it. */
#define EXPECT_ERRNO(what, expr, err)                                                              \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long guest_ret_ = (long)(expr);                                                            \
        int guest_errno_ = errno;                                                                  \
        printf("%s: %s\n", (what), guest_ret_ == -1 ? guest_errno_name(guest_errno_) : "success"); \
        CHECK(guest_ret_ == -1 && guest_errno_ == (err), "got %ld errno %s, want -1 %s",           \
              guest_ret_, guest_errno_name(guest_errno_), guest_errno_name(err));                  \
    } while (0)

/* Evaluate a call that must return `want`; print "what: value" (or "-1 ENAME") and check it. */
#define EXPECT_RET(what, expr, want)                                                               \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long guest_ret_ = (long)(expr);                                                            \
        int guest_errno_ = errno;                                                                  \
        if (guest_ret_ == -1)                                                                      \
            printf("%s: -1 %s\n", (what), guest_errno_name(guest_errno_));                         \
        else                                                                                       \
            printf("%s: %ld\n", (what), guest_ret_);                                               \
        CHECK(guest_ret_ == (long)(want), "got %ld, want %ld", guest_ret_, (long)(want));          \
    } while (0)

/* Print a normalized yes/no fact and require it to be yes. */
#define EXPECT_FACT(what, cond)                                                                    \
    do {                                                                                           \
        int guest_fact_ = !!(cond);                                                                \
        printf("%s: %s\n", (what), guest_fact_ ? "yes" : "no");                                    \
        if (!guest_fact_)                                                                          \
            guest_fail(__FILE__, __LINE__, #cond, "%s", (what));                                   \
    } while (0)

static inline long guest_page_size(void)
{
    return sysconf(_SC_PAGESIZE);
}

/* The last line of a passing run; the harness requires it on native stdout. */
static inline int guest_ok(void)
{
    printf("guest: ok\n");
    fflush(stdout);
    return 0;
}

#endif /* GUEST_H */
