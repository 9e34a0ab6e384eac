#include <stdlib.h>
#include "common.h"
static int cmp(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}
void sort_longs(long *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp);
}
