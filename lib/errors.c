/* Error text in the style of Go's errors. */
#include "lib/errors.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const char *errno_text(int err, char *buf, size_t size)
{
    snprintf(buf, size, "%s", strerror(err));
    if (size > 0)
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}
