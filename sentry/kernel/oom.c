/* The memory limit's OOM killer: when the memory file refuses an allocation, a process is
 * killed as the memory cgroup's OOM killer would (mm/oom_kill.c's oom_badness: the largest
 * resident size, shifted by oom_score_adj) and the allocation retries. Nothing is reclaimed. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/ktimer.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"

/* How long a round waits for its victim to be gone (its mm released), and how often it looks. */
#define OOM_VICTIM_WAIT_MS 2000
#define OOM_POLL_MS 5

/* A process that might be killed: its mm (a reference) and what oom_badness needs. */
struct oom_candidate {
    int tgid;
    int adj;
    char comm[16];
    struct mm *mm;
};

static void deadline_in(struct timespec *ts, long ms)
{
    *ts = ktimer_deadline_after(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L});
}

static bool deadline_passed(const struct timespec *ts)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Live processes with an address space, with a reference on each mm (kernel.lock, then each
 * tg->lock inside task_get_mm: the kernel's lock order). *out is the caller's. */
static int oom_collect(struct kernel *k, struct oom_candidate **out, size_t *n)
{
    size_t cap = 0, len = 0;
    struct oom_candidate *v = NULL;
    int err = 0;

    pthread_mutex_lock(&k->lock);
    for (struct thread_group *g = k->groups; g; g = g->next) {
        if (g->zombie || !g->live_tasks || g->oom_score_adj <= -1000)
            continue;
        struct mm *mm = NULL;
        const char *comm = "";
        pthread_mutex_lock(&g->lock);
        bool exiting = g->exiting;
        struct task *first = g->tasks;
        pthread_mutex_unlock(&g->lock);
        for (struct task *t = first; t && !exiting && !mm; t = t->group_next) {
            mm = task_get_mm(t);
            comm = t->comm;
        }
        if (!mm)
            continue; /* already dying: its memory is on its way back */
        if (len == cap) {
            size_t grown_cap = cap ? cap * 2 : 16;
            struct oom_candidate *grown = realloc(v, grown_cap * sizeof(*v));
            if (!grown) {
                mm_put(mm);
                err = -ENOMEM;
                break;
            }
            v = grown;
            cap = grown_cap;
        }
        v[len] = (struct oom_candidate){.tgid = g->tgid, .adj = g->oom_score_adj, .mm = mm};
        memcpy(v[len].comm, comm, sizeof(v[len].comm));
        v[len].comm[sizeof(v[len].comm) - 1] = '\0';
        len++;
    }
    pthread_mutex_unlock(&k->lock);
    if (err) {
        for (size_t i = 0; i < len; i++)
            mm_put(v[i].mm);
        free(v);
        return err;
    }
    *out = v;
    *n = len;
    return 0;
}

/* oom_badness in pages: the resident size plus oom_score_adj thousandths of the memory the
 * sandbox may use (the limit, else the memory file). */
static int64_t oom_badness(uint64_t rss, int adj, uint64_t total)
{
    return (int64_t)(rss / MEMFILE_PAGE_SIZE) +
           (int64_t)adj * (int64_t)(total / MEMFILE_PAGE_SIZE) / 1000;
}

/* Chooses and kills a victim: its tgid, or -ENOMEM with none to kill. */
static int oom_kill_one(struct kernel *k)
{
    struct oom_candidate *v;
    size_t n;
    int err = oom_collect(k, &v, &n);
    if (err)
        return err;

    struct memfile *mf = k->cfg.memfile;
    uint64_t total = mf ? (memfile_limit(mf) ? memfile_limit(mf) : memfile_size(mf)) : 0;
    size_t best = n;
    int64_t best_score = 0;
    uint64_t best_rss = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t rss = mm_resident_bytes(v[i].mm);
        int64_t score = oom_badness(rss, v[i].adj, total);
        /* Ties go to the younger process (the later in the list), as a fork bomb's newest. */
        if (best == n || score >= best_score) {
            best = i;
            best_score = score;
            best_rss = rss;
        }
    }
    int victim = -ENOMEM;
    if (best < n && kernel_signal_process(k, v[best].tgid, SIGKILL) == 0) {
        victim = v[best].tgid;
        log_info("memory limit of %llu bytes reached (%llu in use): killed process %d (%s), "
                 "%llu KiB resident",
                 (unsigned long long)total, (unsigned long long)(mf ? memfile_used(mf) : 0), victim,
                 v[best].comm, (unsigned long long)(best_rss / 1024));
    }
    for (size_t i = 0; i < n; i++)
        mm_put(v[i].mm);
    free(v);
    return victim;
}

