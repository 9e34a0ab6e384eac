/* The vDSO's sandbox-wide state: the vvar page in the memory file, the TSC calibration written
 * into it under its seqcount, the refresh timer, and the two mappables every address space maps
 * ("[vvar]" shares the page itself; "[vdso]" is a private copy of the image). */
#include "sentry/vdso/vdso.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "lib/log.h"
#include "sentry/kernel/ktimer.h"
#include "sentry/memfile/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/vdso/timekeeper.h"
#include "tsc.h"
#include "vvar.h"

_Static_assert(VVAR_CLOCK_REALTIME == CLOCK_REALTIME && VVAR_CLOCK_MONOTONIC == CLOCK_MONOTONIC &&
                   VVAR_CLOCK_REALTIME_COARSE == CLOCK_REALTIME_COARSE &&
                   VVAR_CLOCK_MONOTONIC_COARSE == CLOCK_MONOTONIC_COARSE &&
                   VVAR_CLOCK_BOOTTIME == CLOCK_BOOTTIME && VVAR_CLOCK_TAI == CLOCK_TAI,
               "vvar.h's clock ids are Linux's");
_Static_assert(sizeof(struct vvar_data) <= VVAR_SIZE, "the vvar data fits its page");

/* The clocks the vDSO serves from the TSC, each read from the host clock of the same id. The
 * coarse clocks get the precise time: finer than clock_getres says, never wrong. The others
 * (CPU-time clocks, MONOTONIC_RAW, the alarm clocks) take the syscall. */
static const int served_clocks[] = {
    CLOCK_REALTIME,         CLOCK_MONOTONIC, CLOCK_REALTIME_COARSE,
    CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,  CLOCK_TAI,
};
/* The first calibration's samples are this far apart. */
#define CALIBRATION_NS 2000000L
/* A calibration is kept only if its line, drawn through two samples, predicts a third taken
 * CALIBRATION_NS later to within this (plus the readings' own spreads). A TSC the host clock
 * follows misses by tens of nanoseconds; one it does not follow (the host kernel distrusts
 * the TSC and keeps time from another clocksource; a migrating VM) misses by far more. */
#define CALIBRATION_TOLERANCE_NS 2000
/* Attempts before giving up on the TSC: one may be spoiled by preemption, not three. */
#define CALIBRATION_ATTEMPTS 3
/* Each clock is read this many times, each read between two TSC reads, and the reading with the
 * narrowest bracket is kept: one that was preempted or interrupted is off by its bracket, and
 * the first calibration turns that error into a rate error (a 10 us bracket over its 2 ms is
 * 0.5%). Five tries were not enough on a loaded machine; 64 cost ~25 us per sample. */
#define SAMPLE_TRIES 64

struct vdso {
    /* First: the timer's fire function finds the vdso from it. */
    struct ktimer refresh;
    atomic_int refs; /* the creator's and one per VMA; atomic: VMAs come and go without a lock */
    struct memfile *mf;
    uint64_t vvar_off;         /* the vvar page in the memory file; one reference is ours */
    struct vvar_data *vvar;    /* the sentry's mapping of it */
    bool use_tsc;              /* immutable after create */
    struct mappable vvar_map;  /* "[vvar]": translate() hands out the page itself */
    struct mappable image_map; /* "[vdso]": read() copies from vdso_image */
    pthread_mutex_t lock;      /* protects tk, stopping, and every write to *vvar */
    struct timekeeper tk;
    bool stopping;       /* vdso_destroy began: the timer must not re-arm */
    int64_t interval_ns; /* until the next refresh (VDSO_FIRST_REFRESH_NS, x4, ...) */
};

