/* Dentries: names bound to inodes, and each directory's cache of its children. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/vfs/vfs.h"
#include "sentry/vfs/vfs_internal.h"

static struct dentry *dentry_alloc(struct dentry *parent, const char *name, struct inode *inode)
{
    struct dentry *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->name = strdup(name);
    if (!d->name) {
        free(d);
        return NULL;
    }
    atomic_init(&d->refs, 1);
    atomic_init(&d->mounted, 0);
    pthread_mutex_init(&d->dir_lock, NULL);
    d->inode = inode;
    d->parent = parent;
    if (parent)
        dentry_get(parent);
    return d;
}

struct dentry *dentry_alloc_root(struct inode *inode)
{
    return dentry_alloc(NULL, "/", inode);
}

void dentry_get(struct dentry *d)
{
    /* Relaxed: taking a reference needs no ordering, only the final put does. */
    atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
}

/* Guards every dentry's name and parent pointer against a concurrent rename, for readers that
 * can't take vfs_rename_lock (event notification, under dir_locks). A leaf lock. */
static pthread_mutex_t name_lock = PTHREAD_MUTEX_INITIALIZER;

struct dentry *dentry_get_parent_name(struct dentry *d, char *name)
{
    pthread_mutex_lock(&name_lock);
    struct dentry *parent = d->parent;
    if (parent) {
        dentry_get(parent);
        size_t len = strnlen(d->name, NAME_MAX);
        memcpy(name, d->name, len);
        name[len] = '\0';
    }
    pthread_mutex_unlock(&name_lock);
    return parent;
}

/* The cache's list, oldest first; the lock is a leaf (taken under dir_locks). */
static pthread_mutex_t lru_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dentry *lru_head, *lru_tail;
static atomic_long lru_count;

/* Past DCACHE_HIGH cached dentries a walk shrinks the cache to DCACHE_LOW. The gofer holds a fid
 * and an O_PATH fd for each cached file of its tree, and serves at most 65536 fids. */
#define DCACHE_HIGH 16384
#define DCACHE_LOW 8192

static void lru_add(struct dentry *d)
{
    pthread_mutex_lock(&lru_lock);
    d->lru_prev = lru_tail;
    d->lru_next = NULL;
    if (lru_tail)
        lru_tail->lru_next = d;
    else
        lru_head = d;
    lru_tail = d;
    d->on_lru = true;
    atomic_fetch_add_explicit(&lru_count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&lru_lock);
}

