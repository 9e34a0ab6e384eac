/* Unit tests for runsc/oci: a complete config.json taken field by field into struct oci_spec, every
 * kind of wrong input refused with -EINVAL (or -ENOENT) and a message naming the field, and the
 * specs `runsc spec` writes parsing back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "arch.h"
#include "runsc/oci/oci.h"

static char bundle[64];
static char err[512];

/* Every section and most fields set, each to a distinct value. */
static const char full_spec[] =
    "{\n"
    "  \"ociVersion\": \"1.1.0\",\n"
    "  \"process\": {\n"
    "    \"terminal\": true,\n"
    "    \"consoleSize\": {\"height\": 40, \"width\": 120},\n"
    "    \"user\": {\"uid\": 1000, \"gid\": 1001, \"umask\": 18, \"additionalGids\": [5, 6, 7]},\n"
    "    \"args\": [\"/bin/sh\", \"-c\", \"echo hi\"],\n"
    "    \"env\": [\"PATH=/bin\", \"EMPTY=\"],\n"
    "    \"cwd\": \"/work\",\n"
    "    \"capabilities\": {\"bounding\": [\"CAP_KILL\", \"CAP_SYS_ADMIN\"],\n"
    "                     \"effective\": [\"CAP_KILL\"], \"permitted\": [\"CAP_KILL\"],\n"
    "                     \"inheritable\": [], \"ambient\": [\"CAP_CHECKPOINT_RESTORE\"]},\n"
    "    \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1024, \"hard\": 4096},\n"
    "                {\"type\": \"RLIMIT_CORE\", \"soft\": 0,\n"
    "                 \"hard\": 18446744073709551615}],\n"
    "    \"noNewPrivileges\": true,\n"
    "    \"oomScoreAdj\": -500,\n"
    "    \"apparmorProfile\": \"docker-default\",\n"
    "    \"selinuxLabel\": \"system_u:system_r:container_t:s0\"\n"
    "  },\n"
    "  \"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
    "  \"hostname\": \"box\",\n"
    "  \"domainname\": \"example.org\",\n"
    "  \"mounts\": [\n"
    "    {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
    "    {\"destination\": \"/data\", \"source\": \"/srv/data\", \"options\": [\"rbind\", "
    "\"ro\"]},\n"
    "    {\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
    "     \"options\": [\"nosuid\", \"mode=1777\"]}\n"
    "  ],\n"
    "  \"hooks\": {\n"
    "    \"prestart\": [{\"path\": \"/usr/bin/netns-setup\", \"args\": [\"netns-setup\", \"x\"],\n"
    "                  \"env\": [\"A=1\"], \"timeout\": 7}],\n"
    "    \"poststop\": [{\"path\": \"/bin/cleanup\"}, {\"path\": \"/bin/cleanup2\"}]\n"
    "  },\n"
    "  \"annotations\": {\"org.example.key\": \"value\", \"io.kubernetes.cri.container-type\":\n"
    "                  \"sandbox\"},\n"
    "  \"linux\": {\n"
    "    \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\", \"path\": "
    "\"/run/netns/x\"},\n"
    "                   {\"type\": \"ipc\"}, {\"type\": \"uts\"}, {\"type\": \"mount\"},\n"
    "                   {\"type\": \"user\"}, {\"type\": \"cgroup\"}],\n"
    "    \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],\n"
    "    \"gidMappings\": [{\"containerID\": 0, \"hostID\": 200000, \"size\": 65536}],\n"
    "    \"resources\": {\"memory\": {\"limit\": 536870912, \"swappiness\": 0},\n"
    "                  \"cpu\": {\"quota\": 50000, \"period\": 100000, \"shares\": 1024},\n"
    "                  \"pids\": {\"limit\": 256},\n"
    "                  \"devices\": [{\"allow\": false, \"access\": \"rwm\"},\n"
    "                              {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 3,\n"
    "                               \"access\": \"rw\"}]},\n"
    "    \"cgroupsPath\": \"/runsc/abc\",\n"
    "    \"devices\": [{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229,\n"
    "                 \"fileMode\": 438, \"uid\": 0, \"gid\": 0}],\n"
    "    \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"},\n"
    "    \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": "
    "[\"SCMP_ARCH_X86_64\"],\n"
    "                \"syscalls\": [{\"names\": [\"read\", \"write\"], \"action\": "
    "\"SCMP_ACT_ALLOW\"}]},\n"
    "    \"rootfsPropagation\": \"rslave\",\n"
    "    \"maskedPaths\": [\"/proc/kcore\", \"/sys/firmware\"],\n"
    "    \"readonlyPaths\": [\"/proc/sys\"],\n"
    "    \"mountLabel\": \"system_u:object_r:container_file_t:s0\",\n"
    "    \"personality\": {\"domain\": \"LINUX\"}\n"
    "  },\n"
    "  \"org.example.extension\": {\"ignored\": true}\n"
    "}\n";

