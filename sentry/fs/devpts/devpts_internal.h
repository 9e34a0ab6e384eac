/* devpts internals: the pseudo-terminal pair, its line discipline (ldisc.c), its files and
 * ioctls (tty.c), and the filesystem that names it (devpts.c).
 *
 * Lock order: pty_ctrl_lock (the pty table and every pty's session and foreground group) →
 * pty.lock → the kernel's locks. Signals are sent after pty.lock is dropped. */
#ifndef RUNSC_SENTRY_FS_DEVPTS_DEVPTS_INTERNAL_H
#define RUNSC_SENTRY_FS_DEVPTS_DEVPTS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "sentry/kernel/waitqueue.h"
#include "sentry/vfs/vfs.h"

struct kernel;
struct mm;
struct task;

/* The kernel's struct termios2 (asm-generic/termbits.h); struct termios is its first 36 bytes. */
#define PTY_NCCS 19
struct ktermios {
    uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
    uint8_t c_line;
    uint8_t c_cc[PTY_NCCS];
    uint32_t c_ispeed, c_ospeed;
};
#define KTERMIOS_V1_SIZE 36 /* TCGETS/TCSETS copy this much */

/* Linux's N_TTY_BUF_SIZE: the line discipline's input buffer. */
#define PTY_IN_CAP 4096
/* What the slave may write before the master reads (the flip buffers' limit, 64 KiB). */
#define PTY_OUT_CAP 65536

/* A mark on an input byte: it ends a canonical line; an EOF mark's byte is never read. */
enum { PTY_MARK_NONE, PTY_MARK_EOL, PTY_MARK_EOF };

struct pty {
    int index;          /* N of /dev/pts/N; fixed */
    struct kernel *kernel; /* for signals to process groups; fixed */
    /* Under pty_ctrl_lock. */
    int refs;            /* the master file, slave files, and lookups in progress */
    int session;         /* sid of the session it controls, 0: none */
    int pgrp;            /* the foreground process group, 0: none */
    struct inode *inode; /* /dev/pts/N while the master is open (a reference); its priv is
                            this pty until then, NULL after */

    pthread_mutex_t lock; /* protects everything below */
    struct ktermios termios;
    /* TIOCSLCKTRMIOS: set bits here keep termios's bits as they are on a TCSETS (a non-zero
     * c_cc entry or c_line keeps that field). All zero at first: nothing locked. */
    struct ktermios locked_termios;
    struct winsize winsize;
    bool locked;       /* TIOCSPTLCK: the slave can't be opened */
    /* TIOCEXCL, per end (Linux's TTY_EXCLUSIVE on each tty): on the slave, further opens fail
     * with EBUSY unless privileged. The master is never reopened; its flag is only reported. */
    bool exclusive[2]; /* [0] the slave, [1] the master */
    bool master_open;  /* false once the master closed: the slave is hung up */
    int slave_opens;   /* open slave files */
    bool slave_closed; /* the last slave file closed (Linux's TTY_OTHER_CLOSED on the master) */
    bool stopped;      /* output stopped by VSTOP (IXON) or TCOOFF */
    /* Input: bytes the slave reads, after input processing. canon_len bytes from the start are
     * complete lines (in canonical mode); the rest is the line being edited. */
    unsigned char in[PTY_IN_CAP];
    unsigned char in_mark[PTY_IN_CAP];
    size_t in_len, canon_len;
    bool lnext;      /* the next byte is taken literally (VLNEXT) */
    unsigned column;       /* the output column, for tabs and erasing them */
    unsigned canon_column; /* the column where the line being edited began */
    /* Output: bytes the master reads (slave writes and echoes, after output processing). */
    unsigned char *out; /* PTY_OUT_CAP bytes, a ring */
    size_t out_head, out_len;
    uint64_t pending_signals; /* raised by input processing, sent once the lock is dropped */
    struct waitqueue wait;    /* anything changed: readers, writers and pollers of both ends */
};

/* ---- ldisc.c: called with pty.lock held ---- */
void ldisc_init_termios(struct ktermios *t);
/* Processes one byte typed at the master (input modes, ISIG, canonical editing, echo). Returns
 * false when there is no room for it (the writer waits). */
