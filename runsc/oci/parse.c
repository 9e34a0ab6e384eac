/* config.json to struct oci_spec: reading the bundle, JSON syntax, the top-level fields (version,
 * root, hostname, annotations) and the order the sections are parsed in. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runsc/oci/parse.h"

/* A config.json larger than this is not a config (runc has no limit; 16 MiB is far above any
 * engine's). */
#define OCI_CONFIG_MAX (16u << 20)

/* Where offset `off` of text is, 1-based, for a syntax error message. */
static void text_position(const char *text, size_t off, unsigned *line, unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int parse_json_text(struct oci_ctx *c, const char *text, struct json_object **out)
{
    size_t len = strlen(text);
    struct json_tokener *tok = json_tokener_new();
    unsigned line, col;
    int ret = 0;

    if (!tok)
        return oci_fail_nomem(c, "(json)");
    struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);

    if (jerr == json_tokener_continue) {
        text_position(text, len, &line, &col);
        ret = -EINVAL;
        if (c->err && c->errlen)
            snprintf(c->err, c->errlen, "config.json: line %u column %u: unexpected end of input",
                     line, col);
        goto out_tok;
    }
    if (jerr != json_tokener_success) {
        text_position(text, end, &line, &col);
        ret = -EINVAL;
        if (c->err && c->errlen)
            snprintf(c->err, c->errlen, "config.json: line %u column %u: %s", line, col,
                     json_tokener_error_desc(jerr));
        goto out_tok;
    }
    for (size_t i = end; i < len; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
            text_position(text, i, &line, &col);
            ret = -EINVAL;
            if (c->err && c->errlen)
                snprintf(c->err, c->errlen,
                         "config.json: line %u column %u: unexpected text after the JSON value",
                         line, col);
            json_object_put(root);
            goto out_tok;
        }
    }
    if (!json_object_is_type(root, json_type_object)) {
        ret = -EINVAL;
        if (c->err && c->errlen)
            snprintf(c->err, c->errlen, "config.json: must be a JSON object");
        json_object_put(root);
        goto out_tok;
    }
    *out = root;
out_tok:
    json_tokener_free(tok);
    return ret;
}

/* ociVersion: SemVer, major version 1 (the spec is compatible within a major version). */
static int check_version(struct oci_ctx *c, const char *v)
{
    char *end;

    if (v[0] < '0' || v[0] > '9')
        goto bad;
    unsigned long major = strtoul(v, &end, 10);
    if (*end != '.' || end[1] < '0' || end[1] > '9')
        goto bad;
    strtoul(end + 1, &end, 10);
    if (*end != '.' || end[1] < '0' || end[1] > '9')
        goto bad;
    strtoul(end + 1, &end, 10);
    if (*end && *end != '-' && *end != '+')
        goto bad;
    if (major != 1)
        return oci_fail(c, EINVAL, "ociVersion",
                        "unsupported version \"%s\": this runsc supports 1.x (1.0.0 to 1.1.0)", v);
    return 0;
bad:
    return oci_fail(c, EINVAL, "ociVersion", "\"%s\" is not a version (like \"1.1.0\")", v);
}