static void lru_del(struct dentry *d)
{
    pthread_mutex_lock(&lru_lock);
    if (d->on_lru) {
        if (d->lru_prev)
            d->lru_prev->lru_next = d->lru_next;
        else
            lru_head = d->lru_next;
        if (d->lru_next)
            d->lru_next->lru_prev = d->lru_prev;
        else
            lru_tail = d->lru_prev;
        d->on_lru = false;
        atomic_fetch_sub_explicit(&lru_count, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&lru_lock);
}

long dcache_cached_count(void)
{
    return atomic_load_explicit(&lru_count, memory_order_relaxed);
}

void dentry_put(struct dentry *d)
{
    /* Iterative so a long chain of dying ancestors can't exhaust the stack. */
    while (d) {
        /* Acq-rel: the last put must see every other holder's writes before freeing. */
        if (atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
            return;
        struct dentry *parent = d->parent;
        lru_del(d);
        if (d->dead)
            vfs_notify_dentry_gone(d);
        inode_put(d->inode);
        free(d->children);
        free(d->name);
        pthread_mutex_destroy(&d->dir_lock);
        free(d);
        d = parent;
    }
}

static size_t name_hash(const char *name)
{
    size_t h = 5381;
    for (; *name; name++)
        h = h * 33 + (unsigned char)*name;
    return h;
}

struct dentry *dcache_find(struct dentry *dir, const char *name)
{
    if (!dir->nbuckets)
        return NULL;
    for (struct dentry *c = dir->children[name_hash(name) % dir->nbuckets]; c; c = c->hash_next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static int dcache_grow(struct dentry *dir)
{
    size_t nb = dir->nbuckets ? dir->nbuckets * 2 : 8;
    struct dentry **b = calloc(nb, sizeof(*b));
    if (!b)
        return -ENOMEM;
    for (size_t i = 0; i < dir->nbuckets; i++) {
        struct dentry *c = dir->children[i];
        while (c) {
            struct dentry *next = c->hash_next;
            size_t h = name_hash(c->name) % nb;
            c->hash_next = b[h];
            b[h] = c;
            c = next;
        }
    }
    free(dir->children);
    dir->children = b;
    dir->nbuckets = nb;
    return 0;
}

int dcache_insert(struct dentry *dir, const char *name, struct inode *inode, struct dentry **out)
{
    if (dir->nchildren >= dir->nbuckets) {
        int err = dcache_grow(dir);
        if (err)
            return err;
    }
    struct dentry *d = dentry_alloc(dir, name, inode);
    if (!d)
        return -ENOMEM;
    size_t h = name_hash(name) % dir->nbuckets;
    d->hash_next = dir->children[h];
    dir->children[h] = d;
    dir->nchildren++;
    lru_add(d);
    dentry_get(d); /* the caller's; the cache keeps the first */
    inode_get(inode);
    *out = d;
    return 0;
}

/* A directory dentry left the cache: its cached children can't be reached by name any more, so
 * the cache lets go of them, all the way down (each child holds its parent, so a cache that
 * kept them would keep the whole subtree alive forever). Children someone holds stay alive on
 * their holders' references. Locks each directory after its parent, as the walk does. */
void dentry_prune(struct dentry *d)
{
    struct dentry **stack = NULL;
    size_t n = 0, cap = 0;
    dentry_get(d);
    struct dentry *x = d;
    for (;;) {
        pthread_mutex_lock(&x->dir_lock);
        for (size_t b = 0; b < x->nbuckets; b++) {
            struct dentry *c = x->children[b];
            x->children[b] = NULL;
            while (c) {
                struct dentry *next = c->hash_next;
                c->hash_next = NULL;
                c->dead = true;
                lru_del(c);
                if (n == cap) {
                    size_t ncap = cap ? cap * 2 : 16;
                    struct dentry **grown = realloc(stack, ncap * sizeof(*stack));
                    if (!grown) {
                        /* Out of memory: this child's subtree stays cached (a leak, never a
                         * dangling pointer). */
                        dentry_put(c);
                        c = next;
                        continue;
                    }
                    stack = grown;
                    cap = ncap;
                }
                stack[n++] = c; /* the cache's reference is now ours */
                c = next;
            }
        }
        x->nchildren = 0;
        pthread_mutex_unlock(&x->dir_lock);
        dentry_put(x);
        if (n == 0)
            break;
        x = stack[--n];
    }
    free(stack);
}

void dcache_remove(struct dentry *dir, struct dentry *d)
{
    struct dentry **pp = &dir->children[name_hash(d->name) % dir->nbuckets];
    for (; *pp; pp = &(*pp)->hash_next) {
        if (*pp == d) {
            *pp = d->hash_next;
            d->hash_next = NULL;
            dir->nchildren--;
            d->dead = true;
            lru_del(d);
            if (d->nchildren)
                dentry_prune(d);
            dentry_put(d); /* the cache's reference */
            return;
        }
    }
}

int dcache_rename(struct dentry *old_dir, struct dentry *d, struct dentry *new_dir,
                  const char *new_name)
{
    char *name = strdup(new_name);
    if (!name)
        return -ENOMEM;
    if (new_dir->nchildren >= new_dir->nbuckets && dcache_grow(new_dir) != 0) {
        free(name);
        return -ENOMEM;
    }
    /* Unhash from the old directory keeping the cache's reference, then rehash. */
    struct dentry **pp = &old_dir->children[name_hash(d->name) % old_dir->nbuckets];
    for (; *pp && *pp != d; pp = &(*pp)->hash_next)
        ;
    if (*pp) {
        *pp = d->hash_next;
        old_dir->nchildren--;
    }
    struct dentry *old_parent = d->parent;
    char *old_name = d->name;
    if (old_dir != new_dir)
        dentry_get(new_dir);
    pthread_mutex_lock(&name_lock);
    d->name = name;
    d->parent = new_dir;
    pthread_mutex_unlock(&name_lock);
    free(old_name);
    if (old_dir != new_dir)
        dentry_put(old_parent);
    size_t h = name_hash(name) % new_dir->nbuckets;
    d->hash_next = new_dir->children[h];
    new_dir->children[h] = d;
    new_dir->nchildren++;
    return 0;
}

void dcache_prune(struct dentry *root)
{
    /* Every cached dentry below root in preorder, each with a reference of ours, so parents come
     * before their children; then removed in reverse, children first. */
    struct dentry **all = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&vfs_rename_lock); /* parents can't change under us */
    dentry_get(root);
    all = malloc(sizeof(*all));
    if (!all) {
        pthread_mutex_unlock(&vfs_rename_lock);
        dentry_put(root);
        return;
    }
    all[n++] = root;
    cap = 1;
    for (size_t i = 0; i < n; i++) {
        struct dentry *d = all[i];
        pthread_mutex_lock(&d->dir_lock);
        for (size_t b = 0; b < d->nbuckets; b++) {
            for (struct dentry *c = d->children[b]; c; c = c->hash_next) {
                if (n == cap) {
                    struct dentry **grown = realloc(all, cap * 2 * sizeof(*all));
                    if (!grown)
                        break; /* prune what we have: the rest stays cached */
                    all = grown;
                    cap *= 2;
                }
                dentry_get(c);
                all[n++] = c;
            }
        }
        pthread_mutex_unlock(&d->dir_lock);
    }
    while (n > 1) {
        struct dentry *d = all[--n];
        struct dentry *parent = d->parent;
        pthread_mutex_lock(&parent->dir_lock);
        /* Held only by the cache and us: no holder and no cached child (each would hold one). */
        if (!d->dead && atomic_load_explicit(&d->refs, memory_order_acquire) == 2)
            dcache_remove(parent, d);
        pthread_mutex_unlock(&parent->dir_lock);
        dentry_put(d);
    }
    pthread_mutex_unlock(&vfs_rename_lock);
    dentry_put(root);
    free(all);
}

int vfs_lookup_child(struct dentry *dir, const char *name, bool locked, struct dentry **out)
{
    if (!S_ISDIR(dir->inode->mode))
        return -ENOTDIR;
    if (!locked)
        pthread_mutex_lock(&dir->dir_lock);
    int err = 0;
    struct dentry *d = dcache_find(dir, name);
    if (d && d->inode->ops->revalidate && !d->inode->ops->revalidate(d->inode)) {
        /* Gone (a process exited, an fd closed): forget it and what is cached below it (its
         * children would keep it alive; dcache_remove lets go of them), and ask again. */
        dcache_remove(dir, d);
        d = NULL;
    }
    if (d) {
        dentry_get(d);
        *out = d;
    } else if (!dir->inode->ops->lookup) {
        err = -ENOENT;
    } else {
        struct inode *inode;
        err = dir->inode->ops->lookup(dir->inode, name, &inode);
        if (!err) {
            err = dcache_insert(dir, name, inode, out);
            inode_put(inode);
        }
    }
    if (!locked)
        pthread_mutex_unlock(&dir->dir_lock);
    return err;
}

int dentry_rename_unlinked(struct dentry *d, const char *name)
{
    char *copy = strdup(name);
    if (!copy)
        return -ENOMEM;
    pthread_mutex_lock(&vfs_rename_lock); /* names are read under it */
    if (!d->dead) {
        pthread_mutex_unlock(&vfs_rename_lock);
        free(copy);
        return -EINVAL;
    }
    pthread_mutex_lock(&name_lock);
    char *old = d->name;
    d->name = copy;
    pthread_mutex_unlock(&name_lock);
    free(old);
    pthread_mutex_unlock(&vfs_rename_lock);
    return 0;
}

void dcache_shrink(void)
{
    static pthread_mutex_t shrink_lock = PTHREAD_MUTEX_INITIALIZER;
    if (atomic_load_explicit(&lru_count, memory_order_relaxed) <= DCACHE_HIGH)
        return;
    if (pthread_mutex_trylock(&shrink_lock) != 0)
        return; /* someone is already at it */
    for (int pass = 0; pass < 8; pass++) {
        long excess = atomic_load_explicit(&lru_count, memory_order_relaxed) - DCACHE_LOW;
        if (excess <= 0)
            break;
        /* Candidates, oldest first: leaves (no cached child) no one else holds. Each gets a
         * reference of ours so it can't go away between the list's lock and its parent's. */
        struct dentry **cand = malloc((size_t)excess * sizeof(*cand));
        if (!cand)
            break;
        long n = 0;
        pthread_mutex_lock(&lru_lock);
        for (struct dentry *d = lru_head; d && n < excess; d = d->lru_next) {
            if (atomic_load_explicit(&d->refs, memory_order_relaxed) == 1 && d->nchildren == 0 &&
                !atomic_load_explicit(&d->mounted, memory_order_relaxed)) {
                dentry_get(d);
                cand[n++] = d;
            }
        }
        pthread_mutex_unlock(&lru_lock);
        long evicted = 0;
        for (long i = 0; i < n; i++) {
            struct dentry *d = cand[i];
            struct dentry *parent = d->parent;
            pthread_mutex_lock(&parent->dir_lock);
            /* Re-checked under the parent's lock, which every lookup in it takes: held only by
             * the cache and us means no holder and no cached child (each would hold one). */
            if (d->on_lru && !d->dead &&
                atomic_load_explicit(&d->refs, memory_order_acquire) == 2 &&
                !atomic_load_explicit(&d->mounted, memory_order_acquire)) {
                dcache_remove(parent, d);
                evicted++;
            }
            pthread_mutex_unlock(&parent->dir_lock);
            dentry_put(d);
        }
        free(cand);
        if (evicted == 0)
            break;
    }
    pthread_mutex_unlock(&shrink_lock);
}
