/* The sandbox's user namespace maps: building them as Linux checks a uid_map write, and
 * translating ids both ways. See userns.h. */
#include "sentry/userns/userns.h"

#include <errno.h>
#include <stdio.h>

/* [a, a + n) and [b, b + m) share an id. Counts are non-zero and ranges do not wrap. */
static bool ranges_overlap(uint64_t a, uint64_t n, uint64_t b, uint64_t m)
{
    return a < b + m && b < a + n;
}

int userns_map_add(struct userns_map *m, uint32_t first, uint32_t host_first, uint32_t count)
{
    /* Neither side may reach (uid_t)-1, which is never an id (Linux: first + count must not
     * wrap in 32 bits). */
    if (count == 0 || (uint64_t)first + count > UINT32_MAX ||
        (uint64_t)host_first + count > UINT32_MAX)
        return -EINVAL;
    for (size_t i = 0; i < m->n; i++) {
        const struct userns_extent *e = &m->extents[i];
        if (ranges_overlap(first, count, e->first, e->count) ||
            ranges_overlap(host_first, count, e->host_first, e->count))
            return -EINVAL;
    }
    if (m->n == USERNS_MAX_EXTENTS)
        return -ENOSPC;
    m->extents[m->n++] = (struct userns_extent){first, host_first, count};
    return 0;
}

uint32_t userns_to_host(const struct userns_map *m, uint32_t id)
{
    if (id == USERNS_INVALID_ID)
        return USERNS_INVALID_ID;
    if (m->n == 0)
        return id;
    for (size_t i = 0; i < m->n; i++) {
        const struct userns_extent *e = &m->extents[i];
        if (id >= e->first && id - e->first < e->count)
            return e->host_first + (id - e->first);
    }
    return USERNS_INVALID_ID;
}

uint32_t userns_from_host(const struct userns_map *m, uint32_t host_id)
{
    if (m->n == 0)
        return host_id;
    for (size_t i = 0; i < m->n; i++) {
        const struct userns_extent *e = &m->extents[i];
        if (host_id >= e->host_first && host_id - e->host_first < e->count)
            return e->first + (host_id - e->host_first);
    }
    return USERNS_OVERFLOW_ID;
}

bool userns_valid(const struct userns_map *m, uint32_t id)
{
    return userns_to_host(m, id) != USERNS_INVALID_ID;
}

size_t userns_map_format(const struct userns_map *m, char *buf, size_t size)
{
    size_t len = 0;

    if (m->n == 0)
        return (size_t)snprintf(buf, size, "%10u %10u %10u\n", 0u, 0u, UINT32_MAX);
    for (size_t i = 0; i < m->n; i++) {
        const struct userns_extent *e = &m->extents[i];
        int n = snprintf(len < size ? buf + len : NULL, len < size ? size - len : 0,
                         "%10u %10u %10u\n", e->first, e->host_first, e->count);
        len += (size_t)n;
    }
    return len;
}
