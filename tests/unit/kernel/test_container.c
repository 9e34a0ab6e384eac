/* Pods in the kernel: ids that name no member are the root container, a member whose first
 * process could not be made leaves a tombstone, and listings and signals keep to a container's
 * own processes. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "lib/control/control.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/kernel/kernel.h"
#include "sentry/vfs/vfs.h"

static struct fs_context *make_fs(void)
{
    struct tmpfs_options opts = {.root_mode = 0755};
    struct super_block *sb;
    struct dentry *root;
    struct mount_ns *ns;
    assert_int_equal(tmpfs_create(&opts, &sb, &root), 0);
    assert_int_equal(mount_ns_create(sb, root, "tmpfs", 0, &ns), 0);
    struct vfs_path rp = {ns->root, ns->root->root};
    struct fs_context *fs = fs_context_create(ns, &rp);
    mount_ns_put(ns);
    assert_non_null(fs);
    return fs;
}

/* One kernel for the file, never destroyed: its interval-timer thread lives as long as the
 * process, as in the sandbox. */
static struct kernel *kernel;

static int setup(void **state)
{
    struct kernel_config cfg = {0};
    return kernel_create(&cfg, &kernel);
}

static int teardown(void **state)
{
    kernel_containers_free(kernel);
    return 0;
}

static struct kernel *make_kernel(void)
{
    return kernel;
}

static void test_unknown_id_is_the_root_container(void **state)
{
    struct kernel *k = make_kernel();
    unsigned container = 99;
    int pid = 0;
    assert_int_equal(kernel_container_find(k, "anything", &container, &pid), 0);
    assert_int_equal(container, 0);
    assert_int_equal(pid, 1);
    assert_int_equal(kernel_container_start(k, "anything"), -ESRCH);
    assert_int_equal(kernel_container_destroy(k, "anything"), -ESRCH);
    pthread_mutex_lock(&k->lock);
    assert_false(kernel_container_released_locked(k, 0)); /* root: not yet kernel_run_init */
    pthread_mutex_unlock(&k->lock);
}

static void test_failed_member_leaves_a_tombstone(void **state)
{
    struct kernel *k = make_kernel();
    struct fs_context *fs = make_fs();
    char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};
    struct kernel_exec e = {.argv = argv, .envp = envp, .stdio_fds = {-1, -1, -1}};
    char why[128];

    /* No tree: refused before anything is registered. */
    assert_int_equal(kernel_container_create(k, "m1", &e, why, sizeof(why)), -EINVAL);
    unsigned container;
    int pid;
    assert_int_equal(kernel_container_find(k, "m1", &container, &pid), 0);
    assert_int_equal(container, 0);
    /* No root init to join: the member is not made, and its id names no live container. */
    e.fs = fs;
    assert_int_equal(kernel_container_create(k, "m1", &e, why, sizeof(why)), -ESRCH);
    assert_int_equal(kernel_container_find(k, "m1", &container, &pid), -ESRCH);
    assert_int_equal(kernel_container_start(k, "m1"), -ESRCH);
    assert_int_equal(kernel_container_destroy(k, "m1"), -ESRCH);
    pthread_mutex_lock(&k->lock);
    assert_true(kernel_container_released_locked(k, 1)); /* a dead one's gate is open */
    assert_null(kernel_container_fs_locked(k, 1));
    pthread_mutex_unlock(&k->lock);
    fs_context_put(fs);
}

/* A process of container `container` linked into the kernel's list, with no task. */
static struct thread_group *add_group(struct kernel *k, int pid, unsigned container)
{
    struct thread_group *g = thread_group_alloc(k, pid);
    assert_non_null(g);
    g->container = container;
    g->live_tasks = 1;
    g->next = k->groups;
    k->groups = g;
    return g;
}

static void test_listing_and_signals_keep_to_the_container(void **state)
{
    struct kernel *k = make_kernel();
    struct thread_group *a = add_group(k, 2, 0), *b = add_group(k, 3, 1), *c = add_group(k, 4, 1);
    struct control_process *ps;
    size_t n;

    assert_int_equal(kernel_list_processes(k, 1, &ps, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ps[0].pid, 3);
    assert_int_equal(ps[1].pid, 4);
    free(ps);
    assert_int_equal(kernel_list_processes(k, 0, &ps, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ps[0].pid, 2);
    free(ps);
    assert_int_equal(kernel_list_processes(k, -1, &ps, &n), 0);
    assert_int_equal(n, 3);
    free(ps);
    /* Signal 0 only checks: a container with no process has nothing to signal. */
    assert_int_equal(kernel_signal_all(k, 1, 0), 0);
    assert_int_equal(kernel_signal_all(k, 2, 0), -ESRCH);

    k->groups = NULL;
    struct thread_group *all[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        pthread_mutex_destroy(&all[i]->lock);
        pthread_mutex_destroy(&all[i]->timers_lock);
        waitqueue_destroy(&all[i]->child_events);
        free(all[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_id_is_the_root_container),
        cmocka_unit_test(test_failed_member_leaves_a_tombstone),
        cmocka_unit_test(test_listing_and_signals_keep_to_the_container),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
