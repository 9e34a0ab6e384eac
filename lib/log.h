/* Logging for every runsc process: one destination fd, a level, and a per-process tag. */
#ifndef RUNSC_LIB_LOG_H
#define RUNSC_LIB_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/* Sets where log lines go (an fd the process owns), the most verbose level shown, and the tag
 * that starts every line ("runsc", "boot", ...). Before this call, errors go to stderr. */
void log_init(int fd, enum log_level level, const char *tag);
int log_get_fd(void);
bool log_enabled(enum log_level level);

void log_printf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes `len` bytes as one line to the log fd, unformatted (for strace output). */
void log_write_raw(const char *buf, int len);

#define log_error(...) log_printf(LOG_ERROR, __VA_ARGS__)
#define log_warning(...) log_printf(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_printf(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG))                                                                \
            log_printf(LOG_DEBUG, __VA_ARGS__);                                                    \
    } while (0)

#endif
