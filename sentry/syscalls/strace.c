/* --strace output. Each implemented syscall has a format in syscalls.list: comma-separated
 * argument kinds, optionally `=x` for a result shown in hex:
 *   d  int            u  unsigned long   x  hex            p  pointer (NULL or hex)
 *   s  string in      o  octal           sig  signal name  prot  PROT_* flags
 *   map  MAP_* flags  inN  input buffer whose length is argument N
 *   out  output buffer whose length is the result
 *   atfd  a dirfd (AT_FDCWD by name)     openflags  O_* flags
 * Strings and buffers show at most 32 bytes, as strace does by default. */
#include "sentry/syscalls/strace.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/log.h"
#include "sentry/mm/mm.h"

#define STRACE_STRING_MAX 32

struct line {
    char buf[1024];
    size_t len;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct line *l, const char *fmt, ...)
{
    va_list ap;
    if (l->len >= sizeof(l->buf) - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n < sizeof(l->buf) - l->len ? (size_t)n : sizeof(l->buf) - l->len - 1;
}

/* Quotes bytes as strace does: C escapes for the usual controls, octal for the rest. */
static void put_quoted(struct line *l, const unsigned char *s, size_t n, bool more)
{
    put(l, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        switch (c) {
        case '\n':
            put(l, "\\n");
            break;
        case '\t':
            put(l, "\\t");
            break;
        case '\r':
            put(l, "\\r");
            break;
        case '\f':
            put(l, "\\f");
            break;
        case '\v':
            put(l, "\\v");
            break;
        case '"':
        case '\\':
            put(l, "\\%c", c);
            break;
        default:
            if (c >= 0x20 && c < 0x7f)
                put(l, "%c", c);
            else
                put(l, "\\%o", c);
        }
    }
    put(l, "\"%s", more ? "..." : "");
}

static void put_buffer(struct line *l, struct task *t, uint64_t addr, uint64_t len)
{
    unsigned char buf[STRACE_STRING_MAX];
    size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);

    if (n && mm_copy_in(t->mm, addr, buf, n) != 0) {
        put(l, "%#lx", (unsigned long)addr);
        return;
    }
    put_quoted(l, buf, n, len > n);
}

static void put_string(struct line *l, struct task *t, uint64_t addr)
{
    char buf[STRACE_STRING_MAX + 1];
    ssize_t n = mm_copy_string_in(t->mm, addr, buf, sizeof(buf));

    if (n == -ENAMETOOLONG)
        put_quoted(l, (unsigned char *)buf, STRACE_STRING_MAX, true);
    else if (n < 0)
        put(l, "%#lx", (unsigned long)addr);
    else
        put_quoted(l, (unsigned char *)buf, (size_t)n, false);
}

struct flag_name {
    unsigned long bit;
    const char *name;
};

static void put_flags(struct line *l, unsigned long v, const struct flag_name *names, size_t n,
                      const char *zero)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (v & names[i].bit) {
            put(l, "%s%s", any ? "|" : "", names[i].name);
            v &= ~names[i].bit;
            any = true;
        }
    }
    if (v)
        put(l, "%s%#lx", any ? "|" : "", v);
    else if (!any)
        put(l, "%s", zero);
}

static const struct flag_name prot_names[] = {
    {PROT_READ, "PROT_READ"}, {PROT_WRITE, "PROT_WRITE"}, {PROT_EXEC, "PROT_EXEC"}};

