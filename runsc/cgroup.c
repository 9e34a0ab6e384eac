/* The sandbox's host cgroup: finding the hierarchies, naming the container's cgroup, making it
 * with its CPU limits, moving processes in, and removing it at delete. See cgroup.h. */
#include "runsc/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/errors.h"

/* --- parsing ---------------------------------------------------------------------------- */

/* Whether `word` is one of the comma-separated words of `list`. */
static bool list_has(const char *list, const char *word, size_t len)
{
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, word, len) == 0)
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

/* Whether every word of `wanted` is among `have`'s. */
static bool list_covers(const char *have, const char *wanted)
{
    for (const char *p = wanted; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0 && !list_has(have, p, n))
            return false;
        if (!end)
            break;
        p = end + 1;
    }
    return true;
}

/* This process's line for a hierarchy in /proc/self/cgroup: v2's "0::path", or the v1 line
 * whose controllers the mount's super options name. Copies the path into out. */
static bool find_own(const char *self_cgroup, int version, const char *superopts, char *out,
                     size_t size)
{
    for (const char *line = self_cgroup; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[1024];
        if (len < sizeof(buf)) {
            memcpy(buf, line, len);
            buf[len] = '\0';
            char *c1 = strchr(buf, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (c2) {
                *c2 = '\0';
                const char *ctrls = c1 + 1;
                bool v2 = strcmp(buf, "0") == 0 || *ctrls == '\0';
                if ((version == 2 && v2) ||
                    (version == 1 && !v2 && list_covers(superopts, ctrls))) {
                    snprintf(out, size, "%s", c2 + 1);
                    return true;
                }
            }
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    return false;
}

/* `own` relative to a mount of the hierarchy rooted at `root`; false if outside it. */
static bool relative_to_root(const char *own, const char *root, char *out, size_t size)
{
    size_t n = strlen(root);
    if (strcmp(root, "/") == 0) {
        snprintf(out, size, "%s", own);
        return true;
    }
    if (strncmp(own, root, n) != 0 || (own[n] != '/' && own[n] != '\0'))
        return false;
    snprintf(out, size, "%s", own[n] ? own + n : "/");
    return true;
}

/* The v1 controllers among a mount's super options (rw, xattr, name=... and the like are
 * not). Empty for a named hierarchy without controllers. */
static void controllers_of(const char *superopts, char *out, size_t size)
{
    static const char *const known[] = {"cpu",     "cpuacct", "cpuset",   "memory", "devices",
                                        "freezer", "net_cls", "net_prio", "blkio",  "perf_event",
                                        "hugetlb", "pids",    "rdma",     "misc"};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (list_has(superopts, known[i], strlen(known[i]))) {
            size_t used = strlen(out);
            snprintf(out + used, size - used, "%s%s", used ? "," : "", known[i]);
        }
    }
}

size_t cgroup_hierarchies_parse(const char *mountinfo, const char *self_cgroup,
                                struct cgroup_hierarchy *out, size_t max)
{
    size_t n1 = 0;
    struct cgroup_hierarchy v2 = {0};
    bool have_v2 = false;

    for (const char *line = mountinfo; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[2048], root[512], mount[256], fstype[32], source[64], opts[512];
        if (len < sizeof(buf)) {
            memcpy(buf, line, len);
            buf[len] = '\0';
            /* id parent maj:min root mount options [optional...] - fstype source superopts */
            const char *dash = strstr(buf, " - ");
            if (dash && sscanf(buf, "%*s %*s %*s %511s %255s", root, mount) == 2 &&
                sscanf(dash + 3, "%31s %63s %511s", fstype, source, opts) == 3) {
                struct cgroup_hierarchy h = {0};
                char own[512];
                h.version = strcmp(fstype, "cgroup2") == 0 ? 2 : 1;
                if (strcmp(fstype, "cgroup") == 0 || h.version == 2) {
                    snprintf(h.mount, sizeof(h.mount), "%s", mount);
                    if (h.version == 1)
                        controllers_of(opts, h.controllers, sizeof(h.controllers));
                    bool usable = h.version == 2 || h.controllers[0] != '\0';
                    const char *match = h.version == 1 ? h.controllers : "";
                    if (usable && find_own(self_cgroup, h.version, match, own, sizeof(own)) &&
                        relative_to_root(own, root, h.own, sizeof(h.own))) {
                        bool dup = false;
                        for (size_t i = 0; i < n1; i++)
                            dup |= strcmp(out[i].controllers, h.controllers) == 0;
                        if (h.version == 2 && !have_v2) {
                            v2 = h;
                            have_v2 = true;
                        } else if (h.version == 1 && !dup && n1 < max) {
                            out[n1++] = h;
                        }
                    }
                }
            }
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    if (n1 > 0)
        return n1;
    if (have_v2 && max > 0) {
        out[0] = v2;
        return 1;
    }
    return 0;
}

/* --- naming --------------------------------------------------------------------------- */

/* The next component of a slash-separated path at *p: its start and length, *p moved past
 * it; false when none is left. */
static bool next_component(const char **p, const char **name, size_t *len)
{
    while (**p == '/')
        (*p)++;
    *name = *p;
    *len = strcspn(*p, "/");
    *p += *len;
    return *len > 0;
}

/* Appends `path`'s components to out (which holds a normalized absolute path or "/"), with
 * "." and empty components dropped; ".." is refused. */
static int append_clean(char *out, size_t size, const char *path)
{
    const char *p = path, *name;
    size_t n;
    while (next_component(&p, &name, &n)) {
        if (n == 2 && strncmp(name, "..", 2) == 0)
            return -EINVAL;
        if (!(n == 1 && *name == '.')) {
            size_t used = strlen(out);
            if (used == 1 && out[0] == '/')
                used = 0;
            if (used + 1 + n >= size)
                return -ENAMETOOLONG;
            out[used] = '/';
            memcpy(out + used + 1, name, n);
            out[used + 1 + n] = '\0';
        }
    }
    return 0;
}

/* systemd's "slice:prefix:name": the slice's ancestors ("a-b.slice" lives in "a.slice"),
 * then the unit: the name itself if it is a slice, else "<prefix>-<name>.scope". */
static int expand_systemd(const char *spec, char *out, size_t size)
{
    const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || strchr(c2 + 1, ':') || strchr(spec, '/'))
        return -EINVAL;
    char slice[256], prefix[256], name[256];
    int sl = (int)(c1 - spec), pl = (int)(c2 - c1 - 1);
    if (sl >= (int)sizeof(slice) || pl >= (int)sizeof(prefix) || strlen(c2 + 1) >= sizeof(name) ||
        c2[1] == '\0')
        return -EINVAL;
    snprintf(slice, sizeof(slice), "%.*s", sl, spec);
    snprintf(prefix, sizeof(prefix), "%.*s", pl, c1 + 1);
    snprintf(name, sizeof(name), "%s", c2 + 1);
    if (slice[0] == '\0')
        snprintf(slice, sizeof(slice), "system.slice");

    size_t slen = strlen(slice);
    if (slen < 6 || strcmp(slice + slen - 6, ".slice") != 0)
        return -EINVAL;
    snprintf(out, size, "/");
    if (strcmp(slice, "-.slice") != 0) {
        /* Each dash in the slice's stem starts an ancestor: a.slice, a-b.slice, a-b-c.slice. */
        for (size_t i = 0; i <= slen - 6; i++) {
            if (i < slen - 6 && slice[i] != '-')
                continue;
            if (i == 0 || slice[i - 1] == '-')
                return -EINVAL; /* "-a.slice", "a--b.slice" */
            char part[300];
            snprintf(part, sizeof(part), "%.*s.slice", (int)i, slice);
            int ret = append_clean(out, size, part);
            if (ret)
                return ret;
        }
    }
    char unit[600];
    size_t nlen = strlen(name);
    if (nlen > 6 && strcmp(name + nlen - 6, ".slice") == 0)
        snprintf(unit, sizeof(unit), "%s", name);
    else if (prefix[0])
        snprintf(unit, sizeof(unit), "%s-%s.scope", prefix, name);
    else
        snprintf(unit, sizeof(unit), "%s.scope", name);
    return append_clean(out, size, unit);
}

int cgroup_path_resolve(const char *cgroups_path, bool systemd, const char *own, char *out,
                        size_t size, char *err, size_t errlen)
{
    int ret;

    if (size < 2)
        return -ENAMETOOLONG;
    if (systemd) {
        ret = expand_systemd(cgroups_path, out, size);
        if (ret)
            snprintf(err, errlen, "linux.cgroupsPath: \"%s\" is not systemd's slice:prefix:name",
                     cgroups_path);
        return ret;
    }
    snprintf(out, size, "/");
    ret = cgroups_path[0] == '/' ? 0 : append_clean(out, size, own);
    if (ret == 0)
        ret = append_clean(out, size, cgroups_path);
    if (ret)
        snprintf(err, errlen, "linux.cgroupsPath: \"%s\": %s", cgroups_path,
                 ret == -EINVAL ? "\"..\" is not allowed" : "too long");
    return ret;
}

/* --- making it --------------------------------------------------------------------------- */

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int ret = n < 0 ? -errno : 0;
    close(fd);
    return ret;
}

/* The file's first line, without its newline; "" if it cannot be read. */
static void read_line(const char *dir, const char *name, char *out, size_t size)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, size - 1);
    close(fd);
    out[n > 0 ? n : 0] = '\0';
    out[strcspn(out, "\n")] = '\0';
}

