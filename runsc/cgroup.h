/* The sandbox's host cgroup: linux.cgroupsPath and the part of linux.resources the host
 * enforces on the sandbox's processes (sentry, stubs, gofer).
 *
 * Only CPU is limited here (cpu.shares/weight, the CFS quota, the cpuset). Memory and pids are
 * enforced by the sentry on guest memory and guest tasks; a host limit on either would count
 * the sandbox's own threads and memory and kill the sandbox instead of the guest's offender.
 * The cgroup still exists in every hierarchy so engines read its usage (podman stats, ctr task
 * metrics).
 *
 * cgroup v1 (one directory per mounted hierarchy) and v2 (one directory in the unified tree)
 * are both handled; on a hybrid layout the v1 hierarchies are used, where the controllers are.
 * With --systemd-cgroup, "slice:prefix:name" names the directory systemd would make
 * (<slices>/<prefix>-<name>.scope); it is made directly in cgroupfs. */
#ifndef RUNSC_RUNSC_CGROUP_H
#define RUNSC_RUNSC_CGROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "runsc/oci/oci.h"

#define CGROUP_MAX_HIERARCHIES 16
/* The file in the container's state directory listing the directories made (one per line),
 * which `delete` removes. */
#define CGROUP_STATE_FILE "cgroups"
/* How long delete waits for the sandbox's last processes to be reaped out of it. */
#define CGROUP_REMOVE_TIMEOUT_MS 2000

/* One mounted hierarchy and this process's cgroup in it. */
struct cgroup_hierarchy {
    int version;           /* 1 or 2 */
    char mount[256];       /* where it is mounted */
    char controllers[128]; /* v1: the mount's comma-separated controllers; v2: "" */
    char own[512];         /* this process's cgroup, relative to the mount */
};

/* The hierarchies to use, from /proc/self/mountinfo's and /proc/self/cgroup's text: the v1
 * ones when there are any, else the v2 one. Returns how many (0: no cgroupfs), at most max. */
size_t cgroup_hierarchies_parse(const char *mountinfo, const char *self_cgroup,
                                struct cgroup_hierarchy *out, size_t max);

/* The cgroup for linux.cgroupsPath, as a path from a hierarchy's root: absolute paths as they
 * are, relative ones under `own`, systemd's "slice:prefix:name" expanded when `systemd`.
 * Returns 0, or -EINVAL (with err naming the field) for ".." or a malformed systemd path. */
int cgroup_path_resolve(const char *cgroups_path, bool systemd, const char *own, char *out,
                        size_t size, char *err, size_t errlen);

struct host_cgroup {
    size_t n;
    struct {
        int version;
        bool cpu, cpuset;  /* the hierarchy has these controllers (v1) */
        char dir[1024];    /* the container's cgroup */
        char origin[1024]; /* where this process was before host_cgroup_enter */
    } h[CGROUP_MAX_HIERARCHIES];
};

/* Makes the container's cgroup in each hierarchy and writes the CPU limits of `spec` into it.
 * Nothing is made (cg->n == 0) when the spec has no cgroupsPath and no CPU limit. On failure
 * returns -errno with err naming the field or file; directories already made are listed in
 * cg so the caller can remove them. `hierarchies` as cgroup_hierarchies_parse gives them. */
int host_cgroup_create(const struct oci_spec *spec, const char *id, bool systemd,
                       const struct cgroup_hierarchy *hierarchies, size_t n, struct host_cgroup *cg,
                       char *err, size_t errlen);

/* The same, from this process's /proc/self files. */
int host_cgroup_create_here(const struct oci_spec *spec, const char *id, bool systemd,
                            struct host_cgroup *cg, char *err, size_t errlen);

/* Moves the calling process into the cgroup, so the processes it starts are born there, and
 * back out. */
int host_cgroup_enter(struct host_cgroup *cg, char *err, size_t errlen);
void host_cgroup_leave(const struct host_cgroup *cg);

/* Lists cg's directories in dir_fd's CGROUP_STATE_FILE. */
int host_cgroup_save(const struct host_cgroup *cg, int dir_fd);

/* Removes the directories dir_fd's CGROUP_STATE_FILE lists, waiting up to timeout_ms for the
 * sandbox's last processes to be reaped out of them. 0 or the first -errno. */
int host_cgroup_remove_saved(int dir_fd, int timeout_ms);

#endif
