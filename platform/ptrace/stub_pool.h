/* Private to the ptrace platform: the stub factory's pool of ready stubs, a small FIFO of pids of
 * stubs that are forked and stopped, waiting to be handed out. Single-threaded (the factory). */
#ifndef RUNSC_PLATFORM_PTRACE_STUB_POOL_H
#define RUNSC_PLATFORM_PTRACE_STUB_POOL_H

#include <stdbool.h>
#include <sys/types.h>

/* How many ready stubs the factory keeps: a fork+execve takes two in a row (the child's address
 * space, then the new image's), and the factory refills in parallel with the guest. */
#define STUB_POOL_CAPACITY 3

struct stub_pool {
    pid_t pids[STUB_POOL_CAPACITY];
    unsigned head;  /* index of the oldest ready stub */
    unsigned count; /* ready stubs, at most STUB_POOL_CAPACITY */
};

void stub_pool_init(struct stub_pool *pool);
bool stub_pool_full(const struct stub_pool *pool);
/* Adds a ready stub; -ENOSPC if the pool is full. */
int stub_pool_push(struct stub_pool *pool, pid_t pid);
/* Takes the oldest ready stub (the one most surely stopped by now); -EAGAIN if none. */
pid_t stub_pool_pop(struct stub_pool *pool);

#endif
