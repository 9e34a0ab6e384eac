/* The sandbox's UTS names: uname(2), sethostname(2), setdomainname(2). The sandbox has one UTS
 * namespace; its host and domain names start as the container's hostname and domainname (or
 * "(none)"). */
#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "arch.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* __NEW_UTS_LEN: the longest name, without its NUL. */
#define UTS_NAME_MAX 64

/* The sandbox's names; a sentry runs one sandbox, so one UTS namespace. */
static struct {
    pthread_mutex_t lock; /* protects every field below */
    bool set;             /* nodename was taken from the kernel's config */
    char nodename[UTS_NAME_MAX + 1];
    char domainname[UTS_NAME_MAX + 1];
} uts = {.lock = PTHREAD_MUTEX_INITIALIZER, .domainname = "(none)"};

/* uts.lock held: the first caller copies the configured host and domain names in. */
static void uts_init_locked(struct task *t)
{
    if (uts.set)
        return;
    const char *name = t->kernel->cfg.hostname ? t->kernel->cfg.hostname : "";
    snprintf(uts.nodename, sizeof(uts.nodename), "%s", name);
    if (t->kernel->cfg.domainname)
        snprintf(uts.domainname, sizeof(uts.domainname), "%s", t->kernel->cfg.domainname);
    uts.set = true;
}

long sys_uname(struct task *t, const struct syscall_args *a)
{
    struct utsname u;

    memset(&u, 0, sizeof(u));
    snprintf(u.sysname, sizeof(u.sysname), "Linux");
    pthread_mutex_lock(&uts.lock);
    uts_init_locked(t);
    snprintf(u.nodename, sizeof(u.nodename), "%s", uts.nodename);
    snprintf(u.domainname, sizeof(u.domainname), "%s", uts.domainname);
    pthread_mutex_unlock(&uts.lock);
    snprintf(u.release, sizeof(u.release), KERNEL_UTS_RELEASE);
    snprintf(u.version, sizeof(u.version), KERNEL_UTS_VERSION);
    snprintf(u.machine, sizeof(u.machine), ARCH_NAME);
    return mm_copy_out(t->mm, a->a[0], &u, sizeof(u));
}

/* kernel/sys.c's sethostname/setdomainname: CAP_SYS_ADMIN first, then the length (an int:
 * negative is EINVAL), then the copy; the name is `len` bytes, NUL-padded. */
static long uts_set(struct task *t, const struct syscall_args *a, bool host)
{
    int len = (int)a->a[1];
    char tmp[UTS_NAME_MAX];

    if (!task_capable(t, CAP_SYS_ADMIN))
        return -EPERM;
    if (len < 0 || len > UTS_NAME_MAX)
        return -EINVAL;
    if (len && mm_copy_in(t->mm, a->a[0], tmp, (size_t)len))
        return -EFAULT;
    pthread_mutex_lock(&uts.lock);
    uts_init_locked(t);
    char *dst = host ? uts.nodename : uts.domainname;
    memset(dst, 0, UTS_NAME_MAX + 1);
    memcpy(dst, tmp, (size_t)len);
    pthread_mutex_unlock(&uts.lock);
    return 0;
}

long sys_sethostname(struct task *t, const struct syscall_args *a)
{
    return uts_set(t, a, true);
}

long sys_setdomainname(struct task *t, const struct syscall_args *a)
{
    return uts_set(t, a, false);
}
