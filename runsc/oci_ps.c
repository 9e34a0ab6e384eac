/* `runsc ps` and `runsc events`: the container's processes (as the host pids of the stubs that
 * run them) and its resource statistics, in runc's formats. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/control/control.h"
#include "runsc/oci_cli.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static int read_link(const char *path, char *buf, size_t size)
{
    ssize_t n = readlink(path, buf, size - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return 0;
}

/* The stubs run in the sandbox's pid namespace, so the sandbox reports their pids there; this
 * finds the host's pid for one (the process in that namespace whose innermost NSpid is it). */
static pid_t host_pid_of(pid_t sandbox_pid, pid_t inner)
{
    char path[300], ns[64], other[64], line[256];

    snprintf(path, sizeof(path), "/proc/%d/ns/pid", sandbox_pid);
    if (read_link(path, ns, sizeof(ns)) != 0)
        return inner;
    DIR *d = opendir("/proc");
    if (!d)
        return inner;
    pid_t found = inner;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof(path), "/proc/%s/ns/pid", e->d_name);
        if (read_link(path, other, sizeof(other)) != 0 || strcmp(ns, other) != 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        while (fgets(line, sizeof(line), f)) {
            if (strncmp(line, "NSpid:", 6) != 0)
                continue;
            char *last = strrchr(line, '\t');
            if (last && atoi(last + 1) == inner)
                found = (pid_t)atoi(e->d_name);
            break;
        }
        fclose(f);
        if (found != inner)
            break;
    }
    closedir(d);
    return found;
}

static int get_processes(const char *id, int dir_fd, pid_t sandbox_pid, pid_t **pids, size_t *n)
{
    char path[128];
    struct control_conn *c;
    struct control_process *procs;
    size_t count;

    state_dir_path(dir_fd, "sandbox.sock", path, sizeof(path));
    int ret = control_connect(path, &c);
    if (ret != 0)
        return ret;
    ret = control_processes(c, id, &procs, &count);
    control_close(c);
    if (ret != 0)
        return ret;
    *pids = calloc(count ? count : 1, sizeof(pid_t));
    *n = 0;
    for (size_t i = 0; *pids && i < count; i++) {
        if (procs[i].host_pid <= 0)
            continue;
        pid_t host = host_pid_of(sandbox_pid, procs[i].host_pid);
        bool dup = false;
        for (size_t j = 0; j < *n; j++)
            dup |= (*pids)[j] == host;
        if (!dup)
            (*pids)[(*n)++] = host;
    }
    free(procs);
    return *pids ? 0 : -ENOMEM;
}

/* runc's table: `ps` (-ef unless given other options) filtered to the container's pids. */
static int print_ps_table(const pid_t *pids, size_t n, int argc, char **argv)
{
    char cmd[4096] = "ps";
    size_t len = strlen(cmd);
    if (argc == 0)
        snprintf(cmd + len, sizeof(cmd) - len, " -ef");
    for (int i = 0; i < argc; i++) {
        len = strlen(cmd);
        snprintf(cmd + len, sizeof(cmd) - len, " '%s'", argv[i]);
        if (strchr(argv[i], '\'')) {
            oci_errorf("ps options may not hold quotes: %s", argv[i]);
            return 1;
        }
    }
    FILE *f = popen(cmd, "re");
    if (!f) {
        oci_errorf("run ps: %s", strerror(errno));
        return 1;
    }
    char line[8192];
    int pid_column = -1;
    bool header = true;
    while (fgets(line, sizeof(line), f)) {
        if (header) {
            char copy[8192];
            snprintf(copy, sizeof(copy), "%s", line);
            int col = 0;
            for (char *save, *tok = strtok_r(copy, " \t\n", &save); tok;
                 tok = strtok_r(NULL, " \t\n", &save), col++) {
                if (strcmp(tok, "PID") == 0)
                    pid_column = col;
            }
            fputs(line, stdout);
            header = false;
            if (pid_column < 0) {
                pclose(f);
                oci_errorf("couldn't find PID field in ps output");
                return 1;
            }
            continue;
        }
        char copy[8192];
        snprintf(copy, sizeof(copy), "%s", line);
        int col = 0;
        char *save, *tok = strtok_r(copy, " \t\n", &save);
        for (; tok && col < pid_column; col++)
            tok = strtok_r(NULL, " \t\n", &save);
        if (!tok)
            continue;
        pid_t pid = (pid_t)atoi(tok);
        for (size_t i = 0; i < n; i++) {
            if (pids[i] == pid) {
                fputs(line, stdout);
                break;
            }
        }
    }
    pclose(f);
    return 0;
}

