/* The containers' state store: <root>/<id>/state.json, written atomically (temporary file and
 * rename) by a command that holds the flock of <root>/<id>; the live status comes from whether
 * the sandbox process recorded there still runs. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runsc/cgroup.h"
#include "runsc/oci_cli.h"

#define STATE_FILE "state.json"
#define STATE_TMP "state.json.tmp"

bool state_id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > CONTAINER_ID_MAX || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return false;
    for (const char *p = id; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!isalnum(c) && c != '_' && c != '+' && c != '-' && c != '.')
            return false;
    }
    return true;
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int lock_dir(const char *path, int *dir_fd)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int err = -errno;
            close(fd);
            return err;
        }
    }
    *dir_fd = fd;
    return 0;
}

int state_create_dir(const char *root, const char *id, int *dir_fd)
{
    char path[4096];
    int err;

    if ((err = mkdir_p(root, 0711)) != 0)
        return err;
    if (snprintf(path, sizeof(path), "%s/%s", root, id) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if (mkdir(path, 0711) != 0)
        return -errno;
    return lock_dir(path, dir_fd);
}

int state_open_dir(const char *root, const char *id, int *dir_fd)
{
    char path[4096];
    int err;

    if (snprintf(path, sizeof(path), "%s/%s", root, id) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if ((err = lock_dir(path, dir_fd)) != 0)
        return err;
    /* A delete that held the lock before us may have removed it. */
    struct stat st;
    if (fstat(*dir_fd, &st) != 0 || st.st_nlink == 0) {
        close(*dir_fd);
        return -ENOENT;
    }
    return 0;
}

void state_dir_path(int dir_fd, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "/proc/self/fd/%d/%s", dir_fd, name);
}

static const char *const status_names[] = {
    [CONTAINER_CREATING] = "creating", [CONTAINER_CREATED] = "created",
    [CONTAINER_RUNNING] = "running",   [CONTAINER_PAUSED] = "paused",
    [CONTAINER_STOPPED] = "stopped",
};

const char *state_status_name(enum container_status s)
{
    return status_names[s];
}

static int status_from_name(const char *name, enum container_status *out)
{
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
        if (strcmp(status_names[i], name) == 0) {
            *out = (enum container_status)i;
            return 0;
        }
    }
    return -EINVAL;
}

int state_write(int dir_fd, const struct container_state *st)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(st->id));
    json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
    json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
    json_object_object_add(o, "created", json_object_new_string(st->created));
    json_object_object_add(o, "pid", json_object_new_int(st->pid));
    json_object_object_add(o, "pid_start", json_object_new_uint64(st->pid_start));
    json_object_object_add(o, "gofer_pid", json_object_new_int(st->gofer_pid));
    json_object_object_add(o, "gofer_start", json_object_new_uint64(st->gofer_start));
    json_object_object_add(o, "status", json_object_new_string(state_status_name(st->saved)));
    if (st->annotations_json)
        json_object_object_add(o, "annotations", json_tokener_parse(st->annotations_json));
    const char *text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    int err = 0;
    int fd = openat(dir_fd, STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        err = -errno;
        goto out_json;
    }
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
        err = errno ? -errno : -EIO;
    close(fd);
    if (err == 0 && renameat(dir_fd, STATE_TMP, dir_fd, STATE_FILE) != 0)
        err = -errno;
    if (err)
        unlinkat(dir_fd, STATE_TMP, 0);
out_json:
    json_object_put(o);
    return err;
}

static char *dup_field(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return strdup(json_object_get_string(v));
}

