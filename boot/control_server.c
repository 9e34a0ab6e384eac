/* The sandbox's control server (DESIGN.md §8): accepts connections on the listening socket the
 * CLI bound, one thread per connection, and maps each request to a kernel call. A call that
 * blocks (Wait, WaitPID) blocks only its own connection, and gives up when its client hangs up. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "lib/control/control.h"
#include "lib/log.h"
#include "sentry/kernel/kernel.h"

/* Connections served at once; more wait in the listen backlog. */
#define MAX_CONNECTIONS 64
/* Bounds on what an Execute request may carry. */
#define MAX_EXEC_STRINGS 4096

struct control_server {
    struct kernel *kernel;
    int listen_fd;        /* owned */
    pthread_mutex_t lock; /* protects the counts below */
    pthread_cond_t changed;
    int connections; /* threads serving a connection */
    int waiting;     /* connections inside Wait/WaitPID, until their reply is sent */
};

struct connection {
    struct control_server *server;
    int sock; /* owned */
};

static int reply_ok(int sock, struct json_object *reply)
{
    if (!reply)
        reply = json_object_new_object();
    if (!reply)
        return -ENOMEM;
    json_object_object_add(reply, "ok", json_object_new_boolean(1));
    int err = control_msg_send(sock, reply, NULL, 0);
    json_object_put(reply);
    return err;
}

static int64_t get_int(struct json_object *req, const char *key, int64_t dflt)
{
    struct json_object *v;
    return json_object_object_get_ex(req, key, &v) ? json_object_get_int64(v) : dflt;
}

static const char *container_id(struct json_object *req)
{
    struct json_object *v;
    return json_object_object_get_ex(req, "container_id", &v) ? json_object_get_string(v) : NULL;
}

/* The pod container a request names: 0 and its number and first pid, or an error reply sent
 * (its result in *sent) for a destroyed member. */
static int find_container(struct connection *c, struct json_object *req, unsigned *container,
                          int *init_pid, int *sent)
{
    const char *id = container_id(req);
    int err = kernel_container_find(c->server->kernel, id, container, init_pid);
    if (err) {
        char msg[160];
        snprintf(msg, sizeof(msg), "container %.100s was destroyed", id ? id : "");
        *sent = control_reply_error(c->sock, -err, msg);
    }
    return err;
}

/* Whether the client of a waiting call hung up (it gave up the wait). */
static bool client_gone(void *arg)
{
    struct pollfd p = {.fd = *(int *)arg, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL));
}

/* Waits for guest process `pid`, or with pid 0 for the first process of container `id`. */
static int do_wait(struct connection *c, const char *id, int pid)
{
    struct control_server *s = c->server;
    int status, err;

    pthread_mutex_lock(&s->lock);
    s->waiting++;
    pthread_mutex_unlock(&s->lock);
    if (pid)
        err = kernel_wait_pid(s->kernel, pid, &status, client_gone, &c->sock);
    else
        err = kernel_container_wait(s->kernel, id, &status, client_gone, &c->sock);
    /* A process with a console of its own: its last output reaches the host first. */
    if (pid && !err)
        boot_exec_console_drain(pid);
    if (err == -EINTR) {
        err = -ECONNRESET; /* nobody to answer */
    } else if (err) {
        err = control_reply_error(c->sock, -err, err == -ESRCH ? "no such process" : NULL);
    } else {
        struct json_object *reply = json_object_new_object();
        if (reply)
            json_object_object_add(reply, "status", json_object_new_int(status));
        err = reply_ok(c->sock, reply);
    }
    pthread_mutex_lock(&s->lock);
    s->waiting--;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return err;
}