int oci_cmd_ps(const struct global_flags *g, int argc, char **argv)
{
    const char *format = "table";
    const struct oci_flag flags[] = {
        {"format", 'f', OCI_FLAG_STRING, &format, "select one of: table or json"},
    };
    const struct oci_command cmd = {"ps", "<container-id> [ps options]",
                                    "ps displays the processes running inside a container", flags,
                                    1, 1, -1};
    int first, r = oci_parse_flags(&cmd, argc, argv, &first);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0) {
        oci_errorf("invalid format option");
        return 1;
    }
    const char *id = argv[first];
    struct container_state st;
    int dir_fd, code = 1;
    if (oci_load_container(g, id, &dir_fd, &st) != 0)
        return 1;
    pid_t *pids = NULL;
    size_t n = 0;
    if (state_live_status(&st) == CONTAINER_STOPPED) {
        /* Nothing runs: an empty list, as runc gives for a container with no processes. */
    } else {
        int ret = get_processes(id, dir_fd, pod_sandbox_pid(g, dir_fd, st.pid), &pids, &n);
        if (ret != 0) {
            oci_errorf("list the processes of %s: %s", id, strerror(-ret));
            goto out;
        }
    }
    if (strcmp(format, "json") == 0) {
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            json_object_array_add(a, json_object_new_int(pids[i]));
        printf("%s\n", json_object_to_json_string_ext(a, JSON_FLAGS));
        json_object_put(a);
        code = 0;
    } else {
        fflush(stdout);
        code = print_ps_table(pids, n, argc - first - 1, argv + first + 1);
    }
out:
    free(pids);
    state_free(&st);
    close(dir_fd);
    return code;
}

/* Go's time.ParseDuration for what people write: "5s", "100ms", "1m30s", "1.5h". */
static int parse_duration_ms(const char *s, int64_t *out)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 6e4}, {"h", 3.6e6}};
    double total = 0;

    if (!*s)
        return -EINVAL;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s)
            return -EINVAL;
        s = end;
        size_t len = 0;
        while (isalpha((unsigned char)s[len]))
            len++;
        bool found = false;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && !found; i++) {
            if (strlen(units[i].unit) == len && strncmp(units[i].unit, s, len) == 0) {
                total += v * units[i].ms;
                found = true;
            }
        }
        if (!found)
            return -EINVAL;
        s += len;
    }
    *out = (int64_t)total;
    return 0;
}

static struct json_object *u64(uint64_t v)
{
    return json_object_new_uint64(v);
}

/* runc's types.Stats, the parts a sandbox can say something about. */
static struct json_object *stats_json(const struct control_stats *s)
{
    struct json_object *usage = json_object_new_object();
    json_object_object_add(usage, "total", u64(s->cpu_total_ns));
    json_object_object_add(usage, "kernel", u64(s->cpu_system_ns));
    json_object_object_add(usage, "user", u64(s->cpu_user_ns));
    struct json_object *cpu = json_object_new_object();
    json_object_object_add(cpu, "usage", usage);
    json_object_object_add(cpu, "throttling", json_object_new_object());

