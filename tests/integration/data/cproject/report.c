#include <stdio.h>
#include "common.h"
void report(const char *what, long value)
{
    printf("%s: %ld\n", what, value);
}