/* A new v1 cpuset cgroup has no CPUs and no memory nodes, and no process can join it: each
 * directory on the way down takes its parent's unless it has its own. */
static int cpuset_inherit(const char *dir, const char *parent)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (size_t i = 0; i < 2; i++) {
        char mine[4096], theirs[4096];
        read_line(dir, files[i], mine, sizeof(mine));
        if (mine[0])
            continue;
        read_line(parent, files[i], theirs, sizeof(theirs));
        int ret = write_file(dir, files[i], theirs[0] ? theirs : "\n");
        if (ret)
            return ret;
    }
    return 0;
}

/* v2: lets the children of each directory from the mount down to the leaf's parent use
 * `controller`. Required only when a limit needs it. */
static int v2_enable(const char *mount, const char *rel, const char *controller)
{
    char dir[1024], word[32];
    snprintf(dir, sizeof(dir), "%s", mount);
    snprintf(word, sizeof(word), "+%s", controller);
    for (const char *p = rel;;) {
        char have[512];
        read_line(dir, "cgroup.subtree_control", have, sizeof(have));
        /* subtree_control separates its words by spaces. */
        for (char *s = have; *s; s++)
            *s = *s == ' ' ? ',' : *s;
        if (!list_has(have, controller, strlen(controller))) {
            int ret = write_file(dir, "cgroup.subtree_control", word);
            if (ret)
                return ret;
        }
        const char *name;
        size_t n;
        next_component(&p, &name, &n);
        while (*p == '/')
            p++;
        if (*p == '\0')
            return 0; /* that was the leaf: dir is its parent */
        size_t used = strlen(dir);
        snprintf(dir + used, sizeof(dir) - used, "/%.*s", (int)n, name);
    }
}

