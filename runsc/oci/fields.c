/* Typed access to config.json fields: each getter checks the JSON type and range and names the
 * field's full path when it refuses one. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runsc/oci/parse.h"

int oci_fail(struct oci_ctx *c, int err, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "config.json: %s: %s", path, msg);
    return -err;
}

int oci_fail_nomem(struct oci_ctx *c, const char *path)
{
    return oci_fail(c, ENOMEM, path, "out of memory");
}

/* A path longer than the buffer is cut: the message names a prefix of the field then. */
static void path_cut(char *buf, int len)
{
    if (len >= OCI_PATH_LEN)
        buf[OCI_PATH_LEN - 1] = '\0';
}

const char *oci_path_key(char *buf, const char *parent, const char *key)
{
    if (parent && *parent)
        path_cut(buf, snprintf(buf, OCI_PATH_LEN, "%s.%s", parent, key));
    else
        path_cut(buf, snprintf(buf, OCI_PATH_LEN, "%s", key));
    return buf;
}

const char *oci_path_index(char *buf, const char *parent, size_t i)
{
    path_cut(buf, snprintf(buf, OCI_PATH_LEN, "%s[%zu]", parent, i));
    return buf;
}

struct json_object *oci_field(struct json_object *obj, const char *key)
{
    struct json_object *v = NULL;

    if (!obj || !json_object_object_get_ex(obj, key, &v))
        return NULL;
    return v; /* json-c represents null as a NULL object */
}

/* Looks key up; 1 if present, 0 if absent (an error if required). */
static int lookup(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                  bool required, struct json_object **v)
{
    char path[OCI_PATH_LEN];

    *v = oci_field(obj, key);
    if (*v)
        return 1;
    if (required)
        return oci_fail(c, EINVAL, oci_path_key(path, parent, key), "missing required field");
    return 0;
}

static int wrong_type(struct oci_ctx *c, const char *parent, const char *key, const char *what)
{
    char path[OCI_PATH_LEN];

    return oci_fail(c, EINVAL, oci_path_key(path, parent, key), "must be %s", what);
}

int oci_get_object(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                   bool required, struct json_object **out)
{
    struct json_object *v;
    int ret = lookup(c, obj, parent, key, required, &v);

    if (ret <= 0)
        return ret;
    if (!json_object_is_type(v, json_type_object))
        return wrong_type(c, parent, key, "an object");
    *out = v;
    return 0;
}

int oci_get_array(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                  bool required, struct json_object **out)
{
    struct json_object *v;
    int ret = lookup(c, obj, parent, key, required, &v);

    if (ret <= 0)
        return ret;
    if (!json_object_is_type(v, json_type_array))
        return wrong_type(c, parent, key, "an array");
    *out = v;
    return 0;
}

int oci_value_string(struct oci_ctx *c, struct json_object *v, const char *path, char **out)
{
    if (!v || !json_object_is_type(v, json_type_string))
        return oci_fail(c, EINVAL, path, "must be a string");
    char *s = strdup(json_object_get_string(v));
    if (!s)
        return oci_fail_nomem(c, path);
    free(*out);
    *out = s;
    return 0;
}

int oci_value_object(struct oci_ctx *c, struct json_object *v, const char *path)
{
    if (!v || !json_object_is_type(v, json_type_object))
        return oci_fail(c, EINVAL, path, "must be an object");
    return 0;
}

int oci_get_string(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                   bool required, char **out)
{
    char path[OCI_PATH_LEN];
    struct json_object *v;
    int ret = lookup(c, obj, parent, key, required, &v);

    if (ret <= 0)
        return ret;
    return oci_value_string(c, v, oci_path_key(path, parent, key), out);
}

int oci_get_bool(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                 bool *out)
{
    struct json_object *v;
    int ret = lookup(c, obj, parent, key, false, &v);

    if (ret <= 0)
        return ret;
    if (!json_object_is_type(v, json_type_boolean))
        return wrong_type(c, parent, key, "true or false");
    *out = json_object_get_boolean(v);
    return 0;
}

/* An integer in [min, max] (max as uint64 so the whole uint64 range fits); `neg` gets the
 * value's sign, `mag` its magnitude. */