static int setup(void **state)
{
    char root[96];

    snprintf(bundle, sizeof(bundle), "/tmp/oci-unit.XXXXXX");
    assert_non_null(mkdtemp(bundle));
    snprintf(root, sizeof(root), "%s/rootfs", bundle);
    assert_int_equal(mkdir(root, 0755), 0);
    return 0;
}

static int teardown(void **state)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/config.json", bundle);
    unlink(path);
    snprintf(path, sizeof(path), "%s/rootfs", bundle);
    rmdir(path);
    rmdir(bundle);
    return 0;
}

static int parse(const char *json, struct oci_spec **out)
{
    *out = NULL;
    err[0] = '\0';
    return oci_spec_parse(json, bundle, out, err, sizeof(err));
}

/* Walks "a.b[2].c" in obj; the last step's parent and key (or index) go out. */
static struct json_object *walk_parent(struct json_object *obj, const char *path, char *last,
                                       long *index)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    char *p = buf;

    for (;;) {
        size_t n = strcspn(p, ".[");
        char sep = p[n];
        p[n] = '\0';
        if (*p) {
            if (!sep) {
                snprintf(last, 64, "%s", p);
                *index = -1;
                return obj;
            }
            obj = json_object_object_get(obj, p);
        }
        if (sep == '[') {
            long i = strtol(p + n + 1, &p, 10);
            p++; /* the ']' */
            if (!*p) {
                *index = i;
                return obj;
            }
            obj = json_object_array_get_idx(obj, (size_t)i);
            if (*p == '.')
                p++;
        } else {
            p += n + 1;
        }
        assert_non_null(obj);
    }
}

/* full_spec with the field at path set to value (JSON text), or removed when value is NULL. */
static char *edit(const char *path, const char *value)
{
    struct json_object *root = json_tokener_parse(full_spec), *parent;
    char last[64];
    long index;

    assert_non_null(root);
    parent = walk_parent(root, path, last, &index);
    assert_non_null(parent);
    struct json_object *v = value ? json_tokener_parse(value) : NULL;
    if (value && strcmp(value, "null") != 0)
        assert_non_null(v);
    if (index >= 0) {
        assert_true(value != NULL);
        json_object_array_put_idx(parent, (size_t)index, v);
    } else if (value) {
        json_object_object_add(parent, last, v);
    } else {
        json_object_object_del(parent, last);
    }
    char *text = strdup(json_object_to_json_string(root));
    json_object_put(root);
    return text;
}

/* Parsing full_spec edited at path must fail with -expect_errno and a message that contains
 * `field` (the field's path) and `words`. */
static void expect_refused(const char *path, const char *value, int expect_errno, const char *field,
                           const char *words)
{
    char *json = edit(path, value);
    struct oci_spec *spec;
    int ret = parse(json, &spec);

    if (ret != -expect_errno || !strstr(err, field) || !strstr(err, words))
        fail_msg("edit %s=%s: got %d \"%s\", want %d with \"%s\" and \"%s\"", path,
                 value ? value : "(deleted)", ret, err, -expect_errno, field, words);
    assert_null(spec);
    assert_int_equal(strncmp(err, "config.json: ", 13), 0);
    free(json);
}

