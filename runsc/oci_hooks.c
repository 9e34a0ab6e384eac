/* The spec's hooks, run on the host as runc runs them: the state JSON on stdin, the hook's own
 * args and env, its timeout; a hook that fails or runs too long fails the operation. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/errors.h"
#include "runsc/oci/oci.h"
#include "runsc/oci_cli.h"

/* What a failed hook printed, for the error message: the first part of it. */
#define HOOK_OUTPUT_MAX 512

static void read_output(int fd, char *buf, size_t size)
{
    ssize_t n = pread(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs one hook; returns 0, or -errno with err set to runc's wording after "error running hook:
 * ". */
static int run_one(const struct oci_hook *h, const char *state_json, char *err, size_t errlen)
{
    char text[128];
    int in[2], out_fd, err_fd, ret = 0;

    /* Output goes to memory files, so a chatty hook never blocks on a pipe nobody reads. */
    out_fd = memfd_create("hook-stdout", MFD_CLOEXEC);
    err_fd = memfd_create("hook-stderr", MFD_CLOEXEC);
    if (out_fd < 0 || err_fd < 0 || pipe2(in, O_CLOEXEC) != 0) {
        ret = -errno;
        snprintf(err, errlen, "%s", errno_text(errno, text, sizeof(text)));
        goto out_files;
    }
    pid_t pid = fork();
    if (pid < 0) {
        ret = -errno;
        snprintf(err, errlen, "fork: %s", errno_text(errno, text, sizeof(text)));
        close(in[0]);
        close(in[1]);
        goto out_files;
    }
    if (pid == 0) {
        if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(err_fd, STDERR_FILENO) < 0)
            _exit(127);
        signal(SIGPIPE, SIG_DFL);
        char *default_argv[] = {h->path, NULL};
        char *empty_env[] = {NULL};
        execve(h->path, h->args && h->args[0] ? h->args : default_argv,
               h->env ? h->env : empty_env);
        dprintf(STDERR_FILENO, "exec %s: %s", h->path, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    /* A hook that doesn't read stdin is no failure: SIGPIPE is ignored, EPIPE is fine. */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    size_t len = strlen(state_json);
    for (size_t done = 0; done < len;) {
        ssize_t n = write(in[1], state_json + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(in[1]);
    signal(SIGPIPE, old);

    int status = 0;
    int64_t deadline = h->timeout > 0 ? now_ms() + (int64_t)h->timeout * 1000 : 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, deadline ? WNOHANG : 0);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            ret = -errno;
            snprintf(err, errlen, "wait: %s", errno_text(errno, text, sizeof(text)));
            goto out_files;
        }
        if (deadline && now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(err, errlen, "hook ran past specified timeout of %.1fs", (double)h->timeout);
            ret = -ETIMEDOUT;
            goto out_files;
        }
        if (w == 0)
            usleep(5000);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char out[HOOK_OUTPUT_MAX], errout[HOOK_OUTPUT_MAX], how[64];
        read_output(out_fd, out, sizeof(out));
        read_output(err_fd, errout, sizeof(errout));
        if (WIFEXITED(status))
            snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
        else
            snprintf(how, sizeof(how), "signal: %s", strsignal(WTERMSIG(status)));
        snprintf(err, errlen, "%s, stdout: %s, stderr: %s", how, out, errout);
        ret = -ECHILD;
    }
out_files:
    if (out_fd >= 0)
        close(out_fd);
    if (err_fd >= 0)
        close(err_fd);
    return ret;
}

int oci_hooks_run(const struct oci_hook *hooks, size_t n, const char *state_json, char *err,
                  size_t errlen)
{
    char why[2048];

    for (size_t i = 0; i < n; i++) {
        int ret = run_one(&hooks[i], state_json, why, sizeof(why));
        if (ret != 0) {
            snprintf(err, errlen, "error running hook #%zu: error running hook: %s", i, why);
            return ret;
        }
    }
    return 0;
}
