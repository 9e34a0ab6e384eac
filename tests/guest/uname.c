/* uname(2): fixed fields (sysname, machine), the release's "N.N" prefix, and non-empty
 * nodename/version/domainname, without printing the host-specific strings themselves. */
#include "guest.h"

#include <ctype.h>
#include <sys/utsname.h>

/* "^[0-9]+\.[0-9]+" */
static int release_format_ok(const char *r)
{
    const char *p = r;

    while (isdigit((unsigned char)*p))
        p++;
    if (p == r || *p++ != '.')
        return 0;
    return isdigit((unsigned char)*p);
}

int main(void)
{
    struct utsname u, again;

    EXPECT_RET("uname", uname(&u), 0);
    printf("sysname = \"%s\"\n", u.sysname);
    CHECK(strcmp(u.sysname, "Linux") == 0, "sysname");
    printf("machine = \"%s\"\n", u.machine);
    CHECK(strcmp(u.machine, "x86_64") == 0, "machine");
    EXPECT_FACT("release-format ok", release_format_ok(u.release));
    EXPECT_FACT("nodename non-empty", u.nodename[0] != '\0');
    EXPECT_FACT("version non-empty", u.version[0] != '\0');
    EXPECT_FACT("domainname non-empty (a name or \"(none)\")", u.domainname[0] != '\0');
    EXPECT_FACT("fields NUL-terminated", memchr(u.sysname, 0, sizeof(u.sysname)) &&
                                             memchr(u.release, 0, sizeof(u.release)) &&
                                             memchr(u.nodename, 0, sizeof(u.nodename)) &&
                                             memchr(u.domainname, 0, sizeof(u.domainname)));
    EXPECT_RET("uname again", uname(&again), 0);
    EXPECT_FACT("second call identical", memcmp(&u, &again, sizeof(u)) == 0);
    return guest_ok();
}
