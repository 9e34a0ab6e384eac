/* The kernel timer service (see ktimer.h): a binary min-heap of armed timers ordered by
 * deadline, and one thread that sleeps on a CLOCK_MONOTONIC condition variable until the first
 * deadline or a change to the heap's top. */
#include "sentry/kernel/ktimer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

static struct {
    pthread_mutex_t lock;   /* protects everything below and each ktimer's deadline/heap_slot */
    pthread_cond_t changed; /* the heap's top changed (CLOCK_MONOTONIC for timed waits) */
    pthread_cond_t fired;   /* a `fire` call ended (cancel waits on it) */
    struct ktimer **heap;
    size_t count, cap;
    struct ktimer *running; /* the timer whose fire is being called, or NULL */
    bool started;
    int start_err;
} service = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .fired = PTHREAD_COND_INITIALIZER,
};

static pthread_once_t service_once = PTHREAD_ONCE_INIT;

int64_t ktimer_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

int64_t ktimer_ts_ns(const struct timespec *ts)
{
    if (ts->tv_sec >= INT64_MAX / 1000000000LL)
        return INT64_MAX;
    return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

struct timespec ktimer_deadline_after(const struct timespec *rel)
{
    struct timespec d;
    clock_gettime(CLOCK_MONOTONIC, &d);
    d.tv_sec += rel->tv_sec > KTIMER_TIMEOUT_MAX_SEC ? KTIMER_TIMEOUT_MAX_SEC : rel->tv_sec;
    d.tv_nsec += rel->tv_nsec;
    if (d.tv_nsec >= 1000000000L) {
        d.tv_sec++;
        d.tv_nsec -= 1000000000L;
    }
    return d;
}

void ktimer_init(struct ktimer *kt, ktimer_fire_fn fire)
{
    kt->fire = fire;
    kt->deadline_ns = 0;
    kt->heap_slot = 0;
}

static void heap_set(size_t i, struct ktimer *kt)
{
    service.heap[i] = kt;
    kt->heap_slot = i + 1;
}

static void heap_sift_up(size_t i)
{
    struct ktimer *kt = service.heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (service.heap[parent]->deadline_ns <= kt->deadline_ns)
            break;
        heap_set(i, service.heap[parent]);
        i = parent;
    }
    heap_set(i, kt);
}

static void heap_sift_down(size_t i)
{
    struct ktimer *kt = service.heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= service.count)
            break;
        if (child + 1 < service.count &&
            service.heap[child + 1]->deadline_ns < service.heap[child]->deadline_ns)
            child++;
        if (kt->deadline_ns <= service.heap[child]->deadline_ns)
            break;
        heap_set(i, service.heap[child]);
        i = child;
    }
    heap_set(i, kt);
}

/* Takes an armed timer out of the heap (service.lock held). */
static void heap_remove(struct ktimer *kt)
{
    size_t i = kt->heap_slot - 1;
    struct ktimer *last = service.heap[--service.count];
    kt->heap_slot = 0;
    if (last == kt)
        return;
    heap_set(i, last);
    heap_sift_down(i);
    heap_sift_up(last->heap_slot - 1);
}

static void *service_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&service.lock);
    for (;;) {
        if (!service.count) {
            pthread_cond_wait(&service.changed, &service.lock);
            continue;
        }
        struct ktimer *first = service.heap[0];
        if (first->deadline_ns > ktimer_now_ns()) {
            struct timespec until = {first->deadline_ns / 1000000000LL,
                                     first->deadline_ns % 1000000000LL};
            pthread_cond_timedwait(&service.changed, &service.lock, &until);
            continue;
        }
        heap_remove(first);
        service.running = first;
        pthread_mutex_unlock(&service.lock);
        first->fire(first);
        pthread_mutex_lock(&service.lock);
        service.running = NULL;
        pthread_cond_broadcast(&service.fired);
    }
    return NULL;
}

static void service_start(void)
{
    pthread_condattr_t attr;
    pthread_t thread;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&service.changed, &attr);
    pthread_condattr_destroy(&attr);
    int err = pthread_create(&thread, NULL, service_thread, NULL);
    if (err) {
        service.start_err = -EAGAIN;
        return;
    }
    pthread_detach(thread);
    service.started = true;
}

int ktimer_arm(struct ktimer *kt, int64_t deadline_ns)
{
    pthread_once(&service_once, service_start);
    if (!service.started)
        return service.start_err;
    pthread_mutex_lock(&service.lock);
    if (!kt->heap_slot && service.count == service.cap) {
        size_t cap = service.cap ? service.cap * 2 : 64;
        struct ktimer **heap = realloc(service.heap, cap * sizeof(*heap));
        if (!heap) {
            pthread_mutex_unlock(&service.lock);
            return -ENOMEM;
        }
        service.heap = heap;
        service.cap = cap;
    }
    if (kt->heap_slot)
        heap_remove(kt);
    kt->deadline_ns = deadline_ns;
    heap_set(service.count++, kt);
    heap_sift_up(service.count - 1);
    if (service.heap[0] == kt)
        pthread_cond_signal(&service.changed);
    pthread_mutex_unlock(&service.lock);
    return 0;
}

void ktimer_cancel(struct ktimer *kt)
{
    pthread_mutex_lock(&service.lock);
    if (kt->heap_slot)
        heap_remove(kt);
    while (service.running == kt)
        pthread_cond_wait(&service.fired, &service.lock);
    pthread_mutex_unlock(&service.lock);
}
