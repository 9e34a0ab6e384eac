/* The host cgroup's pure parts: which hierarchies /proc/self/mountinfo and /proc/self/cgroup
 * describe (hybrid, unified-only, a mount of a subtree), and how linux.cgroupsPath names the
 * container's cgroup (absolute, relative, systemd's slice:prefix:name, refused forms); and
 * that a spec without a path or CPU limit makes nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "runsc/cgroup.h"

/* Debian's hybrid layout, as on the machines the tests run on. */
static const char hybrid_mountinfo[] =
    "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
    "30 22 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
    "32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd\n"
    "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
    "34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
    "35 30 0:31 / /sys/fs/cgroup/cpuset rw,nosuid - cgroup cgroup rw,cpuset\n"
    /* The same hierarchy mounted twice: used once. */
    "36 22 0:30 / /mnt/memory rw,nosuid - cgroup cgroup rw,memory\n";
static const char hybrid_self[] = "12:cpuset:/\n"
                                  "5:memory:/user/42\n"
                                  "3:cpu,cpuacct:/\n"
                                  "1:name=systemd:/init.scope\n"
                                  "0::/init.scope\n";

static void test_hybrid_layout_uses_the_v1_controllers(void **state)
{
    struct cgroup_hierarchy h[8];
    size_t n = cgroup_hierarchies_parse(hybrid_mountinfo, hybrid_self, h, 8);

    assert_int_equal(n, 3);
    assert_string_equal(h[0].mount, "/sys/fs/cgroup/cpu,cpuacct");
    assert_string_equal(h[0].controllers, "cpu,cpuacct");
    assert_string_equal(h[0].own, "/");
    assert_int_equal(h[0].version, 1);
    assert_string_equal(h[1].mount, "/sys/fs/cgroup/memory");
    assert_string_equal(h[1].own, "/user/42");
    assert_string_equal(h[2].controllers, "cpuset");
    /* At most `max`. */
    assert_int_equal(cgroup_hierarchies_parse(hybrid_mountinfo, hybrid_self, h, 2), 2);
}

static void test_unified_layout_and_subtree_mounts(void **state)
{
    struct cgroup_hierarchy h[4];
    const char *mi = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
                     "40 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
    assert_int_equal(cgroup_hierarchies_parse(mi, "0::/system.slice/x.service\n", h, 4), 1);
    assert_int_equal(h[0].version, 2);
    assert_string_equal(h[0].mount, "/sys/fs/cgroup");
    assert_string_equal(h[0].own, "/system.slice/x.service");

    /* A container's view: the hierarchy's /docker/abc mounted at /sys/fs/cgroup/memory. */
    const char *sub = "50 22 0:30 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
    assert_int_equal(cgroup_hierarchies_parse(sub, "4:memory:/docker/abc/inner\n", h, 4), 1);
    assert_string_equal(h[0].own, "/inner");
    assert_int_equal(cgroup_hierarchies_parse(sub, "4:memory:/docker/abc\n", h, 4), 1);
    assert_string_equal(h[0].own, "/");
    /* Our cgroup outside the mounted subtree ("/docker/abcd" is not under "/docker/abc"). */
    assert_int_equal(cgroup_hierarchies_parse(sub, "4:memory:/docker/abcd\n", h, 4), 0);
    /* No cgroupfs at all. */
    assert_int_equal(cgroup_hierarchies_parse(mi, "", h, 4), 0);
    assert_int_equal(cgroup_hierarchies_parse("", "0::/\n", h, 4), 0);
}

static void expect_path(const char *cgroups_path, bool systemd, const char *own, const char *want)
{
    char out[512], err[256] = "";
    int ret = cgroup_path_resolve(cgroups_path, systemd, own, out, sizeof(out), err, sizeof(err));
    if (ret != 0)
        fail_msg("%s: %s", cgroups_path, err);
    assert_string_equal(out, want);
}

static void expect_refused(const char *cgroups_path, bool systemd)
{
    char out[512], err[256] = "";
    assert_int_equal(
        cgroup_path_resolve(cgroups_path, systemd, "/", out, sizeof(out), err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "linux.cgroupsPath"));
}

static void test_paths_as_runc_names_them(void **state)
{
    expect_path("/libpod_parent/libpod-abc", false, "/user/1", "/libpod_parent/libpod-abc");
    expect_path("//docker///abc/./", false, "/", "/docker/abc");
    expect_path("abc", false, "/user/1", "/user/1/abc");
    expect_path("a/b", false, "/", "/a/b");
    expect_path("machine.slice:libpod:abc", true, "/", "/machine.slice/libpod-abc.scope");
    expect_path("kubepods-besteffort-pod12.slice:cri-containerd:abc", true, "/",
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/"
                "cri-containerd-abc.scope");
    expect_path(":runc:abc", true, "/", "/system.slice/runc-abc.scope");
    expect_path("-.slice::abc", true, "/", "/abc.scope");
    expect_path("user.slice:x:sub.slice", true, "/", "/user.slice/sub.slice");

    expect_refused("/a/../b", false);
    expect_refused("..", false);
    expect_refused("/not/systemd", true);
    expect_refused("a.slice:b", true);
    expect_refused("noslice:b:c", true);
    expect_refused("a--b.slice:p:n", true);
    expect_refused("a.slice:p:", true);
}

static void test_nothing_is_made_without_a_path_or_limit(void **state)
{
    struct oci_spec spec = {.cpu_quota = -1, .cpu_period = -1};
    struct host_cgroup cg;
    struct cgroup_hierarchy h = {.version = 1, .mount = "/nonexistent", .own = "/"};
    char err[256] = "";

    cg.n = 99;
    assert_int_equal(host_cgroup_create(&spec, "id", false, &h, 1, &cg, err, sizeof(err)), 0);
    assert_int_equal(cg.n, 0);
    /* A limit with no cgroupfs to put it in is an error naming the field. */
    spec.cpu_quota = 50000;
    assert_int_equal(host_cgroup_create(&spec, "id", false, NULL, 0, &cg, err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, "linux.resources.cpu"));
    /* A directory that cannot be made is reported, and listed for removal. */
    assert_int_not_equal(host_cgroup_create(&spec, "id", false, &h, 1, &cg, err, sizeof(err)), 0);
    assert_int_equal(cg.n, 1);
    assert_string_equal(cg.h[0].dir, "/nonexistent/id");
    assert_non_null(strstr(err, "linux.cgroupsPath"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hybrid_layout_uses_the_v1_controllers),
        cmocka_unit_test(test_unified_layout_and_subtree_mounts),
        cmocka_unit_test(test_paths_as_runc_names_them),
        cmocka_unit_test(test_nothing_is_made_without_a_path_or_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
