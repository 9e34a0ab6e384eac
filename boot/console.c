/* The sandbox's console: when the container's stdio is a host terminal, the guest gets a pty of
 * the sentry's (its line discipline, its job control) and this bridge copies bytes between the
 * host terminal and the pty's master on a thread of its own, never on a task's. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "boot/boot.h"
#include "lib/log.h"
#include "sentry/fs/devpts/devpts.h"
#include "sentry/kernel/waitqueue.h"
#include "sentry/vfs/vfs.h"

/* How much the bridge moves per read: a terminal delivers far less at a time. */
#define CONSOLE_CHUNK 4096
/* How often the bridge looks at the host terminal's size at the least: the engine resizes the
 * master it holds, and the sandbox, not the terminal's session, hears no SIGWINCH of it. */
#define CONSOLE_SIZE_POLL_MS 250

struct boot_console {
    int host_fd;          /* owned: the host terminal */
    int wake[2];          /* owned: a non-blocking pipe; a byte in it wakes the bridge */
    struct waiter waiter; /* on the pty's queue while the bridge runs; its notify writes wake */
    pthread_t thread;
    bool started; /* the thread exists; set and read by the owner's thread only */
    /* Set once by boot_console_stop. Release/acquire: the bridge sees it after the pipe wakes
     * it, and the drain it then does covers everything the guest wrote before its exit. */
    atomic_bool stopping;
    /* Protects master against the signal thread's resize and stop. Lock order: this, then the
     * pty's locks, then the kernel's. */
    pthread_mutex_t lock;
    struct file *master; /* the console's reference to the pty's master; NULL once stopped */
};

/* Called with the pty's queue lock held on any change: only a non-blocking write (a full pipe
 * already means a wake-up is pending). */
static void console_notify(struct waiter *w)
{
    struct boot_console *c =
        (struct boot_console *)((char *)w - offsetof(struct boot_console, waiter));
    if (write(c->wake[1], "", 1) < 0) {
        /* EAGAIN: the bridge has a wake-up waiting already. */
    }
}

static void console_drain_wake(struct boot_console *c)
{
    char buf[64];
    while (read(c->wake[0], buf, sizeof(buf)) > 0) {
    }
}

/* What the bridge knows of each direction. */
struct bridge {
    unsigned char in[CONSOLE_CHUNK]; /* read from the host, not yet taken by the pty */
    size_t in_off, in_len;
    unsigned char out[CONSOLE_CHUNK]; /* taken from the pty, not yet written to the host */
    size_t out_off, out_len;
    bool hung_up;        /* the host terminal is gone: input ends, output is dropped */
    bool no_input;       /* the host fd can't be read (opened write-only): output only */
    struct winsize size; /* the host's size the pty was last given */
};

/* Gives the pty the host terminal's size when it changed since the last look (the pty then
 * sends SIGWINCH to its foreground group, as the same-size check there keeps it to changes). */
static void bridge_check_size(struct boot_console *c, struct bridge *b)
{
    struct winsize ws;

    if (b->hung_up || ioctl(c->host_fd, TIOCGWINSZ, &ws) != 0)
        return;
    if (memcmp(&ws, &b->size, sizeof(ws)) == 0)
        return;
    b->size = ws;
    pthread_mutex_lock(&c->lock);
    if (c->master)
        devpts_console_resize(c->master, &ws);
    pthread_mutex_unlock(&c->lock);
}

static void bridge_hang_up(struct boot_console *c, struct bridge *b)
{
    if (b->hung_up)
        return;
    log_debug("console: the host terminal hung up");
    b->hung_up = true;
    b->in_off = b->in_len = 0;
    devpts_console_hangup(c->master);
}

