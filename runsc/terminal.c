/* The host terminal during `runsc do` on a terminal: raw, so that every key reaches the guest's
 * own pty (whose line discipline makes ^C a SIGINT for the guest's foreground job), and restored
 * on the way out. */
#include <errno.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include "runsc/cli.h"

int cli_terminal_make_raw(int fd, struct cli_terminal *t)
{
    struct termios raw;

    if (tcgetattr(fd, &t->saved) != 0)
        return -errno;
    raw = t->saved;
    cfmakeraw(&raw);
    if (tcsetattr(fd, TCSANOW, &raw) != 0)
        return -errno;
    t->fd = fd;
    return 0;
}

void cli_terminal_restore(struct cli_terminal *t)
{
    if (t->fd < 0)
        return;
    /* TCSADRAIN: the guest's last output goes out under the raw settings it was written for. A
     * runsc in the background must not be stopped by SIGTTOU for putting the terminal back. */
    sigset_t ttou, old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    sigprocmask(SIG_BLOCK, &ttou, &old);
    while (tcsetattr(t->fd, TCSADRAIN, &t->saved) != 0 && errno == EINTR) {
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    t->fd = -1;
}
