/* Unix sockets' life and names: allocation and release, the receive queue, binding to a socket
 * file or an abstract name, and finding the socket a name stands for (Linux's net/unix/af_unix.c
 * is the model for every errno and ordering here). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "sentry/socket/unix/unix_internal.h"

pthread_mutex_t unix_lock = PTHREAD_MUTEX_INITIALIZER;

/* The name table: every socket bound to a file or an abstract name, under unix_lock. */
static struct unix_sock *unix_table;

struct unix_sock *unix_sock_alloc(int type)
{
    struct unix_sock *u = calloc(1, sizeof(*u));

    if (!u)
        return NULL;
    atomic_init(&u->refs, 1);
    u->type = type;
    u->state = UNIX_CLOSE;
    u->sndbuf = u->rcvbuf = UNIX_BUF_DEFAULT;
    u->max_backlog = UNIX_DGRAM_QLEN;
    u->rcvlowat = 1;
    u->rcvtimeo = u->sndtimeo = SOCKET_TIMEOUT_NONE;
    waitqueue_init(&u->wq);
    return u;
}

void unix_sock_get(struct unix_sock *u)
{
    /* Relaxed: a new reference needs no ordering, only the last put does. */
    atomic_fetch_add_explicit(&u->refs, 1, memory_order_relaxed);
}

