/* The files of a pty pair: master and slave reads, writes and polls, the terminal ioctls, and
 * the controlling terminal and job-control rules of tty(4) and credentials(7). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>

#include "sentry/fs/devpts/devpts_internal.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/ktimer.h"
#include "sentry/mm/mm.h"

/* termios2 requests (asm-generic/ioctls.h), spelled with our struct of the same size. */
#define K_TCGETS2 _IOR('T', 0x2A, struct ktermios)
#define K_TCSETS2 _IOW('T', 0x2B, struct ktermios)
#define K_TCSETSW2 _IOW('T', 0x2C, struct ktermios)
#define K_TCSETSF2 _IOW('T', 0x2D, struct ktermios)
#define K_TIOCGPTN _IOR('T', 0x30, unsigned int)
#define K_TIOCSPTLCK _IOW('T', 0x31, int)
#define K_TIOCGPTLCK _IOR('T', 0x39, int)
#define K_TIOCGPTPEER _IO('T', 0x41)

struct pty_file {
    struct file base;
    struct pty *pty;
    bool master;
};

static struct pty *pty_of(struct file *f)
{
    return ((struct pty_file *)f)->pty;
}

static bool is_master(struct file *f)
{
    return ((struct pty_file *)f)->master;
}

static bool nonblocking(struct file *f)
{
    return atomic_load_explicit(&f->status_flags, memory_order_relaxed) & O_NONBLOCK;
}

void job_ids_locked(struct pty *p, struct task *t, struct job_ids *ids)
{
    pthread_mutex_lock(&t->kernel->lock);
    ids->pgid = t->tg->pgid;
    ids->sid = t->tg->sid;
    ids->leader = t->tg->sid == t->tg->tgid;
    ids->ctty = p->session && p->session == ids->sid && !t->tg->ctty_detached;
    pthread_mutex_unlock(&t->kernel->lock);
}

/* __tty_check_change: a process of a background group using its controlling terminal gets
 * `sig` (SIGTTIN for reads, SIGTTOU for writes with TOSTOP and for changes) and the call is
 * restarted once it is continued; EIO when it can't be stopped (SIGTTIN ignored or blocked, an
 * orphaned group); an ignored or blocked SIGTTOU lets the change through. */
int pty_job_check(struct pty *p, struct task *t, int sig)
{
    struct job_ids ids;

    if (!t)
        return 0;
    pthread_mutex_lock(&pty_ctrl_lock);
    job_ids_locked(p, t, &ids);
    int fg = p->pgrp;
    pthread_mutex_unlock(&pty_ctrl_lock);
    if (!ids.ctty || !fg || fg == ids.pgid)
        return 0;
    if (task_signal_ignored_or_blocked(t, sig))
        return sig == SIGTTIN ? -EIO : 0;
    if (kernel_pgrp_orphaned(t->kernel, ids.pgid))
        return -EIO;
    kernel_signal_pgrp(t->kernel, ids.pgid, sig);
    return -ERESTARTSYS;
}

/* Sends the signals input processing raised to the foreground group. pty.lock not held. */
void pty_send_signals(struct pty *p, uint64_t sigs)
{
    if (!sigs)
        return;
    pthread_mutex_lock(&pty_ctrl_lock);
    int fg = p->pgrp;
    pthread_mutex_unlock(&pty_ctrl_lock);
    for (int sig = 1; sig <= KERNEL_NSIG && fg; sig++) {
        if (sigs & SIGBIT(sig))
            kernel_signal_pgrp(p->kernel, fg, sig);
    }
}

/* Blocks on the pty's queue with p->lock held on entry and on return: 0, -EINTR, -ETIMEDOUT. */
static int pty_wait(struct pty *p, struct task *t, const struct timespec *deadline)
{
    struct waiter w;

    waitqueue_add(&p->wait, &w, t);
    pthread_mutex_unlock(&p->lock);
    int err = task_block(t, deadline);
    waitqueue_remove(&p->wait, &w);
    pthread_mutex_lock(&p->lock);
    return err;
}

