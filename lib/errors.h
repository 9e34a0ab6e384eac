/* Error text for messages runsc prints: lower case, as runc's and gVisor's (Go's) read. */
#ifndef RUNSC_LIB_ERRORS_H
#define RUNSC_LIB_ERRORS_H

#include <stddef.h>

/* Writes strerror(err) with its first letter in lower case ("permission denied") into buf and
 * returns buf. */
const char *errno_text(int err, char *buf, size_t size);

#endif
