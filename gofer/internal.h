/* Private to gofer/: the server's state, the fid table and the request handlers. Single-threaded
 * (see gofer.h): no field here is locked. */
#ifndef RUNSC_GOFER_INTERNAL_H
#define RUNSC_GOFER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "gofer/gofer.h"
#include "lib/p9/p9.h"

#define GOFER_FID_BUCKETS 4096u
/* Distinct st_dev values qids tell apart (the device index goes in the top byte of qid.path). */
#define GOFER_MAX_DEVICES 256u

/* One client fid. */
struct gofer_fid {
    uint32_t id;
    int path_fd;    /* owned: names the file; O_PATH|O_NOFOLLOW from a walk, or after Tlcreate a
                     * dup of the open fd */
    int open_fd;    /* owned: -1 until Tlopen/Tlcreate; then the gofer's copy of the open file */
    mode_t type;    /* S_IFMT bits of the file when the fid was made */
    bool opened;    /* Tlopen/Tlcreate done (open_fd may stay -1 for special files) */
    int open_flags; /* O_ACCMODE | O_APPEND bits it was opened with */
    bool readonly;  /* in a read-only tree: every change fails EROFS */
    struct gofer_fid *next; /* the hash chain */
};

struct gofer {
    int root_fd;     /* owned */
    int proc_fd_dir; /* owned: /proc/self/fd of this process */
    bool readonly;   /* the root tree's */
    struct gofer_tree *trees; /* owned, with each tree's fd: the extra trees (gofer.h) */
    unsigned ntrees;
    bool versioned; /* a Tversion was answered: other requests are accepted */
    uint32_t msize; /* negotiated in Tversion */
    uint32_t nfids;
    struct gofer_fid *fids[GOFER_FID_BUCKETS];
    dev_t devices[GOFER_MAX_DEVICES];
    uint32_t ndevices;
    uint8_t *request; /* GOFER_MAX_MSIZE + 1 bytes: one received packet */
    uint8_t *reply;   /* GOFER_MAX_MSIZE bytes: the encoded reply */
    uint8_t *scratch; /* GOFER_MAX_MSIZE bytes: Rread/Rreaddir/Rreadlink payloads */
    uint8_t *dirents; /* GOFER_MAX_MSIZE bytes: getdents64 records for Treaddir */
};

/* fid.c: the fid table. */
struct gofer_fid *gofer_fid_lookup(struct gofer *g, uint32_t id);
/* Adds fid `id` (which must be free: -EBADF otherwise; -EMFILE past GOFER_MAX_FIDS) holding
 * path_fd, whose ownership passes to the table on success only. */
int gofer_fid_insert(struct gofer *g, uint32_t id, int path_fd, mode_t type,
                     struct gofer_fid **out);
void gofer_fid_remove(struct gofer *g, struct gofer_fid *fid);
void gofer_fid_remove_all(struct gofer *g);
/* A qid for a file from its stat. */
struct p9_qid gofer_qid_from_stat(struct gofer *g, const struct stat *st);
/* fstatat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW): 0 or -errno. */
int gofer_stat_fd(int fd, struct stat *st);
/* Copies a wire name into buf (NAME_MAX + 1 bytes) as a C string after p9_name_is_valid: 0, or
 * -EINVAL for a name that is not exactly one component. */
int gofer_name_copy(const struct p9_str *name, char *buf);
/* Formats fd as the name of its entry in /proc/self/fd. */
void gofer_fd_name(int fd, char buf[16]);

/* Request handlers: each fills *reply (type and body) and returns 0, or returns -errno for an
 * Rlerror. A handler that donates an fd sets *donate_fd; the server sends and then closes it. */
typedef int (*gofer_handler)(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply,
                             int *donate_fd);

/* walk.c */
int gofer_handle_walk(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_getattr(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_setattr(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_statfs(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_readlink(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply,
                          int *dfd);

/* io.c */
int gofer_handle_lopen(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_lcreate(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_read(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_write(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_readdir(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_fsync(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);

/* create.c */
int gofer_handle_mkdir(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_symlink(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_mknod(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_link(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply, int *dfd);
int gofer_handle_renameat(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply,
                          int *dfd);
int gofer_handle_unlinkat(struct gofer *g, const struct p9_msg *req, struct p9_msg *reply,
                          int *dfd);

#endif