static struct timespec deadline_after_ds(unsigned deciseconds)
{
    return ktimer_deadline_after(
        &(struct timespec){deciseconds / 10, (long)(deciseconds % 10) * 100000000L});
}

/* n_tty_read on the slave: canonical lines, or VMIN/VTIME's rules (termios(3)). */
static ssize_t slave_read(struct file *f, struct task *t, void *buf, size_t len)
{
    struct pty *p = pty_of(f);
    struct timespec deadline;
    bool has_deadline = false, timed_out = false;
    ssize_t ret;

    int err = pty_job_check(p, t, SIGTTIN);
    if (err)
        return err;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (!p->master_open) {
            ret = 0; /* hung up: end of file */
            break;
        }
        const struct ktermios *tio = &p->termios;
        if (tio->c_lflag & ICANON) {
            if (p->canon_len > 0) {
                ret = (ssize_t)ldisc_read(p, buf, len);
                break;
            }
        } else {
            size_t vmin = tio->c_cc[VMIN], vtime = tio->c_cc[VTIME];
            size_t want = vmin < len ? vmin : len;
            if ((vmin == 0 && (vtime == 0 || p->in_len > 0 || timed_out)) ||
                (vmin > 0 && (p->in_len >= want || (timed_out && p->in_len > 0)))) {
                ret = (ssize_t)ldisc_read(p, buf, len);
                break;
            }
            if (vtime && !has_deadline && (vmin == 0 || p->in_len > 0)) {
                deadline = deadline_after_ds((unsigned)vtime);
                has_deadline = true;
            }
            if (p->in_len > 0 && nonblocking(f)) {
                ret = (ssize_t)ldisc_read(p, buf, len);
                break;
            }
        }
        if (nonblocking(f)) {
            ret = -EAGAIN;
            break;
        }
        err = pty_wait(p, t, has_deadline ? &deadline : NULL);
        if (err == -EINTR) {
            ret = -ERESTARTSYS;
            break;
        }
        timed_out = err == -ETIMEDOUT;
    }
    pthread_mutex_unlock(&p->lock);
    if (ret > 0)
        waitqueue_wake_all(&p->wait);
    return ret;
}

