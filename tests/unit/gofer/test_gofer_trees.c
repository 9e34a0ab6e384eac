/* The gofer's extra trees (a container's bind mounts): each attached by its "mount<i>" name,
 * each with its own read-only flag, a file as a tree's root, and trees opened before
 * confinement still served after pivot_root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/gofer/gofer_fixture.h"

static struct fixture fx;

/* A server over fx.dir with three extra trees: mount0 = dir (rw), mount1 = dir (ro),
 * mount2 = dir/file (ro, a file). */
static void trees_start(struct fixture *f, enum server_mode mode)
{
    int sv[2];
    char path[256];

    memset(f, 0, sizeof(*f));
    f->fd = -1;
    make_tree(f);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    f->server = fork();
    assert_true(f->server >= 0);
    if (f->server == 0) {
        struct gofer_tree trees[3];
        struct gofer_config cfg = {.trees = trees, .ntrees = 3};
        struct gofer *g;
        char why[256];
        close(sv[0]);
        path_in(f, "dir", path, sizeof(path));
        trees[0] = (struct gofer_tree){.fd = open(path, O_PATH | O_CLOEXEC), .readonly = false};
        trees[1] = (struct gofer_tree){.fd = open(path, O_PATH | O_CLOEXEC), .readonly = true};
        path_in(f, "dir/file", path, sizeof(path));
        trees[2] = (struct gofer_tree){.fd = open(path, O_PATH | O_CLOEXEC), .readonly = true};
        if (trees[0].fd < 0 || trees[1].fd < 0 || trees[2].fd < 0)
            _exit(9);
        if (mode == SERVER_CONFINED) {
            /* The root is an empty directory: the trees are reachable only through their fds. */
            if (gofer_confine(f->outside, false, &cfg.root_fd, &cfg.proc_fd_dir, why,
                              sizeof(why)) != 0) {
                fprintf(stderr, "gofer_confine: %s\n", why);
                _exit(10);
            }
        } else {
            cfg.root_fd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
            cfg.proc_fd_dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (gofer_create(&cfg, &g) != 0)
            _exit(11);
        if (mode != SERVER_PLAIN && gofer_install_seccomp() != 0)
            _exit(12);
        int rc = gofer_serve(g, sv[1]);
        gofer_destroy(g);
        _exit(rc == 0 ? 0 : 13);
    }
    close(sv[1]);
    f->sock = sv[0];
    struct p9_msg reply;
    assert_int_equal(t_version(f, MSIZE, P9_VERSION_L, &reply), 0);
}

static void read_host_file(const struct fixture *f, const char *rel, char *buf, size_t size)
{
    char path[256];
    path_in(f, rel, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, size - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    close(fd);
}

static void test_attach_names_pick_the_tree(void **state)
{
    struct p9_attr attr;

    trees_start(&fx, SERVER_PLAIN);
    assert_int_equal(t_attach(&fx, ROOT_FID, "/"), 0);
    assert_int_equal(t_attach(&fx, 2, "mount0"), 0);
    assert_int_equal(t_attach(&fx, 3, "mount2"), 0);
    assert_int_equal(t_attach(&fx, 4, "mount3"), -ENOENT);
    assert_int_equal(t_attach(&fx, 4, "mount"), -ENOENT);
    assert_int_equal(t_attach(&fx, 4, "mount00"), -ENOENT);
    /* The root holds "dir"; mount0 is dir itself: it holds "file", not "dir". */
    assert_int_equal(t_walk(&fx, ROOT_FID, 10, "dir/file", NULL), 2);
    assert_int_equal(t_walk(&fx, 2, 11, "file", NULL), 1);
    assert_true(t_walk(&fx, 2, 12, "dir", NULL) < 0);
    /* A file tree's root is the file, and nothing is beside it. */
    assert_int_equal(t_getattr(&fx, 3, &attr), 0);
    assert_true(S_ISREG(attr.mode));
    assert_int_equal(attr.size, strlen("hello, gofer\n"));
    assert_int_equal(t_walk(&fx, 3, 13, "second", NULL), -ENOTDIR);
    fixture_stop(&fx);
}

static void test_each_tree_has_its_own_readonly_flag(void **state)
{
    struct p9_msg reply;
    char text[64];

    trees_start(&fx, SERVER_PLAIN);
    assert_int_equal(t_attach(&fx, ROOT_FID, "/"), 0);
    assert_int_equal(t_attach(&fx, 2, "mount0"), 0);
    assert_int_equal(t_attach(&fx, 3, "mount1"), 0);
    /* rw tree: a write reaches the host file. */
    assert_int_equal(t_walk(&fx, 2, 10, "second", NULL), 1);
    assert_int_equal(t_lopen(&fx, 10, O_RDWR, &reply), 0);
    assert_int_equal(t_write(&fx, 10, 0, "X"), 1);
    read_host_file(&fx, "dir/second", text, sizeof(text));
    assert_string_equal(text, "X");
    if (fx.fd >= 0)
        close(fx.fd);
    fx.fd = -1;
    /* ro tree over the same directory: reads yes, every change EROFS, walked fids too. */
    assert_int_equal(t_walk(&fx, 3, 11, "second", NULL), 1);
    assert_int_equal(t_lopen(&fx, 11, O_WRONLY, &reply), -EROFS);
    assert_int_equal(t_mkdir(&fx, 3, STR("new"), 0755), -EROFS);
    assert_int_equal(t_unlinkat(&fx, 3, STR("second"), 0), -EROFS);
    struct p9_setattr sa = {.valid = P9_SETATTR_MODE, .mode = 0600};
    assert_int_equal(t_setattr(&fx, 11, &sa), -EROFS);
    assert_int_equal(t_lopen(&fx, 11, O_RDONLY, &reply), 0);
    if (fx.fd >= 0)
        close(fx.fd);
    fx.fd = -1;
    /* The root tree is still writable. */
    assert_int_equal(t_mkdir(&fx, ROOT_FID, STR("made"), 0755), 0);
    fixture_stop(&fx);
}

static void test_trees_survive_confinement(void **state)
{
    struct p9_msg reply;

    if (geteuid() != 0)
        skip();
    trees_start(&fx, SERVER_CONFINED);
    assert_int_equal(t_attach(&fx, ROOT_FID, "/"), 0);
    assert_int_equal(t_walk(&fx, ROOT_FID, 10, "secret", NULL), 1);
    assert_int_equal(t_attach(&fx, 2, "mount2"), 0);
    assert_int_equal(t_lopen(&fx, 2, O_RDONLY, &reply), 0);
    char buf[64] = {0};
    assert_int_equal(t_read(&fx, 2, 0, 63, buf), (int)strlen("hello, gofer\n"));
    assert_string_equal(buf, "hello, gofer\n");
    fixture_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_names_pick_the_tree),
        cmocka_unit_test(test_each_tree_has_its_own_readonly_flag),
        cmocka_unit_test(test_trees_survive_confinement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