static int get_integer(struct oci_ctx *c, struct json_object *obj, const char *parent,
                       const char *key, bool required, int64_t min, uint64_t max, bool *neg,
                       uint64_t *mag, bool *present)
{
    struct json_object *v;
    char path[OCI_PATH_LEN];
    int ret = lookup(c, obj, parent, key, required, &v);

    if (present)
        *present = false;
    if (ret <= 0)
        return ret;
    if (!json_object_is_type(v, json_type_int))
        return wrong_type(c, parent, key, "an integer");
    /* json-c keeps integers above INT64_MAX as unsigned; get_int64 clamps those to INT64_MAX. */
    int64_t s = json_object_get_int64(v);
    if (s < 0) {
        *neg = true;
        *mag = (uint64_t)0 - (uint64_t)s;
        if (s < min)
            return oci_fail(c, EINVAL, oci_path_key(path, parent, key), "%lld is out of range",
                            (long long)s);
    } else {
        *neg = false;
        *mag = json_object_get_uint64(v);
        if (*mag > max)
            return oci_fail(c, EINVAL, oci_path_key(path, parent, key), "%llu is out of range",
                            (unsigned long long)*mag);
    }
    if (present)
        *present = true;
    return 1;
}

int oci_get_u32(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                bool required, uint32_t *out, bool *present)
{
    bool neg;
    uint64_t mag;
    int ret = get_integer(c, obj, parent, key, required, 0, UINT32_MAX, &neg, &mag, present);

    if (ret <= 0)
        return ret;
    *out = (uint32_t)mag;
    return 0;
}

int oci_get_i64(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                bool required, int64_t *out, bool *present)
{
    bool neg;
    uint64_t mag;
    int ret = get_integer(c, obj, parent, key, required, INT64_MIN, INT64_MAX, &neg, &mag, present);

    if (ret <= 0)
        return ret;
    *out = neg ? (int64_t)((uint64_t)0 - mag) : (int64_t)mag;
    return 0;
}

int oci_get_u64(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                bool required, uint64_t *out, bool *present)
{
    bool neg;
    uint64_t mag;
    int ret = get_integer(c, obj, parent, key, required, 0, UINT64_MAX, &neg, &mag, present);

    if (ret <= 0)
        return ret;
    *out = mag;
    return 0;
}

void oci_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

int oci_get_strv(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                 bool required, bool nonempty, char ***out, size_t *n)
{
    char path[OCI_PATH_LEN], elem[OCI_PATH_LEN];
    struct json_object *arr = NULL;
    int ret = oci_get_array(c, obj, parent, key, required, &arr);

    if (ret < 0 || !arr)
        return ret;
    oci_path_key(path, parent, key);
    size_t len = json_object_array_length(arr);
    if (nonempty && len == 0)
        return oci_fail(c, EINVAL, path, "must not be empty");
    char **v = calloc(len + 1, sizeof(*v));
    if (!v)
        return oci_fail_nomem(c, path);
    for (size_t i = 0; i < len; i++) {
        ret = oci_value_string(c, json_object_array_get_idx(arr, i), oci_path_index(elem, path, i),
                               &v[i]);
        if (ret < 0) {
            oci_strv_free(v);
            return ret;
        }
    }
    oci_strv_free(*out);
    *out = v;
    if (n)
        *n = len;
    return 0;
}

void oci_key_values_free(struct oci_key_value *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

int oci_get_string_map(struct oci_ctx *c, struct json_object *obj, const char *parent,
                       const char *key, struct oci_key_value **out, size_t *n)
{
    char path[OCI_PATH_LEN], elem[OCI_PATH_LEN];
    struct json_object *map = NULL;
    int ret = oci_get_object(c, obj, parent, key, false, &map);

    if (ret < 0 || !map)
        return ret;
    oci_path_key(path, parent, key);
    size_t len = (size_t)json_object_object_length(map), i = 0;
    struct oci_key_value *kv = calloc(len ? len : 1, sizeof(*kv));
    if (!kv)
        return oci_fail_nomem(c, path);
    json_object_object_foreach(map, k, v)
    {
        oci_path_key(elem, path, k);
        kv[i].key = strdup(k);
        if (!kv[i].key) {
            ret = oci_fail_nomem(c, elem);
            goto out_free;
        }
        ret = oci_value_string(c, v, elem, &kv[i].value);
        i++;
        if (ret < 0)
            goto out_free;
    }
    *out = kv;
    *n = len;
    return 0;
out_free:
    oci_key_values_free(kv, i);
    return ret;
}
