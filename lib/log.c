/* Logging: formats a whole line in a stack buffer and writes it with one write(2), so lines from
 * concurrent threads never interleave. No allocation: the sentry logs from any context. */
#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static enum log_level log_level = LOG_WARNING;
static char log_tag[16] = "runsc";

void log_init(int fd, enum log_level level, const char *tag)
{
    log_fd = fd;
    log_level = level;
    snprintf(log_tag, sizeof(log_tag), "%s", tag);
}

int log_get_fd(void)
{
    return log_fd;
}

bool log_enabled(enum log_level level)
{
    return level <= log_level;
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

void log_printf(enum log_level level, const char *fmt, ...)
{
    static const char letters[] = "EWID";
    char line[1024];
    int saved_errno = errno;

    if (!log_enabled(level))
        return;
    int n;
    if (log_level >= LOG_DEBUG) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        n = snprintf(line, sizeof(line), "%c %ld.%06ld %s[%ld]: ", letters[level], (long)ts.tv_sec,
                     ts.tv_nsec / 1000, log_tag, (long)syscall(SYS_gettid));
    } else {
        n = snprintf(line, sizeof(line), "%s: ", log_tag);
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    write_all(log_fd, line, len);
    errno = saved_errno;
}

void log_write_raw(const char *buf, int len)
{
    if (len > 0)
        write_all(log_fd, buf, (size_t)len);
}
