/* Threads that ended are gone: once a joined thread has left (tgkill of its tid says ESRCH),
 * calls that name it by tid (prlimit, get_robust_list) say ESRCH too, as Linux, which reaps a
 * thread when it exits. Many threads are created and joined, so a sandbox that kept each ended
 * thread where tid lookups see it would be caught on any of them. */
#include "guest.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define THREADS 64

static void *record_tid(void *arg)
{
    *(pid_t *)arg = (pid_t)syscall(SYS_gettid);
    return NULL;
}

/* Waits (bounded) until the kernel has finished the thread's exit after the join. */
static int gone(pid_t tid)
{
    for (int i = 0; i < 2000; i++) {
        if (syscall(SYS_tgkill, getpid(), tid, 0) == -1 && errno == ESRCH)
            return 1;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

int main(void)
{
    pid_t tids[THREADS];
    int ok_gone = 1, ok_prlimit = 1, ok_robust = 1;

    for (int i = 0; i < THREADS; i++) {
        pthread_t th;
        tids[i] = 0;
        CHECK(pthread_create(&th, NULL, record_tid, &tids[i]) == 0, "pthread_create %d", i);
        CHECK(pthread_join(th, NULL) == 0, "pthread_join %d", i);
        CHECK(tids[i] > 0 && tids[i] != getpid(), "thread %d's tid %d", i, (int)tids[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        if (!gone(tids[i])) {
            ok_gone = 0;
            continue;
        }
        struct rlimit old;
        errno = 0;
        if (syscall(SYS_prlimit64, tids[i], RLIMIT_NOFILE, NULL, &old) != -1 || errno != ESRCH)
            ok_prlimit = 0;
        void *head;
        size_t len;
        errno = 0;
        if (syscall(SYS_get_robust_list, tids[i], &head, &len) != -1 || errno != ESRCH)
            ok_robust = 0;
    }
    EXPECT_FACT("every joined thread's tid is gone for tgkill", ok_gone);
    EXPECT_FACT("prlimit of an ended thread: ESRCH", ok_prlimit);
    EXPECT_FACT("get_robust_list of an ended thread: ESRCH", ok_robust);
    /* The process itself is still there under its pid. */
    struct rlimit mine;
    EXPECT_RET("prlimit of the process", syscall(SYS_prlimit64, getpid(), RLIMIT_NOFILE, NULL, &mine),
               0);
    guest_ok();
    return 0;
}
