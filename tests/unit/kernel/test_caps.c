/* The capability rules of sentry/kernel/caps.c: a process's first sets, the set*uid and
 * setfsuid fix-ups, execve's transformation and the VFS view of the effective set. */
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sentry/kernel/kernel.h"

static struct creds root_creds(uint64_t bounding)
{
    struct creds c = {0};
    creds_caps_reset(&c, bounding);
    return c;
}

static void test_reset_root_and_user(void **state)
{
    (void)state;
    struct creds c = root_creds(CREDS_CAP_ALL);
    assert_int_equal(c.cap_permitted, CREDS_CAP_ALL);
    assert_int_equal(c.cap_effective, CREDS_CAP_ALL);
    assert_int_equal(c.cap_inheritable, 0);
    assert_int_equal(c.cap_ambient, 0);
    /* The bounding set limits what root gets; bits past the last capability are dropped. */
    c = root_creds(~0ULL & ~CREDS_CAP_BIT(CAP_NET_RAW));
    assert_int_equal(c.cap_bounding, CREDS_CAP_ALL & ~CREDS_CAP_BIT(CAP_NET_RAW));
    assert_int_equal(c.cap_permitted, c.cap_bounding);

    struct creds u = {.ruid = 1000, .euid = 1000, .suid = 1000, .fsuid = 1000};
    creds_caps_reset(&u, CREDS_CAP_ALL);
    assert_int_equal(u.cap_permitted, 0);
    assert_int_equal(u.cap_effective, 0);
    assert_int_equal(u.cap_bounding, CREDS_CAP_ALL);
}

static void set_uids(struct creds *c, uid_t r, uid_t e, uid_t s, bool keepcaps)
{
    uid_t or = c->ruid, oe = c->euid, os = c->suid;
    c->ruid = r;
    c->euid = e;
    c->suid = s;
    c->fsuid = e;
    creds_caps_fix_setuid(c, or, oe, os, keepcaps);
}

static void test_setuid_leaving_root(void **state)
{
    (void)state;
    struct creds c = root_creds(CREDS_CAP_ALL);
    c.cap_ambient = CREDS_CAP_BIT(CAP_KILL);
    set_uids(&c, 1000, 1000, 1000, false);
    assert_int_equal(c.cap_permitted, 0);
    assert_int_equal(c.cap_effective, 0);
    assert_int_equal(c.cap_ambient, 0);
    assert_int_equal(c.cap_bounding, CREDS_CAP_ALL);

    /* PR_SET_KEEPCAPS keeps the permitted set; the effective one still follows euid. */
    c = root_creds(CREDS_CAP_ALL);
    c.cap_ambient = CREDS_CAP_BIT(CAP_KILL);
    set_uids(&c, 1000, 1000, 1000, true);
    assert_int_equal(c.cap_permitted, CREDS_CAP_ALL);
    assert_int_equal(c.cap_effective, 0);
    assert_int_equal(c.cap_ambient, 0);
}

static void test_euid_moves_effective(void **state)
{
    (void)state;
    struct creds c = root_creds(CREDS_CAP_ALL);
    set_uids(&c, 0, 1000, 0, false); /* the saved uid keeps root: permitted stays */
    assert_int_equal(c.cap_permitted, CREDS_CAP_ALL);
    assert_int_equal(c.cap_effective, 0);
    set_uids(&c, 0, 0, 0, false);
    assert_int_equal(c.cap_effective, CREDS_CAP_ALL);
    /* An euid that stays 0 leaves the sets alone. */
    c.cap_effective = CREDS_CAP_BIT(CAP_CHOWN);
    set_uids(&c, 0, 0, 0, false);
    assert_int_equal(c.cap_effective, CREDS_CAP_BIT(CAP_CHOWN));
}

static void test_setfsuid_moves_fs_caps(void **state)
{
    (void)state;
    struct creds c = root_creds(CREDS_CAP_ALL);
    c.fsuid = 1000;
    creds_caps_fix_setfsuid(&c, 0);
    assert_false(c.cap_effective & CREDS_CAP_BIT(CAP_CHOWN));
    assert_false(c.cap_effective & CREDS_CAP_BIT(CAP_DAC_OVERRIDE));
    assert_false(c.cap_effective & CREDS_CAP_BIT(CAP_MAC_OVERRIDE));
    assert_true(c.cap_effective & CREDS_CAP_BIT(CAP_KILL));
    c.fsuid = 0;
    creds_caps_fix_setfsuid(&c, 1000);
    assert_int_equal(c.cap_effective, CREDS_CAP_ALL);
}

static void test_exec(void **state)
{
    (void)state;
    /* Root: P' = I | bounding, E' = P', the ambient set cleared. */
    struct creds c = root_creds(CREDS_CAP_ALL & ~CREDS_CAP_BIT(CAP_SYS_ADMIN));
    c.cap_effective = 0;
    c.cap_permitted = CREDS_CAP_BIT(CAP_KILL);
    c.cap_ambient = CREDS_CAP_BIT(CAP_KILL);
    creds_caps_exec(&c);
    assert_int_equal(c.cap_permitted, c.cap_bounding);
    assert_int_equal(c.cap_effective, c.cap_bounding);
    assert_int_equal(c.cap_ambient, 0);

    /* Non-root keeps only its ambient set, in permitted and effective. */
    struct creds u = {.ruid = 1000, .euid = 1000, .suid = 1000, .fsuid = 1000};
    creds_caps_reset(&u, CREDS_CAP_ALL);
    u.cap_permitted = CREDS_CAP_BIT(CAP_KILL) | CREDS_CAP_BIT(CAP_CHOWN);
    u.cap_inheritable = CREDS_CAP_BIT(CAP_KILL);
    u.cap_ambient = CREDS_CAP_BIT(CAP_KILL);
    creds_caps_exec(&u);
    assert_int_equal(u.cap_permitted, CREDS_CAP_BIT(CAP_KILL));
    assert_int_equal(u.cap_effective, CREDS_CAP_BIT(CAP_KILL));
    assert_int_equal(u.cap_ambient, CREDS_CAP_BIT(CAP_KILL));

    /* Real uid 0 with another euid: permitted, but not effective. */
    struct creds s = root_creds(CREDS_CAP_ALL);
    s.euid = 1000;
    creds_caps_exec(&s);
    assert_int_equal(s.cap_permitted, CREDS_CAP_ALL);
    assert_int_equal(s.cap_effective, 0);
}

static void test_vfs_cred(void **state)
{
    (void)state;
    struct creds c = root_creds(CREDS_CAP_ALL);
    c.fsuid = 7;
    c.fsgid = 8;
    struct vfs_cred v;
    creds_vfs_cred(&c, &v);
    assert_int_equal(v.fsuid, 7);
    assert_int_equal(v.fsgid, 8);
    assert_true(v.dac_override && v.fowner && !v.no_chown);
    c.cap_effective &= ~(CREDS_CAP_BIT(CAP_CHOWN) | CREDS_CAP_BIT(CAP_DAC_OVERRIDE));
    creds_vfs_cred(&c, &v);
    assert_true(!v.dac_override && v.fowner && v.no_chown);
    c.cap_effective = 0;
    creds_vfs_cred(&c, &v);
    assert_false(v.fowner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_root_and_user), cmocka_unit_test(test_setuid_leaving_root),
        cmocka_unit_test(test_euid_moves_effective), cmocka_unit_test(test_setfsuid_moves_fs_caps),
        cmocka_unit_test(test_exec),                cmocka_unit_test(test_vfs_cred),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
