/* The sparse page index of tmpfs regular files: a radix tree of 64-way nodes, grown in height as
 * larger indexes appear (9 levels cover every page below TMPFS_MAX_FILE_SIZE). Callers lock. */
#include <errno.h>
#include <stdlib.h>

#include "sentry/fs/tmpfs/tmpfs_internal.h"

#define PT_SHIFT 6
#define PT_SLOTS (1u << PT_SHIFT)
#define PT_MASK (PT_SLOTS - 1)

struct pt_node {
    void *slots[PT_SLOTS]; /* child nodes, or pages at the bottom level */
    unsigned count;        /* non-NULL slots */
};

/* How many indexes a tree of `height` levels covers (0 means all of uint64_t). */
static uint64_t pt_capacity(unsigned height)
{
    if (height * PT_SHIFT >= 64)
        return 0;
    return (uint64_t)1 << (height * PT_SHIFT);
}

static bool pt_fits(unsigned height, uint64_t index)
{
    uint64_t cap = pt_capacity(height);
    return height > 0 && (cap == 0 || index < cap);
}

void *page_tree_lookup(const struct page_tree *t, uint64_t index)
{
    if (!t->root || !pt_fits(t->height, index))
        return NULL;
    struct pt_node *node = t->root;
    for (unsigned level = t->height - 1;; level--) {
        void *p = node->slots[(index >> (level * PT_SHIFT)) & PT_MASK];
        if (level == 0 || !p)
            return p;
        node = p;
    }
}

int page_tree_insert(struct page_tree *t, uint64_t index, void *page)
{
    if (!t->root) {
        unsigned h = 1;
        while (!pt_fits(h, index))
            h++;
        t->root = calloc(1, sizeof(struct pt_node));
        if (!t->root)
            return -ENOMEM;
        t->height = h;
    }
    while (!pt_fits(t->height, index)) {
        struct pt_node *n = calloc(1, sizeof(*n));
        if (!n)
            return -ENOMEM;
        n->slots[0] = t->root;
        n->count = 1;
        t->root = n;
        t->height++;
    }
    struct pt_node *node = t->root;
    for (unsigned level = t->height - 1; level > 0; level--) {
        unsigned slot = (index >> (level * PT_SHIFT)) & PT_MASK;
        if (!node->slots[slot]) {
            /* A node left empty by a later failure is freed by the next free_range over it. */
            struct pt_node *child = calloc(1, sizeof(*child));
            if (!child)
                return -ENOMEM;
            node->slots[slot] = child;
            node->count++;
        }
        node = node->slots[slot];
    }
    node->slots[index & PT_MASK] = page;
    node->count++;
    return 0;
}

/* Frees pages in [first, last] under `node`, whose first index is `base`; nodes left empty go.
 * Recursion is bounded by the tree's height (at most 11). */
static uint64_t pt_free(struct pt_node *node, unsigned level, uint64_t base, uint64_t first,
                        uint64_t last)
{
    uint64_t span = (uint64_t)1 << (level * PT_SHIFT);
    uint64_t freed = 0;
    for (unsigned slot = 0; slot < PT_SLOTS; slot++) {
        uint64_t lo = base + slot * span, hi = lo + (span - 1);
        if (hi < first || lo > last || !node->slots[slot])
            continue;
        if (level == 0) {
            tmpfs_page_free(node->slots[slot]);
            freed++;
        } else {
            struct pt_node *child = node->slots[slot];
            freed += pt_free(child, level - 1, lo, first, last);
            if (child->count)
                continue;
            free(child);
        }
        node->slots[slot] = NULL;
        node->count--;
    }
    return freed;
}

uint64_t page_tree_free_range(struct page_tree *t, uint64_t first, uint64_t last)
{
    if (!t->root || first > last || !pt_fits(t->height, first))
        return 0;
    uint64_t cap = pt_capacity(t->height);
    if (cap && last >= cap)
        last = cap - 1;
    uint64_t freed = pt_free(t->root, t->height - 1, 0, first, last);
    if (((struct pt_node *)t->root)->count == 0) {
        free(t->root);
        t->root = NULL;
        t->height = 0;
    }
    return freed;
}
