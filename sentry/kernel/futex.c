/* Futexes. Waiters hang in a hash table keyed by what names the word: (mm, address) for a
 * private futex, the memory-file offset for a shared one (the same word in every process that
 * maps it). A waiter checks the word and enqueues under its bucket's lock, and a waker dequeues
 * under it, so no wake is lost between the check and the sleep.
 *
 * Lock order: futex bucket lock, then mm.lock (taken by mm_word_op), then task.wait_lock. */
#include "sentry/kernel/futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>

#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"

#define FUTEX_BUCKETS 256

struct futex_key {
    const void *mm; /* NULL for shared futexes */
    uint64_t where; /* guest address (private) or memory-file offset (shared) */
};

struct futex_waiter {
    struct futex_key key;
    uint32_t bitset;
    struct task *task;
    /* Set by the waker under the bucket lock once it is done with the waiter and its task; the
     * waiter reads it without the lock first (acquire, pairing with the waker's release) so a
     * woken waiter need not wait for the waker to drop the bucket lock. */
    atomic_bool woken;
    struct futex_waiter *prev, *next; /* in the bucket, guarded by its lock */
};

struct futex_bucket {
    pthread_mutex_t lock;
    struct futex_waiter *head;
};

static struct futex_bucket buckets[FUTEX_BUCKETS] = {
    [0 ... FUTEX_BUCKETS - 1] = {PTHREAD_MUTEX_INITIALIZER, NULL}};

static struct futex_bucket *bucket_of(const struct futex_key *k)
{
    uint64_t h = (uint64_t)(uintptr_t)k->mm * 0x9e3779b97f4a7c15ULL ^ (k->where >> 2);
    h ^= h >> 29;
    return &buckets[h % FUTEX_BUCKETS];
}

static bool key_eq(const struct futex_key *a, const struct futex_key *b)
{
    return a->mm == b->mm && a->where == b->where;
}

static void enqueue(struct futex_bucket *b, struct futex_waiter *w)
{
    w->prev = NULL;
    w->next = b->head;
    if (b->head)
        b->head->prev = w;
    b->head = w;
}

static void dequeue(struct futex_bucket *b, struct futex_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        b->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
}

static long load_word(uint32_t *word, void *arg)
{
    /* Acquire, pairing with the guest's release store before its wake. */
    *(uint32_t *)arg = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    return 0;
}

static long touch_word(uint32_t *word, void *arg)
{
    (void)word;
    (void)arg;
    return 0;
}

/* The key of the word at addr. */
static long futex_key_of(struct task *t, uint64_t addr, bool private_, struct futex_key *key)
{
    uint64_t off;
    long err = mm_word_op(t->mm, addr, false, &off, touch_word, NULL);

    if (err)
        return err;
    key->mm = private_ ? (const void *)t->mm : NULL;
    key->where = private_ ? addr : off;
    return 0;
}

long futex_wait(struct task *t, uint64_t addr, bool private_, uint32_t val, uint32_t bitset,
                const struct timespec *deadline)
{
    struct futex_waiter w = {.bitset = bitset, .task = t, .woken = false};
    uint64_t off;
    uint32_t cur;

    if (!bitset)
        return -EINVAL;
    long err = futex_key_of(t, addr, private_, &w.key);
    if (err)
        return err;
    struct futex_bucket *b = bucket_of(&w.key);
    pthread_mutex_lock(&b->lock);
    err = mm_word_op(t->mm, addr, false, &off, load_word, &cur);
    if (!err && cur != val)
        err = -EAGAIN;
    if (err) {
        pthread_mutex_unlock(&b->lock);
        return err;
    }
    enqueue(b, &w);
    pthread_mutex_unlock(&b->lock);
    for (;;) {
        err = task_block(t, deadline);
        if (atomic_load_explicit(&w.woken, memory_order_acquire))
            return 0;
        pthread_mutex_lock(&b->lock);
        bool woken = atomic_load_explicit(&w.woken, memory_order_relaxed);
        if (!woken && err)
            dequeue(b, &w);
        pthread_mutex_unlock(&b->lock);
        if (woken)
            return 0;
        if (err == -EINTR)
            return -ERESTARTSYS;
        if (err == -ETIMEDOUT)
            return -ETIMEDOUT;
    }
}

/* Wakes up to n waiters on `key` (bucket locked). */
static int wake_locked(struct futex_bucket *b, const struct futex_key *key, int n, uint32_t bitset)
{
    int woken = 0;

    for (struct futex_waiter *w = b->head, *next; w && woken < n; w = next) {
        next = w->next;
        if (!key_eq(&w->key, key) || !(w->bitset & bitset))
            continue;
        struct task *task = w->task;
        dequeue(b, w);
        /* Wake first, then publish: once `woken` is seen the waiter may return and its task
         * may go away, so nothing of either is touched after the store. */
        task_wake(task);
        atomic_store_explicit(&w->woken, true, memory_order_release);
        woken++;
    }
    return woken;
}

long futex_wake(struct task *t, uint64_t addr, bool private_, int n, uint32_t bitset)
{
    struct futex_key key;

    if (!bitset)
        return -EINVAL;
    long err = futex_key_of(t, addr, private_, &key);
    if (err)
        return err;
    struct futex_bucket *b = bucket_of(&key);
    pthread_mutex_lock(&b->lock);
    int woken = wake_locked(b, &key, n, bitset);
    pthread_mutex_unlock(&b->lock);
    return woken;
}

