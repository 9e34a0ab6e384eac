/* A sorted vector of non-overlapping ranges (see rangevec.h). */
#include "sentry/mm/rangevec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rangevec_init(struct rangevec *rv, size_t elem_size)
{
    rv->items = NULL;
    rv->elem_size = elem_size;
    rv->len = 0;
    rv->cap = 0;
}

void rangevec_free(struct rangevec *rv)
{
    free(rv->items);
    rv->items = NULL;
    rv->len = rv->cap = 0;
}

size_t rangevec_lower_bound(const struct rangevec *rv, uint64_t addr)
{
    size_t lo = 0, hi = rv->len;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rangevec_at(rv, mid)->end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct range *rangevec_find(const struct rangevec *rv, uint64_t addr)
{
    size_t i = rangevec_lower_bound(rv, addr);

    if (i < rv->len && rangevec_at(rv, i)->start <= addr)
        return rangevec_at(rv, i);
    return NULL;
}

int rangevec_reserve(struct rangevec *rv, size_t len)
{
    if (rv->len + len <= rv->cap)
        return 0;
    size_t cap = rv->cap ? rv->cap * 2 : 16;
    while (cap < rv->len + len)
        cap *= 2;
    char *items = realloc(rv->items, cap * rv->elem_size);
    if (!items)
        return -ENOMEM;
    rv->items = items;
    rv->cap = cap;
    return 0;
}

int rangevec_insert(struct rangevec *rv, size_t i, const void *elem)
{
    if (rangevec_reserve(rv, 1) != 0)
        return -ENOMEM;
    char *at = rv->items + i * rv->elem_size;
    memmove(at + rv->elem_size, at, (rv->len - i) * rv->elem_size);
    memcpy(at, elem, rv->elem_size);
    rv->len++;
    return 0;
}

void rangevec_remove(struct rangevec *rv, size_t i, size_t n)
{
    char *at = rv->items + i * rv->elem_size;
    memmove(at, at + n * rv->elem_size, (rv->len - i - n) * rv->elem_size);
    rv->len -= n;
}
