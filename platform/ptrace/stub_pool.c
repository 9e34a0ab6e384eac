/* The stub factory's pool of ready stubs: a ring of pids, oldest handed out first. */
#include <errno.h>

#include "platform/ptrace/stub_pool.h"

void stub_pool_init(struct stub_pool *pool)
{
    pool->head = 0;
    pool->count = 0;
}

bool stub_pool_full(const struct stub_pool *pool)
{
    return pool->count == STUB_POOL_CAPACITY;
}

int stub_pool_push(struct stub_pool *pool, pid_t pid)
{
    if (stub_pool_full(pool))
        return -ENOSPC;
    pool->pids[(pool->head + pool->count) % STUB_POOL_CAPACITY] = pid;
    pool->count++;
    return 0;
}

pid_t stub_pool_pop(struct stub_pool *pool)
{
    if (pool->count == 0)
        return -EAGAIN;
    pid_t pid = pool->pids[pool->head];
    pool->head = (pool->head + 1) % STUB_POOL_CAPACITY;
    pool->count--;
    return pid;
}