static void test_full_spec_round_trip(void **state)
{
    struct oci_spec *s;
    char root[128];

    assert_int_equal(parse(full_spec, &s), 0);
    assert_string_equal(err, "");
    assert_string_equal(s->oci_version, "1.1.0");
    const struct oci_process *p = &s->process;
    assert_string_equal(p->args[0], "/bin/sh");
    assert_string_equal(p->args[2], "echo hi");
    assert_null(p->args[3]);
    assert_string_equal(p->env[0], "PATH=/bin");
    assert_string_equal(p->env[1], "EMPTY=");
    assert_null(p->env[2]);
    assert_string_equal(p->cwd, "/work");
    assert_true(p->terminal);
    assert_int_equal(p->console_height, 40);
    assert_int_equal(p->console_width, 120);
    assert_int_equal(p->user.uid, 1000);
    assert_int_equal(p->user.gid, 1001);
    assert_true(p->user.has_umask);
    assert_int_equal(p->user.umask, 022);
    assert_int_equal(p->user.n_additional_gids, 3);
    assert_int_equal(p->user.additional_gids[2], 7);
    assert_true(p->has_caps);
    assert_int_equal(p->caps.bounding, (1ull << CAP_KILL) | (1ull << CAP_SYS_ADMIN));
    assert_int_equal(p->caps.effective, 1ull << CAP_KILL);
    assert_int_equal(p->caps.permitted, 1ull << CAP_KILL);
    assert_int_equal(p->caps.inheritable, 0);
    assert_int_equal(p->caps.ambient, 1ull << CAP_CHECKPOINT_RESTORE);
    assert_int_equal(p->n_rlimits, 2);
    assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
    assert_int_equal(p->rlimits[0].soft, 1024);
    assert_int_equal(p->rlimits[0].hard, 4096);
    assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
    assert_true(p->rlimits[1].hard == UINT64_MAX);
    assert_true(p->no_new_privileges);
    assert_true(p->has_oom_score_adj);
    assert_int_equal(p->oom_score_adj, -500);
    assert_string_equal(p->apparmor_profile, "docker-default");
    assert_string_equal(p->selinux_label, "system_u:system_r:container_t:s0");

    snprintf(root, sizeof(root), "%s/rootfs", bundle);
    assert_string_equal(s->root_path, root);
    assert_true(s->root_readonly);
    assert_string_equal(s->hostname, "box");
    assert_string_equal(s->domainname, "example.org");

    assert_int_equal(s->n_mounts, 3);
    assert_string_equal(s->mounts[0].destination, "/proc");
    assert_string_equal(s->mounts[0].type, "proc");
    assert_int_equal(s->mounts[0].n_options, 0);
    assert_null(s->mounts[0].options[0]);
    assert_string_equal(s->mounts[1].type, "bind"); /* from "rbind", no type given */
    assert_string_equal(s->mounts[1].source, "/srv/data");
    assert_int_equal(s->mounts[1].n_options, 2);
    assert_string_equal(s->mounts[1].options[1], "ro");
    assert_string_equal(s->mounts[2].options[1], "mode=1777");

    assert_int_equal(s->n_hooks[OCI_HOOK_PRESTART], 1);
    assert_string_equal(s->hooks[OCI_HOOK_PRESTART][0].path, "/usr/bin/netns-setup");
    assert_string_equal(s->hooks[OCI_HOOK_PRESTART][0].args[1], "x");
    assert_string_equal(s->hooks[OCI_HOOK_PRESTART][0].env[0], "A=1");
    assert_int_equal(s->hooks[OCI_HOOK_PRESTART][0].timeout, 7);
    assert_int_equal(s->n_hooks[OCI_HOOK_POSTSTOP], 2);
    assert_null(s->hooks[OCI_HOOK_POSTSTOP][1].args);
    assert_int_equal(s->hooks[OCI_HOOK_POSTSTOP][1].timeout, 0);
    assert_int_equal(s->n_hooks[OCI_HOOK_CREATE_RUNTIME], 0);

    assert_int_equal(s->n_annotations, 2);
    assert_string_equal(oci_spec_annotation(s, "org.example.key"), "value");
    assert_string_equal(oci_spec_annotation(s, "io.kubernetes.cri.container-type"), "sandbox");
    assert_null(oci_spec_annotation(s, "absent"));

    assert_int_equal(s->n_namespaces, 7);
    assert_int_equal(s->namespaces[0].type, OCI_NS_PID);
    assert_null(s->namespaces[0].path);
    assert_int_equal(s->namespaces[1].type, OCI_NS_NETWORK);
    assert_string_equal(s->namespaces[1].path, "/run/netns/x");
    assert_int_equal(s->namespaces[5].type, OCI_NS_USER);
    assert_int_equal(s->namespaces[6].type, OCI_NS_CGROUP);
    assert_int_equal(s->n_uid_mappings, 1);
    assert_int_equal(s->uid_mappings[0].host_id, 100000);
    assert_int_equal(s->uid_mappings[0].size, 65536);
    assert_int_equal(s->gid_mappings[0].host_id, 200000);
    assert_int_equal(s->memory_limit, 536870912);
    assert_int_equal(s->pids_limit, 256);
    assert_int_equal(s->cpu_quota, 50000);
    assert_int_equal(s->cpu_period, 100000);
    assert_non_null(strstr(s->resources_json, "\"shares\":1024"));
    assert_string_equal(s->cgroups_path, "/runsc/abc");
    assert_int_equal(s->n_devices, 1);
    assert_string_equal(s->devices[0].path, "/dev/fuse");
    assert_int_equal(s->devices[0].type, 'c');
    assert_int_equal(s->devices[0].major, 10);
    assert_int_equal(s->devices[0].minor, 229);
    assert_true(s->devices[0].has_file_mode);
    assert_int_equal(s->devices[0].file_mode, 0666);
    assert_int_equal(s->n_sysctl, 1);
    assert_string_equal(s->sysctl[0].key, "net.ipv4.ip_forward");
    assert_string_equal(s->sysctl[0].value, "1");
    assert_non_null(s->seccomp_json);
    struct json_object *sc = json_tokener_parse(s->seccomp_json);
    assert_non_null(sc);
    assert_string_equal(json_object_get_string(json_object_object_get(sc, "defaultAction")),
                        "SCMP_ACT_ERRNO");
    json_object_put(sc);
    assert_string_equal(s->rootfs_propagation, "rslave");
    assert_string_equal(s->masked_paths[1], "/sys/firmware");
    assert_null(s->masked_paths[2]);
    assert_string_equal(s->readonly_paths[0], "/proc/sys");
    assert_string_equal(s->mount_label, "system_u:object_r:container_file_t:s0");
    oci_spec_free(s);
}