/* Locks two buckets in address order (once if they are the same). */
static void lock_pair(struct futex_bucket *a, struct futex_bucket *b)
{
    if (a == b) {
        pthread_mutex_lock(&a->lock);
    } else if (a < b) {
        pthread_mutex_lock(&a->lock);
        pthread_mutex_lock(&b->lock);
    } else {
        pthread_mutex_lock(&b->lock);
        pthread_mutex_lock(&a->lock);
    }
}

static void unlock_pair(struct futex_bucket *a, struct futex_bucket *b)
{
    pthread_mutex_unlock(&a->lock);
    if (a != b)
        pthread_mutex_unlock(&b->lock);
}

long futex_requeue(struct task *t, uint64_t addr, uint64_t addr2, bool private_, int n, int n2,
                   bool cmp, uint32_t val)
{
    struct futex_key k1, k2;
    uint64_t off;
    uint32_t cur;
    long err;

    if (n < 0 || n2 < 0)
        return -EINVAL;
    if ((err = futex_key_of(t, addr, private_, &k1)) ||
        (err = futex_key_of(t, addr2, private_, &k2)))
        return err;
    struct futex_bucket *b1 = bucket_of(&k1), *b2 = bucket_of(&k2);
    lock_pair(b1, b2);
    if (cmp) {
        err = mm_word_op(t->mm, addr, false, &off, load_word, &cur);
        if (!err && cur != val)
            err = -EAGAIN;
        if (err) {
            unlock_pair(b1, b2);
            return err;
        }
    }
    long done = wake_locked(b1, &k1, n, FUTEX_BITSET_MATCH_ANY);
    int moved = 0;
    for (struct futex_waiter *w = b1->head, *next; w && moved < n2; w = next) {
        next = w->next;
        if (!key_eq(&w->key, &k1))
            continue;
        dequeue(b1, w);
        w->key = k2;
        enqueue(b2, w);
        moved++;
    }
    unlock_pair(b1, b2);
    return done + moved;
}

struct wake_op_arg {
    uint32_t op;
    uint32_t old;
};

/* FUTEX_OP's encoding: op (4 bits), cmp (4), oparg (12), cmparg (12); oparg may be a shift. */
static long apply_op(uint32_t *word, void *arg)
{
    struct wake_op_arg *a = arg;
    unsigned op = (a->op >> 28) & 7;
    bool shift = a->op >> 31;
    uint32_t oparg = (a->op >> 12) & 0xfff;

    if (shift)
        oparg = oparg >= 32 ? 0 : 1U << oparg;
    switch (op) {
    case FUTEX_OP_SET:
        a->old = __atomic_exchange_n(word, oparg, __ATOMIC_SEQ_CST);
        return 0;
    case FUTEX_OP_ADD:
        a->old = __atomic_fetch_add(word, oparg, __ATOMIC_SEQ_CST);
        return 0;
    case FUTEX_OP_OR:
        a->old = __atomic_fetch_or(word, oparg, __ATOMIC_SEQ_CST);
        return 0;
    case FUTEX_OP_ANDN:
        a->old = __atomic_fetch_and(word, ~oparg, __ATOMIC_SEQ_CST);
        return 0;
    case FUTEX_OP_XOR:
        a->old = __atomic_fetch_xor(word, oparg, __ATOMIC_SEQ_CST);
        return 0;
    default:
        return -ENOSYS;
    }
}

static int compare_op(uint32_t op, uint32_t old)
{
    unsigned cmp = (op >> 24) & 15;
    int32_t cmparg = (int32_t)(op << 20) >> 20; /* 12-bit signed */
    int32_t v = (int32_t)old;

    switch (cmp) {
    case FUTEX_OP_CMP_EQ:
        return v == cmparg;
    case FUTEX_OP_CMP_NE:
        return v != cmparg;
    case FUTEX_OP_CMP_LT:
        return v < cmparg;
    case FUTEX_OP_CMP_LE:
        return v <= cmparg;
    case FUTEX_OP_CMP_GT:
        return v > cmparg;
    case FUTEX_OP_CMP_GE:
        return v >= cmparg;
    default:
        return -ENOSYS;
    }
}

long futex_wake_op(struct task *t, uint64_t addr, uint64_t addr2, bool private_, int n, int n2,
                   uint32_t op)
{
    struct futex_key k1, k2;
    struct wake_op_arg arg = {.op = op};
    uint64_t off;
    long err;

    if ((err = futex_key_of(t, addr, private_, &k1)) ||
        (err = futex_key_of(t, addr2, private_, &k2)))
        return err;
    struct futex_bucket *b1 = bucket_of(&k1), *b2 = bucket_of(&k2);
    lock_pair(b1, b2);
    err = mm_word_op(t->mm, addr2, true, &off, apply_op, &arg);
    int c = err ? 0 : compare_op(op, arg.old);
    if (!err && c < 0)
        err = c;
    long woken = 0;
    if (!err) {
        woken = wake_locked(b1, &k1, n, FUTEX_BITSET_MATCH_ANY);
        if (c)
            woken += wake_locked(b2, &k2, n2, FUTEX_BITSET_MATCH_ANY);
    }
    unlock_pair(b1, b2);
    return err ? err : woken;
}
