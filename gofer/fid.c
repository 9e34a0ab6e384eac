/* The gofer's fid table (a bounded hash of client-chosen 32-bit ids) and the helpers every
 * handler shares: qids, stat of an O_PATH fd, name checks. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gofer/internal.h"

static uint32_t fid_bucket(uint32_t id)
{
    /* Fibonacci hashing: clients number fids densely from 0, which this spreads evenly. */
    return (uint32_t)(id * 2654435761u) % GOFER_FID_BUCKETS;
}

struct gofer_fid *gofer_fid_lookup(struct gofer *g, uint32_t id)
{
    for (struct gofer_fid *f = g->fids[fid_bucket(id)]; f; f = f->next) {
        if (f->id == id)
            return f;
    }
    return NULL;
}

int gofer_fid_insert(struct gofer *g, uint32_t id, int path_fd, mode_t type, struct gofer_fid **out)
{
    /* P9_NOFID means "no fid" on the wire, so it can never name one. */
    if (id == P9_NOFID || gofer_fid_lookup(g, id))
        return -EBADF;
    if (g->nfids >= GOFER_MAX_FIDS)
        return -EMFILE;
    struct gofer_fid *fid = calloc(1, sizeof(*fid));
    if (!fid)
        return -ENOMEM;
    fid->id = id;
    fid->path_fd = path_fd;
    fid->open_fd = -1;
    fid->type = type & S_IFMT;
    uint32_t b = fid_bucket(id);
    fid->next = g->fids[b];
    g->fids[b] = fid;
    g->nfids++;
    if (out)
        *out = fid;
    return 0;
}

/* Closes a fid's fds and frees it; it must be out of the table already. */
static void fid_free(struct gofer *g, struct gofer_fid *fid)
{
    if (fid->open_fd >= 0)
        close(fid->open_fd);
    if (fid->path_fd >= 0)
        close(fid->path_fd);
    free(fid);
    g->nfids--;
}

void gofer_fid_remove(struct gofer *g, struct gofer_fid *fid)
{
    struct gofer_fid **link = &g->fids[fid_bucket(fid->id)];

    while (*link && *link != fid)
        link = &(*link)->next;
    if (*link)
        *link = fid->next;
    fid_free(g, fid);
}

void gofer_fid_remove_all(struct gofer *g)
{
    for (uint32_t b = 0; b < GOFER_FID_BUCKETS; b++) {
        struct gofer_fid *fid = g->fids[b];
        g->fids[b] = NULL;
        while (fid) {
            struct gofer_fid *next = fid->next;
            fid_free(g, fid);
            fid = next;
        }
    }
}

/* The index of st_dev in the server's device table, so files on different filesystems under the
 * root get different qid paths. Past GOFER_MAX_DEVICES the last index is shared. */
static uint64_t device_index(struct gofer *g, dev_t dev)
{
    for (uint32_t i = 0; i < g->ndevices; i++) {
        if (g->devices[i] == dev)
            return i;
    }
    if (g->ndevices < GOFER_MAX_DEVICES) {
        g->devices[g->ndevices] = dev;
        return g->ndevices++;
    }
    return GOFER_MAX_DEVICES - 1;
}

struct p9_qid gofer_qid_from_stat(struct gofer *g, const struct stat *st)
{
    struct p9_qid qid = {.type = P9_QTFILE, .version = 0};

    if (S_ISDIR(st->st_mode))
        qid.type = P9_QTDIR;
    else if (S_ISLNK(st->st_mode))
        qid.type = P9_QTSYMLINK;
    qid.path = device_index(g, st->st_dev) << 56 | ((uint64_t)st->st_ino & ((1ULL << 56) - 1));
    return qid;
}

int gofer_stat_fd(int fd, struct stat *st)
{
    return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

int gofer_name_copy(const struct p9_str *name, char *buf)
{
    if (!p9_name_is_valid(name->ptr, name->len))
        return -EINVAL;
    memcpy(buf, name->ptr, name->len);
    buf[name->len] = '\0';
    return 0;
}

void gofer_fd_name(int fd, char buf[16])
{
    snprintf(buf, 16, "%d", fd);
}