/* root.path relative to the bundle, made absolute; it must be a directory. */
static int resolve_root(struct oci_ctx *c, struct oci_spec *spec)
{
    char *abs = NULL;
    struct stat st;

    if (!c->bundle)
        return 0;
    if (spec->root_path[0] == '/') {
        abs = strdup(spec->root_path);
    } else {
        char cwd[PATH_MAX];
        const char *base = c->bundle;
        if (base[0] != '/') {
            if (!getcwd(cwd, sizeof(cwd)))
                return oci_fail(c, errno, "root.path", "getcwd: %s", strerror(errno));
            if (asprintf(&abs, "%s/%s/%s", cwd, base, spec->root_path) < 0)
                abs = NULL;
        } else if (asprintf(&abs, "%s/%s", base, spec->root_path) < 0) {
            abs = NULL;
        }
    }
    if (!abs)
        return oci_fail_nomem(c, "root.path");
    free(spec->root_path);
    spec->root_path = abs;
    if (stat(abs, &st) < 0)
        return oci_fail(c, errno, "root.path", "%s: %s", abs, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return oci_fail(c, ENOTDIR, "root.path", "%s: %s", abs, strerror(ENOTDIR));
    return 0;
}

static int parse_top(struct oci_ctx *c, struct json_object *root, struct oci_spec *spec)
{
    struct json_object *r = NULL;
    int ret;

    ret = oci_get_string(c, root, "", "ociVersion", true, &spec->oci_version);
    if (ret < 0)
        return ret;
    ret = check_version(c, spec->oci_version);
    if (ret < 0)
        return ret;
    ret = oci_get_object(c, root, "", "root", true, &r);
    if (ret < 0)
        return ret;
    ret = oci_get_string(c, r, "root", "path", true, &spec->root_path);
    if (ret < 0)
        return ret;
    if (!spec->root_path[0])
        return oci_fail(c, EINVAL, "root.path", "must not be empty");
    ret = oci_get_bool(c, r, "root", "readonly", &spec->root_readonly);
    if (ret < 0)
        return ret;
    ret = oci_get_string(c, root, "", "hostname", false, &spec->hostname);
    if (ret < 0)
        return ret;
    ret = oci_get_string(c, root, "", "domainname", false, &spec->domainname);
    if (ret < 0)
        return ret;
    return oci_get_string_map(c, root, "", "annotations", &spec->annotations, &spec->n_annotations);
}

int oci_spec_parse(const char *json, const char *bundle, struct oci_spec **out, char *err,
                   size_t errlen)
{
    struct oci_ctx c = {.err = err, .errlen = errlen, .bundle = bundle};
    struct json_object *root = NULL;
    int ret;

    if (err && errlen)
        err[0] = '\0';
    ret = parse_json_text(&c, json, &root);
    if (ret < 0)
        return ret;
    struct oci_spec *spec = calloc(1, sizeof(*spec));
    if (!spec) {
        ret = oci_fail_nomem(&c, "(spec)");
        goto out_json;
    }
    spec->memory_limit = spec->pids_limit = spec->cpu_quota = spec->cpu_period = -1;

    ret = parse_top(&c, root, spec);
    if (ret == 0)
        ret = oci_parse_process(&c, root, spec);
    if (ret == 0)
        ret = oci_parse_mounts(&c, root, spec);
    if (ret == 0)
        ret = oci_parse_hooks(&c, root, spec);
    if (ret == 0)
        ret = oci_parse_linux(&c, root, spec);
    if (ret == 0)
        ret = oci_check_spec(&c, spec);
    /* The root directory last: a wrong file is reported before a missing rootfs. */
    if (ret == 0)
        ret = resolve_root(&c, spec);
    if (ret < 0) {
        oci_spec_free(spec);
        goto out_json;
    }
    *out = spec;
out_json:
    json_object_put(root);
    return ret;
}

static int read_config(const char *path, char **out, int *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return *err = errno, -1;
    if (fstat(fd, &st) < 0)
        *err = errno;
    else if (S_ISDIR(st.st_mode))
        *err = EISDIR;
    else if (!S_ISREG(st.st_mode) || st.st_size > OCI_CONFIG_MAX)
        *err = EFBIG;
    if (*err) {
        close(fd);
        return -1;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    if (!buf) {
        close(fd);
        return *err = ENOMEM, -1;
    }
    for (;;) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *err = errno;
            free(buf);
            close(fd);
            return -1;
        }
        got += (size_t)n;
        if (n == 0 || got == (size_t)st.st_size)
            break;
    }
    close(fd);
    buf[got] = '\0';
    if (strlen(buf) != got) {
        free(buf);
        return *err = EINVAL, -1; /* a NUL inside: not JSON text */
    }
    *out = buf;
    return 0;
}

int oci_spec_load(const char *bundle, struct oci_spec **out, char *err, size_t errlen)
{
    struct stat st;
    char *path = NULL, *text = NULL;
    int e = 0;

    if (err && errlen)
        err[0] = '\0';
    if (stat(bundle, &st) < 0)
        e = errno;
    else if (!S_ISDIR(st.st_mode))
        e = ENOTDIR;
    if (e) {
        if (err && errlen)
            snprintf(err, errlen, "bundle %s: %s", bundle, strerror(e));
        return -e;
    }
    if (asprintf(&path, "%s/config.json", bundle) < 0) {
        if (err && errlen)
            snprintf(err, errlen, "bundle %s: out of memory", bundle);
        return -ENOMEM;
    }
    if (read_config(path, &text, &e) < 0) {
        if (err && errlen)
            snprintf(err, errlen, "bundle %s: config.json: %s", bundle,
                     e == EINVAL ? "contains a NUL byte" : strerror(e));
        free(path);
        return -e;
    }
    free(path);
    int ret = oci_spec_parse(text, bundle, out, err, errlen);
    free(text);
    return ret;
}

const char *oci_spec_annotation(const struct oci_spec *spec, const char *key)
{
    for (size_t i = 0; i < spec->n_annotations; i++) {
        if (strcmp(spec->annotations[i].key, key) == 0)
            return spec->annotations[i].value;
    }
    return NULL;
}

void oci_spec_free(struct oci_spec *spec)
{
    if (!spec)
        return;
    free(spec->oci_version);
    oci_process_free(&spec->process);
    free(spec->root_path);
    free(spec->hostname);
    free(spec->domainname);
    oci_mounts_free(spec->mounts, spec->n_mounts);
    oci_key_values_free(spec->annotations, spec->n_annotations);
    oci_hooks_free(spec);
    oci_linux_free(spec);
    free(spec);
}
