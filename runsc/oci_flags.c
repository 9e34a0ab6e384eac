/* Subcommand flags as runc (urfave/cli over Go's flag package) parses them: -name, --name,
 * --name=value, --name value and -x for a short name; parsing stops at the first argument that
 * is not a flag, or after "--". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runsc/oci_cli.h"

static void print_help(const struct oci_command *c, int fd)
{
    dprintf(fd, "NAME:\n   runsc %s - %s\n\nUSAGE:\n   runsc %s%s %s\n", c->name, c->summary,
            c->name, c->n_flags ? " [command options]" : "", c->args_usage);
    if (!c->n_flags)
        return;
    dprintf(fd, "\nOPTIONS:\n");
    for (size_t i = 0; i < c->n_flags; i++) {
        const struct oci_flag *f = &c->flags[i];
        char names[64];
        const char *arg = f->kind == OCI_FLAG_BOOL ? "" : " value";
        if (f->short_name)
            snprintf(names, sizeof(names), "--%s%s, -%c%s", f->name, arg, f->short_name, arg);
        else
            snprintf(names, sizeof(names), "--%s%s", f->name, arg);
        dprintf(fd, "   %-28s %s\n", names, f->help);
    }
}

static const struct oci_flag *find_flag(const struct oci_command *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->n_flags; i++) {
        const struct oci_flag *f = &c->flags[i];
        if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
            return f;
        if (len == 1 && f->short_name == name[0])
            return f;
    }
    return NULL;
}

static int usage_error(const struct oci_command *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const struct oci_command *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dprintf(STDERR_FILENO, "Incorrect Usage: %s\n\n", msg);
    print_help(c, STDERR_FILENO);
    oci_errorf("%s", msg);
    return -1;
}

static int set_value(const struct oci_command *c, const struct oci_flag *f, const char *arg,
                     const char *value)
{
    switch (f->kind) {
    case OCI_FLAG_BOOL:
        if (value && strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            return usage_error(c, "invalid boolean value for flag: %s", arg);
        *(bool *)f->value = !value || strcmp(value, "true") == 0;
        return 0;
    case OCI_FLAG_STRING:
        *(const char **)f->value = value;
        return 0;
    case OCI_FLAG_LIST: {
        struct oci_str_list *l = f->value;
        if (l->n >= OCI_LIST_MAX)
            return usage_error(c, "flag given too many times: %s", arg);
        l->v[l->n++] = value;
        return 0;
    }
    }
    return -1;
}

int oci_parse_flags(const struct oci_command *c, int argc, char **argv, int *first)
{
    int i = 1;

    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == '\0')
            break;
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if ((len == 4 && strncmp(name, "help", 4) == 0) || (len == 1 && name[0] == 'h')) {
            print_help(c, STDOUT_FILENO);
            return 1;
        }
        const struct oci_flag *f = find_flag(c, name, len);
        if (!f)
            return usage_error(c, "flag provided but not defined: %s", arg);
        const char *value = eq ? eq + 1 : NULL;
        if (f->kind != OCI_FLAG_BOOL && !value) {
            if (i + 1 >= argc)
                return usage_error(c, "flag needs an argument: %s", arg);
            value = argv[++i];
        }
        if (set_value(c, f, arg, value) != 0)
            return -1;
    }
    int n = argc - i;
    if (c->min_args == c->max_args && n != c->min_args) {
        char msg[128];
        snprintf(msg, sizeof(msg), "runsc: \"%s\" requires exactly %d argument(s)", c->name,
                 c->min_args);
        return usage_error(c, "%s", msg);
    }
    if (n < c->min_args) {
        char msg[128];
        snprintf(msg, sizeof(msg), "runsc: \"%s\" requires a minimum of %d argument(s)", c->name,
                 c->min_args);
        return usage_error(c, "%s", msg);
    }
    if (c->max_args >= 0 && n > c->max_args) {
        char msg[128];
        snprintf(msg, sizeof(msg), "runsc: \"%s\" requires a maximum of %d argument(s)", c->name,
                 c->max_args);
        return usage_error(c, "%s", msg);
    }
    *first = i;
    return 0;
}
