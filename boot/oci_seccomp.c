/* The container's OCI linux.seccomp profile compiled to a classic BPF program for the guest's
 * arch with libseccomp, as runc's libcontainer/seccomp does, on the host before confinement. */
#include <errno.h>
#include <json-c/json.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch.h"
#include "boot/boot.h"

/* The largest program read back from libseccomp (Linux's BPF_MAXINSNS instructions). */
#define OCI_SECCOMP_MAX_INSNS 4096

struct compile {
    char *why;
    size_t whylen;
    scmp_filter_ctx ctx;
    uint32_t arch; /* libseccomp's token for the guest's arch */
};

__attribute__((format(printf, 2, 3))) static int fail(struct compile *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->why, c->whylen, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *string_field(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* The array at `key`, or NULL when absent or not an array (json-c asserts on the wrong type). */
static struct json_object *array_field(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_array) ? v
                                                                                            : NULL;
}

/* An action name with its errnoRet (NULL: none given) as libseccomp's action; -1 after fail. */
static int parse_action(struct compile *c, const char *name, struct json_object *errno_ret,
                        uint32_t *out)
{
    /* runc's default errno for ERRNO and TRACE is EPERM. */
    uint32_t ret = errno_ret ? (uint32_t)json_object_get_int64(errno_ret) : EPERM;

    if (!name)
        return fail(c, "a seccomp action is missing");
    if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
        *out = SCMP_ACT_KILL_THREAD;
    else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
        *out = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
        *out = SCMP_ACT_TRAP;
    else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
        *out = SCMP_ACT_ERRNO(ret);
    else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
        *out = SCMP_ACT_TRACE(ret);
    else if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
        *out = SCMP_ACT_ALLOW;
    else if (strcmp(name, "SCMP_ACT_LOG") == 0)
        *out = SCMP_ACT_LOG;
    else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
        return fail(c, "seccomp action SCMP_ACT_NOTIFY is not supported");
    else
        return fail(c, "unknown seccomp action \"%s\"", name);
    return 0;
}

/* "architectures": the profile must name the guest's arch if it names any. */
static int check_arches(struct compile *c, struct json_object *profile)
{
    struct json_object *arches = array_field(profile, "architectures");

    if (!arches || json_object_array_length(arches) == 0)
        return 0;
    for (size_t i = 0; i < json_object_array_length(arches); i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(arches, i));
        char lower[32];
        size_t n = 0;
        if (!name || strncmp(name, "SCMP_ARCH_", 10) != 0)
            continue;
        for (name += 10; *name && n < sizeof(lower) - 1; name++)
            lower[n++] = (char)(*name >= 'A' && *name <= 'Z' ? *name - 'A' + 'a' : *name);
        lower[n] = '\0';
        if (seccomp_arch_resolve_name(lower) == c->arch)
            return 0;
    }
    return fail(c, "the seccomp profile's architectures do not include %s, the sandbox's",
                ARCH_SECCOMP_NAME);
}

/* One condition of "args". */
static int parse_arg(struct compile *c, struct json_object *arg, struct scmp_arg_cmp *out)
{
    static const struct {
        const char *name;
        enum scmp_compare op;
    } ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
               {"SCMP_CMP_LT", SCMP_CMP_LT},
               {"SCMP_CMP_LE", SCMP_CMP_LE},
               {"SCMP_CMP_EQ", SCMP_CMP_EQ},
               {"SCMP_CMP_GE", SCMP_CMP_GE},
               {"SCMP_CMP_GT", SCMP_CMP_GT},
               {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
    struct json_object *v;
    const char *op = string_field(arg, "op");

    memset(out, 0, sizeof(*out));
    if (!json_object_object_get_ex(arg, "index", &v) || json_object_get_int64(v) < 0 ||
        json_object_get_int64(v) > 5)
        return fail(c, "a seccomp argument index must be 0 to 5");
    out->arg = (unsigned)json_object_get_int64(v);
    if (json_object_object_get_ex(arg, "value", &v))
        out->datum_a = (scmp_datum_t)json_object_get_uint64(v);
    if (json_object_object_get_ex(arg, "valueTwo", &v))
        out->datum_b = (scmp_datum_t)json_object_get_uint64(v);
    for (size_t i = 0; op && i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(op, ops[i].name) == 0) {
            out->op = ops[i].op;
            return 0;
        }
    }
    return fail(c, "unknown seccomp operator \"%s\"", op ? op : "");
}

/* One rule for syscall `nr`: its conditions ANDed, except that several on the same argument
 * become one rule each (ORed), as runc does. */
static int add_rules(struct compile *c, const char *name, int nr, uint32_t action,
                     const struct scmp_arg_cmp *conds, unsigned n)
{
    bool repeated = false;
    int err;

    for (unsigned i = 0; i < n; i++) {
        for (unsigned j = 0; j < i; j++)
            repeated |= conds[i].arg == conds[j].arg;
    }
    if (!repeated) {
        err = seccomp_rule_add_array(c->ctx, action, nr, n, conds);
    } else {
        err = 0;
        for (unsigned i = 0; i < n && !err; i++)
            err = seccomp_rule_add_array(c->ctx, action, nr, 1, &conds[i]);
    }
    if (err)
        return fail(c, "seccomp rule for %s: %s", name, strerror(-err));
    return 0;
}

