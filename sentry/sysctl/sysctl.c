/* The sysctl table: each key's type, range and defaults as Linux's ipc/ipc_sysctl.c,
 * net/core/sysctl_net_core.c and net/ipv4/sysctl_net_ipv4.c declare them, and the text rules of
 * kernel/sysctl.c's proc_get_long. */
#include "sentry/sysctl/sysctl.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

enum sysctl_type {
    SYSCTL_INT,   /* int, written as proc_dointvec_minmax reads it */
    SYSCTL_ULONG, /* uint64_t, as proc_doulongvec_minmax: no negative value */
};

struct sysctl_desc {
    const char *name;
    enum sysctl_type type;
    unsigned count; /* values in the vector */
    size_t offset;  /* of the first value in struct sysctl_values */
    int64_t min;    /* SYSCTL_INT's range */
    int64_t max;
    uint64_t umax; /* SYSCTL_ULONG's (its minimum is 0) */
    bool net;
    /* The key's own rule on the new values (`v`, already holding them) next to the others:
     * 0 or -EINVAL; may adjust v as Linux does. */
    int (*check)(struct sysctl_values *v, const struct sysctl_values *old);
};

/* ipv4_local_port_range: the last port not below the first, and the range clear of the
 * privileged ports. */
static int check_port_range(struct sysctl_values *v, const struct sysctl_values *old)
{
    (void)old;
    if (v->ip_local_port_range[1] < v->ip_local_port_range[0] ||
        v->ip_local_port_range[0] < v->ip_unprivileged_port_start)
        return -EINVAL;
    return 0;
}

/* ipv4_privileged_ports: the privileged ports may not reach into the local port range. */
static int check_privileged_ports(struct sysctl_values *v, const struct sysctl_values *old)
{
    (void)old;
    return v->ip_local_port_range[0] < v->ip_unprivileged_port_start ? -EINVAL : 0;
}

/* ipv4_ping_group_range: an inverted range is taken as the empty one, "1 0". */
static int check_ping_group_range(struct sysctl_values *v, const struct sysctl_values *old)
{
    (void)old;
    if (v->ping_group_range[1] < v->ping_group_range[0]) {
        v->ping_group_range[0] = 1;
        v->ping_group_range[1] = 0;
    }
    return 0;
}

/* proc_ipc_sem_dointvec: only SEMMNI is bounded (sem_check_semmni: 0..IPCMNI). */
static int check_sem(struct sysctl_values *v, const struct sysctl_values *old)
{
    (void)old;
    return v->sem[3] < 0 || v->sem[3] > SYSCTL_IPCMNI ? -EINVAL : 0;
}

#define INT_KEY(n, field, cnt, lo, hi, is_net, chk)                                                \
    {                                                                                              \
        .name = (n), .type = SYSCTL_INT, .count = (cnt),                                           \
        .offset = offsetof(struct sysctl_values, field), .min = (lo), .max = (hi),                 \
        .net = (is_net), .check = (chk)                                                            \
    }
#define ULONG_KEY(n, field, cnt, hi, is_net, chk)                                                  \
    {                                                                                              \
        .name = (n), .type = SYSCTL_ULONG, .count = (cnt),                                         \
        .offset = offsetof(struct sysctl_values, field), .umax = (hi), .net = (is_net),            \
        .check = (chk)                                                                             \
    }

/* GID_T_MAX: the largest valid gid ((gid_t)-1 is the invalid one). */
#define SYSCTL_GID_MAX 4294967294ULL