static int do_signal(struct connection *c, struct json_object *req)
{
    struct kernel *k = c->server->kernel;
    int sig = (int)get_int(req, "signo", -1);
    int pid = (int)get_int(req, "pid", 0);
    unsigned container;
    int init_pid, err;

    if (find_container(c, req, &container, &init_pid, &err) != 0)
        return err;
    switch (get_int(req, "target", CONTROL_SIGNAL_INIT)) {
    case CONTROL_SIGNAL_INIT:
        err = kernel_signal_process(k, init_pid, sig);
        break;
    case CONTROL_SIGNAL_ALL:
        err = kernel_signal_all(k, (int)container, sig);
        break;
    case CONTROL_SIGNAL_PROCESS:
        err = pid > 0 ? kernel_signal_process(k, pid, sig) : -EINVAL;
        break;
    case CONTROL_SIGNAL_FG_GROUP:
        err = kernel_signal_foreground(k, pid > 0 ? pid : init_pid, sig);
        break;
    default:
        err = -EINVAL;
    }
    if (err)
        return control_reply_error(c->sock, -err, err == -ESRCH ? "no such process" : NULL);
    return reply_ok(c->sock, NULL);
}

static int do_processes(struct connection *c, struct json_object *req)
{
    struct control_process *ps;
    size_t n;
    unsigned container;
    int init_pid, err;

    if (find_container(c, req, &container, &init_pid, &err) != 0)
        return err;
    err = kernel_list_processes(c->server->kernel, (int)container, &ps, &n);

    if (err)
        return control_reply_error(c->sock, -err, NULL);
    struct json_object *reply = json_object_new_object(), *list = json_object_new_array();
    for (size_t i = 0; list && i < n; i++) {
        struct json_object *p = json_object_new_object();
        if (!p)
            continue;
        json_object_object_add(p, "pid", json_object_new_int(ps[i].pid));
        json_object_object_add(p, "ppid", json_object_new_int(ps[i].ppid));
        json_object_object_add(p, "host_pid", json_object_new_int(ps[i].host_pid));
        json_object_object_add(p, "uid", json_object_new_int64(ps[i].uid));
        json_object_object_add(p, "start_ns", json_object_new_int64((int64_t)ps[i].start_ns));
        json_object_object_add(p, "cpu_ns", json_object_new_int64((int64_t)ps[i].cpu_ns));
        json_object_object_add(p, "tty", json_object_new_string(ps[i].tty));
        json_object_object_add(p, "comm", json_object_new_string(ps[i].comm));
        json_object_object_add(p, "cmdline", json_object_new_string(ps[i].cmdline));
        json_object_array_add(list, p);
    }
    free(ps);
    if (reply && list)
        json_object_object_add(reply, "processes", list);
    else
        json_object_put(list);
    return reply_ok(c->sock, reply);
}

/* A JSON array of strings as a NULL-terminated vector pointing into the request (valid while
 * it lives), or NULL. */
static char **string_vector(struct json_object *req, const char *key)
{
    struct json_object *a;
    if (!json_object_object_get_ex(req, key, &a) || !json_object_is_type(a, json_type_array))
        return calloc(1, sizeof(char *));
    size_t n = json_object_array_length(a);
    if (n > MAX_EXEC_STRINGS)
        return NULL;
    char **v = calloc(n + 1, sizeof(*v));
    for (size_t i = 0; v && i < n; i++) {
        struct json_object *s = json_object_array_get_idx(a, i);
        if (!json_object_is_type(s, json_type_string)) {
            free(v);
            return NULL;
        }
        v[i] = (char *)json_object_get_string(s);
    }
    return v;
}

/* The message's fd at `index` (taken: -1 left in its place), or -1. */
static int take_fd(int *fds, size_t nfds, int64_t index)
{
    if (index < 0 || (size_t)index >= nfds)
        return -1;
    int fd = fds[index];
    fds[index] = -1;
    return fd;
}