/* The fewest fields a config may have: the rest take their documented defaults. */
static void test_minimal_spec_defaults(void **state)
{
    struct oci_spec *s;

    assert_int_equal(parse("{\"ociVersion\": \"1.0.2-dev\", \"root\": {\"path\": \"rootfs\"},"
                           " \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}}",
                           &s),
                     0);
    assert_string_equal(s->oci_version, "1.0.2-dev");
    assert_false(s->root_readonly);
    assert_null(s->process.env[0]);
    assert_int_equal(s->process.user.uid, 0);
    assert_false(s->process.has_caps);
    assert_false(s->process.terminal);
    assert_int_equal(s->n_mounts, 0);
    assert_int_equal(s->n_namespaces, 0);
    assert_int_equal(s->memory_limit, -1);
    assert_int_equal(s->pids_limit, -1);
    assert_int_equal(s->cpu_quota, -1);
    assert_int_equal(s->cpu_period, -1);
    assert_null(s->seccomp_json);
    assert_null(s->resources_json);
    assert_null(s->hostname);
    oci_spec_free(s);
}

static void test_syntax_error_names_line(void **state)
{
    struct oci_spec *s;

    assert_int_equal(
        parse("{\n  \"ociVersion\": \"1.1.0\",\n  \"root\": {\"path\" \"rootfs\"}\n}", &s),
        -EINVAL);
    assert_null(s);
    assert_non_null(strstr(err, "config.json: line 3"));
    assert_int_equal(parse("{\"ociVersion\": \"1.1.0\"", &s), -EINVAL);
    assert_non_null(strstr(err, "unexpected end of input"));
    assert_int_equal(parse("{} {}", &s), -EINVAL);
    assert_non_null(strstr(err, "unexpected text after the JSON value"));
    assert_int_equal(parse("[1, 2]", &s), -EINVAL);
    assert_string_equal(err, "config.json: must be a JSON object");
}

