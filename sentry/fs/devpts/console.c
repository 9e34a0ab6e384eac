/* The master side of the sandbox's console for the host's bridge: non-blocking input, output,
 * resize and hang-up on a pty, without a task (devpts.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "sentry/fs/devpts/devpts.h"
#include "sentry/fs/devpts/devpts_internal.h"
#include "sentry/kernel/kernel.h"

size_t devpts_console_input(struct file *master, const void *buf, size_t len)
{
    struct pty *p = pty_file_pty(master);
    const unsigned char *in = buf;
    size_t done = 0;

    pthread_mutex_lock(&p->lock);
    while (done < len && ldisc_receive(p, in[done]))
        done++;
    uint64_t sigs = p->pending_signals;
    p->pending_signals = 0;
    pthread_mutex_unlock(&p->lock);
    if (done)
        waitqueue_wake_all(&p->wait);
    pty_send_signals(p, sigs);
    return done;
}

size_t devpts_console_output(struct file *master, void *buf, size_t len)
{
    struct pty *p = pty_file_pty(master);

    pthread_mutex_lock(&p->lock);
    size_t n = ldisc_read_output(p, buf, len);
    pthread_mutex_unlock(&p->lock);
    /* Writers waiting for room in the output buffer go on. */
    if (n)
        waitqueue_wake_all(&p->wait);
    return n;
}

void devpts_console_watch(struct file *master, struct waiter *w)
{
    waitqueue_add(&pty_file_pty(master)->wait, w, NULL);
}

void devpts_console_unwatch(struct file *master, struct waiter *w)
{
    waitqueue_remove(&pty_file_pty(master)->wait, w);
}

void devpts_console_resize(struct file *master, const struct winsize *ws)
{
    struct pty *p = pty_file_pty(master);

    pthread_mutex_lock(&p->lock);
    bool changed = memcmp(ws, &p->winsize, sizeof(*ws)) != 0;
    p->winsize = *ws;
    pthread_mutex_unlock(&p->lock);
    /* tty_do_resize: SIGWINCH to the foreground group when the size changed. */
    if (changed)
        pty_send_signals(p, SIGBIT(SIGWINCH));
}

int devpts_console_set_session(struct file *master, int sid, int pgrp)
{
    struct pty *p = pty_file_pty(master);
    int err = 0;

    pthread_mutex_lock(&pty_ctrl_lock);
    if (p->session && p->session != sid)
        err = -EPERM; /* another session's terminal already */
    else if (pty_find_session(sid) && pty_find_session(sid) != p)
        err = -EPERM; /* the session has a terminal of its own */
    else {
        p->session = sid;
        p->pgrp = pgrp;
    }
    pthread_mutex_unlock(&pty_ctrl_lock);
    return err;
}

void devpts_console_hangup(struct file *master)
{
    pty_hangup(pty_file_pty(master));
}
