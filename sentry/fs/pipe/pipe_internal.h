/* Pipes' insides, shared by anonymous pipes (pipe.c) and FIFOs (fifo.c). */
#ifndef RUNSC_SENTRY_FS_PIPE_PIPE_INTERNAL_H
#define RUNSC_SENTRY_FS_PIPE_PIPE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "sentry/kernel/kernel.h"
#include "sentry/vfs/vfs.h"

struct pipe {
    pthread_mutex_t lock; /* protects everything below but the immutable fields */
    char *buf;            /* ring of `capacity` bytes */
    size_t capacity;      /* 64 KiB by default; F_SETPIPE_SZ changes it */
    size_t head, len;     /* where unread data starts, and how much there is */
    int readers, writers; /* open files on each end (an O_RDWR FIFO counts as both) */
    /* Opens of each end ever (Linux's r_counter and w_counter): a FIFO open waiting for its
     * partner waits for these to move, so a partner that came and went still counts. */
    unsigned r_counter, w_counter;
    struct waitqueue readable, writable; /* readers / writers wait for a change here */
    struct waitqueue both;               /* O_RDWR files' watchers: woken with either */
    uint64_t ino;                        /* immutable; anonymous pipes' number */
    struct inode *fifo_inode; /* immutable: the FIFO's inode (not a reference), NULL if anonymous */
    struct pipe *fifo_next;   /* in the FIFO registry (its lock) */
    /* Anonymous pipes: the pipefs inodes made for reopening it through /proc/PID/fd/N (each
     * pins the pipe: it is freed once no end and no such inode is left), and the creator's
     * fsuid/fsgid that own them (immutable). */
    int inodes;
    uid_t uid;
    gid_t gid;
};

enum pipe_end { PIPE_READ_END, PIPE_WRITE_END, PIPE_BOTH_ENDS };

struct pipe_file {
    struct file base;
    struct pipe *pipe;
    enum pipe_end end;
    unsigned w_counter_seen; /* w_counter at open: a FIFO reader hangs up only after a writer
                                came and went since (Linux's f_version check) */
};

struct pipe *pipe_alloc(void);
void pipe_free(struct pipe *p);
/* Makes the open file for one end (or both) of p; the caller counted it in readers/writers. */
struct pipe_file *pipe_file_alloc(struct pipe *p, enum pipe_end end);
const struct file_ops *pipe_file_ops(enum pipe_end end);
/* Wake whoever waits to read / to write (and O_RDWR watchers). */
void pipe_wake_readers(struct pipe *p);
void pipe_wake_writers(struct pipe *p);
/* Waits until the partner's open counter moves from `seen` (p->lock held on entry and on
 * return): 0, or -ERESTARTSYS for a signal (fifo.c). */
int fifo_wait_partner(struct pipe *p, struct task *t, bool reader, unsigned seen);
/* The super block of anonymous pipes' inodes (pipefs.c); NULL only without memory. */
struct super_block *pipefs_super(void);
/* A FIFO's file is released: drops its counts and, with the last, the pipe (fifo.c). */
void fifo_release_end(struct pipe *p, enum pipe_end end);

#endif
