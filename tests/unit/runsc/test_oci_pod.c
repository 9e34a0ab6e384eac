/* Pods in the CLI: which annotations join a sandbox (CRI's and CRI-O's spellings), and how a
 * member's state directory is told from a root container's. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "runsc/oci/oci.h"
#include "runsc/oci_cli.h"

static struct oci_spec spec_with(struct oci_key_value *a, size_t n)
{
    struct oci_spec s = {.annotations = a, .n_annotations = n};
    return s;
}

static void test_cri_annotations_join(void **state)
{
    struct oci_key_value a[] = {{"io.kubernetes.cri.container-type", "container"},
                                {"io.kubernetes.cri.sandbox-id", "pod1"}};
    struct oci_spec s = spec_with(a, 2);
    assert_string_equal(pod_sandbox_of(&s, "c1"), "pod1");
    /* The sandbox itself names its own id: it starts the sandbox. */
    assert_null(pod_sandbox_of(&s, "pod1"));
}

static void test_crio_annotations_join(void **state)
{
    struct oci_key_value a[] = {{"io.kubernetes.cri-o.SandboxID", "infra"},
                                {"io.kubernetes.cri-o.ContainerType", "container"}};
    struct oci_spec s = spec_with(a, 2);
    assert_string_equal(pod_sandbox_of(&s, "c1"), "infra");
}

static void test_sandbox_type_or_missing_id_makes_a_sandbox(void **state)
{
    struct oci_key_value sandbox[] = {{"io.kubernetes.cri.container-type", "sandbox"},
                                      {"io.kubernetes.cri.sandbox-id", "pod1"}};
    struct oci_spec s = spec_with(sandbox, 2);
    assert_null(pod_sandbox_of(&s, "pod1x"));
    struct oci_key_value no_id[] = {{"io.kubernetes.cri.container-type", "container"}};
    s = spec_with(no_id, 1);
    assert_null(pod_sandbox_of(&s, "c1"));
    /* The spellings don't mix: CRI's type with CRI-O's sandbox id is no pod member. */
    struct oci_key_value mixed[] = {{"io.kubernetes.cri.container-type", "container"},
                                    {"io.kubernetes.cri-o.SandboxID", "pod1"}};
    s = spec_with(mixed, 2);
    assert_null(pod_sandbox_of(&s, "c1"));
    s = spec_with(NULL, 0);
    assert_null(pod_sandbox_of(&s, "c1"));
}

static void test_member_is_told_by_its_socket_link(void **state)
{
    char dir[] = "/tmp/test_oci_pod.XXXXXX";
    assert_non_null(mkdtemp(dir));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_false(pod_is_member(fd));
    assert_int_equal(symlinkat("../pod1/sandbox.sock", fd, "sandbox.sock"), 0);
    assert_true(pod_is_member(fd));
    unlinkat(fd, "sandbox.sock", 0);
    close(fd);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cri_annotations_join),
        cmocka_unit_test(test_crio_annotations_join),
        cmocka_unit_test(test_sandbox_type_or_missing_id_makes_a_sandbox),
        cmocka_unit_test(test_member_is_told_by_its_socket_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