/* Moves what the pty wrote to the host until it has no more or the host would block. */
static void bridge_pump_output(struct boot_console *c, struct bridge *b)
{
    for (;;) {
        if (b->out_off == b->out_len) {
            b->out_off = 0;
            b->out_len = devpts_console_output(c->master, b->out, sizeof(b->out));
            if (b->out_len == 0)
                return;
        }
        if (b->hung_up) {
            b->out_off = b->out_len;
            continue;
        }
        ssize_t n = write(c->host_fd, b->out + b->out_off, b->out_len - b->out_off);
        if (n > 0) {
            b->out_off += (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            return; /* a non-blocking terminal: poll for POLLOUT */
        } else if (n == 0 || errno != EINTR) {
            bridge_hang_up(c, b); /* EIO: the terminal hung up */
        }
    }
}

/* Reads what the host typed, once poll said there is some. */
static void bridge_read_input(struct boot_console *c, struct bridge *b)
{
    ssize_t n = read(c->host_fd, b->in, sizeof(b->in));
    if (n > 0) {
        b->in_off = 0;
        b->in_len = (size_t)n;
    } else if (n == 0 || errno == EIO) {
        bridge_hang_up(c, b); /* a hung-up terminal reads end of file */
    } else if (errno != EINTR && errno != EAGAIN) {
        log_warning("console: read the host terminal: %s: no more input", strerror(errno));
        b->no_input = true;
    }
}

static void *console_bridge(void *arg)
{
    struct boot_console *c = arg;
    struct bridge *b = calloc(1, sizeof(*b));

    if (!b) {
        log_error("console: out of memory: the guest's terminal is not connected");
        return NULL;
    }
    for (;;) {
        bool stopping = atomic_load_explicit(&c->stopping, memory_order_acquire);
        if (b->in_off < b->in_len && !stopping)
            b->in_off += devpts_console_input(c->master, b->in + b->in_off, b->in_len - b->in_off);
        bridge_pump_output(c, b);
        if (stopping && b->out_off == b->out_len)
            break;
        struct pollfd fds[2] = {{.fd = c->wake[0], .events = POLLIN}, {.fd = c->host_fd}};
        bool want_input = !stopping && !b->hung_up && !b->no_input && b->in_off == b->in_len;
        if (want_input)
            fds[1].events |= POLLIN;
        if (!b->hung_up && b->out_off < b->out_len)
            fds[1].events |= POLLOUT;
        if (!fds[1].events)
            fds[1].fd = -1; /* nothing to ask the host: wait for the pty or the stop */
        int ready = poll(fds, 2, stopping || b->hung_up ? -1 : CONSOLE_SIZE_POLL_MS);
        bridge_check_size(c, b);
        if (ready <= 0)
            continue; /* the size's timeout, or EINTR */
        if (fds[0].revents & POLLIN)
            console_drain_wake(c);
        if (fds[1].revents & POLLIN)
            bridge_read_input(c, b);
        /* A hung-up terminal polls readable too, and its read ends the input above; with no read
         * asked for, POLLHUP alone says it. */
        else if (fds[1].revents & (POLLHUP | POLLERR | POLLNVAL))
            bridge_hang_up(c, b);
    }
    free(b);
    return NULL;
}

int boot_console_open(int host_fd, struct boot_console **out)
{
    struct boot_console *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        int err = -errno;
        free(c);
        return err;
    }
    c->host_fd = host_fd;
    pthread_mutex_init(&c->lock, NULL);
    waiter_init_callback(&c->waiter, console_notify);
    *out = c;
    return 0;
}

int boot_console_start(struct boot_console *c, struct kernel *k, uid_t owner, int sid,
                       struct file **slave)
{
    struct devpts_console_config cfg = {.owner = owner, .sid = sid, .pgrp = sid};
    struct file *master;

    /* The host's size; its termios stay its own (the pty starts as Linux's do). */
    if (ioctl(c->host_fd, TIOCGWINSZ, &cfg.winsize) != 0)
        log_debug("console: the host terminal's size: %s", strerror(errno));
    int err = devpts_console_create(k, &cfg, &master, slave);
    if (err)
        return err;
    pthread_mutex_lock(&c->lock);
    c->master = master;
    pthread_mutex_unlock(&c->lock);
    devpts_console_watch(master, &c->waiter);
    if ((err = pthread_create(&c->thread, NULL, console_bridge, c)) != 0) {
        devpts_console_unwatch(master, &c->waiter);
        file_put(*slave);
        *slave = NULL;
        pthread_mutex_lock(&c->lock);
        c->master = NULL;
        pthread_mutex_unlock(&c->lock);
        file_put(master);
        return -err;
    }
    c->started = true;
    return 0;
}

int boot_console_set_session(struct boot_console *c, int sid)
{
    int err = -ENODEV;

    pthread_mutex_lock(&c->lock);
    if (c->master)
        err = devpts_console_set_session(c->master, sid, sid);
    pthread_mutex_unlock(&c->lock);
    return err;
}

void boot_console_free(struct boot_console *c)
{
    if (!c)
        return;
    boot_console_stop(c);
    close(c->wake[0]);
    close(c->wake[1]);
    close(c->host_fd);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void boot_console_resize(struct boot_console *c)
{
    struct winsize ws;

    pthread_mutex_lock(&c->lock);
    if (c->master && ioctl(c->host_fd, TIOCGWINSZ, &ws) == 0)
        devpts_console_resize(c->master, &ws);
    pthread_mutex_unlock(&c->lock);
}

void boot_console_stop(struct boot_console *c)
{
    if (c->started) {
        atomic_store_explicit(&c->stopping, true, memory_order_release);
        console_notify(&c->waiter);
        pthread_join(c->thread, NULL);
        c->started = false;
        devpts_console_unwatch(c->master, &c->waiter);
    }
    pthread_mutex_lock(&c->lock);
    struct file *master = c->master;
    c->master = NULL;
    pthread_mutex_unlock(&c->lock);
    if (master)
        file_put(master);
}