static int64_t int_field(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

int state_read(int dir_fd, struct container_state *st)
{
    char buf[65536];
    int fd = openat(dir_fd, STATE_FILE, O_RDONLY | O_CLOEXEC);
    int err = 0;

    memset(st, 0, sizeof(*st));
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    struct json_object *o = json_tokener_parse(buf);
    if (!o || !json_object_is_type(o, json_type_object)) {
        err = -EINVAL;
        goto out;
    }
    char *id = dup_field(o, "id"), *status = dup_field(o, "status");
    st->bundle = dup_field(o, "bundle");
    st->rootfs = dup_field(o, "rootfs");
    char *created = dup_field(o, "created");
    if (!id || !status || !st->bundle || !st->rootfs || !created ||
        status_from_name(status, &st->saved) != 0)
        err = -EINVAL;
    if (id)
        snprintf(st->id, sizeof(st->id), "%s", id);
    if (created)
        snprintf(st->created, sizeof(st->created), "%s", created);
    free(id);
    free(status);
    free(created);
    st->pid = (pid_t)int_field(o, "pid");
    st->pid_start = (uint64_t)int_field(o, "pid_start");
    st->gofer_pid = (pid_t)int_field(o, "gofer_pid");
    st->gofer_start = (uint64_t)int_field(o, "gofer_start");
    struct json_object *a;
    if (json_object_object_get_ex(o, "annotations", &a) && json_object_is_type(a, json_type_object))
        st->annotations_json = strdup(json_object_to_json_string_ext(
            a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
out:
    json_object_put(o);
    if (err)
        state_free(st);
    return err;
}

void state_free(struct container_state *st)
{
    free(st->bundle);
    free(st->rootfs);
    free(st->annotations_json);
    st->bundle = st->rootfs = st->annotations_json = NULL;
}

static int remove_tree_at(int dir_fd)
{
    DIR *d = fdopendir(dir_fd);
    struct dirent *e;
    int err = 0;

    if (!d) {
        close(dir_fd);
        return -errno;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            continue;
        if (errno != EISDIR) {
            err = -errno;
            continue;
        }
        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 || remove_tree_at(sub) != 0 || unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR))
            err = -EIO;
    }
    closedir(d);
    return err;
}

int state_remove(const char *root, const char *id)
{
    char path[4096];

    if (snprintf(path, sizeof(path), "%s/%s", root, id) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    /* The host cgroup first: its list is in the directory, which stays while the cgroup
     * does, so that a later delete can finish the job. */
    int err = host_cgroup_remove_saved(fd, CGROUP_REMOVE_TIMEOUT_MS);
    if (err) {
        close(fd);
        return err;
    }
    err = remove_tree_at(fd);
    if (rmdir(path) != 0 && errno != ENOENT && !err)
        err = -errno;
    return err;
}

/* Field 22 of /proc/<pid>/stat, and the state letter (field 3). */
static uint64_t read_stat(pid_t pid, char *state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* comm may hold spaces and parentheses: the fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return 0;
    p += 2;
    if (state)
        *state = *p;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return 0;
        p++;
    }
    return strtoull(p, NULL, 10);
}

uint64_t proc_start_time(pid_t pid)
{
    return pid > 0 ? read_stat(pid, NULL) : 0;
}

bool proc_alive(pid_t pid, uint64_t start)
{
    char s = '?';
    if (pid <= 0)
        return false;
    uint64_t now = read_stat(pid, &s);
    return now != 0 && now == start && s != 'Z' && s != 'X';
}

enum container_status state_live_status(const struct container_state *st)
{
    if (st->saved == CONTAINER_STOPPED || !proc_alive(st->pid, st->pid_start))
        return CONTAINER_STOPPED;
    return st->saved;
}

struct json_object *state_to_json(const struct container_state *st, enum container_status s,
                                  const char *owner)
{
    /* runc's field order: its struct's, annotations only when there are some. */
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "ociVersion", json_object_new_string(RUNSC_OCI_VERSION));
    json_object_object_add(o, "id", json_object_new_string(st->id));
    json_object_object_add(o, "pid", json_object_new_int(s == CONTAINER_STOPPED ? 0 : st->pid));
    json_object_object_add(o, "status", json_object_new_string(state_status_name(s)));
    json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
    json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
    json_object_object_add(o, "created", json_object_new_string(st->created));
    if (st->annotations_json) {
        struct json_object *a = json_tokener_parse(st->annotations_json);
        if (a && json_object_object_length(a) > 0)
            json_object_object_add(o, "annotations", a);
        else
            json_object_put(a);
    }
    json_object_object_add(o, "owner", json_object_new_string(owner ? owner : ""));
    return o;
}

char *state_hook_json(const struct container_state *st, enum container_status s)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "ociVersion", json_object_new_string(RUNSC_OCI_VERSION));
    json_object_object_add(o, "id", json_object_new_string(st->id));
    json_object_object_add(o, "status", json_object_new_string(state_status_name(s)));
    if (s != CONTAINER_STOPPED)
        json_object_object_add(o, "pid", json_object_new_int(st->pid));
    json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
    if (st->annotations_json)
        json_object_object_add(o, "annotations", json_tokener_parse(st->annotations_json));
    char *text = strdup(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return text;
}

/* runc writes the pid file through a temporary name and a rename. */
int oci_write_pid_file(const char *path, pid_t pid)
{
    char tmp[PATH_MAX], text[32];
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path) : 0;

    snprintf(tmp, sizeof(tmp), "%.*s%s.%s", dir_len, path, slash ? "/" : "",
             slash ? slash + 1 : path);
    snprintf(text, sizeof(text), "%d", pid);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int err = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -EIO;
    close(fd);
    if (!err && rename(tmp, path) != 0)
        err = -errno;
    if (err)
        unlink(tmp);
    return err;
}