static const struct sysctl_desc sysctl_descs[SYSCTL_COUNT] = {
    [SYSCTL_KERNEL_MSGMAX] = INT_KEY("kernel.msgmax", msgmax, 1, 0, INT_MAX, false, NULL),
    [SYSCTL_KERNEL_MSGMNB] = INT_KEY("kernel.msgmnb", msgmnb, 1, 0, INT_MAX, false, NULL),
    [SYSCTL_KERNEL_MSGMNI] = INT_KEY("kernel.msgmni", msgmni, 1, 0, SYSCTL_IPCMNI, false, NULL),
    [SYSCTL_KERNEL_SEM] = INT_KEY("kernel.sem", sem, 4, INT_MIN, INT_MAX, false, check_sem),
    [SYSCTL_KERNEL_SHMALL] = ULONG_KEY("kernel.shmall", shmall, 1, UINT64_MAX, false, NULL),
    [SYSCTL_KERNEL_SHMMAX] = ULONG_KEY("kernel.shmmax", shmmax, 1, UINT64_MAX, false, NULL),
    [SYSCTL_KERNEL_SHMMNI] = INT_KEY("kernel.shmmni", shmmni, 1, 0, SYSCTL_IPCMNI, false, NULL),
    [SYSCTL_KERNEL_SHM_RMID_FORCED] =
        INT_KEY("kernel.shm_rmid_forced", shm_rmid_forced, 1, 0, 1, false, NULL),
    [SYSCTL_NET_CORE_SOMAXCONN] =
        INT_KEY("net.core.somaxconn", somaxconn, 1, 0, INT_MAX, true, NULL),
    [SYSCTL_NET_IPV4_IP_LOCAL_PORT_RANGE] = INT_KEY(
        "net.ipv4.ip_local_port_range", ip_local_port_range, 2, 1, 65535, true, check_port_range),
    [SYSCTL_NET_IPV4_IP_UNPRIVILEGED_PORT_START] =
        INT_KEY("net.ipv4.ip_unprivileged_port_start", ip_unprivileged_port_start, 1, 0, 65535,
                true, check_privileged_ports),
    [SYSCTL_NET_IPV4_PING_GROUP_RANGE] = ULONG_KEY("net.ipv4.ping_group_range", ping_group_range, 2,
                                                   SYSCTL_GID_MAX, true, check_ping_group_range),
    /* proc_dou8vec_minmax without bounds: any u8. */
    [SYSCTL_NET_IPV4_TCP_SYNCOOKIES] =
        INT_KEY("net.ipv4.tcp_syncookies", tcp_syncookies, 1, 0, 255, true, NULL),
};

void sysctl_table_init(struct sysctl_table *t)
{
    pthread_mutex_init(&t->lock, NULL);
    /* ipc/util.h, include/uapi/linux/{shm,msg,sem}.h; net/core/net_namespace.c (SOMAXCONN),
     * net/ipv4/af_inet.c (inet_init_net). */
    t->values = (struct sysctl_values){
        .shmmax = UINT64_MAX - (1ULL << 24),
        .shmall = UINT64_MAX - (1ULL << 24),
        .shmmni = 4096,
        .shm_rmid_forced = 0,
        .msgmax = 8192,
        .msgmnb = 16384,
        .msgmni = 32000,
        .sem = {32000, 1024000000, 500, 32000},
        .somaxconn = 4096,
        .ip_local_port_range = {32768, 60999},
        .ip_unprivileged_port_start = 1024,
        .ping_group_range = {1, 0},
        .tcp_syncookies = 1,
    };
}

void sysctl_table_destroy(struct sysctl_table *t)
{
    pthread_mutex_destroy(&t->lock);
}

int sysctl_lookup(const char *name)
{
    char dotted[64];
    size_t len = strlen(name);

    if (len >= sizeof(dotted))
        return -ENOENT;
    for (size_t i = 0; i <= len; i++)
        dotted[i] = name[i] == '/' ? '.' : name[i];
    for (int id = 0; id < SYSCTL_COUNT; id++)
        if (strcmp(sysctl_descs[id].name, dotted) == 0)
            return id;
    return -ENOENT;
}

const char *sysctl_name(enum sysctl_id id)
{
    return sysctl_descs[id].name;
}

bool sysctl_is_net(enum sysctl_id id)
{
    return sysctl_descs[id].net;
}

