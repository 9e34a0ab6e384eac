/* Errors of the OCI commands, as runc reports them: logrus lines (text or JSON) to --log, or to
 * stderr without it. Podman reads the last JSON line of --log for the message it shows. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runsc/oci_cli.h"

/* Set once by oci_log_setup, before any command runs; the CLI is single-threaded. */
static const char *log_path;
static bool log_json;
static bool log_debug;

void oci_log_setup(const struct global_flags *g)
{
    log_path = g->log;
    log_json = g->log_json;
    log_debug = g->debug;
}

void oci_time_rfc3339nano(const struct timespec *ts, char *buf, size_t size)
{
    struct tm tm;
    char frac[16] = "";

    gmtime_r(&ts->tv_sec, &tm);
    if (ts->tv_nsec) {
        snprintf(frac, sizeof(frac), ".%09ld", ts->tv_nsec);
        size_t n = strlen(frac);
        while (n > 1 && frac[n - 1] == '0')
            frac[--n] = '\0';
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* logrus's text formatter quotes a value with Go's %q: backslash escapes for quotes, backslashes
 * and control characters. */
static size_t quote_text(char *buf, size_t size, const char *s)
{
    size_t n = 0;

#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 < size)                                                                          \
            buf[n] = (c);                                                                          \
        n++;                                                                                       \
    } while (0)
    PUT('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            PUT('\\');
            PUT((char)c);
        } else if (c == '\n') {
            PUT('\\');
            PUT('n');
        } else if (c == '\t') {
            PUT('\\');
            PUT('t');
        } else if (c < 0x20) {
            char hex[8];
            snprintf(hex, sizeof(hex), "\\x%02x", c);
            for (char *h = hex; *h; h++)
                PUT(*h);
        } else {
            PUT((char)c);
        }
    }
    PUT('"');
#undef PUT
    if (size)
        buf[n < size ? n : size - 1] = '\0';
    return n < size ? n : (size ? size - 1 : 0);
}

size_t oci_log_format(char *buf, size_t size, bool json, const char *level, const char *msg,
                      time_t when)
{
    struct tm tm;
    char t[32];

    gmtime_r(&when, &tm);
    strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (json) {
        /* The keys in runc's order (logrus sorts them). */
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "level", json_object_new_string(level));
        json_object_object_add(o, "msg", json_object_new_string(msg));
        json_object_object_add(o, "time", json_object_new_string(t));
        int n = snprintf(buf, size, "%s",
                         json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return n < 0 ? 0 : ((size_t)n < size ? (size_t)n : size - 1);
    }
    int n = snprintf(buf, size, "time=\"%s\" level=%s msg=", t, level);
    if (n < 0 || (size_t)n >= size)
        return size ? size - 1 : 0;
    return (size_t)n + quote_text(buf + n, size - (size_t)n, msg);
}

static void write_line(int fd, const char *line, size_t len)
{
    char nl = '\n';
    struct iovec iov[2] = {{(void *)line, len}, {&nl, 1}};
    /* One writev so concurrent writers to an O_APPEND log never interleave within a line. */
    if (writev(fd, iov, 2) < 0) {
        /* Nowhere left to report it. */
    }
}

static void log_line(const char *level, const char *msg, bool also_stderr)
{
    char line[8192];
    size_t len = oci_log_format(line, sizeof(line), log_json, level, msg, time(NULL));

    if (log_path) {
        int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            write_line(fd, line, len);
            close(fd);
        }
        if (also_stderr)
            dprintf(STDERR_FILENO, "%s\n", msg);
        return;
    }
    write_line(STDERR_FILENO, line, len);
}

void oci_errorf(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_line("error", msg, true);
}

void oci_debugf(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;

    if (!log_debug)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_line("debug", msg, false);
}