/* Whether process `tgid` still holds its memory: not yet exited (a zombie has released its mm). */
static bool oom_victim_alive(struct kernel *k, int tgid)
{
    pthread_mutex_lock(&k->lock);
    struct thread_group *g = kernel_find_group(k, tgid);
    bool alive = g && !g->zombie && g->live_tasks;
    pthread_mutex_unlock(&k->lock);
    return alive;
}

static void *oom_thread(void *arg)
{
    struct kernel *k = arg;
    struct kernel_oom *o = &k->oom;

    pthread_mutex_lock(&o->lock);
    for (;;) {
        while (!o->stop && o->done == o->requested)
            pthread_cond_wait(&o->cond, &o->lock);
        if (o->stop)
            break;
        uint64_t round = o->requested;
        pthread_mutex_unlock(&o->lock);

        int victim = oom_kill_one(k);
        if (victim > 0) {
            struct timespec until;
            deadline_in(&until, OOM_VICTIM_WAIT_MS);
            while (oom_victim_alive(k, victim) && !deadline_passed(&until))
                sleep_ms(OOM_POLL_MS);
        }

        pthread_mutex_lock(&o->lock);
        if (victim > 0)
            o->kills++;
        o->result = victim > 0 ? 0 : -ENOMEM;
        o->done = round;
        pthread_cond_broadcast(&o->cond);
    }
    pthread_mutex_unlock(&o->lock);
    return NULL;
}

/* Whether `t` is being killed (SIGKILL pending, or its process exiting). */
static bool task_dying(struct task *t)
{
    pthread_mutex_lock(&t->tg->lock);
    bool dying = t->tg->exiting || ((t->pending | t->tg->shared_pending) & SIGBIT(SIGKILL));
    pthread_mutex_unlock(&t->tg->lock);
    return dying;
}

int kernel_oom_wait(struct kernel *k, struct task *t)
{
    struct kernel_oom *o = &k->oom;
    struct timespec until;
    int err;

    if (t && task_dying(t))
        return -EINTR;
    deadline_in(&until, KERNEL_OOM_WAIT_MS);
    pthread_mutex_lock(&o->lock);
    if (o->stop) {
        pthread_mutex_unlock(&o->lock);
        return -ENOMEM;
    }
    if (!o->started) {
        if ((err = pthread_create(&o->thread, NULL, oom_thread, k)) != 0) {
            pthread_mutex_unlock(&o->lock);
            log_warning("memory limit: cannot start the OOM killer: %s", strerror(err));
            return -ENOMEM;
        }
        o->started = true;
    }
    /* Requests that come while a round runs are answered by the next one, which sees the
     * memory as it is after the current victim is gone. */
    uint64_t mine = ++o->requested;
    pthread_cond_broadcast(&o->cond);
    err = -ENOMEM;
    while (!o->stop) {
        if (o->done >= mine) {
            err = o->result;
            break;
        }
        struct timespec tick;
        deadline_in(&tick, OOM_POLL_MS * 2);
        pthread_cond_clockwait(&o->cond, &o->lock, CLOCK_MONOTONIC, &tick);
        if (deadline_passed(&until))
            break;
        if (t) {
            /* The victim may be the caller itself: it must go and die, not wait for itself.
             * task_dying takes tg->lock, which is never taken under oom.lock. */
            pthread_mutex_unlock(&o->lock);
            bool dying = task_dying(t);
            pthread_mutex_lock(&o->lock);
            if (dying) {
                err = -EINTR;
                break;
            }
        }
    }
    pthread_mutex_unlock(&o->lock);
    return err;
}

void kernel_oom_stop(struct kernel *k)
{
    struct kernel_oom *o = &k->oom;

    pthread_mutex_lock(&o->lock);
    o->stop = true;
    bool started = o->started;
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->lock);
    if (started)
        pthread_join(o->thread, NULL);
}