static int do_execute(struct connection *c, struct json_object *req, int *fds, size_t nfds)
{
    struct kernel_exec e = {.stdio_fds = {-1, -1, -1}};
    char **argv = string_vector(req, "argv"), **envp = string_vector(req, "env");
    gid_t groups[CREDS_MAX_GROUPS];
    struct json_object *v;
    char why[256] = "";
    int init_pid, err;

    if (find_container(c, req, &e.container, &init_pid, &err) != 0)
        goto out;
    if (!argv || !envp || !argv[0]) {
        err = control_reply_error(c->sock, EINVAL, "execute: argv must be a non-empty list");
        goto out;
    }
    e.argv = argv;
    e.envp = envp;
    e.cwd = json_object_object_get_ex(req, "cwd", &v) ? json_object_get_string(v) : "/";
    e.uid = (uid_t)get_int(req, "uid", 0);
    e.gid = (gid_t)get_int(req, "gid", 0);
    if (json_object_object_get_ex(req, "groups", &v) && json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n && e.ngroups < CREDS_MAX_GROUPS; i++)
            groups[e.ngroups++] = (gid_t)json_object_get_int64(json_object_array_get_idx(v, i));
    }
    e.groups = groups;
    /* A console (runsc exec -t): a sentry pty bridged to the donated host terminal, the new
     * session's controlling terminal. */
    struct exec_console *ec = NULL;
    int console = take_fd(fds, nfds, get_int(req, "console", -1));
    if (console >= 0) {
        int ret = boot_exec_console_attach(c->server->kernel, console, e.uid, &e, &ec);
        if (ret) {
            err = control_reply_error(c->sock, -ret, "execute: the terminal");
            goto out;
        }
    } else if (json_object_object_get_ex(req, "stdio", &v) &&
               json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < 3 && i < json_object_array_length(v); i++)
            e.stdio_fds[i] =
                take_fd(fds, nfds, json_object_get_int64(json_object_array_get_idx(v, i)));
    }
    /* process.noNewPrivileges (or --no-new-privs): set before its first instruction, so the
     * exec'd program and everything it runs keep to it. */
    e.no_new_privs =
        json_object_object_get_ex(req, "no_new_privs", &v) && json_object_get_boolean(v);
    /* The capability sets when the client names them (runsc exec's process.capabilities and
     * --cap). */
    if (json_object_object_get_ex(req, "caps_effective", &v)) {
        e.has_caps = true;
        e.caps = (struct init_caps){
            .effective = (uint64_t)get_int(req, "caps_effective", 0),
            .permitted = (uint64_t)get_int(req, "caps_permitted", 0),
            .bounding = (uint64_t)get_int(req, "caps_bounding", 0),
            .inheritable = (uint64_t)get_int(req, "caps_inheritable", 0),
            .ambient = (uint64_t)get_int(req, "caps_ambient", 0),
        };
    }
    int pid = kernel_execute(c->server->kernel, &e, why, sizeof(why));
    if (ec && pid > 0)
        boot_exec_console_started(ec, pid);
    else if (ec)
        boot_exec_console_abandon(ec);
    if (pid < 0) {
        char msg[300];
        snprintf(msg, sizeof(msg), "exec: \"%s\": %s", argv[0], why);
        err = control_reply_error(c->sock, -pid, msg);
        goto out;
    }
    struct json_object *reply = json_object_new_object();
    if (reply)
        json_object_object_add(reply, "pid", json_object_new_int(pid));
    err = reply_ok(c->sock, reply);
out:
    free(argv);
    free(envp);
    return err;
}