static void test_wrong_types_at_every_depth(void **state)
{
    expect_refused("ociVersion", "1", EINVAL, "ociVersion", "must be a string");
    expect_refused("process", "[]", EINVAL, "process", "must be an object");
    expect_refused("process.terminal", "\"yes\"", EINVAL, "process.terminal", "true or false");
    expect_refused("process.args", "\"sh\"", EINVAL, "process.args", "must be an array");
    expect_refused("process.args[1]", "7", EINVAL, "process.args[1]", "must be a string");
    expect_refused("process.user.uid", "-1", EINVAL, "process.user.uid", "out of range");
    expect_refused("process.user.uid", "4294967296", EINVAL, "process.user.uid", "out of range");
    expect_refused("process.user.gid", "1.5", EINVAL, "process.user.gid", "an integer");
    expect_refused("process.user.additionalGids[1]", "\"x\"", EINVAL,
                   "process.user.additionalGids[1]", "must be a gid");
    expect_refused("process.rlimits[0].soft", "\"many\"", EINVAL, "process.rlimits[0].soft",
                   "an integer");
    expect_refused("process.capabilities.bounding", "{}", EINVAL, "process.capabilities.bounding",
                   "an array");
    expect_refused("mounts[1].options[0]", "false", EINVAL, "mounts[1].options[0]",
                   "must be a string");
    expect_refused("hooks.poststop[1]", "\"/bin/x\"", EINVAL, "hooks.poststop[1]",
                   "must be an object");
    expect_refused("linux.namespaces[2]", "\"ipc\"", EINVAL, "linux.namespaces[2]",
                   "must be an object");
    expect_refused("linux.uidMappings[0].size", "\"all\"", EINVAL, "linux.uidMappings[0].size",
                   "an integer");
    expect_refused("linux.resources.memory.limit", "\"1G\"", EINVAL, "linux.resources.memory.limit",
                   "an integer");
    expect_refused("linux.resources.devices[1].allow", "1", EINVAL,
                   "linux.resources.devices[1].allow", "true or false");
    expect_refused("linux.sysctl.k", "1", EINVAL, "linux.sysctl.k", "must be a string");
    expect_refused("annotations", "[]", EINVAL, "annotations", "must be an object");
    expect_refused("linux.seccomp.syscalls[0].names", "[]", EINVAL,
                   "linux.seccomp.syscalls[0].names", "must not be empty");
}

static void test_missing_required_fields(void **state)
{
    expect_refused("ociVersion", NULL, EINVAL, "ociVersion", "missing required field");
    expect_refused("root", NULL, EINVAL, "root", "missing required field");
    expect_refused("root.path", NULL, EINVAL, "root.path", "missing required field");
    expect_refused("process", NULL, EINVAL, "process", "missing required field");
    expect_refused("process", "null", EINVAL, "process", "missing required field");
    expect_refused("process.args", NULL, EINVAL, "process.args", "missing required field");
    expect_refused("process.args", "[]", EINVAL, "process.args", "must not be empty");
    expect_refused("process.cwd", NULL, EINVAL, "process.cwd", "missing required field");
    expect_refused("mounts[0]", "{\"type\": \"proc\"}", EINVAL, "mounts[0].destination",
                   "missing required field");
    expect_refused("mounts[2]", "{\"destination\": \"/x\"}", EINVAL, "mounts[2].type",
                   "missing required field");
    expect_refused("mounts[1].source", NULL, EINVAL, "mounts[1].source", "bind mount");
    expect_refused("process.rlimits[1]", "{\"type\": \"RLIMIT_CPU\", \"soft\": 1}", EINVAL,
                   "process.rlimits[1].hard", "missing required field");
    expect_refused("hooks.prestart[0].path", NULL, EINVAL, "hooks.prestart[0].path",
                   "missing required field");
    expect_refused("linux.namespaces[3]", "{\"path\": \"/x\"}", EINVAL, "linux.namespaces[3].type",
                   "missing required field");
    expect_refused("linux.seccomp.defaultAction", NULL, EINVAL, "linux.seccomp.defaultAction",
                   "missing required field");
    expect_refused("linux.resources.pids", "{}", EINVAL, "linux.resources.pids.limit",
                   "missing required field");
}

