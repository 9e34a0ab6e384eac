/* Threads in waves: many alive at once, then joined (more sentry threads than stay idle, so
 * some end while their parked stub threads belong to a live process), then more waves and a
 * run of one-at-a-time create+join. Every thread must run and the process must survive. */
#include "guest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define WAVE 24

static atomic_int ran;
static pthread_barrier_t all_alive;

static void *wave_thread(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&all_alive);
    atomic_fetch_add(&ran, 1);
    return NULL;
}

static void *single_thread(void *arg)
{
    atomic_fetch_add(&ran, 1);
    return arg;
}

static void run_wave(void)
{
    pthread_t threads[WAVE];

    CHECK(pthread_barrier_init(&all_alive, NULL, WAVE + 1) == 0, "barrier_init");
    for (int i = 0; i < WAVE; i++)
        CHECK(pthread_create(&threads[i], NULL, wave_thread, NULL) == 0, "create %d", i);
    pthread_barrier_wait(&all_alive);
    for (int i = 0; i < WAVE; i++)
        CHECK(pthread_join(threads[i], NULL) == 0, "join %d", i);
    pthread_barrier_destroy(&all_alive);
}

int main(void)
{
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};

    for (int wave = 0; wave < 3; wave++) {
        run_wave();
        nanosleep(&pause, NULL);
    }
    printf("waves: %d threads ran\n", atomic_load(&ran));
    atomic_store(&ran, 0);
    for (int i = 0; i < 100; i++) {
        pthread_t t;
        void *ret;
        CHECK(pthread_create(&t, NULL, single_thread, (void *)(intptr_t)i) == 0, "create");
        CHECK(pthread_join(t, &ret) == 0 && ret == (void *)(intptr_t)i, "join %d", i);
    }
    printf("one at a time: %d threads ran\n", atomic_load(&ran));
    return guest_ok();
}
