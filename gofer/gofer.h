/* The gofer (`runsc gofer`): a 9P2000.L server for one container's root tree. The sentry never
 * opens host files; it walks, stats and creates them through this server, which donates host fds
 * for regular files it opens (SCM_RIGHTS in the Rlopen/Rlcreate packet).
 *
 * Transport: an AF_UNIX SOCK_SEQPACKET socket, one 9P message per packet in each direction. The
 * server handles one request at a time, in order, and returns when the client hangs up.
 * Safety: every name is one component (p9_name_is_valid), every lookup is relative to a held
 * directory fd with O_NOFOLLOW, and no request can name anything outside the served root.
 * A server is single-threaded: nothing in it is locked, and it must be used by one thread. */
#ifndef RUNSC_GOFER_GOFER_H
#define RUNSC_GOFER_GOFER_H

#include <stdbool.h>
#include <stddef.h>

/* The largest msize the server agrees to in Rversion. */
#define GOFER_MAX_MSIZE 131072u
/* How many fids a client may hold at once; one more is EMFILE. */
#define GOFER_MAX_FIDS 65536u

struct gofer;

/* A tree served besides the root (a container's bind mount): Tattach with aname "mount<i>"
 * (GOFER_TREE_ANAME, i counting from 0 in the config's order) attaches to trees[i]. Its root may
 * be a directory or a single file (a file bind mount: nothing beside it is reachable). */
struct gofer_tree {
    int fd;        /* an O_PATH fd of the tree's root, opened before confinement */
    bool readonly; /* every mutating request on its fids fails EROFS */
};
#define GOFER_TREE_ANAME "mount%u"

struct gofer_config {
    int root_fd;     /* owned by the server: an O_PATH (or O_RDONLY) fd of the served dir */
    int proc_fd_dir; /* owned by the server: this process's /proc/self/fd, to reopen O_PATH fds */
    bool readonly;   /* every mutating request in the root tree fails EROFS */
    const struct gofer_tree *trees; /* the extra trees (the server copies the array and owns
                                     * their fds, even on failure); NULL when ntrees is 0 */
    unsigned ntrees;
};

/* Makes a server over cfg's root. Takes ownership of cfg's fds, even on failure. Sets the
 * process umask to 0: modes from the client are applied as given (the sentry applies the guest's
 * umask). Returns 0 or -errno. */
int gofer_create(const struct gofer_config *cfg, struct gofer **out);

/* Serves requests from sock_fd (which stays the caller's) until the client hangs up; returns 0
 * then, or -errno when the socket fails. Malformed requests are answered (Rlerror EBADMSG), not
 * fatal. An empty packet reads as a hang-up: SOCK_SEQPACKET can't tell the two apart. */
int gofer_serve(struct gofer *g, int sock_fd);

/* Closes every fid and the server's fds and frees it. */
void gofer_destroy(struct gofer *g);

/* Confinement, run before gofer_create in the `runsc gofer` process, in this order: opens `root`
 * and /proc/self/fd; enters a new mount namespace (and a user namespace mapping the caller to root
 * when not root); binds the root onto itself and pivot_roots into it (read-only if `readonly`);
 * keeps only the capabilities serving needs; sets no_new_privs. On success *root_fd (the new
 * "/") and *proc_fd_dir are the caller's. On failure returns -errno with the failed step in
 * why[0, why_size). */
int gofer_confine(const char *root, bool readonly, int *root_fd, int *proc_fd_dir, char *why,
                  size_t why_size);

/* Installs the seccomp allow-list of the host syscalls the server makes; anything else kills the
 * process (SIGSYS), so a violation is visible. Returns 0 or -errno. */
int gofer_install_seccomp(void);

#endif
