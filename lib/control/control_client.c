/* The control socket's client: what the runsc CLI calls to talk to a running sandbox. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/control/control.h"

struct control_conn {
    int sock;             /* owned */
    char last_error[256]; /* the sandbox's message for the last failed call, or ours */
};

int control_connect(const char *socket_path, struct control_conn **out)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct control_conn *c;
    int err;

    if (strlen(socket_path) >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    strcpy(addr.sun_path, socket_path);
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (c->sock < 0) {
        err = -errno;
        goto out_free;
    }
    if (connect(c->sock, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        err = -errno;
        goto out_sock;
    }
    *out = c;
    return 0;

out_sock:
    close(c->sock);
out_free:
    free(c);
    return err;
}

void control_close(struct control_conn *c)
{
    if (!c)
        return;
    close(c->sock);
    free(c);
}

const char *control_last_error(const struct control_conn *c)
{
    return c->last_error;
}

static struct json_object *request_new(const char *method, const char *container_id)
{
    struct json_object *req = json_object_new_object();

    if (!req)
        return NULL;
    json_object_object_add(req, "method", json_object_new_string(method));
    if (container_id)
        json_object_object_add(req, "container_id", json_object_new_string(container_id));
    return req;
}

/* Sends `req` (consumed) and waits for the reply: 0 with *reply (the caller's, if reply is not
 * NULL), or -errno with last_error set. */
static int call(struct control_conn *c, struct json_object *req, const int *fds, size_t nfds,
                struct json_object **reply)
{
    struct json_object *rep = NULL, *v;
    int got_fds[CONTROL_MAX_FDS];
    size_t n_got = 0;
    int err;

    c->last_error[0] = '\0';
    if (!req)
        return -ENOMEM;
    err = control_msg_send(c->sock, req, fds, nfds);
    json_object_put(req);
    if (!err)
        err = control_msg_recv(c->sock, &rep, got_fds, &n_got);
    if (err) {
        snprintf(c->last_error, sizeof(c->last_error), "control socket: %s", strerror(-err));
        return err;
    }
    for (size_t i = 0; i < n_got; i++)
        close(got_fds[i]); /* no reply carries fds today */
    if (json_object_object_get_ex(rep, "errno", &v)) {
        err = json_object_get_int(v);
        if (err <= 0)
            err = EPROTO;
        struct json_object *text;
        snprintf(c->last_error, sizeof(c->last_error), "%s",
                 json_object_object_get_ex(rep, "error", &text) ? json_object_get_string(text)
                                                                : strerror(err));
        json_object_put(rep);
        return -err;
    }
    if (!json_object_object_get_ex(rep, "ok", &v) || !json_object_get_boolean(v)) {
        snprintf(c->last_error, sizeof(c->last_error), "control socket: malformed reply");
        json_object_put(rep);
        return -EPROTO;
    }
    if (reply)
        *reply = rep;
    else
        json_object_put(rep);
    return 0;
}

static int64_t get_int64(struct json_object *obj, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(obj, key, &v) ? json_object_get_int64(v) : 0;
}

int control_start(struct control_conn *c, const char *container_id)
{
    return call(c, request_new(CONTROL_METHOD_START, container_id), NULL, 0, NULL);
}

int control_signal(struct control_conn *c, const char *container_id, int sig,
                   enum control_signal_target target, pid_t guest_pid)
{
    struct json_object *req = request_new(CONTROL_METHOD_SIGNAL, container_id);

    if (req) {
        json_object_object_add(req, "signo", json_object_new_int(sig));
        json_object_object_add(req, "target", json_object_new_int((int)target));
        json_object_object_add(req, "pid", json_object_new_int(guest_pid));
    }
    return call(c, req, NULL, 0, NULL);
}

static int wait_call(struct control_conn *c, struct json_object *req, int *status)
{
    struct json_object *rep;
    int err = call(c, req, NULL, 0, &rep);

    if (err)
        return err;
    *status = (int)get_int64(rep, "status");
    json_object_put(rep);
    return 0;
}

int control_wait(struct control_conn *c, const char *container_id, int *status)
{
    return wait_call(c, request_new(CONTROL_METHOD_WAIT, container_id), status);
}

int control_wait_pid(struct control_conn *c, const char *container_id, pid_t guest_pid, int *status)
{
    struct json_object *req = request_new(CONTROL_METHOD_WAIT_PID, container_id);

    if (req)
        json_object_object_add(req, "pid", json_object_new_int(guest_pid));
    return wait_call(c, req, status);
}

static void copy_string(char *dst, size_t size, struct json_object *obj, const char *key)
{
    struct json_object *v;
    const char *s = json_object_object_get_ex(obj, key, &v) ? json_object_get_string(v) : NULL;
    snprintf(dst, size, "%s", s ? s : "");
}

int control_processes(struct control_conn *c, const char *container_id,
                      struct control_process **out, size_t *n)
{
    struct json_object *rep, *list;
    int err = call(c, request_new(CONTROL_METHOD_PROCESSES, container_id), NULL, 0, &rep);

    if (err)
        return err;
    if (!json_object_object_get_ex(rep, "processes", &list) ||
        !json_object_is_type(list, json_type_array)) {
        json_object_put(rep);
        return -EPROTO;
    }
    size_t count = json_object_array_length(list);
    struct control_process *ps = calloc(count ? count : 1, sizeof(*ps));
    if (!ps) {
        json_object_put(rep);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        struct json_object *p = json_object_array_get_idx(list, i);
        ps[i].pid = (pid_t)get_int64(p, "pid");
        ps[i].ppid = (pid_t)get_int64(p, "ppid");
        ps[i].host_pid = (pid_t)get_int64(p, "host_pid");
        ps[i].uid = (uid_t)get_int64(p, "uid");
        ps[i].start_ns = (uint64_t)get_int64(p, "start_ns");
        ps[i].cpu_ns = (uint64_t)get_int64(p, "cpu_ns");
        copy_string(ps[i].tty, sizeof(ps[i].tty), p, "tty");
        copy_string(ps[i].comm, sizeof(ps[i].comm), p, "comm");
        copy_string(ps[i].cmdline, sizeof(ps[i].cmdline), p, "cmdline");
    }
    json_object_put(rep);
    *out = ps;
    *n = count;
    return 0;
}

static struct json_object *string_array(char *const *v)
{
    struct json_object *a = json_object_new_array();

    for (size_t i = 0; a && v && v[i]; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    return a;
}

int control_execute(struct control_conn *c, const char *container_id, const struct control_exec *e,
                    pid_t *guest_pid)
{
    struct json_object *req = request_new(CONTROL_METHOD_EXECUTE, container_id), *rep;
    int fds[4];
    size_t nfds = 0;

    if (!e->argv || !e->argv[0]) {
        json_object_put(req);
        return -EINVAL;
    }
    if (req) {
        json_object_object_add(req, "argv", string_array(e->argv));
        json_object_object_add(req, "env", string_array(e->envp));
        json_object_object_add(req, "cwd", json_object_new_string(e->cwd ? e->cwd : "/"));
        json_object_object_add(req, "uid", json_object_new_int64(e->uid));
        json_object_object_add(req, "gid", json_object_new_int64(e->gid));
        struct json_object *groups = json_object_new_array();
        for (size_t i = 0; groups && i < e->n_groups; i++)
            json_object_array_add(groups, json_object_new_int64(e->groups[i]));
        json_object_object_add(req, "groups", groups);
        if (e->has_caps) {
            const struct {
                const char *key;
                uint64_t mask;
            } sets[] = {{"caps_effective", e->caps_effective},
                        {"caps_permitted", e->caps_permitted},
                        {"caps_bounding", e->caps_bounding},
                        {"caps_inheritable", e->caps_inheritable},
                        {"caps_ambient", e->caps_ambient}};
            for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
                json_object_object_add(req, sets[i].key,
                                       json_object_new_int64((int64_t)sets[i].mask));
        }
        json_object_object_add(req, "no_new_privs", json_object_new_boolean(e->no_new_privs));
        /* Which fd of the message each stdio number (and the console) is, -1 for none. */
        struct json_object *stdio = json_object_new_array();
        for (int i = 0; i < 3; i++) {
            int index = e->stdio[i] >= 0 && e->console_fd < 0 ? (int)nfds : -1;
            if (index >= 0)
                fds[nfds++] = e->stdio[i];
            if (stdio)
                json_object_array_add(stdio, json_object_new_int(index));
        }
        json_object_object_add(req, "stdio", stdio);
        int console = -1;
        if (e->console_fd >= 0) {
            console = (int)nfds;
            fds[nfds++] = e->console_fd;
        }
        json_object_object_add(req, "console", json_object_new_int(console));
    }
    int err = call(c, req, fds, nfds, &rep);
    if (err)
        return err;
    *guest_pid = (pid_t)get_int64(rep, "pid");
    json_object_put(rep);
    return 0;
}

int control_pause(struct control_conn *c)
{
    return call(c, request_new(CONTROL_METHOD_PAUSE, NULL), NULL, 0, NULL);
}

int control_resume(struct control_conn *c)
{
    return call(c, request_new(CONTROL_METHOD_RESUME, NULL), NULL, 0, NULL);
}

int control_event(struct control_conn *c, const char *container_id, struct control_stats *out)
{
    struct json_object *rep;
    int err = call(c, request_new(CONTROL_METHOD_EVENT, container_id), NULL, 0, &rep);

    if (err)
        return err;
    out->cpu_total_ns = (uint64_t)get_int64(rep, "cpu_total_ns");
    out->cpu_user_ns = (uint64_t)get_int64(rep, "cpu_user_ns");
    out->cpu_system_ns = (uint64_t)get_int64(rep, "cpu_system_ns");
    out->memory_usage_bytes = (uint64_t)get_int64(rep, "memory_usage_bytes");
    out->memory_limit_bytes = (uint64_t)get_int64(rep, "memory_limit_bytes");
    out->pids_current = (uint64_t)get_int64(rep, "pids_current");
    out->pids_limit = (uint64_t)get_int64(rep, "pids_limit");
    json_object_put(rep);
    return 0;
}

int control_create_container(struct control_conn *c, const char *container_id,
                             const char *spec_json, int gofer_fd, const int stdio[3],
                             int console_fd, const struct control_seccomp *seccomp)
{
    struct json_object *req = request_new(CONTROL_METHOD_CREATE_CONTAINER, container_id);
    int fds[5];
    size_t nfds = 0;

    if (req) {
        json_object_object_add(req, "spec", json_object_new_string(spec_json ? spec_json : ""));
        fds[nfds++] = gofer_fd;
        struct json_object *a = json_object_new_array();
        for (int i = 0; i < 3; i++) {
            int index = stdio && stdio[i] >= 0 ? (int)nfds : -1;
            if (index >= 0)
                fds[nfds++] = stdio[i];
            if (a)
                json_object_array_add(a, json_object_new_int(index));
        }
        json_object_object_add(req, "stdio", a);
        int console = console_fd >= 0 ? (int)nfds : -1;
        if (console >= 0)
            fds[nfds++] = console_fd;
        json_object_object_add(req, "console", json_object_new_int(console));
        if (seccomp && control_msg_add_seccomp(req, seccomp) != 0) {
            json_object_put(req);
            req = NULL;
        }
    }
    return call(c, req, fds, nfds, NULL);
}

int control_destroy_container(struct control_conn *c, const char *container_id)
{
    return call(c, request_new(CONTROL_METHOD_DESTROY_CONTAINER, container_id), NULL, 0, NULL);
}