/* mkdir -p of mount + rel; a v1 cpuset hierarchy gets each new level's cpus and mems. */
static int make_dirs(const char *mount, const char *rel, bool cpuset, char *dir, size_t size)
{
    snprintf(dir, size, "%s", mount);
    const char *p = rel, *name;
    size_t n;
    while (next_component(&p, &name, &n)) {
        char parent[1024];
        snprintf(parent, sizeof(parent), "%s", dir);
        size_t used = strlen(dir);
        if (used + 1 + n >= size)
            return -ENAMETOOLONG;
        snprintf(dir + used, size - used, "/%.*s", (int)n, name);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return -errno;
        if (cpuset) {
            int ret = cpuset_inherit(dir, parent);
            if (ret)
                return ret;
        }
    }
    return 0;
}

static bool wants_cpu_limits(const struct oci_spec *spec)
{
    return spec->cpu_quota > 0 || spec->cpu_period > 0 || spec->cpu_shares > 0 ||
           (spec->cpu_cpus && spec->cpu_cpus[0]) || (spec->cpu_mems && spec->cpu_mems[0]);
}

static int fail(char *err, size_t errlen, int ret, const char *what, const char *dir)
{
    char text[128];
    snprintf(err, errlen, "%s in the host cgroup %s: %s", what, dir,
             errno_text(-ret, text, sizeof(text)));
    return ret;
}

