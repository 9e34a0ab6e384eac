/* `runsc state` and `runsc list`: the containers' state as runc prints it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runsc/oci_cli.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

int oci_cmd_state(const struct global_flags *g, int argc, char **argv)
{
    const struct oci_command cmd = {"state", "<container-id>",
                                    "output the state of a container", NULL, 0, 1, 1};
    int first, r = oci_parse_flags(&cmd, argc, argv, &first);
    if (r != 0)
        return r > 0 ? 0 : 1;
    struct container_state st;
    int dir_fd;
    if (oci_load_container(g, argv[first], &dir_fd, &st) != 0)
        return 1;
    struct json_object *o = state_to_json(&st, state_live_status(&st), "");
    /* Go's json.MarshalIndent with two spaces, and no newline after it, as runc writes it. */
    const char *text = json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    fputs(text, stdout);
    json_object_put(o);
    state_free(&st);
    close(dir_fd);
    return 0;
}

/* One container of the list, read without its lock: state.json is only ever renamed into
 * place, so a reader sees an old or a new state, never half of one. */
struct list_entry {
    struct container_state st;
    enum container_status status;
    char owner[64];
};

static int read_entries(const char *root, struct list_entry **out, size_t *n_out)
{
    DIR *d = opendir(root);
    struct list_entry *v = NULL;
    size_t n = 0, cap = 0;

    *out = NULL;
    *n_out = 0;
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!state_id_valid(e->d_name))
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct list_entry *nv = realloc(v, cap * sizeof(*v));
            if (!nv) {
                close(fd);
                break;
            }
            v = nv;
        }
        struct list_entry *le = &v[n];
        struct stat sb;
        if (state_read(fd, &le->st) == 0) {
            le->status = state_live_status(&le->st);
            struct passwd *pw = fstat(fd, &sb) == 0 ? getpwuid(sb.st_uid) : NULL;
            if (pw)
                snprintf(le->owner, sizeof(le->owner), "%s", pw->pw_name);
            else
                snprintf(le->owner, sizeof(le->owner), "#%u", (unsigned)sb.st_uid);
            n++;
        }
        close(fd);
    }
    closedir(d);
    *out = v;
    *n_out = n;
    return 0;
}

/* Go's text/tabwriter as runc sets it up: minwidth 12, padding 3, the last column as is. */
#define TAB_COLUMNS 6
#define TAB_MIN_WIDTH 12
#define TAB_PADDING 3

static void print_table(const struct list_entry *v, size_t n)
{
    const char *header[TAB_COLUMNS] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
    size_t width[TAB_COLUMNS];
    char pid[16];

    for (int c = 0; c < TAB_COLUMNS; c++)
        width[c] = strlen(header[c]);
    for (size_t i = 0; i < n; i++) {
        const char *cells[TAB_COLUMNS] = {v[i].st.id, pid, state_status_name(v[i].status),
                                          v[i].st.bundle, v[i].st.created, v[i].owner};
        snprintf(pid, sizeof(pid), "%d", v[i].status == CONTAINER_STOPPED ? 0 : v[i].st.pid);
        for (int c = 0; c < TAB_COLUMNS; c++) {
            if (strlen(cells[c]) > width[c])
                width[c] = strlen(cells[c]);
        }
    }
    for (int c = 0; c < TAB_COLUMNS; c++) {
        width[c] += TAB_PADDING;
        if (width[c] < TAB_MIN_WIDTH)
            width[c] = TAB_MIN_WIDTH;
    }
    for (size_t i = 0; i <= n; i++) {
        const char *cells[TAB_COLUMNS];
        if (i == 0) {
            memcpy(cells, header, sizeof(cells));
        } else {
            const struct list_entry *le = &v[i - 1];
            snprintf(pid, sizeof(pid), "%d", le->status == CONTAINER_STOPPED ? 0 : le->st.pid);
            const char *row[TAB_COLUMNS] = {le->st.id,     pid,           state_status_name(le->status),
                                            le->st.bundle, le->st.created, le->owner};
            memcpy(cells, row, sizeof(cells));
        }
        for (int c = 0; c < TAB_COLUMNS - 1; c++)
            printf("%-*s", (int)width[c], cells[c]);
        printf("%s\n", cells[TAB_COLUMNS - 1]);
    }
}

int oci_cmd_list(const struct global_flags *g, int argc, char **argv)
{
    const char *format = "table";
    bool quiet = false;
    const struct oci_flag flags[] = {
        {"format", 'f', OCI_FLAG_STRING, &format, "select one of: table or json (default: table)"},
        {"quiet", 'q', OCI_FLAG_BOOL, &quiet, "display only container IDs"},
    };
    const struct oci_command cmd = {"list", "", "lists containers started by runsc with the given root",
                                    flags, 2, 0, 0};
    int first, r = oci_parse_flags(&cmd, argc, argv, &first);
    if (r != 0)
        return r > 0 ? 0 : 1;
    struct list_entry *v;
    size_t n;
    int err = read_entries(g->root, &v, &n);
    if (err != 0) {
        oci_errorf("open %s: %s", g->root, strerror(-err));
        return 1;
    }
    int code = 0;
    if (quiet) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", v[i].st.id);
    } else if (strcmp(format, "table") == 0) {
        print_table(v, n);
    } else if (strcmp(format, "json") == 0) {
        if (n == 0) {
            printf("null\n"); /* Go encodes an empty slice it never allocated as null */
        } else {
            struct json_object *a = json_object_new_array();
            for (size_t i = 0; i < n; i++)
                json_object_array_add(a, state_to_json(&v[i].st, v[i].status, v[i].owner));
            printf("%s\n", json_object_to_json_string_ext(a, JSON_FLAGS));
            json_object_put(a);
        }
    } else {
        oci_errorf("invalid format option");
        code = 1;
    }
    for (size_t i = 0; i < n; i++)
        state_free(&v[i].st);
    free(v);
    return code;
}