static ssize_t slave_write(struct file *f, struct task *t, const void *buf, size_t len)
{
    struct pty *p = pty_of(f);
    size_t done = 0;

    pthread_mutex_lock(&p->lock);
    bool tostop = p->termios.c_lflag & TOSTOP;
    pthread_mutex_unlock(&p->lock);
    if (tostop) {
        int err = pty_job_check(p, t, SIGTTOU);
        if (err)
            return err;
    }
    pthread_mutex_lock(&p->lock);
    while (done < len) {
        if (!p->master_open) {
            pthread_mutex_unlock(&p->lock);
            return done ? (ssize_t)done : -EIO;
        }
        size_t n = p->stopped ? 0 : ldisc_write(p, (const unsigned char *)buf + done, len - done);
        done += n;
        if (n)
            waitqueue_wake_all(&p->wait);
        if (done == len)
            break;
        if (nonblocking(f)) {
            pthread_mutex_unlock(&p->lock);
            return done ? (ssize_t)done : -EAGAIN;
        }
        if (pty_wait(p, t, NULL) == -EINTR) {
            pthread_mutex_unlock(&p->lock);
            return done ? (ssize_t)done : -ERESTARTSYS;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return (ssize_t)done;
}

/* The master reads what the slave wrote; EIO once the last slave closed and it is drained. */
static ssize_t master_read(struct file *f, struct task *t, void *buf, size_t len)
{
    struct pty *p = pty_of(f);
    ssize_t ret;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->out_len > 0) {
            ret = (ssize_t)ldisc_read_output(p, buf, len);
            break;
        }
        if (p->slave_closed) {
            ret = -EIO;
            break;
        }
        if (nonblocking(f)) {
            ret = -EAGAIN;
            break;
        }
        if (pty_wait(p, t, NULL) == -EINTR) {
            ret = -ERESTARTSYS;
            break;
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (ret > 0)
        waitqueue_wake_all(&p->wait);
    return ret;
}

/* The master types: every byte goes through the slave's input processing, whether or not a
 * slave is open (the input waits for one). */
static ssize_t master_write(struct file *f, struct task *t, const void *buf, size_t len)
{
    struct pty *p = pty_of(f);
    const unsigned char *in = buf;
    size_t done = 0;
    ssize_t ret;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (done < len && ldisc_receive(p, in[done]))
            done++;
        if (done == len) {
            ret = (ssize_t)done;
            break;
        }
        if (nonblocking(f)) {
            ret = done ? (ssize_t)done : -EAGAIN;
            break;
        }
        uint64_t sigs = p->pending_signals;
        p->pending_signals = 0;
        waitqueue_wake_all(&p->wait);
        pthread_mutex_unlock(&p->lock);
        pty_send_signals(p, sigs);
        pthread_mutex_lock(&p->lock);
        if (pty_wait(p, t, NULL) == -EINTR) {
            ret = done ? (ssize_t)done : -ERESTARTSYS;
            break;
        }
    }
    uint64_t sigs = p->pending_signals;
    p->pending_signals = 0;
    pthread_mutex_unlock(&p->lock);
    waitqueue_wake_all(&p->wait);
    pty_send_signals(p, sigs);
    return ret;
}

static unsigned pty_poll(struct file *f, struct task *t, struct waiter *w, bool *slice)
{
    struct pty *p = pty_of(f);
    unsigned events = 0;

    pthread_mutex_lock(&p->lock);
    if (is_master(f)) {
        if (p->out_len > 0)
            events |= POLLIN | POLLRDNORM;
        if (p->slave_closed)
            events |= POLLHUP;
        else if (ldisc_input_room(p))
            events |= POLLOUT | POLLWRNORM;
    } else if (!p->master_open) {
        events = POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM;
    } else {
        const struct ktermios *tio = &p->termios;
        size_t min = 1;
        if (!(tio->c_lflag & ICANON) && !tio->c_cc[VTIME] && tio->c_cc[VMIN])
            min = tio->c_cc[VMIN];
        if (ldisc_readable(p, min))
            events |= POLLIN | POLLRDNORM;
        if (!p->stopped && p->out_len < PTY_OUT_CAP)
            events |= POLLOUT | POLLWRNORM;
    }
    if (w)
        waitqueue_add(&p->wait, w, t);
    pthread_mutex_unlock(&p->lock);
    return events;
}

static void pty_poll_unregister(struct file *f, struct waiter *w)
{
    waitqueue_remove(&pty_of(f)->wait, w);
}

static int pty_name(struct file *f, char *buf, size_t size)
{
    int n = is_master(f) ? snprintf(buf, size, "/dev/ptmx")
                         : snprintf(buf, size, "/dev/pts/%d", pty_of(f)->index);
    return (size_t)n >= size ? -ENAMETOOLONG : n;
}

/* The session leader learns its terminal hung up (tty_signal_session_leader). */
static void signal_session_leader(struct kernel *k, int sid)
{
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = kernel_find_group(k, sid);
    if (g && g->sid == sid && !g->zombie && g->leader) {
        thread_group_signal_from_kernel(g, SIGHUP, false);
        thread_group_signal_from_kernel(g, SIGCONT, false);
    }
    pthread_mutex_unlock(&k->lock);
}

void pty_hangup(struct pty *p)
{
    /* The slave hangs up: its session loses it and the leader gets SIGHUP and SIGCONT. */
    pthread_mutex_lock(&pty_ctrl_lock);
    int session = p->session;
    p->session = p->pgrp = 0;
    struct inode *inode = p->inode;
    p->inode = NULL;
    if (inode)
        inode->priv = NULL; /* /dev/pts/N is gone */
    pthread_mutex_unlock(&pty_ctrl_lock);
    pthread_mutex_lock(&p->lock);
    p->master_open = false;
    pthread_mutex_unlock(&p->lock);
    waitqueue_wake_all(&p->wait);
    if (session)
        signal_session_leader(p->kernel, session);
    inode_put(inode);
}

static void pty_release(struct file *f)
{
    struct pty *p = pty_of(f);

    if (is_master(f)) {
        pty_hangup(p);
    } else {
        pthread_mutex_lock(&p->lock);
        if (--p->slave_opens == 0)
            p->slave_closed = true;
        pthread_mutex_unlock(&p->lock);
        waitqueue_wake_all(&p->wait);
    }
    file_release_common(f);
    free(f);
    pty_put(p);
}

/* Sets termios from TCSETS* (36 bytes, speeds from CBAUD) or TCSETS*2 (with speeds). */
/* Linux's unset_locked_termios: what the lock covers keeps its old value. */
static void keep_locked_termios(struct ktermios *tio, const struct ktermios *old,
                                const struct ktermios *lock)
{
    tio->c_iflag = (tio->c_iflag & ~lock->c_iflag) | (old->c_iflag & lock->c_iflag);
    tio->c_oflag = (tio->c_oflag & ~lock->c_oflag) | (old->c_oflag & lock->c_oflag);
    tio->c_cflag = (tio->c_cflag & ~lock->c_cflag) | (old->c_cflag & lock->c_cflag);
    tio->c_lflag = (tio->c_lflag & ~lock->c_lflag) | (old->c_lflag & lock->c_lflag);
    if (lock->c_line)
        tio->c_line = old->c_line;
    for (int i = 0; i < PTY_NCCS; i++)
        if (lock->c_cc[i])
            tio->c_cc[i] = old->c_cc[i];
}

/* TIOCGLCKTRMIOS / TIOCSLCKTRMIOS, as struct termios (without the speeds). Setting the lock
 * takes CAP_SYS_ADMIN. */
static long pty_locked_termios(struct pty *p, struct task *t, struct mm *mm, uint64_t arg, bool set)
{
    struct ktermios lock;

    if (!set) {
        pthread_mutex_lock(&p->lock);
        lock = p->locked_termios;
        pthread_mutex_unlock(&p->lock);
        return mm_copy_out(mm, arg, &lock, KTERMIOS_V1_SIZE);
    }
    if (t->creds.euid != 0)
        return -EPERM;
    memset(&lock, 0, sizeof(lock));
    if (mm_copy_in(mm, arg, &lock, KTERMIOS_V1_SIZE) != 0)
        return -EFAULT;
    pthread_mutex_lock(&p->lock);
    p->locked_termios = lock;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* The three layouts the termios ioctls use: struct termios (TCGETS), struct termios2
 * (TCGETS2, with speeds) and System V's struct termio (TCGETA: 16-bit flags, 8 control chars). */
enum termios_abi { TERMIOS_V1, TERMIOS_V2, TERMIO };

#define TERMIO_NCC 8
struct ktermio {
    uint16_t c_iflag, c_oflag, c_cflag, c_lflag;
    uint8_t c_line;
    uint8_t c_cc[TERMIO_NCC];
};

/* struct termios carries the speed only in c_cflag's CBAUD bits; the kernel's c_ispeed and
 * c_ospeed follow it (tty_termios_baud_rate). */
static void speeds_from_cflag(struct ktermios *tio, uint32_t old_speed)
{
    speed_t speed = cfgetospeed(&(struct termios){.c_cflag = tio->c_cflag});
    static const struct {
        speed_t code;
        uint32_t baud;
    } bauds[] = {{B0, 0},         {B50, 50},         {B75, 75},         {B110, 110},
                 {B134, 134},     {B150, 150},       {B200, 200},       {B300, 300},
                 {B600, 600},     {B1200, 1200},     {B1800, 1800},     {B2400, 2400},
                 {B4800, 4800},   {B9600, 9600},     {B19200, 19200},   {B38400, 38400},
                 {B57600, 57600}, {B115200, 115200}, {B230400, 230400}, {B460800, 460800}};
    tio->c_ispeed = tio->c_ospeed = old_speed;
    for (size_t i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++)
        if (bauds[i].code == speed)
            tio->c_ispeed = tio->c_ospeed = bauds[i].baud;
}

/* TCSETS*, TCSETS2*, TCSETA*: the new settings, less what the lock keeps. A struct termio
 * replaces only the low 16 bits of each flag word and the first 8 control characters. */
static long pty_set_termios(struct file *f, struct task *t, struct mm *mm, uint64_t arg,
                            enum termios_abi abi, bool flush)
{
    struct pty *p = pty_of(f);
    struct ktermios tio;
    struct ktermio tio1;

    int err = pty_job_check(p, t, SIGTTOU);
    if (err)
        return err;
    memset(&tio, 0, sizeof(tio));
    if (abi == TERMIO
            ? mm_copy_in(mm, arg, &tio1, sizeof(tio1)) != 0
            : mm_copy_in(mm, arg, &tio, abi == TERMIOS_V2 ? sizeof(tio) : KTERMIOS_V1_SIZE) != 0)
        return -EFAULT;
    pthread_mutex_lock(&p->lock);
    if (abi == TERMIO) {
        tio = p->termios;
        tio.c_iflag = (tio.c_iflag & 0xffff0000u) | tio1.c_iflag;
        tio.c_oflag = (tio.c_oflag & 0xffff0000u) | tio1.c_oflag;
        tio.c_cflag = (tio.c_cflag & 0xffff0000u) | tio1.c_cflag;
        tio.c_lflag = (tio.c_lflag & 0xffff0000u) | tio1.c_lflag;
        tio.c_line = tio1.c_line;
        memcpy(tio.c_cc, tio1.c_cc, TERMIO_NCC);
    }
    if (abi != TERMIOS_V2)
        speeds_from_cflag(&tio, p->termios.c_ospeed);
    if (flush)
        ldisc_flush_input(p);
    keep_locked_termios(&tio, &p->termios, &p->locked_termios);
    ldisc_set_termios(p, &tio);
    pthread_mutex_unlock(&p->lock);
    waitqueue_wake_all(&p->wait);
    return 0;
}

static long pty_get_termios(struct pty *p, struct mm *mm, uint64_t arg, enum termios_abi abi)
{
    pthread_mutex_lock(&p->lock);
    struct ktermios tio = p->termios;
    pthread_mutex_unlock(&p->lock);
    if (abi == TERMIO) {
        struct ktermio tio1 = {
            .c_iflag = (uint16_t)tio.c_iflag,
            .c_oflag = (uint16_t)tio.c_oflag,
            .c_cflag = (uint16_t)tio.c_cflag,
            .c_lflag = (uint16_t)tio.c_lflag,
            .c_line = tio.c_line,
        };
        memcpy(tio1.c_cc, tio.c_cc, TERMIO_NCC);
        return mm_copy_out(mm, arg, &tio1, sizeof(tio1));
    }
    return mm_copy_out(mm, arg, &tio, abi == TERMIOS_V2 ? sizeof(tio) : KTERMIOS_V1_SIZE);
}

static long pty_ioctl(struct file *f, struct mm *mm, unsigned int cmd, uint64_t arg)
{
    struct pty *p = pty_of(f);
    struct task *t = task_current();
    int value, err;

    if (!is_master(f)) {
        pthread_mutex_lock(&p->lock);
        bool hung_up = !p->master_open;
        pthread_mutex_unlock(&p->lock);
        if (hung_up)
            return cmd == TIOCSPGRP ? -ENOTTY : -EIO;
    }
    switch (cmd) {
    case TCGETS:
        return pty_get_termios(p, mm, arg, TERMIOS_V1);
    case K_TCGETS2:
        return pty_get_termios(p, mm, arg, TERMIOS_V2);
    case TCGETA:
        return pty_get_termios(p, mm, arg, TERMIO);
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
        return pty_set_termios(f, t, mm, arg, TERMIOS_V1, cmd == TCSETSF);
    case K_TCSETS2:
    case K_TCSETSW2:
    case K_TCSETSF2:
        return pty_set_termios(f, t, mm, arg, TERMIOS_V2, cmd == K_TCSETSF2);
    case TCSETA:
    case TCSETAW:
    case TCSETAF:
        return pty_set_termios(f, t, mm, arg, TERMIO, cmd == TCSETAF);
    case TIOCGLCKTRMIOS:
    case TIOCSLCKTRMIOS:
        return pty_locked_termios(p, t, mm, arg, cmd == TIOCSLCKTRMIOS);
    case TIOCGWINSZ: {
        pthread_mutex_lock(&p->lock);
        struct winsize ws = p->winsize;
        pthread_mutex_unlock(&p->lock);
        return mm_copy_out(mm, arg, &ws, sizeof(ws));
    }
    case TIOCSWINSZ: {
        struct winsize ws;
        if (mm_copy_in(mm, arg, &ws, sizeof(ws)) != 0)
            return -EFAULT;
        pthread_mutex_lock(&p->lock);
        bool changed = memcmp(&ws, &p->winsize, sizeof(ws)) != 0;
        p->winsize = ws;
        pthread_mutex_unlock(&p->lock);
        /* tty_do_resize: SIGWINCH to the foreground group when the size changed. */
        if (changed)
            pty_send_signals(p, SIGBIT(SIGWINCH));
        return 0;
    }
    case FIONREAD:
        pthread_mutex_lock(&p->lock);
        value = is_master(f) ? (int)p->out_len : ldisc_input_count(p);
        pthread_mutex_unlock(&p->lock);
        return mm_copy_out(mm, arg, &value, sizeof(value));
    case TIOCOUTQ:
        /* ptys keep no driver output queue: Linux reports 0. */
        value = 0;
        return mm_copy_out(mm, arg, &value, sizeof(value));
    case TCFLSH:
        if ((err = pty_job_check(p, t, SIGTTOU)) != 0)
            return err;
        if (arg > TCIOFLUSH)
            return -EINVAL;
        pthread_mutex_lock(&p->lock);
        /* The master's input is the slave's output and the reverse. */
        if (arg != TCOFLUSH) {
            if (is_master(f))
                ldisc_flush_output(p);
            else
                ldisc_flush_input(p);
        }
        if (arg != TCIFLUSH && !is_master(f))
            ldisc_flush_output(p);
        pthread_mutex_unlock(&p->lock);
        waitqueue_wake_all(&p->wait);
        return 0;
    case TCXONC:
        if ((err = pty_job_check(p, t, SIGTTOU)) != 0)
            return err;
        if (arg > TCION)
            return -EINVAL;
        pthread_mutex_lock(&p->lock);
        if (arg == TCOOFF)
            p->stopped = true;
        else if (arg == TCOON)
            p->stopped = false;
        pthread_mutex_unlock(&p->lock);
        waitqueue_wake_all(&p->wait);
        return 0;
    case TCSBRK:
    case TCSBRKP:
        /* tcdrain and breaks: nothing waits in a pty's driver. */
        return pty_job_check(p, t, SIGTTOU);
    case TIOCSBRK:
    case TIOCCBRK:
        return 0;
    case TIOCEXCL:
    case TIOCNXCL:
        pthread_mutex_lock(&p->lock);
        p->exclusive[is_master(f)] = cmd == TIOCEXCL;
        pthread_mutex_unlock(&p->lock);
        return 0;
    case TIOCGEXCL:
        pthread_mutex_lock(&p->lock);
        value = p->exclusive[is_master(f)];
        pthread_mutex_unlock(&p->lock);
        return mm_copy_out(mm, arg, &value, sizeof(value));
    case TIOCGETD:
        value = 0; /* N_TTY */
        return mm_copy_out(mm, arg, &value, sizeof(value));
    case TIOCSETD:
        if (mm_copy_in(mm, arg, &value, sizeof(value)) != 0)
            return -EFAULT;
        return value == 0 ? 0 : -EINVAL;
    case K_TIOCGPTN:
        if (!is_master(f))
            return -ENOTTY;
        value = p->index;
        return mm_copy_out(mm, arg, &value, sizeof(value));
    case K_TIOCSPTLCK:
        if (!is_master(f))
            return -ENOTTY;
        if (mm_copy_in(mm, arg, &value, sizeof(value)) != 0)
            return -EFAULT;
        pthread_mutex_lock(&p->lock);
        p->locked = value != 0;
        pthread_mutex_unlock(&p->lock);
        return 0;
    case K_TIOCGPTLCK:
        if (!is_master(f))
            return -ENOTTY;
        pthread_mutex_lock(&p->lock);
        value = p->locked;
        pthread_mutex_unlock(&p->lock);
        return mm_copy_out(mm, arg, &value, sizeof(value));
    default:
        if (!t)
            return -ENOTTY;
        return pty_ioctl_ctrl(f, t, mm, cmd, arg);
    }
}

static const struct file_ops master_ops = {
    .read = master_read,
    .write = master_write,
    .ioctl = pty_ioctl,
    .poll = pty_poll,
    .poll_unregister = pty_poll_unregister,
    .name = pty_name,
    .release = pty_release,
};

static const struct file_ops slave_ops = {
    .read = slave_read,
    .write = slave_write,
    .ioctl = pty_ioctl,
    .poll = pty_poll,
    .poll_unregister = pty_poll_unregister,
    .name = pty_name,
    .release = pty_release,
};

bool pty_file_is_master(struct file *f)
{
    return f->ops == &master_ops;
}

struct pty *pty_file_pty(struct file *f)
{
    return f->ops == &master_ops || f->ops == &slave_ops ? pty_of(f) : NULL;
}

int pty_open_master(struct pty *p, struct inode *ptmx, int flags, struct file **out)
{
    struct pty_file *pf = calloc(1, sizeof(*pf));

    if (!pf)
        return -ENOMEM;
    file_init_inode(&pf->base, &master_ops, flags & ~O_NOCTTY, ptmx);
    pf->pty = p;
    pf->master = true;
    pty_get(p);
    *out = &pf->base;
    return 0;
}

/* tty_open_proc_set_tty: a session leader without a terminal opening one that no session has
 * takes it as its controlling terminal, with its group in the foreground. */
static void pty_acquire_ctty(struct pty *p, struct task *t)
{
    pthread_mutex_lock(&pty_ctrl_lock);
    pthread_mutex_lock(&t->kernel->lock);
    int sid = t->tg->sid, pgid = t->tg->pgid;
    bool leader = sid == t->tg->tgid;
    pthread_mutex_unlock(&t->kernel->lock);
    if (leader && !p->session && !pty_find_session(sid)) {
        p->session = sid;
        p->pgrp = pgid;
    }
    pthread_mutex_unlock(&pty_ctrl_lock);
}

int pty_open_slave(struct pty *p, struct inode *inode, int flags, bool acquire_ctty,
                   struct file **out)
{
    struct pty_file *pf = calloc(1, sizeof(*pf));

    if (!pf)
        return -ENOMEM;
    pthread_mutex_lock(&p->lock);
    /* pty_open: a locked pty, or one whose master is gone, can't be opened. */
    if (p->locked || !p->master_open) {
        pthread_mutex_unlock(&p->lock);
        free(pf);
        return -EIO;
    }
    struct task *t = task_current();
    /* tty_reopen: an exclusive terminal opens again only for a privileged caller. */
    if (p->exclusive[0] && !(t && task_capable(t, CAP_SYS_ADMIN))) {
        pthread_mutex_unlock(&p->lock);
        free(pf);
        return -EBUSY;
    }
    p->slave_opens++;
    p->slave_closed = false;
    pthread_mutex_unlock(&p->lock);
    file_init_inode(&pf->base, &slave_ops, flags & ~O_NOCTTY, inode);
    pf->pty = p;
    pty_get(p);
    if (acquire_ctty && t)
        pty_acquire_ctty(p, t);
    *out = &pf->base;
    return 0;
}

void pty_session_end(struct kernel *k, int sid)
{
    /* disassociate_ctty(1) for a pty: SIGHUP to the foreground group, and the terminal is no
     * longer the session's. */
    pthread_mutex_lock(&pty_ctrl_lock);
    struct pty *p = pty_find_session(sid);
    int fg = 0;
    if (p) {
        fg = p->pgrp;
        p->session = p->pgrp = 0;
    }
    pthread_mutex_unlock(&pty_ctrl_lock);
    if (fg)
        kernel_signal_pgrp(k, fg, SIGHUP);
}
