/* Private to runsc/oci: the parse context and the typed field getters every section parser uses,
 * so each error names the field's full path ("linux.namespaces[2].type") in one format. */
#ifndef RUNSC_RUNSC_OCI_PARSE_H
#define RUNSC_RUNSC_OCI_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "runsc/oci/oci.h"

/* Longest field path we name in an error; longer ones are cut (the message stays readable). */
#define OCI_PATH_LEN 256

struct oci_ctx {
    char *err;
    size_t errlen;
    const char *bundle; /* NULL: root.path is kept as given and not looked at */
};

/* Writes "config.json: <path>: <message>" to the context's error buffer and returns -err. */
int oci_fail(struct oci_ctx *c, int err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int oci_fail_nomem(struct oci_ctx *c, const char *path);

/* "parent.key" (or "key" at the top) and "parent[i]" into buf; return buf. */
const char *oci_path_key(char *buf, const char *parent, const char *key);
const char *oci_path_index(char *buf, const char *parent, size_t i);

/* The value of key in obj; NULL when absent or JSON null (Go's encoding/json, and so runc,
 * treat null as absent). */
struct json_object *oci_field(struct json_object *obj, const char *key);

/* Typed getters: each leaves *out unchanged (and *present false when given) if the field is
 * absent, fails with "missing required field" when `required`, and with "must be <type>" on a
 * wrong type. Strings are copied. */
int oci_get_object(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                   bool required, struct json_object **out);
int oci_get_array(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                  bool required, struct json_object **out);
int oci_get_string(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                   bool required, char **out);
int oci_get_bool(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                 bool *out);
int oci_get_u32(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                bool required, uint32_t *out, bool *present);
int oci_get_i64(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                bool required, int64_t *out, bool *present);
int oci_get_u64(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                bool required, uint64_t *out, bool *present);
/* An array of strings as a NULL-terminated vector (n without the NULL); `nonempty` refuses []. */
int oci_get_strv(struct oci_ctx *c, struct json_object *obj, const char *parent, const char *key,
                 bool required, bool nonempty, char ***out, size_t *n);
/* An object of string values as key/value pairs. */
int oci_get_string_map(struct oci_ctx *c, struct json_object *obj, const char *parent,
                       const char *key, struct oci_key_value **out, size_t *n);

/* The same checks on a value already in hand (an array element), named by `path`. */
int oci_value_string(struct oci_ctx *c, struct json_object *v, const char *path, char **out);
int oci_value_object(struct oci_ctx *c, struct json_object *v, const char *path);

void oci_strv_free(char **v);
void oci_key_values_free(struct oci_key_value *kv, size_t n);

/* The sections, each filling its part of spec or failing with the field named. */
int oci_parse_process(struct oci_ctx *c, struct json_object *root, struct oci_spec *spec);
int oci_parse_mounts(struct oci_ctx *c, struct json_object *root, struct oci_spec *spec);
int oci_parse_hooks(struct oci_ctx *c, struct json_object *root, struct oci_spec *spec);
int oci_parse_linux(struct oci_ctx *c, struct json_object *root, struct oci_spec *spec);
/* linux.resources, linux.devices, linux.seccomp and the refused linux fields (linux_res.c). */
int oci_parse_linux_rest(struct oci_ctx *c, struct json_object *lx, struct oci_spec *spec);
/* Rules across sections (a hostname needs a UTS namespace, ...), once all are parsed. */
int oci_check_spec(struct oci_ctx *c, const struct oci_spec *spec);

void oci_process_free(struct oci_process *p);
void oci_mounts_free(struct oci_mount *m, size_t n);
void oci_hooks_free(struct oci_spec *spec);
void oci_linux_free(struct oci_spec *spec);
void oci_linux_rest_free(struct oci_spec *spec);

#endif
