/* The IPC registry: ids (slot and sequence), stale ids, the table limit and growth, xxxget's
 * lookup rules and order of errors, and ipcperms' owner/group/other bits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sentry/ipc/registry.h"
#include "sentry/kernel/kernel.h"

struct thing {
    struct ipc_object perm;
    int size;
};

static struct thing things[8];
static int nthings;

static long thing_create(struct ipc_registry *r, struct task *t, int32_t key, int flags, void *arg)
{
    struct thing *th = &things[nthings];
    long id = ipc_registry_add(r, &th->perm, t, key, flags);
    if (id >= 0) {
        th->size = *(int *)arg;
        nthings++;
    }
    return id;
}

static int thing_check(struct ipc_object *o, void *arg)
{
    struct thing *th = (struct thing *)((char *)o - offsetof(struct thing, perm));
    return *(int *)arg > th->size ? -EINVAL : 0;
}

static const struct ipc_get_ops ops = {.create = thing_create, .check = thing_check};

static struct task *task_with(uid_t uid, gid_t gid)
{
    struct task *t = calloc(1, sizeof(*t));
    t->creds.euid = uid;
    t->creds.egid = gid;
    creds_caps_reset(&t->creds, CREDS_CAP_ALL); /* uid 0: CAP_IPC_OWNER */
    return t;
}

static void test_ids_and_stale_ids(void **state)
{
    (void)state;
    struct ipc_registry r = IPC_REGISTRY_INIT(3);
    struct task *root = task_with(0, 0);
    struct ipc_object a = {0}, b = {0}, c = {0}, d = {0};

    long ia = ipc_registry_add(&r, &a, root, 5, 0640);
    long ib = ipc_registry_add(&r, &b, root, 6, 0600);
    assert_int_equal(ia % IPC_SEQ_MULTIPLIER, 0);
    assert_int_equal(ib % IPC_SEQ_MULTIPLIER, 1);
    assert_int_equal(r.max_idx, 1);
    assert_ptr_equal(ipc_registry_find(&r, (int)ib), &b);
    assert_int_equal(a.mode, 0640);
    ipc_registry_remove(&r, &a);
    assert_int_equal(a.key, IPC_PRIVATE);
    assert_null(ipc_registry_find(&r, (int)ia));
    /* The slot comes back with a new sequence number: the old id stays dead. */
    long ic = ipc_registry_add(&r, &c, root, 7, 0600);
    assert_int_equal(ic % IPC_SEQ_MULTIPLIER, 0);
    assert_int_not_equal(ic, ia);
    assert_null(ipc_registry_find(&r, (int)ia));
    assert_ptr_equal(ipc_registry_at(&r, 0), &c);
    assert_int_equal(ipc_registry_add(&r, &d, root, 8, 0600) % IPC_SEQ_MULTIPLIER, 2);
    struct ipc_object e = {0};
    assert_int_equal(ipc_registry_add(&r, &e, root, 9, 0600), -ENOSPC);
    ipc_registry_remove(&r, &d);
    ipc_registry_remove(&r, &b);
    assert_int_equal(r.max_idx, 0);
    assert_null(ipc_registry_find(&r, -1));
    free(r.table);
    free(root);
}

/* The table grows past its first slots; the limit is whatever `mni` says at each add (the
 * kinds set it from kernel.shmmni, msgmni, SEMMNI), and lowering it below the count in use only
 * stops new objects. */
static void test_growth_and_limit(void **state)
{
    (void)state;
    struct ipc_registry r = IPC_REGISTRY_INIT(40);
    struct task *root = task_with(0, 0);
    static struct ipc_object objs[41];

    for (int i = 0; i < 40; i++)
        assert_int_equal(ipc_registry_add(&r, &objs[i], root, 100 + i, 0600) % IPC_SEQ_MULTIPLIER,
                         i);
    assert_int_equal(ipc_registry_add(&r, &objs[40], root, 140, 0600), -ENOSPC);
    assert_ptr_equal(ipc_registry_at(&r, 39), &objs[39]);
    assert_int_equal(r.max_idx, 39);
    ipc_registry_remove(&r, &objs[5]);
    r.mni = 39;
    assert_int_equal(ipc_registry_add(&r, &objs[40], root, 140, 0600), -ENOSPC);
    r.mni = 41;
    /* The lowest free slot. */
    assert_int_equal(ipc_registry_add(&r, &objs[40], root, 140, 0600) % IPC_SEQ_MULTIPLIER, 5);
    assert_int_equal(ipc_registry_add(&r, &objs[5], root, 105, 0600) % IPC_SEQ_MULTIPLIER, 40);
    assert_int_equal(r.in_use, 41);
    free(r.table);
    free(root);
}