static int apply_v1(const struct oci_spec *spec, const char *dir, bool cpu, bool cpuset, char *err,
                    size_t errlen)
{
    char num[32];
    int ret;

    if (cpu && spec->cpu_shares > 0) {
        snprintf(num, sizeof(num), "%llu", (unsigned long long)spec->cpu_shares);
        if ((ret = write_file(dir, "cpu.shares", num)))
            return fail(err, errlen, ret, "linux.resources.cpu.shares", dir);
    }
    /* The period first: the quota is checked against it. */
    if (cpu && spec->cpu_period > 0) {
        snprintf(num, sizeof(num), "%lld", (long long)spec->cpu_period);
        if ((ret = write_file(dir, "cpu.cfs_period_us", num)))
            return fail(err, errlen, ret, "linux.resources.cpu.period", dir);
    }
    if (cpu && spec->cpu_quota > 0) {
        snprintf(num, sizeof(num), "%lld", (long long)spec->cpu_quota);
        if ((ret = write_file(dir, "cpu.cfs_quota_us", num)))
            return fail(err, errlen, ret, "linux.resources.cpu.quota", dir);
    }
    if (cpuset && spec->cpu_cpus && spec->cpu_cpus[0] &&
        (ret = write_file(dir, "cpuset.cpus", spec->cpu_cpus)))
        return fail(err, errlen, ret, "linux.resources.cpu.cpus", dir);
    if (cpuset && spec->cpu_mems && spec->cpu_mems[0] &&
        (ret = write_file(dir, "cpuset.mems", spec->cpu_mems)))
        return fail(err, errlen, ret, "linux.resources.cpu.mems", dir);
    return 0;
}

static int apply_v2(const struct oci_spec *spec, const char *mount, const char *rel,
                    const char *dir, char *err, size_t errlen)
{
    char text[64];
    int ret;
    bool cpu = spec->cpu_quota > 0 || spec->cpu_period > 0 || spec->cpu_shares > 0;
    bool cpuset = (spec->cpu_cpus && spec->cpu_cpus[0]) || (spec->cpu_mems && spec->cpu_mems[0]);

    if (cpu && (ret = v2_enable(mount, rel, "cpu")))
        return fail(err, errlen, ret, "linux.resources.cpu: enable the cpu controller", dir);
    if (cpuset && (ret = v2_enable(mount, rel, "cpuset")))
        return fail(err, errlen, ret, "linux.resources.cpu: enable the cpuset controller", dir);
    if (spec->cpu_shares > 0) {
        /* cgroup v1's shares (2..262144) onto v2's weight (1..10000), as runc maps them. */
        uint64_t shares = spec->cpu_shares < 2 ? 2 : spec->cpu_shares;
        uint64_t weight = 1 + ((shares - 2) * 9999) / 262142;
        snprintf(text, sizeof(text), "%llu", (unsigned long long)(weight > 10000 ? 10000 : weight));
        if ((ret = write_file(dir, "cpu.weight", text)))
            return fail(err, errlen, ret, "linux.resources.cpu.shares", dir);
    }
    if (spec->cpu_quota > 0 || spec->cpu_period > 0) {
        long long period = spec->cpu_period > 0 ? spec->cpu_period : 100000;
        if (spec->cpu_quota > 0)
            snprintf(text, sizeof(text), "%lld %lld", (long long)spec->cpu_quota, period);
        else
            snprintf(text, sizeof(text), "max %lld", period);
        if ((ret = write_file(dir, "cpu.max", text)))
            return fail(err, errlen, ret, "linux.resources.cpu.quota", dir);
    }
    if (spec->cpu_cpus && spec->cpu_cpus[0] &&
        (ret = write_file(dir, "cpuset.cpus", spec->cpu_cpus)))
        return fail(err, errlen, ret, "linux.resources.cpu.cpus", dir);
    if (spec->cpu_mems && spec->cpu_mems[0] &&
        (ret = write_file(dir, "cpuset.mems", spec->cpu_mems)))
        return fail(err, errlen, ret, "linux.resources.cpu.mems", dir);
    return 0;
}

