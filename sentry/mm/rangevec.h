/* Private to sentry/mm: a sorted vector of non-overlapping ranges. Elements are structs whose
 * first two members are `uint64_t start, end`; the vector knows only their size. Lookups are
 * binary searches; inserts and removals move the tail (address spaces have few enough ranges that
 * this beats a tree's constant factors, and it makes checkpointing a memcpy). */
#ifndef RUNSC_SENTRY_MM_RANGEVEC_H
#define RUNSC_SENTRY_MM_RANGEVEC_H

#include <stddef.h>
#include <stdint.h>

struct range {
    uint64_t start, end;
};

struct rangevec {
    char *items;
    size_t elem_size;
    size_t len;
    size_t cap;
};

void rangevec_init(struct rangevec *rv, size_t elem_size);
void rangevec_free(struct rangevec *rv);

static inline struct range *rangevec_at(const struct rangevec *rv, size_t i)
{
    return (struct range *)(rv->items + i * rv->elem_size);
}

/* The index of the first range whose end is above `addr` (rv->len if none). */
size_t rangevec_lower_bound(const struct rangevec *rv, uint64_t addr);
/* The range containing `addr`, or NULL. */
struct range *rangevec_find(const struct rangevec *rv, uint64_t addr);
/* Inserts a copy of *elem at index i (the caller keeps the order). Returns 0 or -ENOMEM. */
int rangevec_insert(struct rangevec *rv, size_t i, const void *elem);
void rangevec_remove(struct rangevec *rv, size_t i, size_t n);
/* Makes sure `len` more elements can be inserted without allocating. Returns 0 or -ENOMEM. */
int rangevec_reserve(struct rangevec *rv, size_t len);

#endif