static bool sysctl_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* proc_get_long: an optional '-', then digits in C notation (0x hex, 0 octal) that must end
 * at the text's end or at a space, tab or newline. A number that fills its 21-character buffer
 * (it can't tell where such a number ends), no digit or an overflow: -EINVAL. */
static int sysctl_parse_number(const char **p, const char *end, uint64_t *val, bool *neg)
{
    const char *s = *p;
    size_t n = 0;

    while (s + n < end && !(s[n] == ' ' || s[n] == '\t' || s[n] == '\n'))
        n++;
    if (n >= 21)
        return -EINVAL;
    *neg = n > 0 && *s == '-';
    if (*neg) {
        s++;
        n--;
    }
    unsigned base = 10;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        n -= 2;
    } else if (n >= 1 && s[0] == '0') {
        base = 8;
    }
    if (n == 0)
        return -EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d;
        char c = s[i];
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -EINVAL;
        if (d >= base || v > (UINT64_MAX - d) / base)
            return -EINVAL;
        v = v * base + d;
    }
    *val = v;
    *p = s + n;
    return 0;
}

/* One element: the key's type and range. */
static int sysctl_store(const struct sysctl_desc *d, struct sysctl_values *v, unsigned i,
                        uint64_t val, bool neg)
{
    char *base = (char *)v + d->offset;

    if (d->type == SYSCTL_ULONG) {
        if (neg || val > d->umax)
            return -EINVAL;
        ((uint64_t *)base)[i] = val;
        return 0;
    }
    /* do_proc_dointvec_conv: a magnitude beyond int's range is refused before the bounds. */
    if (val > (uint64_t)INT_MAX + (neg ? 1 : 0))
        return -EINVAL;
    int64_t s = neg ? -(int64_t)val : (int64_t)val;
    if (s < d->min || s > d->max)
        return -EINVAL;
    ((int *)base)[i] = (int)s;
    return 0;
}

int sysctl_set(struct sysctl_table *t, enum sysctl_id id, const char *text, size_t len)
{
    const struct sysctl_desc *d = &sysctl_descs[id];
    const char *p = text, *end = text + len;
    unsigned taken = 0;
    int err = 0;

    pthread_mutex_lock(&t->lock);
    struct sysctl_values next = t->values;
    for (; taken < d->count; taken++) {
        while (p < end && sysctl_space(*p))
            p++;
        if (p == end)
            break;
        uint64_t val;
        bool neg;
        if ((err = sysctl_parse_number(&p, end, &val, &neg)) != 0 ||
            (err = sysctl_store(d, &next, taken, val, neg)) != 0)
            goto out;
    }
    /* __do_proc_dointvec: a write that sets nothing is EINVAL. */
    if (taken == 0) {
        err = -EINVAL;
        goto out;
    }
    if (d->check && (err = d->check(&next, &t->values)) != 0)
        goto out;
    t->values = next;
out:
    pthread_mutex_unlock(&t->lock);
    return err;
}

int sysctl_format(struct sysctl_table *t, enum sysctl_id id, char *buf, size_t size)
{
    const struct sysctl_desc *d = &sysctl_descs[id];
    struct sysctl_values v;
    size_t len = 0;

    sysctl_read(t, &v);
    const char *base = (const char *)&v + d->offset;
    for (unsigned i = 0; i < d->count; i++) {
        char one[24];
        int n;
        if (d->type == SYSCTL_ULONG)
            n = snprintf(one, sizeof(one), "%" PRIu64, ((const uint64_t *)base)[i]);
        else
            n = snprintf(one, sizeof(one), "%d", ((const int *)base)[i]);
        if (len + 1 < size)
            snprintf(buf + len, size - len, "%s%c", one, i + 1 < d->count ? '\t' : '\n');
        len += (size_t)n + 1;
    }
    return (int)len;
}

void sysctl_read(struct sysctl_table *t, struct sysctl_values *out)
{
    pthread_mutex_lock(&t->lock);
    *out = t->values;
    pthread_mutex_unlock(&t->lock);
}