void unix_sock_put(struct unix_sock *u)
{
    /* Acq-rel: the last put sees every holder's writes before freeing. */
    if (!u || atomic_fetch_sub_explicit(&u->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* Only released sockets reach here: release emptied the queue and the name table. */
    waitqueue_destroy(&u->wq);
    free(u);
}

struct ucred unix_task_peercred(struct task *t)
{
    return (struct ucred){.pid = t->tg->tgid, .uid = t->creds.euid, .gid = t->creds.egid};
}

struct ucred unix_task_creds(struct task *t)
{
    /* current_uid_gid(): the real ids, as unix_maybe_add_creds records them. */
    return (struct ucred){.pid = t->tg->tgid, .uid = t->creds.ruid, .gid = t->creds.rgid};
}

bool unix_nonblocking(struct unix_sock *u)
{
    return u->sock &&
           (atomic_load_explicit(&u->sock->file.status_flags, memory_order_relaxed) & O_NONBLOCK);
}

int unix_wait_locked(struct task *t, struct waitqueue *q, const struct timespec *deadline)
{
    struct waiter w;

    waitqueue_add(q, &w, t);
    pthread_mutex_unlock(&unix_lock);
    int err = task_block(t, deadline);
    waitqueue_remove(q, &w);
    pthread_mutex_lock(&unix_lock);
    if (err == -EINTR)
        return deadline ? -EINTR : -ERESTARTSYS; /* sock_intr_errno() */
    return err == -ETIMEDOUT ? -EAGAIN : 0;
}

int unix_take_error(struct unix_sock *u)
{
    int err = u->err;
    u->err = 0;
    return -err;
}

/* ---- the receive queue ---- */

void unix_queue_append(struct unix_sock *u, struct unix_msg *m)
{
    m->next = NULL;
    if (u->rq_tail)
        u->rq_tail->next = m;
    else
        u->rq_head = m;
    u->rq_tail = m;
    u->rq_len++;
    u->rq_bytes += m->len;
}

struct unix_msg *unix_queue_pop(struct unix_sock *u)
{
    struct unix_msg *m = u->rq_head;

    if (!m)
        return NULL;
    u->rq_head = m->next;
    if (!u->rq_head)
        u->rq_tail = NULL;
    m->next = NULL;
    u->rq_len--;
    u->rq_bytes -= m->len - m->consumed;
    if (m->sender) {
        m->sender->wmem -= m->charge;
        m->charge = 0;
        waitqueue_wake_all(&m->sender->wq);
    }
    /* Connectors and dgram senders waiting for room here, and pollers of that room. */
    waitqueue_wake_all(&u->wq);
    unix_peer_wake_all(u);
    return m;
}

void unix_msg_destroy_list(struct unix_msg *m)
{
    while (m) {
        struct unix_msg *next = m->next;
        for (size_t i = 0; i < m->nfiles; i++)
            file_put(m->files[i]);
        free(m->files);
        unix_sock_put(m->sender);
        free(m);
        m = next;
    }
}

void unix_peer_wake_all(struct unix_sock *u)
{
    while (u->peer_wake_head) {
        struct unix_sock *w = u->peer_wake_head;
        u->peer_wake_head = w->peer_wake_next;
        w->peer_wake_next = NULL;
        w->peer_wake_target = NULL;
        waitqueue_wake_all(&w->wq);
    }
}

void unix_peer_wake_disconnect(struct unix_sock *u)
{
    struct unix_sock *target = u->peer_wake_target;

    if (!target)
        return;
    for (struct unix_sock **p = &target->peer_wake_head; *p; p = &(*p)->peer_wake_next) {
        if (*p == u) {
            *p = u->peer_wake_next;
            break;
        }
    }
    u->peer_wake_next = NULL;
    u->peer_wake_target = NULL;
}

void unix_dgram_disconnected(struct unix_sock *u, struct unix_sock *old_peer,
                             struct unix_msg **dead)
{
    if (!u->rq_head)
        return;
    while (u->rq_head) {
        struct unix_msg *m = unix_queue_pop(u);
        m->next = *dead;
        *dead = m;
    }
    /* One end of a bidirectional dgram pair going away is an error for the other. */
    if (!old_peer->dead && old_peer->peer == u) {
        old_peer->err = ECONNRESET;
        waitqueue_wake_all(&old_peer->wq);
    }
}

/* ---- release ---- */

void unix_release_sock(struct unix_sock *u, bool embryo)
{
    struct unix_msg *queue;
    struct vfs_path path;

    pthread_mutex_lock(&unix_lock);
    if (u->listed) {
        for (struct unix_sock **p = &unix_table; *p; p = &(*p)->table_next) {
            if (*p == u) {
                *p = u->table_next;
                break;
            }
        }
        u->listed = false;
    }
    u->sock = NULL;
    u->dead = true;
    u->shutdown = UNIX_SHUTDOWN_MASK;
    path = u->path;
    u->path = (struct vfs_path){NULL, NULL};
    u->state = UNIX_CLOSE;
    struct unix_sock *pair = u->peer;
    u->peer = NULL;
    if (pair && (u->type == SOCK_STREAM || u->type == SOCK_SEQPACKET)) {
        pair->shutdown = UNIX_SHUTDOWN_MASK;
        if (u->rq_head || embryo)
            pair->err = ECONNRESET;
        waitqueue_wake_all(&pair->wq);
    }
    unix_peer_wake_disconnect(u);
    unix_peer_wake_all(u);
    queue = u->rq_head;
    for (struct unix_msg *m = queue; m; m = m->next) {
        if (m->sender) {
            m->sender->wmem -= m->charge;
            m->charge = 0;
            waitqueue_wake_all(&m->sender->wq);
        }
    }
    u->rq_head = u->rq_tail = NULL;
    u->rq_len = u->rq_bytes = 0;
    waitqueue_wake_all(&u->wq);
    pthread_mutex_unlock(&unix_lock);

    for (struct unix_msg *m = queue; m; m = m->next) {
        if (m->embryo) {
            unix_release_sock(m->embryo, true);
            m->embryo = NULL;
        }
    }
    unix_msg_destroy_list(queue);
    unix_sock_put(pair);
    vfs_path_put(&path);
    unix_sock_put(u);
}

static void unix_release(struct socket *s)
{
    unix_release_sock(unix_sk(s), false);
}

/* ---- names ---- */

int unix_validate_addr(const struct sockaddr_storage *addr, size_t len)
{
    if (len <= offsetof(struct sockaddr_un, sun_path) || len > sizeof(struct sockaddr_un))
        return -EINVAL;
    if (addr->ss_family != AF_UNIX)
        return -EINVAL;
    return 0;
}

/* unix_mkname_bsd(): the path ends at its first NUL or at `len`; the name's length counts
 * the NUL (111 for a full 108-byte path, as Linux reports it). */
static size_t unix_mkname_bsd(const struct sockaddr_storage *addr, size_t len, char *path)
{
    const struct sockaddr_un *sun = (const struct sockaddr_un *)addr;
    size_t max = len - offsetof(struct sockaddr_un, sun_path);
    size_t n = strnlen(sun->sun_path, max);

    memcpy(path, sun->sun_path, n);
    path[n] = '\0';
    return offsetof(struct sockaddr_un, sun_path) + n + 1;
}

static struct unix_sock *unix_find_abstract_locked(const void *name, size_t len, int type)
{
    for (struct unix_sock *u = unix_table; u; u = u->table_next) {
        if (!u->bound_sb && u->type == type && u->addrlen == len &&
            memcmp(&u->addr, name, len) == 0)
            return u;
    }
    return NULL;
}

static void unix_table_add(struct unix_sock *u)
{
    u->table_next = unix_table;
    unix_table = u;
    u->listed = true;
}

int unix_autobind_locked(struct unix_sock *u)
{
    struct sockaddr_storage name;
    uint32_t order;

    if (u->has_addr)
        return 0;
    if (getrandom(&order, sizeof(order), 0) != sizeof(order))
        order = (uint32_t)(uintptr_t)u;
    uint32_t last = order & 0xfffff;
    size_t len = offsetof(struct sockaddr_un, sun_path) + 6;
    for (;;) {
        order = (order + 1) & 0xfffff;
        memset(&name, 0, sizeof(name));
        name.ss_family = AF_UNIX;
        char *path = ((struct sockaddr_un *)&name)->sun_path;
        snprintf(path + 1, 6, "%05x", (unsigned)order);
        if (!unix_find_abstract_locked(&name, len, u->type))
            break;
        if (order == last)
            return -ENOSPC; /* every name is taken */
    }
    u->addr = name;
    u->addrlen = len;
    u->has_addr = true;
    unix_table_add(u);
    return 0;
}

/* A walk context for the task: its cwd, its credentials. */
struct unix_walk {
    struct vfs_cred cred;
    struct walk_ctx ctx;
};

static void unix_walk_begin(struct task *t, struct unix_walk *w)
{
    memset(w, 0, sizeof(*w)); /* no resolve restrictions, and nothing left uninitialised */
    creds_vfs_cred(&t->creds, &w->cred);
    w->ctx.fs = t->fs;
    w->ctx.cred = &w->cred;
    pthread_mutex_lock(&t->fs->lock);
    w->ctx.start = t->fs->cwd;
    vfs_path_get(&w->ctx.start);
    pthread_mutex_unlock(&t->fs->lock);
}

static void unix_walk_end(struct unix_walk *w)
{
    vfs_path_put(&w->ctx.start);
}

static int unix_bind_bsd(struct unix_sock *u, struct task *t, const struct sockaddr_storage *addr,
                         size_t len)
{
    char path[sizeof(struct sockaddr_un)];
    size_t addrlen = unix_mkname_bsd(addr, len, path);
    struct unix_walk w;
    struct vfs_path created;

    unix_walk_begin(t, &w);
    int err = vfs_mknod_path(&w.ctx, path, S_IFSOCK | 0777, 0, &created);
    if (err) {
        unix_walk_end(&w);
        return err == -EEXIST ? -EADDRINUSE : err;
    }
    pthread_mutex_lock(&unix_lock);
    if (u->has_addr) {
        pthread_mutex_unlock(&unix_lock);
        /* Already bound: the file made for nothing goes again. */
        vfs_unlink(&w.ctx, path);
        vfs_path_put(&created);
        unix_walk_end(&w);
        return -EINVAL;
    }
    memset(&u->addr, 0, sizeof(u->addr));
    u->addr.ss_family = AF_UNIX;
    memcpy(((struct sockaddr_un *)&u->addr)->sun_path, path, strlen(path));
    u->addrlen = addrlen;
    u->has_addr = true;
    u->path = created;
    u->bound_sb = created.dentry->inode->sb;
    u->bound_ino = created.dentry->inode->ino;
    unix_table_add(u);
    pthread_mutex_unlock(&unix_lock);
    unix_walk_end(&w);
    return 0;
}

static int unix_bind_abstract(struct unix_sock *u, const struct sockaddr_storage *addr, size_t len)
{
    int err = 0;

    pthread_mutex_lock(&unix_lock);
    if (u->has_addr)
        err = -EINVAL;
    else if (unix_find_abstract_locked(addr, len, u->type))
        err = -EADDRINUSE;
    if (!err) {
        memset(&u->addr, 0, sizeof(u->addr));
        memcpy(&u->addr, addr, len);
        u->addrlen = len;
        u->has_addr = true;
        unix_table_add(u);
    }
    pthread_mutex_unlock(&unix_lock);
    return err;
}

static int unix_bind(struct socket *s, struct task *t, const struct sockaddr_storage *addr,
                     size_t len)
{
    struct unix_sock *u = unix_sk(s);

    if (len == offsetof(struct sockaddr_un, sun_path) && addr->ss_family == AF_UNIX) {
        pthread_mutex_lock(&unix_lock);
        int err = unix_autobind_locked(u);
        pthread_mutex_unlock(&unix_lock);
        return err;
    }
    int err = unix_validate_addr(addr, len);
    if (err)
        return err;
    if (((const struct sockaddr_un *)addr)->sun_path[0])
        return unix_bind_bsd(u, t, addr, len);
    return unix_bind_abstract(u, addr, len);
}

int unix_find_other(struct task *t, const struct sockaddr_storage *addr, size_t len, int type,
                    struct unix_sock **out)
{
    struct unix_sock *found = NULL;

    if (((const struct sockaddr_un *)addr)->sun_path[0] == '\0') {
        pthread_mutex_lock(&unix_lock);
        found = unix_find_abstract_locked(addr, len, type);
        if (found)
            unix_sock_get(found);
        pthread_mutex_unlock(&unix_lock);
        if (!found)
            return -ECONNREFUSED;
        *out = found;
        return 0;
    }

    char path[sizeof(struct sockaddr_un)];
    unix_mkname_bsd(addr, len, path);
    struct unix_walk w;
    struct vfs_path p;
    unix_walk_begin(t, &w);
    int err = vfs_walk(&w.ctx, path, WALK_FOLLOW, &p);
    if (err)
        goto out;
    struct inode *inode = p.dentry->inode;
    err = inode_permission(inode, &w.cred, MAY_WRITE);
    if (err)
        goto out_path;
    err = -ECONNREFUSED;
    if (!S_ISSOCK(inode->mode))
        goto out_path;
    pthread_mutex_lock(&unix_lock);
    for (struct unix_sock *u = unix_table; u; u = u->table_next) {
        if (u->bound_sb == inode->sb && u->bound_ino == inode->ino) {
            found = u;
            break;
        }
    }
    if (found && found->type != type) {
        err = -EPROTOTYPE;
    } else if (found) {
        unix_sock_get(found);
        *out = found;
        err = 0;
    }
    pthread_mutex_unlock(&unix_lock);
out_path:
    vfs_path_put(&p);
out:
    unix_walk_end(&w);
    return err;
}

static int unix_getname(struct socket *s, bool peer, struct sockaddr_storage *addr, size_t *len)
{
    struct unix_sock *u = unix_sk(s);
    int err = 0;

    pthread_mutex_lock(&unix_lock);
    if (peer)
        u = u->peer;
    if (!u) {
        err = -ENOTCONN;
    } else if (!u->has_addr) {
        memset(addr, 0, sizeof(*addr));
        addr->ss_family = AF_UNIX;
        *len = offsetof(struct sockaddr_un, sun_path);
    } else {
        *addr = u->addr;
        *len = u->addrlen;
    }
    pthread_mutex_unlock(&unix_lock);
    return err;
}

const struct socket_ops unix_socket_ops = {
    .bind = unix_bind,
    .connect = unix_connect,
    .listen = unix_listen,
    .accept = unix_accept,
    .getname = unix_getname,
    .shutdown = unix_shutdown,
    .sendmsg = unix_sendmsg,
    .recvmsg = unix_recvmsg,
    .getsockopt = unix_getsockopt,
    .setsockopt = unix_setsockopt,
    .poll = unix_poll,
    .poll_unregister = unix_poll_unregister,
    .ioctl = unix_ioctl,
    .release = unix_release,
};

/* unix_create(): the protocol must be 0 or PF_UNIX; SOCK_RAW is taken as SOCK_DGRAM. */
static int unix_check_type(int *type, int protocol)
{
    if (protocol && protocol != AF_UNIX)
        return -EPROTONOSUPPORT;
    switch (*type) {
    case SOCK_RAW:
        *type = SOCK_DGRAM;
        return 0;
    case SOCK_STREAM:
    case SOCK_DGRAM:
    case SOCK_SEQPACKET:
        return 0;
    default:
        return -ESOCKTNOSUPPORT;
    }
}

static struct socket *unix_socket_new(struct task *t, int type, int protocol, int file_flags)
{
    struct unix_sock *u = unix_sock_alloc(type);
    if (!u)
        return NULL;
    struct socket *s = socket_alloc(t, &unix_socket_ops, AF_UNIX, type, protocol, file_flags, u);
    if (!s) {
        unix_sock_put(u);
        return NULL;
    }
    u->sock = s;
    return s;
}

int unix_socket_create(struct task *t, int type, int protocol, int file_flags, struct socket **out)
{
    int err = unix_check_type(&type, protocol);
    if (err)
        return err;
    *out = unix_socket_new(t, type, protocol, file_flags);
    return *out ? 0 : -ENOMEM;
}

int unix_socket_create_pair(struct task *t, int type, int protocol, int file_flags,
                            struct socket **a, struct socket **b)
{
    int err = unix_check_type(&type, protocol);
    if (err)
        return err;
    struct socket *sa = unix_socket_new(t, type, protocol, file_flags);
    struct socket *sb = sa ? unix_socket_new(t, type, protocol, file_flags) : NULL;
    if (!sb) {
        if (sa)
            file_put(&sa->file);
        return -ENOMEM;
    }
    struct unix_sock *ua = unix_sk(sa), *ub = unix_sk(sb);
    pthread_mutex_lock(&unix_lock);
    unix_sock_get(ua);
    unix_sock_get(ub);
    ua->peer = ub;
    ub->peer = ua;
    ua->has_peercred = ub->has_peercred = true;
    ua->peercred = ub->peercred = unix_task_peercred(t);
    ua->state = ub->state = UNIX_ESTABLISHED;
    pthread_mutex_unlock(&unix_lock);
    *a = sa;
    *b = sb;
    return 0;
}
