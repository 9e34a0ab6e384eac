/* The sandbox's user namespace: how the guest's user and group ids map onto the ids the host
 * (the gofer's files) uses, from OCI linux.uidMappings/gidMappings (user_namespaces(7)). With no
 * mapping, ids are the host's (the identity map, as for a process in the initial namespace).
 *
 * Files served by the gofer keep host ids; the sentry presents them through the map (a host id
 * outside it shows as the overflow id, 65534) and creates and chowns with ids mapped back. A
 * guest id outside the map cannot be given to anything (EINVAL), as Linux's make_kuid refuses.
 * Plain values: a map is copied into whoever needs it and saved as it is. */
#ifndef RUNSC_SENTRY_USERNS_USERNS_H
#define RUNSC_SENTRY_USERNS_USERNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Linux's limit for a map written in one go without an extended table (UID_GID_MAP_MAX_BASE_EXTENTS
 * is 5; the extended limit is 340, more than any engine writes). */
#define USERNS_MAX_EXTENTS 340
/* What an id outside the map reads as (/proc/sys/kernel/overflowuid, overflowgid). */
#define USERNS_OVERFLOW_ID 65534u
/* No id: the result of mapping an id the map does not cover. */
#define USERNS_INVALID_ID UINT32_MAX

struct userns_extent {
    uint32_t first;      /* the guest's first id */
    uint32_t host_first; /* the id it is on the host */
    uint32_t count;
};

struct userns_map {
    size_t n; /* 0: the identity map */
    struct userns_extent extents[USERNS_MAX_EXTENTS];
};

/* Adds an extent, checked as Linux checks a uid_map write: a non-zero count, no wrap past
 * 2^32 on either side, no overlap with an extent already there on either side. 0, -EINVAL
 * (overlap, wrap, zero count) or -ENOSPC (too many extents). */
int userns_map_add(struct userns_map *m, uint32_t first, uint32_t host_first, uint32_t count);

/* A guest id to the host's; USERNS_INVALID_ID if the map does not cover it. */
uint32_t userns_to_host(const struct userns_map *m, uint32_t id);

/* A host id to the guest's; USERNS_OVERFLOW_ID if no extent covers it. */
uint32_t userns_from_host(const struct userns_map *m, uint32_t host_id);

/* Whether the guest id has a host id (USERNS_INVALID_ID, (uid_t)-1, never has). */
bool userns_valid(const struct userns_map *m, uint32_t id);

/* The map as /proc/<pid>/uid_map prints it: "%10u %10u %10u\n" per extent; the identity map
 * is "0 0 4294967295". Returns the length written (snprintf's rule: the length it needed). */
size_t userns_map_format(const struct userns_map *m, char *buf, size_t size);

#endif