static int add_syscall(struct compile *c, struct json_object *sc, uint32_t default_action)
{
    struct json_object *names = array_field(sc, "names"), *args = array_field(sc, "args");
    struct json_object *errno_ret = NULL;
    struct scmp_arg_cmp conds[6 * 4];
    unsigned n = 0;
    uint32_t action;

    json_object_object_get_ex(sc, "errnoRet", &errno_ret);
    if (parse_action(c, string_field(sc, "action"), errno_ret, &action) != 0)
        return -1;
    /* libseccomp refuses a rule that does what the default does; runc skips it. */
    if (action == default_action)
        return 0;
    if (args) {
        size_t nargs = json_object_array_length(args);
        if (nargs > sizeof(conds) / sizeof(conds[0]))
            return fail(c, "a seccomp rule has too many arguments");
        for (; n < nargs; n++) {
            if (parse_arg(c, json_object_array_get_idx(args, n), &conds[n]) != 0)
                return -1;
        }
    }
    if (!names)
        return 0;
    for (size_t i = 0; i < json_object_array_length(names); i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(names, i));
        int nr = name ? seccomp_syscall_resolve_name_arch(c->arch, name) : __NR_SCMP_ERROR;
        /* Names this arch (or this libseccomp) doesn't know are skipped, as runc does. */
        if (nr == __NR_SCMP_ERROR)
            continue;
        if (add_rules(c, name, nr, action, conds, n) != 0)
            return -1;
    }
    return 0;
}

static int parse_flags(struct compile *c, struct json_object *profile, bool *log)
{
    struct json_object *flags = array_field(profile, "flags");

    *log = false;
    if (!flags)
        return 0;
    for (size_t i = 0; i < json_object_array_length(flags); i++) {
        const char *f = json_object_get_string(json_object_array_get_idx(flags, i));
        if (f && strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0)
            *log = true;
        else if (!f || (strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") != 0 &&
                        strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") != 0))
            return fail(c, "unknown seccomp filter flag \"%s\"", f ? f : "");
    }
    return 0;
}

/* libseccomp writes the program to an fd: a memfd, read back whole. */
static int export_program(struct compile *c, struct sock_filter **prog, unsigned *len)
{
    int fd = memfd_create("oci-seccomp", MFD_CLOEXEC);
    struct stat st;
    int err;

    if (fd < 0)
        return fail(c, "memfd_create: %s", strerror(errno));
    if ((err = seccomp_export_bpf(c->ctx, fd)) != 0) {
        close(fd);
        return fail(c, "export the seccomp program: %s", strerror(-err));
    }
    if (fstat(fd, &st) != 0 || st.st_size == 0 || st.st_size % sizeof(struct sock_filter) ||
        st.st_size > (off_t)(OCI_SECCOMP_MAX_INSNS * sizeof(struct sock_filter))) {
        close(fd);
        return fail(c, "the seccomp program has %lld bytes: not 1 to %d instructions",
                    (long long)st.st_size, OCI_SECCOMP_MAX_INSNS);
    }
    *prog = malloc((size_t)st.st_size);
    if (!*prog || pread(fd, *prog, (size_t)st.st_size, 0) != st.st_size) {
        free(*prog);
        *prog = NULL;
        close(fd);
        return fail(c, "read the seccomp program back");
    }
    close(fd);
    *len = (unsigned)(st.st_size / sizeof(struct sock_filter));
    return 0;
}

int boot_seccomp_compile(const char *json, struct sock_filter **prog, unsigned *len, bool *log,
                         char *why, size_t whylen)
{
    struct compile c = {.why = why, .whylen = whylen};
    struct json_object *profile = json_tokener_parse(json), *default_errno = NULL;
    uint32_t default_action;
    int ret = -1;

    *prog = NULL;
    if (!profile || !json_object_is_type(profile, json_type_object)) {
        fail(&c, "linux.seccomp is not a JSON object");
        goto out_json;
    }
    c.arch = seccomp_arch_resolve_name(ARCH_SECCOMP_NAME);
    json_object_object_get_ex(profile, "defaultErrnoRet", &default_errno);
    if (check_arches(&c, profile) != 0 || parse_flags(&c, profile, log) != 0 ||
        parse_action(&c, string_field(profile, "defaultAction"), default_errno, &default_action) !=
            0)
        goto out_json;
    const char *listener = string_field(profile, "listenerPath");
    if (listener && *listener) {
        fail(&c, "seccomp listenerPath (user notification) is not supported");
        goto out_json;
    }
    if (!(c.ctx = seccomp_init(default_action))) {
        fail(&c, "seccomp_init failed");
        goto out_json;
    }
    /* The filter is for the guest's arch only, whatever the host's is. */
    if (c.arch != seccomp_arch_native()) {
        int err = seccomp_arch_add(c.ctx, c.arch);
        if (err || (err = seccomp_arch_remove(c.ctx, SCMP_ARCH_NATIVE)) != 0) {
            fail(&c, "seccomp arch %s: %s", ARCH_SECCOMP_NAME, strerror(-err));
            goto out_ctx;
        }
    }
    struct json_object *syscalls = array_field(profile, "syscalls");
    if (syscalls) {
        for (size_t i = 0; i < json_object_array_length(syscalls); i++) {
            if (add_syscall(&c, json_object_array_get_idx(syscalls, i), default_action) != 0)
                goto out_ctx;
        }
    }
    ret = export_program(&c, prog, len);
out_ctx:
    seccomp_release(c.ctx);
out_json:
    json_object_put(profile);
    return ret;
}