static void test_get_rules(void **state)
{
    (void)state;
    struct ipc_registry r = IPC_REGISTRY_INIT(8);
    struct task *root = task_with(0, 0);
    struct task *user = task_with(1000, 1000);
    int size = 10;
    nthings = 0;

    assert_int_equal(ipc_registry_get(&r, root, 42, 0600, &ops, &size), -ENOENT);
    long id = ipc_registry_get(&r, root, 42, IPC_CREAT | 0604, &ops, &size);
    assert_true(id >= 0);
    assert_int_equal(ipc_registry_get(&r, root, 42, 0, &ops, &size), id);
    assert_int_equal(ipc_registry_get(&r, root, 42, IPC_CREAT | IPC_EXCL, &ops, &size), -EEXIST);
    int bigger = 11;
    /* The kind's check comes before the permissions. */
    assert_int_equal(ipc_registry_get(&r, user, 42, 0200, &ops, &bigger), -EINVAL);
    assert_int_equal(ipc_registry_get(&r, user, 42, 0200, &ops, &size), -EACCES);
    assert_int_equal(ipc_registry_get(&r, user, 42, 0004, &ops, &size), id);
    /* IPC_PRIVATE always makes a new one. */
    long p1 = ipc_registry_get(&r, root, IPC_PRIVATE, 0600, &ops, &size);
    long p2 = ipc_registry_get(&r, root, IPC_PRIVATE, 0600, &ops, &size);
    assert_true(p1 >= 0 && p2 >= 0 && p1 != p2);
    assert_int_equal(nthings, 3);
    free(r.table);
    free(root);
    free(user);
}

static void test_perms(void **state)
{
    (void)state;
    struct ipc_object o = {.uid = 1000, .cuid = 1001, .gid = 50, .cgid = 51, .mode = 0640};
    struct task *owner = task_with(1000, 1);
    struct task *creator = task_with(1001, 1);
    struct task *member = task_with(2000, 51);
    struct task *other = task_with(3000, 3000);
    struct task *root = task_with(0, 0);

    assert_true(ipc_perm_allows(owner, &o, 6));
    assert_true(ipc_perm_allows(creator, &o, 2));
    assert_true(ipc_perm_allows(member, &o, 4));
    assert_false(ipc_perm_allows(member, &o, 2));
    assert_false(ipc_perm_allows(other, &o, 4));
    assert_true(ipc_perm_allows(other, &o, 0));
    assert_true(ipc_perm_allows(root, &o, 7));
    other->creds.ngroups = 1;
    other->creds.groups[0] = 50;
    assert_true(ipc_perm_allows(other, &o, 4));
    assert_true(ipc_perm_is_owner(owner, &o) && ipc_perm_is_owner(creator, &o));
    assert_false(ipc_perm_is_owner(member, &o));
    assert_true(ipc_perm_is_owner(root, &o));

    struct ipc_perm p = {.uid = 7, .gid = 8, .mode = 01777};
    ipc_perm_update(&o, &p);
    assert_int_equal(o.uid, 7);
    assert_int_equal(o.gid, 8);
    assert_int_equal(o.mode, 0777);
    assert_int_equal(o.cuid, 1001);
    o.id = 3 * IPC_SEQ_MULTIPLIER + 2;
    o.key = 99;
    ipc_perm_fill(&o, 01000, &p);
    assert_int_equal(p.__key, 99);
    assert_int_equal(p.__seq, 3);
    assert_int_equal(p.mode, 01777);
    assert_int_equal(p.cgid, 51);
    free(owner);
    free(creator);
    free(member);
    free(other);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_stale_ids),
        cmocka_unit_test(test_growth_and_limit),
        cmocka_unit_test(test_get_rules),
        cmocka_unit_test(test_perms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
