/* devpts: Unix 98 pseudo-terminals (pty(7)). /dev/pts/ptmx opens a new master; /dev/pts/N names
 * its slave while the master lives. The line discipline, controlling terminals and job control
 * (tty(4), termios(3), credentials(7)) live here too. Mounted as with "gid=5,mode=620,
 * ptmxmode=666": slaves are crw--w---- owned by their opener and group tty (5). */
#ifndef RUNSC_SENTRY_FS_DEVPTS_DEVPTS_H
#define RUNSC_SENTRY_FS_DEVPTS_DEVPTS_H

#include <sys/ioctl.h>
#include <sys/types.h>

#include "sentry/vfs/vfs.h"

/* The mount options devpts_create's filesystem behaves as (for /proc/mounts). */
#define DEVPTS_MOUNT_OPTIONS "gid=5,mode=620,ptmxmode=666"

/* Makes the devpts filesystem: its super block and root dentry (one reference, for the caller's
 * mount). There is one pty number space for the sandbox. 0 or -ENOMEM. */
int devpts_create(struct super_block **sb, struct dentry **root);

/* Sets the kernel's and /dev's hooks: /dev/tty opens the caller's controlling terminal, and a
 * session leader's exit hangs its terminal up. Once at start-up, before guests run. */
void devpts_install_hooks(void);

/* /dev/tty: the caller's controlling terminal, opened as its slave; -ENXIO without one. */
int devpts_open_ctty(int flags, struct file **out);

struct kernel;

/* ---- The sandbox's console (console.c) ----
 * When the container's stdio is a host terminal, the guest gets a pty of the sentry's instead, so
 * that its line discipline and job control are the sentry's (^C signals the guest's foreground
 * group, not runsc's). The host side (boot's bridge) drives the master without a task: these calls
 * never block and may be made from any sentry thread. */
struct waiter;

struct devpts_console_config {
    uid_t owner;             /* owns /dev/pts/N */
    struct winsize winsize;  /* the host terminal's size; termios start as Linux's defaults */
    int sid, pgrp;           /* the session whose controlling terminal it is, and its foreground
                                group; sid 0: none */
};

/* Makes a new, unlocked pty and opens both ends: one reference each for the caller. -ENODEV
 * before devpts_create, -ENOSPC, -ENOMEM. */
int devpts_console_create(struct kernel *k, const struct devpts_console_config *cfg,
                          struct file **master, struct file **slave);
/* Types bytes at the terminal: each goes through input processing (ISIG characters signal the
 * foreground group). Returns how many were taken: fewer when the input buffer is full. */
size_t devpts_console_input(struct file *master, const void *buf, size_t len);
/* Takes up to len bytes of what the slave side wrote (after output processing); 0: none. */
size_t devpts_console_output(struct file *master, void *buf, size_t len);
/* Registers a callback waiter (waiter_init_callback) called on every change to the pty: input
 * consumed, output written, hang-up. Its notify runs with the queue's leaf lock held. */
void devpts_console_watch(struct file *master, struct waiter *w);
void devpts_console_unwatch(struct file *master, struct waiter *w);
/* TIOCSWINSZ on the master: the new size, and SIGWINCH to the foreground group if it changed. */
void devpts_console_resize(struct file *master, const struct winsize *ws);
/* Makes the pty session sid's controlling terminal with group pgrp in the foreground, as the
 * session leader's TIOCSCTTY would (for a console made with sid 0 before the session's pid was
 * known). -EPERM if either already has another. */
int devpts_console_set_session(struct file *master, int sid, int pgrp);
/* The host terminal hung up: the pty hangs up as when its master closes (the session's leader
 * gets SIGHUP and SIGCONT, the slave reads end of file). The master stays a valid file. */
void devpts_console_hangup(struct file *master);

#endif
