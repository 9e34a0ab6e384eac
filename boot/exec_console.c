/* Terminals of processes started from outside the sandbox (`runsc exec -t`, a pod member with
 * process.terminal): the host terminal the request donated is bridged (console.c) to a sentry
 * pty, which becomes the controlling terminal of the new process's session before it runs, so
 * Ctrl-C, Ctrl-Z and window sizes work as in the root container. Each console is stopped, its
 * last output written to the host, once its process has exited: by a thread of its own that
 * waits for the exit, or first by a WaitPID for that process, which then answers only after
 * the output is out. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "lib/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/vfs/vfs.h"

enum exec_console_state { EXEC_CONSOLE_LIVE, EXEC_CONSOLE_STOPPING, EXEC_CONSOLE_DONE };

struct exec_console {
    struct boot_console *console;
    struct file *slave; /* attach's reference, given up once the kernel has its own */
    struct kernel *kernel;
    int pid;                       /* 0 until the process exists */
    enum exec_console_state state; /* registry_lock */
    struct exec_console *next;     /* in `registry`, while live or stopping */
};

/* The sandbox's exec consoles. registry_lock protects the list and every entry's state;
 * registry_changed is broadcast when an entry is done. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t registry_changed = PTHREAD_COND_INITIALIZER;
static struct exec_console *registry;

/* kernel_exec.on_session: the new session takes the pty as its controlling terminal. */
static void take_terminal(void *arg, int sid)
{
    struct exec_console *ec = arg;
    int err = boot_console_set_session(ec->console, sid);
    if (err)
        log_warning("exec console: session %d cannot take its terminal: %s", sid, strerror(-err));
}

int boot_exec_console_attach(struct kernel *k, int host_fd, uid_t owner, struct kernel_exec *e,
                             struct exec_console **out)
{
    struct exec_console *ec = calloc(1, sizeof(*ec));
    struct file *slave = NULL;
    int err;

    if (!ec) {
        close(host_fd);
        return -ENOMEM;
    }
    if ((err = boot_console_open(host_fd, &ec->console)) != 0) {
        close(host_fd);
        free(ec);
        return err;
    }
    /* No session yet: the process's own, made by kernel_execute, takes it (take_terminal). */
    if ((err = boot_console_start(ec->console, k, owner, 0, &slave)) != 0) {
        boot_console_free(ec->console);
        free(ec);
        return err;
    }
    ec->kernel = k;
    ec->slave = slave;
    for (int fd = 0; fd < 3; fd++) {
        e->stdio_fds[fd] = -1;
        e->stdio_files[fd] = slave;
    }
    e->on_session = take_terminal;
    e->on_session_arg = ec;
    *out = ec;
    return 0;
}

/* Stops the bridge (writing out what the pty still holds) and frees it; the caller moved the
 * entry to STOPPING, so nobody else does this. */
static void finish(struct exec_console *ec)
{
    boot_console_free(ec->console);
    pthread_mutex_lock(&registry_lock);
    for (struct exec_console **pp = &registry; *pp; pp = &(*pp)->next) {
        if (*pp == ec) {
            *pp = ec->next;
            break;
        }
    }
    ec->state = EXEC_CONSOLE_DONE;
    pthread_cond_broadcast(&registry_changed);
    pthread_mutex_unlock(&registry_lock);
    free(ec);
}

/* Claims the entry for stopping: true for the one caller that gets it. */
static bool claim(struct exec_console *ec)
{
    bool mine = ec->state == EXEC_CONSOLE_LIVE;
    if (mine)
        ec->state = EXEC_CONSOLE_STOPPING;
    return mine;
}

static void *reaper(void *arg)
{
    struct exec_console *ec = arg;
    int status;

    kernel_wait_pid(ec->kernel, ec->pid, &status, NULL, NULL);
    pthread_mutex_lock(&registry_lock);
    bool mine = claim(ec);
    pthread_mutex_unlock(&registry_lock);
    if (mine)
        finish(ec);
    return NULL;
}

void boot_exec_console_started(struct exec_console *ec, int pid)
{
    pthread_attr_t attr;
    pthread_t thread;

    /* The kernel holds its own references to the slave: the one attach took goes. */
    file_put(ec->slave);
    ec->slave = NULL;
    ec->pid = pid;
    pthread_mutex_lock(&registry_lock);
    ec->next = registry;
    registry = ec;
    pthread_mutex_unlock(&registry_lock);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&thread, &attr, reaper, ec);
    pthread_attr_destroy(&attr);
    if (err)
        /* A WaitPID still stops it; without one it lasts as long as the sandbox. */
        log_warning("exec console of %d: no thread to stop it at exit: %s", pid, strerror(err));
}

void boot_exec_console_abandon(struct exec_console *ec)
{
    file_put(ec->slave);
    boot_console_free(ec->console);
    free(ec);
}

void boot_exec_console_drain(int pid)
{
    pthread_mutex_lock(&registry_lock);
    for (;;) {
        struct exec_console *ec = registry;
        while (ec && ec->pid != pid)
            ec = ec->next;
        if (!ec)
            break;
        if (claim(ec)) {
            pthread_mutex_unlock(&registry_lock);
            finish(ec);
            return;
        }
        /* The reaper is stopping it: wait until it is out of the list. */
        pthread_cond_wait(&registry_changed, &registry_lock);
    }
    pthread_mutex_unlock(&registry_lock);
}
