/* Linux capability names as config.json spells them ("CAP_" and the kernel's name, upper case)
 * and their numbers, from linux/capability.h. */
#include <linux/capability.h>
#include <string.h>

#include "runsc/oci/caps.h"

#define CAP(name) [CAP_##name] = "CAP_" #name

static const char *const cap_names[] = {
    CAP(CHOWN),
    CAP(DAC_OVERRIDE),
    CAP(DAC_READ_SEARCH),
    CAP(FOWNER),
    CAP(FSETID),
    CAP(KILL),
    CAP(SETGID),
    CAP(SETUID),
    CAP(SETPCAP),
    CAP(LINUX_IMMUTABLE),
    CAP(NET_BIND_SERVICE),
    CAP(NET_BROADCAST),
    CAP(NET_ADMIN),
    CAP(NET_RAW),
    CAP(IPC_LOCK),
    CAP(IPC_OWNER),
    CAP(SYS_MODULE),
    CAP(SYS_RAWIO),
    CAP(SYS_CHROOT),
    CAP(SYS_PTRACE),
    CAP(SYS_PACCT),
    CAP(SYS_ADMIN),
    CAP(SYS_BOOT),
    CAP(SYS_NICE),
    CAP(SYS_RESOURCE),
    CAP(SYS_TIME),
    CAP(SYS_TTY_CONFIG),
    CAP(MKNOD),
    CAP(LEASE),
    CAP(AUDIT_WRITE),
    CAP(AUDIT_CONTROL),
    CAP(SETFCAP),
    CAP(MAC_OVERRIDE),
    CAP(MAC_ADMIN),
    CAP(SYSLOG),
    CAP(WAKE_ALARM),
    CAP(BLOCK_SUSPEND),
    CAP(AUDIT_READ),
    CAP(PERFMON),
    CAP(BPF),
    CAP(CHECKPOINT_RESTORE),
};

_Static_assert(sizeof(cap_names) / sizeof(cap_names[0]) == OCI_CAP_COUNT,
               "a name for every capability up to CAP_LAST_CAP");

int oci_cap_from_name(const char *name)
{
    for (int i = 0; i < OCI_CAP_COUNT; i++) {
        if (strcmp(cap_names[i], name) == 0)
            return i;
    }
    return -1;
}

const char *oci_cap_name(int cap)
{
    return cap >= 0 && cap < OCI_CAP_COUNT ? cap_names[cap] : NULL;
}
