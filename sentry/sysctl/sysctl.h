/* The kernel's tunables (sysctl(8)'s kernel.* and net.* keys the sentry honours): one table of
 * plain values owned by the kernel, with Linux's defaults, parsed and validated as Linux's
 * proc_dointvec_minmax / proc_doulongvec_minmax handlers do. /proc/sys shows and sets them, OCI
 * linux.sysctl sets them at boot, and SysV IPC and the sockets read them.
 *
 * Locking: sysctl_table.lock protects `values`; it is a leaf lock (nothing is taken while it is
 * held), so consumers may read under their own locks. */
#ifndef RUNSC_SENTRY_SYSCTL_SYSCTL_H
#define RUNSC_SENTRY_SYSCTL_SYSCTL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Linux's IPCMNI: the most ids of one IPC kind (shmmni, msgmni and semmni are at most this). */
#define SYSCTL_IPCMNI 32768

enum sysctl_id {
    SYSCTL_KERNEL_MSGMAX,
    SYSCTL_KERNEL_MSGMNB,
    SYSCTL_KERNEL_MSGMNI,
    SYSCTL_KERNEL_SEM,
    SYSCTL_KERNEL_SHMALL,
    SYSCTL_KERNEL_SHMMAX,
    SYSCTL_KERNEL_SHMMNI,
    SYSCTL_KERNEL_SHM_RMID_FORCED,
    SYSCTL_NET_CORE_SOMAXCONN,
    SYSCTL_NET_IPV4_IP_LOCAL_PORT_RANGE,
    SYSCTL_NET_IPV4_IP_UNPRIVILEGED_PORT_START,
    SYSCTL_NET_IPV4_PING_GROUP_RANGE,
    SYSCTL_NET_IPV4_TCP_SYNCOOKIES,
    SYSCTL_COUNT,
};

/* The values: plain data, copied whole to readers. */
struct sysctl_values {
    uint64_t shmmax, shmall; /* bytes; pages */
    int shmmni;
    int shm_rmid_forced;
    int msgmax, msgmnb, msgmni;
    int sem[4]; /* SEMMSL, SEMMNS, SEMOPM, SEMMNI */
    int somaxconn;
    int ip_local_port_range[2];
    int ip_unprivileged_port_start;
    uint64_t ping_group_range[2]; /* gids; "1 0" (empty) by default */
    int tcp_syncookies;
};

struct sysctl_table {
    pthread_mutex_t lock;
    struct sysctl_values values; /* lock */
};

/* Sets Linux's defaults (and the lock). */
void sysctl_table_init(struct sysctl_table *t);
void sysctl_table_destroy(struct sysctl_table *t);

/* The id of a key named with dots ("net.ipv4.ip_local_port_range") or as its path under
 * /proc/sys ("net/ipv4/ip_local_port_range"), or -ENOENT. */
int sysctl_lookup(const char *name);
/* The dotted name of an id. */
const char *sysctl_name(enum sysctl_id id);
/* Whether the key belongs to the network namespace (net.*: CAP_NET_ADMIN administers it). */
bool sysctl_is_net(enum sysctl_id id);

/* Parses `len` bytes of text as a write to /proc/sys does (whitespace-separated numbers in C
 * notation, leading whitespace skipped, anything after the last value the key takes ignored; a
 * vector takes a prefix of its values) and sets the key: 0, or -EINVAL with the table unchanged
 * when the text is no number, a value is out of the key's range, or the key's own rule refuses
 * it (ip_local_port_range below ip_unprivileged_port_start...). */
int sysctl_set(struct sysctl_table *t, enum sysctl_id id, const char *text, size_t len);
/* The key's value as /proc/sys shows it (tab-separated, newline-terminated) into buf; the
 * length it needs (snprintf's rule). */
int sysctl_format(struct sysctl_table *t, enum sysctl_id id, char *buf, size_t size);
/* A consistent copy of every value. */
void sysctl_read(struct sysctl_table *t, struct sysctl_values *out);

#endif
