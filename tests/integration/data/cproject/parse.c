#include <stdlib.h>
#include "common.h"
long parse_long(const char *s)
{
    return strtol(s, NULL, 10);
}