static void test_bad_values(void **state)
{
    expect_refused("ociVersion", "\"2.0.0\"", EINVAL, "ociVersion", "unsupported version");
    expect_refused("ociVersion", "\"one\"", EINVAL, "ociVersion", "is not a version");
    expect_refused("process.cwd", "\"work\"", EINVAL, "process.cwd", "not an absolute path");
    expect_refused("process.env[1]", "\"NOEQUALS\"", EINVAL, "process.env[1]", "NAME=VALUE");
    expect_refused("process.env[0]", "\"=x\"", EINVAL, "process.env[0]", "NAME=VALUE");
    expect_refused("linux.namespaces[2].type", "\"foo\"", EINVAL, "linux.namespaces[2].type",
                   "unknown namespace type \"foo\"");
    expect_refused("linux.namespaces[2].type", "\"pid\"", EINVAL, "linux.namespaces[2].type",
                   "duplicate namespace type \"pid\"");
    expect_refused("linux.namespaces[1].path", "\"netns\"", EINVAL, "linux.namespaces[1].path",
                   "not an absolute path");
    expect_refused("process.capabilities.effective[0]", "\"CAP_FOO\"", EINVAL,
                   "process.capabilities.effective[0]", "unknown capability \"CAP_FOO\"");
    expect_refused("process.capabilities.bounding[1]", "\"cap_kill\"", EINVAL,
                   "process.capabilities.bounding[1]", "unknown capability");
    expect_refused("process.rlimits[1].type", "\"RLIMIT_FOO\"", EINVAL, "process.rlimits[1].type",
                   "unknown rlimit \"RLIMIT_FOO\"");
    expect_refused("process.rlimits[1].type", "\"RLIMIT_NOFILE\"", EINVAL,
                   "process.rlimits[1].type", "duplicate rlimit");
    expect_refused("process.rlimits[0].soft", "5000", EINVAL, "process.rlimits[0]",
                   "above hard limit");
    expect_refused("process.oomScoreAdj", "1001", EINVAL, "process.oomScoreAdj", "-1000..1000");
    expect_refused("process.consoleSize.width", "70000", EINVAL, "process.consoleSize", "65535");
    expect_refused("mounts[2].destination", "\"tmp\"", EINVAL, "mounts[2].destination",
                   "not an absolute path");
    expect_refused("mounts[0].uidMappings", "[{\"containerID\": 0, \"hostID\": 1, \"size\": 1}]",
                   EINVAL, "mounts[0].uidMappings", "idmapped mounts are not supported");
    expect_refused("hooks.poststop[0].path", "\"cleanup\"", EINVAL, "hooks.poststop[0].path",
                   "not an absolute path");
    expect_refused("hooks.prestart[0].timeout", "0", EINVAL, "hooks.prestart[0].timeout",
                   "above zero");
    expect_refused("linux.uidMappings[0].size", "0", EINVAL, "linux.uidMappings[0]", "size 0");
    expect_refused("linux.rootfsPropagation", "\"sideways\"", EINVAL, "linux.rootfsPropagation",
                   "unknown propagation");
    expect_refused("linux.seccomp.defaultAction", "\"SCMP_ACT_NOPE\"", EINVAL,
                   "linux.seccomp.defaultAction", "unknown seccomp action");
    expect_refused("linux.devices[0].type", "\"x\"", EINVAL, "linux.devices[0].type",
                   "not c, b, u or p");
    expect_refused("linux.resources.devices[1].access", "\"rwx\"", EINVAL,
                   "linux.resources.devices[1].access", "r, w and m");
    expect_refused("linux.maskedPaths[0]", "\"proc/kcore\"", EINVAL, "linux.maskedPaths[0]",
                   "not an absolute path");
    expect_refused("linux.intelRdt", "{\"closID\": \"x\"}", EINVAL, "linux.intelRdt",
                   "not supported");
    expect_refused("linux.personality.domain", "\"LINUX32\"", EINVAL, "linux.personality.domain",
                   "not supported");
}

static void test_rules_across_sections(void **state)
{
    /* Without the uts namespace, a hostname would be the host's. */
    expect_refused("linux.namespaces[3]", "{\"type\": \"time\"}", EINVAL, "hostname",
                   "uts namespace");
    expect_refused("linux.uidMappings", "[]", EINVAL, "linux.uidMappings", "needs uid mappings");
    expect_refused("linux.namespaces[5]", "{\"type\": \"time\"}", EINVAL, "linux.uidMappings",
                   "need a user namespace");
    expect_refused("linux.namespaces[1]", "{\"type\": \"time\"}", EINVAL,
                   "linux.sysctl.net.ipv4.ip_forward", "network namespace");
}