static const struct flag_name map_names[] = {
    {MAP_FIXED, "MAP_FIXED"},         {MAP_ANONYMOUS, "MAP_ANONYMOUS"},
    {MAP_32BIT, "MAP_32BIT"},         {MAP_GROWSDOWN, "MAP_GROWSDOWN"},
    {MAP_DENYWRITE, "MAP_DENYWRITE"}, {MAP_NORESERVE, "MAP_NORESERVE"},
    {MAP_POPULATE, "MAP_POPULATE"},   {MAP_STACK, "MAP_STACK"},
    {MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"}};

static const struct flag_name open_names[] = {
    {O_CREAT, "O_CREAT"},         {O_EXCL, "O_EXCL"},         {O_NOCTTY, "O_NOCTTY"},
    {O_TRUNC, "O_TRUNC"},         {O_APPEND, "O_APPEND"},     {O_NONBLOCK, "O_NONBLOCK"},
    {O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"}, {O_CLOEXEC, "O_CLOEXEC"},
    {O_PATH, "O_PATH"},           {O_NOATIME, "O_NOATIME"},   {O_DIRECT, "O_DIRECT"},
    {O_LARGEFILE, "O_LARGEFILE"}, {O_SYNC, "O_SYNC"},         {O_DSYNC, "O_DSYNC"}};

static void put_open_flags(struct line *l, unsigned long v)
{
    static const char *const modes[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
    put(l, "%s", modes[v & O_ACCMODE]);
    v &= ~(unsigned long)O_ACCMODE;
    if ((v & __O_TMPFILE) == __O_TMPFILE) {
        put(l, "|O_TMPFILE");
        v &= ~(unsigned long)__O_TMPFILE;
    }
    if (v) {
        put(l, "|");
        put_flags(l, v, open_names, sizeof(open_names) / sizeof(open_names[0]), "0");
    }
}

static void put_map_flags(struct line *l, unsigned long v)
{
    static const char *const types[] = {"0", "MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE"};
    unsigned long type = v & MAP_TYPE;

    put(l, "%s", type < 4 ? types[type] : "MAP_TYPE?");
    v &= ~(unsigned long)MAP_TYPE;
    if (v) {
        put(l, "|");
        put_flags(l, v, map_names, sizeof(map_names) / sizeof(map_names[0]), "0");
    }
}

static void put_arg(struct line *l, struct task *t, const char *kind, size_t kind_len,
                    const struct syscall_args *a, int i, long ret)
{
    uint64_t v = a->a[i];

#define IS(s) (kind_len == strlen(s) && memcmp(kind, s, kind_len) == 0)
    if (IS("d"))
        put(l, "%d", (int)v);
    else if (IS("u"))
        put(l, "%lu", (unsigned long)v);
    else if (IS("o"))
        put(l, "%#lo", (unsigned long)v);
    else if (IS("p"))
        v ? put(l, "%#lx", (unsigned long)v) : put(l, "NULL");
    else if (IS("s"))
        put_string(l, t, v);
    else if (IS("sig"))
        sigabbrev_np((int)v) ? put(l, "SIG%s", sigabbrev_np((int)v)) : put(l, "%d", (int)v);
    else if (IS("prot"))
        put_flags(l, v, prot_names, sizeof(prot_names) / sizeof(prot_names[0]), "PROT_NONE");
    else if (IS("map"))
        put_map_flags(l, v);
    else if (IS("atfd"))
        (int)v == AT_FDCWD ? put(l, "AT_FDCWD") : put(l, "%d", (int)v);
    else if (IS("openflags"))
        put_open_flags(l, v);
    else if (IS("out"))
        ret >= 0 ? put_buffer(l, t, v, (uint64_t)ret) : put(l, "%#lx", (unsigned long)v);
    else if (kind_len == 3 && memcmp(kind, "in", 2) == 0 && kind[2] >= '0' && kind[2] <= '5')
        put_buffer(l, t, v, a->a[kind[2] - '0']);
    else
        put(l, "%#lx", (unsigned long)v);
#undef IS
}

void strace_syscall(struct task *t, unsigned nr, const struct syscall_entry *e,
                    const struct syscall_args *args, long ret)
{
    struct line l = {.len = 0};
    const char *fmt = e && e->format ? e->format : NULL;
    bool hex_result = false;

    if (t->tid != 1)
        put(&l, "[pid %d] ", t->tid);
    if (e && e->name)
        put(&l, "%s(", e->name);
    else
        put(&l, "syscall_%#x(", nr);
    if (fmt) {
        const char *p = fmt;
        for (int i = 0; i < 6 && *p && *p != '='; i++) {
            size_t n = strcspn(p, ",=");
            put(&l, "%s", i ? ", " : "");
            put_arg(&l, t, p, n, args, i, ret);
            p += n;
            if (*p == ',')
                p++;
        }
        hex_result = strstr(fmt, "=x") != NULL;
    } else {
        /* Unknown arguments: show them all raw, as strace does for syscalls it doesn't know. */
        for (int i = 0; i < 6; i++)
            put(&l, "%s%#lx", i ? ", " : "", (unsigned long)args->a[i]);
    }
    if (t->exiting)
        put(&l, ") = ?\n");
    else if (ret == SYSCALL_KEEP_REGS)
        put(&l, ") = %ld\n", (long)arch_regs_syscall_return(&t->regs));
    else if (ret < 0 && ret >= -4095)
        put(&l, ") = -1 %s (%s)\n", strerrorname_np((int)-ret) ? strerrorname_np((int)-ret) : "E?",
            strerror((int)-ret));
    else if (hex_result)
        put(&l, ") = %#lx\n", (unsigned long)ret);
    else
        put(&l, ") = %ld\n", ret);
    log_write_raw(l.buf, (int)l.len);
}