static int do_create_container(struct connection *c, struct json_object *req, int *fds, size_t nfds)
{
    struct json_object *v;
    struct boot_pod_request r = {
        .id = container_id(req),
        .spec_json = json_object_object_get_ex(req, "spec", &v) ? json_object_get_string(v) : NULL,
        .gofer_fd = take_fd(fds, nfds, 0),
        .stdio = {-1, -1, -1},
        .console_fd = take_fd(fds, nfds, get_int(req, "console", -1)),
    };
    if (json_object_object_get_ex(req, "stdio", &v) && json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < 3 && i < json_object_array_length(v); i++) {
            int64_t index = json_object_get_int64(json_object_array_get_idx(v, i));
            r.stdio[i] = index > 0 ? take_fd(fds, nfds, index) : -1;
        }
    }
    struct sock_filter *prog = NULL;
    char why[512] = "";
    int pid = control_msg_get_seccomp(req, &prog, &r.seccomp_len, &r.seccomp_log);
    if (pid == 0) {
        r.seccomp_prog = prog;
        pid = boot_pod_create_container(c->server->kernel, &r, why, sizeof(why));
    } else {
        snprintf(why, sizeof(why), "create container: a malformed seccomp program");
        const int owned[5] = {r.gofer_fd, r.console_fd, r.stdio[0], r.stdio[1], r.stdio[2]};
        for (int i = 0; i < 5; i++) {
            if (owned[i] >= 0)
                close(owned[i]);
        }
    }
    free(prog);
    if (pid < 0)
        return control_reply_error(c->sock, -pid, why[0] ? why : NULL);
    struct json_object *reply = json_object_new_object();
    if (reply)
        json_object_object_add(reply, "pid", json_object_new_int(pid));
    return reply_ok(c->sock, reply);
}

static int do_start(struct connection *c, struct json_object *req)
{
    struct kernel *k = c->server->kernel;
    unsigned container;
    int init_pid, err;

    if (find_container(c, req, &container, &init_pid, &err) != 0)
        return err;
    err = container ? kernel_container_start(k, container_id(req)) : kernel_run_init(k);
    if (err)
        return control_reply_error(c->sock, -err,
                                   err == -EALREADY ? "the container was already started"
                                                    : "the container has no loaded process");
    return reply_ok(c->sock, NULL);
}

static int do_event(struct connection *c)
{
    struct control_stats st;
    struct json_object *reply = json_object_new_object();

    kernel_stats(c->server->kernel, &st);
    if (reply) {
        json_object_object_add(reply, "cpu_total_ns",
                               json_object_new_int64((int64_t)st.cpu_total_ns));
        json_object_object_add(reply, "cpu_user_ns",
                               json_object_new_int64((int64_t)st.cpu_user_ns));
        json_object_object_add(reply, "cpu_system_ns",
                               json_object_new_int64((int64_t)st.cpu_system_ns));
        json_object_object_add(reply, "memory_usage_bytes",
                               json_object_new_int64((int64_t)st.memory_usage_bytes));
        json_object_object_add(reply, "memory_limit_bytes",
                               json_object_new_int64((int64_t)st.memory_limit_bytes));
        json_object_object_add(reply, "pids_current",
                               json_object_new_int64((int64_t)st.pids_current));
        json_object_object_add(reply, "pids_limit", json_object_new_int64((int64_t)st.pids_limit));
    }
    return reply_ok(c->sock, reply);
}

/* Answers one request; returns -errno when the connection can't go on. */
static int dispatch(struct connection *c, struct json_object *req, int *fds, size_t nfds)
{
    struct kernel *k = c->server->kernel;
    struct json_object *v;
    const char *method =
        json_object_object_get_ex(req, "method", &v) ? json_object_get_string(v) : "";
    int err;

    log_debug("control: %s", method);
    if (strcmp(method, CONTROL_METHOD_START) == 0)
        return do_start(c, req);
    if (strcmp(method, CONTROL_METHOD_SIGNAL) == 0)
        return do_signal(c, req);
    if (strcmp(method, CONTROL_METHOD_WAIT) == 0)
        return do_wait(c, container_id(req), 0);
    if (strcmp(method, CONTROL_METHOD_WAIT_PID) == 0) {
        int pid = (int)get_int(req, "pid", 0);
        if (pid <= 0)
            return control_reply_error(c->sock, EINVAL, "waitpid: a pid is required");
        return do_wait(c, NULL, pid);
    }
    if (strcmp(method, CONTROL_METHOD_PROCESSES) == 0)
        return do_processes(c, req);
    if (strcmp(method, CONTROL_METHOD_EXECUTE) == 0)
        return do_execute(c, req, fds, nfds);
    if (strcmp(method, CONTROL_METHOD_PAUSE) == 0) {
        kernel_pause(k);
        return reply_ok(c->sock, NULL);
    }
    if (strcmp(method, CONTROL_METHOD_RESUME) == 0) {
        kernel_resume(k);
        return reply_ok(c->sock, NULL);
    }
    if (strcmp(method, CONTROL_METHOD_EVENT) == 0)
        return do_event(c);
    if (strcmp(method, CONTROL_METHOD_CREATE_CONTAINER) == 0)
        return do_create_container(c, req, fds, nfds);
    if (strcmp(method, CONTROL_METHOD_DESTROY_CONTAINER) == 0) {
        /* The root container is destroyed with the sandbox, by the CLI. */
        err = kernel_container_destroy(k, container_id(req) ? container_id(req) : "");
        if (err)
            return control_reply_error(c->sock, -err, "no such container in this sandbox");
        return reply_ok(c->sock, NULL);
    }
    char msg[128];
    snprintf(msg, sizeof(msg), "unknown method \"%.64s\"", method);
    return control_reply_error(c->sock, EINVAL, msg);
}

