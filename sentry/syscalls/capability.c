/* capget(2)/capset(2): the capability sets through the v1/v2/v3 user headers (Linux:
 * kernel/capability.c). The sets themselves and their rules live in sentry/kernel/caps.c. */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>

#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscalls.h"

/* How many 32-bit data slots the header's version carries, or -EINVAL after writing the
 * preferred version back (cap_validate_magic: libcap probes with version 0). */
static long caps_slots(struct task *t, uint64_t header_addr, struct __user_cap_header_struct *h)
{
    if (mm_copy_in(t->mm, header_addr, h, sizeof(*h)))
        return -EFAULT;
    switch (h->version) {
    case _LINUX_CAPABILITY_VERSION_1:
        return _LINUX_CAPABILITY_U32S_1;
    case _LINUX_CAPABILITY_VERSION_2:
    case _LINUX_CAPABILITY_VERSION_3:
        return _LINUX_CAPABILITY_U32S_3;
    default: {
        uint32_t preferred = _LINUX_CAPABILITY_VERSION_3;
        if (mm_copy_out(t->mm, header_addr, &preferred, sizeof(preferred)))
            return -EFAULT;
        return -EINVAL;
    }
    }
}

long sys_capget(struct task *t, const struct syscall_args *a)
{
    struct __user_cap_header_struct h;
    long slots = caps_slots(t, a->a[0], &h);
    /* A NULL data pointer only asks for the version: 0 even when it was not one we take. */
    if (!a->a[1])
        return slots == -EINVAL ? 0 : (slots < 0 ? slots : 0);
    if (slots < 0)
        return slots;
    if (h.pid < 0)
        return -EINVAL;

    /* Another task's sets are read under kernel.lock, which keeps it from being freed; its
     * creds are written only by its own thread (a torn read shows a mix of two states, as a
     * racing capget on Linux may see either). */
    struct creds c;
    if (h.pid == 0 || h.pid == t->tid) {
        c = t->creds;
    } else {
        pthread_mutex_lock(&t->kernel->lock);
        struct task *p = kernel_find_task(t->kernel, h.pid);
        bool found = p && !p->released;
        if (found)
            c = p->creds;
        pthread_mutex_unlock(&t->kernel->lock);
        if (!found)
            return -ESRCH;
    }
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    for (long i = 0; i < slots; i++) {
        data[i].effective = (uint32_t)(c.cap_effective >> (32 * i));
        data[i].permitted = (uint32_t)(c.cap_permitted >> (32 * i));
        data[i].inheritable = (uint32_t)(c.cap_inheritable >> (32 * i));
    }
    return mm_copy_out(t->mm, a->a[1], data, (size_t)slots * sizeof(data[0])) ? -EFAULT : 0;
}

static bool caps_subset(uint64_t a, uint64_t b)
{
    return (a & ~b) == 0;
}

long sys_capset(struct task *t, const struct syscall_args *a)
{
    struct __user_cap_header_struct h;
    long slots = caps_slots(t, a->a[0], &h);
    if (slots < 0)
        return slots;
    /* Only the caller's own sets (CAP_SETPCAP no longer reaches other processes). */
    if (h.pid != 0 && h.pid != t->tid)
        return -EPERM;
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};
    if (mm_copy_in(t->mm, a->a[1], data, (size_t)slots * sizeof(data[0])))
        return -EFAULT;
    uint64_t eff = 0, prm = 0, inh = 0;
    for (long i = 0; i < slots; i++) {
        eff |= (uint64_t)data[i].effective << (32 * i);
        prm |= (uint64_t)data[i].permitted << (32 * i);
        inh |= (uint64_t)data[i].inheritable << (32 * i);
    }
    eff &= CREDS_CAP_ALL;
    prm &= CREDS_CAP_ALL;
    inh &= CREDS_CAP_ALL;

    /* cap_capset's rules, in its order. */
    struct creds *c = &t->creds;
    if (!task_capable(t, CAP_SETPCAP) && !caps_subset(inh, c->cap_inheritable | c->cap_permitted))
        return -EPERM;
    if (!caps_subset(inh, c->cap_inheritable | c->cap_bounding))
        return -EPERM;
    if (!caps_subset(prm, c->cap_permitted))
        return -EPERM;
    if (!caps_subset(eff, prm))
        return -EPERM;
    c->cap_effective = eff;
    c->cap_permitted = prm;
    c->cap_inheritable = inh;
    c->cap_ambient &= prm & inh; /* the ambient set stays within both */
    return 0;
}