int host_cgroup_create(const struct oci_spec *spec, const char *id, bool systemd,
                       const struct cgroup_hierarchy *hierarchies, size_t n, struct host_cgroup *cg,
                       char *err, size_t errlen)
{
    memset(cg, 0, sizeof(*cg));
    if (!spec->cgroups_path && !wants_cpu_limits(spec))
        return 0;
    if (n == 0) {
        if (!wants_cpu_limits(spec))
            return 0; /* a path but no cgroupfs: nothing to make and nothing to limit */
        snprintf(err, errlen, "linux.resources.cpu: the host has no cgroup filesystem mounted");
        return -ENOENT;
    }
    /* Without a path, runc's default: a cgroup named after the container, under its own. */
    const char *path = spec->cgroups_path ? spec->cgroups_path : id;
    for (size_t i = 0; i < n && i < CGROUP_MAX_HIERARCHIES; i++) {
        const struct cgroup_hierarchy *h = &hierarchies[i];
        char rel[1024];
        int ret = cgroup_path_resolve(path, systemd && spec->cgroups_path, h->own, rel, sizeof(rel),
                                      err, errlen);
        if (ret)
            return ret;
        bool cpu = h->version == 1 && list_has(h->controllers, "cpu", 3);
        bool cpuset = h->version == 1 && list_has(h->controllers, "cpuset", 6);
        /* Listed before it is made, so a failure halfway still has it removed. */
        cg->h[cg->n].version = h->version;
        cg->h[cg->n].cpu = cpu;
        cg->h[cg->n].cpuset = cpuset;
        snprintf(cg->h[cg->n].origin, sizeof(cg->h[cg->n].origin), "%s%s", h->mount,
                 strcmp(h->own, "/") == 0 ? "" : h->own);
        char *dir = cg->h[cg->n].dir;
        ret = make_dirs(h->mount, rel, cpuset, dir, sizeof(cg->h[cg->n].dir));
        cg->n++;
        if (ret)
            return fail(err, errlen, ret, "linux.cgroupsPath: make the directory", dir);
        ret = h->version == 1 ? apply_v1(spec, dir, cpu, cpuset, err, errlen)
                              : apply_v2(spec, h->mount, rel, dir, err, errlen);
        if (ret)
            return ret;
    }
    return 0;
}

/* The whole of a /proc file (they report size 0): malloc'd, NUL-terminated. */
static char *read_proc(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (cap - len < 1024) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    close(fd);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int host_cgroup_create_here(const struct oci_spec *spec, const char *id, bool systemd,
                            struct host_cgroup *cg, char *err, size_t errlen)
{
    struct cgroup_hierarchy hs[CGROUP_MAX_HIERARCHIES];
    size_t n = 0;

    memset(cg, 0, sizeof(*cg));
    if (!spec->cgroups_path && !wants_cpu_limits(spec))
        return 0;
    char *mountinfo = read_proc("/proc/self/mountinfo");
    char *self = read_proc("/proc/self/cgroup");
    if (mountinfo && self)
        n = cgroup_hierarchies_parse(mountinfo, self, hs, CGROUP_MAX_HIERARCHIES);
    free(mountinfo);
    free(self);
    return host_cgroup_create(spec, id, systemd, hs, n, cg, err, errlen);
}

/* --- joining and leaving ----------------------------------------------------------------- */

int host_cgroup_enter(struct host_cgroup *cg, char *err, size_t errlen)
{
    for (size_t i = 0; i < cg->n; i++) {
        /* "0": the writer itself, whatever its pid is in the namespace it is in. */
        int ret = write_file(cg->h[i].dir, "cgroup.procs", "0");
        if (ret) {
            host_cgroup_leave(cg);
            return fail(err, errlen, ret, "join", cg->h[i].dir);
        }
    }
    return 0;
}

void host_cgroup_leave(const struct host_cgroup *cg)
{
    /* Back where it was: best effort, as the process exits soon anyway. */
    for (size_t i = 0; i < cg->n; i++)
        (void)write_file(cg->h[i].origin, "cgroup.procs", "0");
}

/* --- the state directory's list ---------------------------------------------------------- */

int host_cgroup_save(const struct host_cgroup *cg, int dir_fd)
{
    if (cg->n == 0)
        return 0;
    int fd = openat(dir_fd, CGROUP_STATE_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int ret = 0;
    for (size_t i = 0; i < cg->n && ret == 0; i++) {
        if (dprintf(fd, "%s\n", cg->h[i].dir) < 0)
            ret = -EIO;
    }
    if (close(fd) != 0 && ret == 0)
        ret = -errno;
    return ret;
}

int host_cgroup_remove_saved(int dir_fd, int timeout_ms)
{
    int fd = openat(dir_fd, CGROUP_STATE_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    char buf[CGROUP_MAX_HIERARCHIES * 1100];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    buf[n] = '\0';

    int first = 0;
    for (char *line = buf, *next; *line; line = next) {
        next = line + strcspn(line, "\n");
        if (*next)
            *next++ = '\0';
        if (line[0] != '/')
            continue;
        /* A cgroup stays busy until its last process is reaped, by whoever reaps it. */
        int waited = 0;
        while (rmdir(line) != 0 && errno == EBUSY && waited < timeout_ms) {
            usleep(5000);
            waited += 5;
        }
        if (access(line, F_OK) == 0 && first == 0)
            first = -EBUSY;
    }
    return first;
}