bool ldisc_receive(struct pty *p, unsigned char c);
/* Writes `len` bytes from the slave through output processing; returns the bytes taken (less
 * when the output buffer fills). */
size_t ldisc_write(struct pty *p, const unsigned char *buf, size_t len);
/* Whether a slave read would return now: a complete line in canonical mode, else at least
 * `min` bytes. */
bool ldisc_readable(const struct pty *p, size_t min);
/* Moves up to len input bytes to buf as read(2) on the slave does; returns the count. */
size_t ldisc_read(struct pty *p, unsigned char *buf, size_t len);
/* Copies up to len output bytes for the master; returns the count. */
size_t ldisc_read_output(struct pty *p, unsigned char *buf, size_t len);
void ldisc_flush_input(struct pty *p);
void ldisc_flush_output(struct pty *p);
/* FIONREAD on the slave: bytes in complete lines (canonical, EOF marks not counted) or all. */
int ldisc_input_count(const struct pty *p);
/* Input room for a byte (the master's POLLOUT). */
bool ldisc_input_room(const struct pty *p);
/* The new termios takes effect (leaving canonical mode makes the edited line readable). */
void ldisc_set_termios(struct pty *p, const struct ktermios *t);

/* ---- devpts.c ---- */
extern pthread_mutex_t pty_ctrl_lock;
/* A new pty with the lowest free number, its /dev/pts/N node (owned by `owner`, group tty) and
 * one reference for the caller; locked until TIOCSPTLCK. Signals go to k's process groups.
 * -ENOSPC when every number is taken, -ENOMEM. */
int pty_create(struct kernel *k, uid_t owner, struct pty **out);
/* pty_ctrl_lock NOT held (the last put frees the pty and its number). */
void pty_get(struct pty *p);
void pty_put(struct pty *p);
/* The pty a session controls, or NULL; pty_ctrl_lock held, no reference taken. */
struct pty *pty_find_session(int sid);

/* ---- tty.c ---- */
/* Opens the slave of p (refusing a locked or hung-up pty with EIO); with `acquire_ctty` a
 * session leader without a terminal makes it its controlling terminal. `inode` is what the
 * file stats as (the pts node). */
int pty_open_slave(struct pty *p, struct inode *inode, int flags, bool acquire_ctty,
                   struct file **out);
/* Opens a new master on p (from ptmx). */
int pty_open_master(struct pty *p, struct inode *ptmx, int flags, struct file **out);
/* The caller's process group, session, leadership and whether p is its controlling terminal
 * (pty_ctrl_lock held). */
struct job_ids {
    int pgid, sid;
    bool leader, ctty;
};
void job_ids_locked(struct pty *p, struct task *t, struct job_ids *ids);
/* tty_check_change for `sig`: 0, -EIO, or -ERESTARTSYS once the caller's group was sent sig. */
int pty_job_check(struct pty *p, struct task *t, int sig);
/* Sends each signal in the set to the foreground group; pty.lock not held. */
void pty_send_signals(struct pty *p, uint64_t sigs);
/* The master side goes away (its close, or the host terminal behind the sandbox's console hung
 * up): the slave reads end of file, writes fail with EIO, /dev/pts/N is gone, and the session
 * it controlled loses it, its leader getting SIGHUP and SIGCONT (tty_signal_session_leader).
 * Idempotent; no pty lock held. */
void pty_hangup(struct pty *p);
bool pty_file_is_master(struct file *f);
/* The pty of a pty file, or NULL for any other file. */
struct pty *pty_file_pty(struct file *f);

/* ---- ctty.c ---- */
/* The controlling-terminal ioctls (TIOCSCTTY, TIOCNOTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID,
 * TIOCGPTPEER); -ENOTTY for any other request. */
long pty_ioctl_ctrl(struct file *f, struct task *t, struct mm *mm, unsigned int cmd,
                    uint64_t arg);
/* TIOCGPTPEER: opens the master's slave as its /dev/pts/N (devpts.c). */
int devpts_open_peer(struct file *master, int flags, struct file **out);

/* The session `sid` lost its leader: its terminal hangs up for it. */
void pty_session_end(struct kernel *k, int sid);

#endif
