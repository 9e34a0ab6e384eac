/* Files backed by host fds donated to the sandbox (the container's stdio, the executable). The
 * sentry reads, writes and stats them itself; ioctls are limited to the terminal requests a guest
 * needs, with arguments copied through the mm. */
#ifndef RUNSC_SENTRY_FS_HOST_HOST_H
#define RUNSC_SENTRY_FS_HOST_HOST_H

#include "sentry/mm/mm.h"
#include "sentry/vfs/vfs.h"

/* Wraps `fd` (ownership passes to the file) as an open file. Returns NULL on allocation failure. */
struct file *host_file_create(int fd, int status_flags);

/* A read-only host fd as a mappable for private file mappings (the executable until the gofer
 * serves files). Ownership of `fd` passes to it; the caller holds the first reference. */
struct mappable *host_mappable_create(int fd);
/* Reads from a host mappable, for the ELF parser. */
ssize_t host_mappable_pread(struct mappable *m, void *buf, size_t len, uint64_t off);
uint64_t host_mappable_size(struct mappable *m);
/* Names the file as /proc/PID/maps shows it (the guest's path); call before mapping it. */
void host_mappable_set_name(struct mappable *m, const char *path);

#endif