    struct json_object *mem_usage = json_object_new_object();
    json_object_object_add(mem_usage, "limit",
                           u64(s->memory_limit_bytes ? s->memory_limit_bytes : INT64_MAX));
    json_object_object_add(mem_usage, "usage", u64(s->memory_usage_bytes));
    json_object_object_add(mem_usage, "max", u64(s->memory_usage_bytes));
    json_object_object_add(mem_usage, "failcnt", u64(0));
    struct json_object *memory = json_object_new_object();
    json_object_object_add(memory, "usage", mem_usage);
    json_object_object_add(memory, "swap", json_object_new_object());
    json_object_object_add(memory, "kernel", json_object_new_object());
    json_object_object_add(memory, "kernelTCP", json_object_new_object());

    struct json_object *pids = json_object_new_object();
    json_object_object_add(pids, "current", u64(s->pids_current));
    if (s->pids_limit)
        json_object_object_add(pids, "limit", u64(s->pids_limit));

    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "cpu", cpu);
    json_object_object_add(data, "memory", memory);
    json_object_object_add(data, "pids", pids);
    json_object_object_add(data, "blkio", json_object_new_object());
    json_object_object_add(data, "hugetlb", json_object_new_object());
    json_object_object_add(data, "intel_rdt", json_object_new_object());
    json_object_object_add(data, "network_interfaces", NULL);
    return data;
}

static int print_stats(const char *id, int dir_fd)
{
    char path[128];
    struct control_conn *c;
    struct control_stats s;

    state_dir_path(dir_fd, "sandbox.sock", path, sizeof(path));
    int ret = control_connect(path, &c);
    if (ret == 0) {
        ret = control_event(c, id, &s);
        control_close(c);
    }
    if (ret != 0)
        return ret;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("stats"));
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "data", stats_json(&s));
    printf("%s\n", json_object_to_json_string_ext(o, JSON_FLAGS));
    fflush(stdout);
    json_object_put(o);
    return 0;
}

int oci_cmd_events(const struct global_flags *g, int argc, char **argv)
{
    const char *interval = "5s";
    bool stats = false;
    const struct oci_flag flags[] = {
        {"interval", 0, OCI_FLAG_STRING, &interval, "set the stats collection interval"},
        {"stats", 0, OCI_FLAG_BOOL, &stats, "display the container's stats then exit"},
    };
    const struct oci_command cmd = {"events", "<container-id>",
                                    "display container events such as OOM notifications, cpu, "
                                    "memory, and IO usage statistics",
                                    flags, 2, 1, 1};
    int first, r = oci_parse_flags(&cmd, argc, argv, &first);
    if (r != 0)
        return r > 0 ? 0 : 1;
    int64_t interval_ms;
    if (parse_duration_ms(interval, &interval_ms) != 0 || interval_ms <= 0) {
        oci_errorf("duration interval must be greater than 0");
        return 1;
    }
    const char *id = argv[first];
    struct container_state st;
    int dir_fd, code = 1;
    if (oci_load_container(g, id, &dir_fd, &st) != 0)
        return 1;
    /* The lock is not held while events streams: other commands go on meanwhile. */
    int sock_dir_fd = openat(dir_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    close(dir_fd);
    if (sock_dir_fd < 0) {
        oci_errorf("open the state of %s: %s", id, strerror(errno));
        goto out;
    }
    if (state_live_status(&st) == CONTAINER_STOPPED) {
        oci_errorf("container with id %s is not running", id);
        goto out_fd;
    }
    for (;;) {
        int ret = print_stats(id, sock_dir_fd);
        if (ret != 0 && state_live_status(&st) != CONTAINER_STOPPED) {
            oci_errorf("events: %s", strerror(-ret));
            goto out_fd;
        }
        if (stats || state_live_status(&st) == CONTAINER_STOPPED)
            break;
        struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    code = 0;
out_fd:
    close(sock_dir_fd);
out:
    state_free(&st);
    return code;
}
