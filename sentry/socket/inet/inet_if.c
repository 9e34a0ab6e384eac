/* The interface ioctls (netdevice(7)) for the sandbox's one interface, "lo" (index 1, 127.0.0.1/8,
 * MTU 65536): what dev_ioctl and dev_ifconf answer in a fresh network namespace. */
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>

#include "sentry/mm/mm.h"
#include "sentry/socket/inet/inet.h"

#define INET_LO_INDEX 1
#define INET_LO_MTU 65536

static void inet_if_sockaddr(struct sockaddr *sa, uint32_t host_addr)
{
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(host_addr)};
    memcpy(sa, &in, sizeof(in));
}

/* SIOCGIFCONF: one ifreq per interface with an IPv4 address, as many as fit. */
static long inet_if_conf(struct mm *mm, uint64_t arg)
{
    struct ifconf conf;

    if (mm_copy_in(mm, arg, &conf, sizeof(conf)))
        return -EFAULT;
    if (!conf.ifc_buf) {
        conf.ifc_len = (int)sizeof(struct ifreq);
    } else if (conf.ifc_len >= (int)sizeof(struct ifreq)) {
        struct ifreq r;
        memset(&r, 0, sizeof(r));
        strcpy(r.ifr_name, "lo");
        inet_if_sockaddr(&r.ifr_addr, INADDR_LOOPBACK);
        if (mm_copy_out(mm, (uint64_t)(uintptr_t)conf.ifc_buf, &r, sizeof(r)))
            return -EFAULT;
        conf.ifc_len = (int)sizeof(r);
    } else {
        conf.ifc_len = 0;
    }
    return mm_copy_out(mm, arg, &conf, sizeof(conf)) ? -EFAULT : 0;
}

long inet_ioctl_interface(struct mm *mm, unsigned int cmd, uint64_t arg)
{
    struct ifreq r;

    switch (cmd) {
    case SIOCGIFCONF:
        return inet_if_conf(mm, arg);
    case SIOCGIFNAME:
    case SIOCGIFFLAGS:
    case SIOCGIFINDEX:
    case SIOCGIFMTU:
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFHWADDR:
        break;
    default:
        return -ENOTTY;
    }
    if (mm_copy_in(mm, arg, &r, sizeof(r)))
        return -EFAULT;
    if (cmd == SIOCGIFNAME) {
        if (r.ifr_ifindex != INET_LO_INDEX)
            return -ENODEV;
        memset(r.ifr_name, 0, sizeof(r.ifr_name));
        strcpy(r.ifr_name, "lo");
    } else {
        r.ifr_name[IFNAMSIZ - 1] = '\0';
        if (strcmp(r.ifr_name, "lo") != 0)
            return -ENODEV;
        memset(&r.ifr_ifru, 0, sizeof(r.ifr_ifru));
        switch (cmd) {
        case SIOCGIFFLAGS:
            r.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
            break;
        case SIOCGIFINDEX:
            r.ifr_ifindex = INET_LO_INDEX;
            break;
        case SIOCGIFMTU:
            r.ifr_mtu = INET_LO_MTU;
            break;
        case SIOCGIFADDR:
            inet_if_sockaddr(&r.ifr_addr, INADDR_LOOPBACK);
            break;
        case SIOCGIFNETMASK:
            inet_if_sockaddr(&r.ifr_netmask, 0xff000000u);
            break;
        case SIOCGIFHWADDR:
            r.ifr_hwaddr.sa_family = ARPHRD_LOOPBACK;
            break;
        }
    }
    return mm_copy_out(mm, arg, &r, sizeof(r)) ? -EFAULT : 0;
}