static void test_root_path_resolution(void **state)
{
    struct oci_spec *s;
    char *json;

    /* Relative to the bundle, and it must exist as a directory. */
    json = edit("root.path", "\"missing\"");
    assert_int_equal(parse(json, &s), -ENOENT);
    assert_non_null(strstr(err, "root.path"));
    assert_non_null(strstr(err, "/missing: No such file or directory"));
    free(json);

    json = edit("root.path", "\"/etc/passwd\"");
    assert_int_equal(parse(json, &s), -ENOTDIR);
    assert_non_null(strstr(err, "root.path: /etc/passwd: Not a directory"));
    free(json);

    json = edit("root.path", "\"/\"");
    assert_int_equal(parse(json, &s), 0);
    assert_string_equal(s->root_path, "/");
    oci_spec_free(s);
    free(json);

    /* Without a bundle (the sandbox re-reading a checked spec) it is kept as given. */
    json = edit("root.path", "\"missing\"");
    assert_int_equal(oci_spec_parse(json, NULL, &s, err, sizeof(err)), 0);
    assert_string_equal(s->root_path, "missing");
    oci_spec_free(s);
    free(json);
}

static void test_load_from_bundle(void **state)
{
    struct oci_spec *s = NULL;
    char path[128];

    assert_int_equal(oci_spec_load("/nonexistent-bundle", &s, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "bundle /nonexistent-bundle: No such file or directory");
    assert_int_equal(oci_spec_load(bundle, &s, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "config.json: No such file or directory"));
    assert_null(s);

    snprintf(path, sizeof(path), "%s/config.json", bundle);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(full_spec, f);
    fclose(f);
    assert_int_equal(oci_spec_load(bundle, &s, err, sizeof(err)), 0);
    assert_string_equal(s->hostname, "box");
    oci_spec_free(s);
}

static void test_default_specs_parse_back(void **state)
{
    struct oci_spec *s;
    char *json = oci_spec_default_json();

    assert_non_null(json);
    assert_int_equal(parse(json, &s), 0);
    assert_string_equal(s->process.args[0], "sh");
    assert_null(s->process.args[1]);
    assert_true(s->process.terminal);
    assert_string_equal(s->process.cwd, "/");
    assert_int_equal(s->process.caps.bounding, (1ull << CAP_AUDIT_WRITE) | (1ull << CAP_KILL) |
                                                   (1ull << CAP_NET_BIND_SERVICE));
    assert_int_equal(s->process.n_rlimits, 1);
    assert_int_equal(s->process.rlimits[0].resource, RLIMIT_NOFILE);
    assert_int_equal(s->process.rlimits[0].hard, 1024);
    assert_int_equal(s->n_namespaces, 5);
    assert_int_equal(s->n_mounts, 7);
    assert_string_equal(s->mounts[6].destination, "/sys/fs/cgroup");
    assert_string_equal(s->masked_paths[0], "/proc/acpi");
    assert_string_equal(s->readonly_paths[4], "/proc/sysrq-trigger");
    assert_true(s->root_readonly);
    oci_spec_free(s);
    free(json);

    json = oci_spec_rootless_json(1234, 5678);
    assert_non_null(json);
    assert_int_equal(parse(json, &s), 0);
    for (size_t i = 0; i < s->n_namespaces; i++)
        assert_int_not_equal(s->namespaces[i].type, OCI_NS_NETWORK);
    assert_int_equal(s->namespaces[s->n_namespaces - 1].type, OCI_NS_USER);
    assert_int_equal(s->uid_mappings[0].host_id, 1234);
    assert_int_equal(s->gid_mappings[0].host_id, 5678);
    assert_int_equal(s->uid_mappings[0].container_id, 0);
    assert_null(s->resources_json);
    for (size_t i = 0; i < s->n_mounts; i++) {
        for (size_t j = 0; j < s->mounts[i].n_options; j++)
            assert_int_not_equal(strncmp(s->mounts[i].options[j], "gid=", 4), 0);
        if (strcmp(s->mounts[i].destination, "/sys") == 0) {
            assert_string_equal(s->mounts[i].type, "bind");
            assert_string_equal(s->mounts[i].source, "/sys");
        }
    }
    oci_spec_free(s);
    free(json);
}

static void test_features_json(void **state)
{
    char *json = oci_features_json();
    struct json_object *f = json_tokener_parse(json), *lx, *v;

    assert_non_null(f);
    assert_string_equal(json_object_get_string(json_object_object_get(f, "ociVersionMax")),
                        "1.1.0");
    assert_string_equal(json_object_get_string(json_object_object_get(f, "ociVersionMin")),
                        "1.0.0");
    assert_true(json_object_object_get_ex(f, "linux", &lx));
    assert_true(json_object_object_get_ex(lx, "capabilities", &v));
    /* Every capability it names, the parser takes. */
    for (size_t i = 0; i < json_object_array_length(v); i++)
        assert_int_equal(oci_cap_from_name(json_object_get_string(json_object_array_get_idx(v, i))),
                         (int)i);
    assert_true(json_object_object_get_ex(f, "hooks", &v));
    assert_int_equal(json_object_array_length(v), OCI_HOOK_KINDS);
    /* The guest seccomp filter and the host cgroup are there. */
    struct json_object *sc, *cg;
    assert_true(json_object_object_get_ex(lx, "seccomp", &sc));
    assert_true(json_object_get_boolean(json_object_object_get(sc, "enabled")));
    assert_true(json_object_object_get_ex(sc, "archs", &v));
    const char *arch = json_object_get_string(json_object_array_get_idx(v, 0));
    assert_int_equal(strncmp(arch, "SCMP_ARCH_", 10), 0);
    assert_int_equal(strcasecmp(arch + 10, ARCH_SECCOMP_NAME), 0);
    assert_true(json_object_object_get_ex(lx, "cgroup", &cg));
    assert_true(json_object_get_boolean(json_object_object_get(cg, "v1")));
    assert_true(json_object_get_boolean(json_object_object_get(cg, "v2")));
    json_object_put(f);
    free(json);
}

/* `exec --process FILE`: the process object alone, fields named from its top. */
static void test_exec_process_json(void **state)
{
    struct oci_process *p = NULL;

    assert_int_equal(oci_process_parse("{\"args\": [\"ps\", \"aux\"], \"cwd\": \"/tmp\", "
                                       "\"terminal\": true, \"env\": [\"A=b\"], "
                                       "\"user\": {\"uid\": 7, \"gid\": 8}, "
                                       "\"capabilities\": {\"bounding\": [\"CAP_CHOWN\"]}}",
                                       &p, err, sizeof(err)),
                     0);
    assert_string_equal(p->args[1], "aux");
    assert_string_equal(p->cwd, "/tmp");
    assert_true(p->terminal);
    assert_int_equal(p->user.uid, 7);
    assert_int_equal(p->user.gid, 8);
    assert_int_equal(p->caps.bounding, 1ull << CAP_CHOWN);
    oci_process_free(p);

    p = NULL;
    assert_int_equal(
        oci_process_parse("{\"args\": [\"ps\"], \"cwd\": \"tmp\"}", &p, err, sizeof(err)), -EINVAL);
    assert_null(p);
    assert_string_equal(err, "process.json: cwd: \"tmp\" is not an absolute path");
    assert_int_equal(oci_process_parse("{\"args\": [\"ps\"], \"cwd\": \"/\", \"rlimits\": "
                                       "[{\"type\": \"RLIMIT_X\", \"soft\": 1, \"hard\": 1}]}",
                                       &p, err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "process.json: rlimits[0].type: unknown rlimit \"RLIMIT_X\"");
    assert_int_equal(oci_process_parse("{\"cwd\": \"/\"}", &p, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "process.json: args: missing required field");
    assert_int_equal(oci_process_parse("{\"args\": [\"ps\"],\n \"cwd\": }", &p, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "process.json: line 2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_spec_round_trip),
        cmocka_unit_test(test_minimal_spec_defaults),
        cmocka_unit_test(test_syntax_error_names_line),
        cmocka_unit_test(test_wrong_types_at_every_depth),
        cmocka_unit_test(test_missing_required_fields),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_rules_across_sections),
        cmocka_unit_test(test_root_path_resolution),
        cmocka_unit_test(test_load_from_bundle),
        cmocka_unit_test(test_default_specs_parse_back),
        cmocka_unit_test(test_features_json),
        cmocka_unit_test(test_exec_process_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