static void *connection_main(void *arg)
{
    struct connection *c = arg;
    struct control_server *s = c->server;

    for (;;) {
        struct json_object *req;
        int fds[CONTROL_MAX_FDS];
        size_t nfds;
        int err = control_msg_recv(c->sock, &req, fds, &nfds);
        if (err == -EPROTO || err == -EMSGSIZE) {
            if (control_reply_error(c->sock, -err, "malformed request") != 0)
                break;
            continue;
        }
        if (err)
            break;
        err = dispatch(c, req, fds, nfds);
        json_object_put(req);
        for (size_t i = 0; i < nfds; i++) {
            if (fds[i] >= 0)
                close(fds[i]);
        }
        if (err)
            break;
    }
    close(c->sock);
    free(c);
    pthread_mutex_lock(&s->lock);
    s->connections--;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct control_server *s = arg;

    for (;;) {
        int sock = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (sock < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            /* Out of fds or memory: let the moment pass rather than spin. */
            log_warning("control: accept: %s", strerror(errno));
            struct timespec pause = {0, 100 * 1000000L};
            nanosleep(&pause, NULL);
            continue;
        }
        pthread_mutex_lock(&s->lock);
        bool room = s->connections < MAX_CONNECTIONS;
        if (room)
            s->connections++;
        pthread_mutex_unlock(&s->lock);
        struct connection *c = room ? malloc(sizeof(*c)) : NULL;
        pthread_attr_t attr;
        pthread_t thread;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int err = c ? 0 : EAGAIN;
        if (c) {
            c->server = s;
            c->sock = sock;
            err = pthread_create(&thread, &attr, connection_main, c);
        }
        pthread_attr_destroy(&attr);
        if (err) {
            control_reply_error(sock, EAGAIN, "too many control connections");
            close(sock);
            free(c);
            if (room) {
                pthread_mutex_lock(&s->lock);
                s->connections--;
                pthread_mutex_unlock(&s->lock);
            }
        }
    }
    return NULL;
}

int control_server_start(struct kernel *k, int listen_fd, struct control_server **out)
{
    struct control_server *s = calloc(1, sizeof(*s));
    pthread_t thread;

    if (!s) {
        close(listen_fd);
        return -ENOMEM;
    }
    s->kernel = k;
    s->listen_fd = listen_fd;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    /* Host signals are the forwarder's: the mask is inherited from boot_run's thread. */
    int err = pthread_create(&thread, NULL, accept_main, s);
    if (err) {
        close(listen_fd);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->changed);
        free(s);
        return -err;
    }
    pthread_detach(thread);
    *out = s;
    return 0;
}

void control_server_drain(struct control_server *s, int timeout_ms)
{
    struct timespec deadline;

    if (!s)
        return;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (s->waiting > 0) {
        if (pthread_cond_timedwait(&s->changed, &s->lock, &deadline) != 0)
            break;
    }
    pthread_mutex_unlock(&s->lock);
}