static void vdso_get(struct vdso *v)
{
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

static void vdso_put(struct vdso *v)
{
    /* Acq-rel: the last put sees every other user's writes before freeing. */
    if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    memfile_decref(v->mf, v->vvar_off, VVAR_SIZE);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

/* --- sampling and publishing ------------------------------------------------------------- */

static void read_clock(clockid_t clock, struct timekeeper_reading *out)
{
    uint64_t best = UINT64_MAX;

    for (int i = 0; i < SAMPLE_TRIES; i++) {
        struct timespec ts;
        uint64_t before = arch_tsc_read();
        clock_gettime(clock, &ts);
        uint64_t after = arch_tsc_read();
        if (after >= before && after - before < best) {
            best = after - before;
            out->tsc = before + (after - before) / 2;
            out->ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
            out->spread = best;
        }
    }
}

/* The clock whose line a served clock follows: a coarse clock gets its precise counterpart's
 * time (see served_clocks). Sampling the host's coarse clock instead would put its line up to
 * a tick behind, since the host's coarse clock lags by where in the tick it was read. */
static clockid_t line_clock(clockid_t c)
{
    if (c == CLOCK_REALTIME_COARSE)
        return CLOCK_REALTIME;
    if (c == CLOCK_MONOTONIC_COARSE)
        return CLOCK_MONOTONIC;
    return c;
}

static void take_sample(struct timekeeper_sample *s)
{
    s->mask = 0;
    for (size_t i = 0; i < sizeof(served_clocks) / sizeof(served_clocks[0]); i++) {
        clockid_t c = served_clocks[i], from = line_clock(c);
        if (from == c)
            read_clock(c, &s->at[c]);
        s->mask |= 1U << c;
    }
    /* After the precise clocks are read. */
    for (size_t i = 0; i < sizeof(served_clocks) / sizeof(served_clocks[0]); i++) {
        clockid_t c = served_clocks[i];
        s->at[c] = s->at[line_clock(c)];
    }
}

/* Seqcount writer, with v->lock held: the count goes odd, the fields change, the count goes
 * even. Relaxed stores for the fields: the fences and the release order them. */
static void vvar_begin(struct vvar_data *vd)
{
    uint32_t seq = __atomic_load_n(&vd->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&vd->seq, seq + 1, __ATOMIC_RELAXED);
    /* Release fence: the odd count is visible before any field written after it (smp_wmb). */
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void vvar_end(struct vvar_data *vd)
{
    uint32_t seq = __atomic_load_n(&vd->seq, __ATOMIC_RELAXED);
    /* Release: the fields are visible before the even count a reader acquires. */
    __atomic_store_n(&vd->seq, seq + 1, __ATOMIC_RELEASE);
}

static void vvar_write_lines(struct vvar_data *vd, const struct timekeeper *tk)
{
    __atomic_store_n(&vd->base_tsc, tk->base_tsc, __ATOMIC_RELAXED);
    __atomic_store_n(&vd->mult, tk->mult, __ATOMIC_RELAXED);
    __atomic_store_n(&vd->shift, tk->shift, __ATOMIC_RELAXED);
    for (int c = 0; c < VVAR_NCLOCKS; c++) {
        if (tk->mask & (1U << c))
            __atomic_store_n(&vd->base_ns[c], timekeeper_base_ns(tk, c), __ATOMIC_RELAXED);
    }
}

static void pause_calibration(void)
{
    struct timespec pause = {0, CALIBRATION_NS};
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
        ;
}

/* Whether `tk`'s CLOCK_MONOTONIC line meets the host's in `s`, within the tolerance and the
 * uncertainty of the readings it was drawn through and of `s`'s own. */
static bool line_predicts(const struct timekeeper *tk, const struct timekeeper_sample *s,
                          uint64_t line_spread)
{
    const struct timekeeper_reading *r = &s->at[VVAR_CLOCK_MONOTONIC];
    int64_t miss = timekeeper_read(tk, VVAR_CLOCK_MONOTONIC, r->tsc) - r->ns;
    /* Cycles to nanoseconds at the line's own rate: the spreads are small, so its error
     * does not matter. */
    uint64_t spread_ns =
        (uint64_t)(((unsigned __int128)(line_spread + r->spread) * tk->rate) >> tk->shift);
    int64_t allowed = CALIBRATION_TOLERANCE_NS + (int64_t)spread_ns;
    return miss <= allowed && miss >= -allowed;
}

/* Draws a line through two samples CALIBRATION_NS apart and checks it against a third as far
 * again; on success `tk` holds the line through the first and the third (twice the baseline),
 * starting now. */
static bool calibrate_once(struct timekeeper *tk, struct timekeeper_sample *first)
{
    struct timekeeper_sample second, third;

    take_sample(first);
    pause_calibration();
    take_sample(&second);
    const struct timekeeper_reading *mono = &second.at[VVAR_CLOCK_MONOTONIC];
    if (timekeeper_init(tk, first, &second, mono->tsc) != 0)
        return false;
    pause_calibration();
    take_sample(&third);
    uint64_t line_spread = first->at[VVAR_CLOCK_MONOTONIC].spread + mono->spread;
    if (!line_predicts(tk, &third, line_spread))
        return false;
    return timekeeper_init(tk, first, &third, arch_tsc_read()) == 0;
}

/* The first calibration, with v->lock held. Leaves the page in syscall mode when the TSC can't
 * be used or the host's clocks do not follow it. */
static void calibrate(struct vdso *v)
{
    struct vvar_data *vd = v->vvar;
    struct timekeeper_sample first;

    vvar_begin(vd);
    __atomic_store_n(&vd->mode, VVAR_MODE_SYSCALL, __ATOMIC_RELAXED);
    /* getcpu(2) as the sentry answers it: CPU 0, node 0 (sys_getcpu). */
    __atomic_store_n(&vd->cpu, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&vd->node, 0, __ATOMIC_RELAXED);
    vvar_end(vd);
    if (!v->use_tsc)
        return;

    bool calibrated = false;
    for (int i = 0; i < CALIBRATION_ATTEMPTS && !calibrated; i++)
        calibrated = calibrate_once(&v->tk, &first);
    if (!calibrated) {
        log_warning("vdso: the host's clocks do not follow the TSC; guests' clock reads "
                    "will be system calls");
        v->use_tsc = false;
        return;
    }
    vvar_begin(vd);
    for (size_t i = 0; i < sizeof(served_clocks) / sizeof(served_clocks[0]); i++) {
        struct timespec res;
        int c = served_clocks[i];
        if (clock_getres(c, &res) == 0)
            __atomic_store_n(&vd->res_ns[c], res.tv_nsec, __ATOMIC_RELAXED);
    }
    vvar_write_lines(vd, &v->tk);
    __atomic_store_n(&vd->clock_mask, v->tk.mask, __ATOMIC_RELAXED);
    __atomic_store_n(&vd->mode, VVAR_MODE_TSC, __ATOMIC_RELAXED);
    vvar_end(vd);
}

/* With v->lock held. */
static void refresh_locked(struct vdso *v)
{
    struct timekeeper_sample s;

    if (__atomic_load_n(&v->vvar->mode, __ATOMIC_RELAXED) == VVAR_MODE_TSC) {
        take_sample(&s);
        vvar_begin(v->vvar);
        /* The new line starts at a TSC read after the count went odd: a reader that got the
         * old line read its TSC before that, where the old line is at most the new one's
         * start, so time never goes back. */
        timekeeper_update(&v->tk, &s, arch_tsc_read(), v->interval_ns);
        vvar_write_lines(v->vvar, &v->tk);
        vvar_end(v->vvar);
    }
}

void vdso_refresh(struct vdso *v)
{
    pthread_mutex_lock(&v->lock);
    refresh_locked(v);
    pthread_mutex_unlock(&v->lock);
}

static void refresh_fire(struct ktimer *kt)
{
    struct vdso *v = (struct vdso *)((char *)kt - offsetof(struct vdso, refresh));

    pthread_mutex_lock(&v->lock);
    /* The line just made closes its gap over the interval to the next refresh. */
    if (v->interval_ns < VDSO_REFRESH_NS)
        v->interval_ns =
            v->interval_ns * 4 < VDSO_REFRESH_NS ? v->interval_ns * 4 : VDSO_REFRESH_NS;
    refresh_locked(v);
    /* ktimer_arm fails only when the service can't grow its heap, and the slot this timer
     * just left is still there; were it to fail, the lines would run on at their last rate. */
    if (!v->stopping)
        ktimer_arm(&v->refresh, ktimer_now_ns() + v->interval_ns);
    pthread_mutex_unlock(&v->lock);
}

/* --- the mappables --------------------------------------------------------------------- */

static struct vdso *vvar_owner(struct mappable *m)
{
    return (struct vdso *)((char *)m - offsetof(struct vdso, vvar_map));
}

static struct vdso *image_owner(struct mappable *m)
{
    return (struct vdso *)((char *)m - offsetof(struct vdso, image_map));
}

static ssize_t vvar_read(struct mappable *m, void *buf, size_t len, uint64_t off)
{
    struct vdso *v = vvar_owner(m);
    if (off >= VVAR_SIZE)
        return 0;
    if (len > VVAR_SIZE - off)
        len = VVAR_SIZE - off;
    memcpy(buf, (char *)v->vvar + off, len);
    return (ssize_t)len;
}

static int vvar_translate(struct mappable *m, uint64_t off, uint64_t *mf_off)
{
    struct vdso *v = vvar_owner(m);
    if (off >= VVAR_SIZE)
        return -EFAULT;
    memfile_incref(v->mf, v->vvar_off + off, MEMFILE_PAGE_SIZE);
    *mf_off = v->vvar_off + off;
    return 0;
}

static void vvar_get(struct mappable *m)
{
    vdso_get(vvar_owner(m));
}

static void vvar_put(struct mappable *m)
{
    vdso_put(vvar_owner(m));
}

static int vvar_name(struct mappable *m, char *buf, size_t size, dev_t *dev, uint64_t *ino)
{
    *dev = 0;
    *ino = 0;
    return snprintf(buf, size, "[vvar]");
}

static const struct mappable_ops vvar_ops = {
    .read = vvar_read,
    .get = vvar_get,
    .put = vvar_put,
    .name = vvar_name,
    .translate = vvar_translate,
};

static ssize_t image_read(struct mappable *m, void *buf, size_t len, uint64_t off)
{
    if (off >= vdso_image_size)
        return 0;
    if (len > vdso_image_size - off)
        len = vdso_image_size - off;
    memcpy(buf, vdso_image + off, len);
    return (ssize_t)len;
}

static void image_get(struct mappable *m)
{
    vdso_get(image_owner(m));
}

static void image_put(struct mappable *m)
{
    vdso_put(image_owner(m));
}

static int image_name(struct mappable *m, char *buf, size_t size, dev_t *dev, uint64_t *ino)
{
    *dev = 0;
    *ino = 0;
    return snprintf(buf, size, "[vdso]");
}

static const struct mappable_ops image_ops = {
    .read = image_read,
    .get = image_get,
    .put = image_put,
    .name = image_name,
};

/* --- the object ------------------------------------------------------------------------- */

int vdso_create(struct memfile *mf, bool use_tsc, struct vdso **out)
{
    struct vdso *v = calloc(1, sizeof(*v));
    int err;

    if (!v)
        return -ENOMEM;
    if ((err = memfile_alloc(mf, VVAR_SIZE, &v->vvar_off)) != 0) {
        free(v);
        return err;
    }
    atomic_init(&v->refs, 1);
    v->mf = mf;
    v->vvar = (struct vvar_data *)((char *)memfile_base(mf) + v->vvar_off);
    v->use_tsc = use_tsc && arch_tsc_invariant();
    v->vvar_map.ops = &vvar_ops;
    v->image_map.ops = &image_ops;
    pthread_mutex_init(&v->lock, NULL);
    ktimer_init(&v->refresh, refresh_fire);

    pthread_mutex_lock(&v->lock);
    calibrate(v);
    err = 0;
    v->interval_ns = VDSO_FIRST_REFRESH_NS;
    if (__atomic_load_n(&v->vvar->mode, __ATOMIC_RELAXED) == VVAR_MODE_TSC)
        err = ktimer_arm(&v->refresh, ktimer_now_ns() + v->interval_ns);
    pthread_mutex_unlock(&v->lock);
    if (err) {
        vdso_put(v);
        return err;
    }
    *out = v;
    return 0;
}

void vdso_destroy(struct vdso *v)
{
    if (!v)
        return;
    pthread_mutex_lock(&v->lock);
    v->stopping = true;
    pthread_mutex_unlock(&v->lock);
    /* Not under v->lock: the timer's fire function takes it. */
    ktimer_cancel(&v->refresh);
    vdso_put(v);
}

bool vdso_uses_tsc(struct vdso *v)
{
    return __atomic_load_n(&v->vvar->mode, __ATOMIC_RELAXED) == VVAR_MODE_TSC;
}

const struct vvar_data *vdso_vvar(struct vdso *v)
{
    return v->vvar;
}

int vdso_map(struct vdso *v, struct mm *mm, uint64_t *base)
{
    uint64_t image_len = (vdso_image_size + MEMFILE_PAGE_SIZE - 1) & ~(MEMFILE_PAGE_SIZE - 1);
    struct mm_map_request probe = {.len = VVAR_SIZE + image_len, .prot = PROT_NONE};
    int64_t at = mm_map(mm, &probe);

    if (at < 0)
        return (int)at;
    struct mm_map_request vvar = {
        .addr = (uint64_t)at,
        .len = VVAR_SIZE,
        .prot = PROT_READ,
        .vma_flags = VMA_SHARED | VMA_SPECIAL,
        .fixed = true,
        .file = &v->vvar_map,
    };
    struct mm_map_request image = {
        .addr = (uint64_t)at + VVAR_SIZE,
        .len = image_len,
        .prot = PROT_READ | PROT_EXEC,
        .fixed = true,
        .file = &v->image_map,
    };
    int64_t r = mm_map(mm, &vvar);
    if (r >= 0)
        r = mm_map(mm, &image);
    if (r < 0) {
        mm_unmap(mm, (uint64_t)at, probe.len);
        return (int)r;
    }
    *base = (uint64_t)at + VVAR_SIZE;
    return 0;
}
