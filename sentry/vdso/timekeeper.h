/* Private to sentry/vdso: the arithmetic that turns TSC readings into the host's clocks. The
 * sentry samples each host clock against the TSC, and keeps for the vDSO one line per clock,
 * ns = base_ns[clock] + ((tsc - base_tsc) * mult) >> shift, all clocks sharing one slope.
 * Pure functions of their arguments (no clock, no TSC read), so tests can drive them with a
 * simulated TSC over hours of simulated time. Not thread-safe: the caller serializes. */
#ifndef RUNSC_SENTRY_VDSO_TIMEKEEPER_H
#define RUNSC_SENTRY_VDSO_TIMEKEEPER_H

#include <stdbool.h>
#include <stdint.h>

#include "vvar.h"

/* Beyond this distance from the host's CLOCK_MONOTONIC the line jumps to it instead of slewing
 * (only a broken TSC or a stalled sentry gets here). */
#define TIMEKEEPER_STEP_NS 10000000LL
/* A clock's offset from CLOCK_MONOTONIC changes only when the host steps it (settimeofday,
 * suspend); differences below this are the sampling's own noise and are ignored, so that
 * CLOCK_REALTIME does not jitter back and forth at each refresh. */
#define TIMEKEEPER_OFFSET_NOISE_NS 1000
/* The rate is measured over the last this many samples (seconds, at one refresh a second): long
 * enough that sampling noise is a few parts per billion, short enough to follow the host
 * clock's own rate as NTP adjusts it. */
#define TIMEKEEPER_HISTORY 8
/* A sample joins the history only this long after the newest one, so that refreshes in quick
 * succession (vdso_refresh called directly) cannot shrink the baseline to microseconds. */
#define TIMEKEEPER_HISTORY_SPACING_NS 500000000LL

/* One host clock read between two TSC reads: `tsc` is their midpoint, `spread` the cycles
 * between them (the clock was read somewhere in there: the reading's uncertainty). */
struct timekeeper_reading {
    uint64_t tsc;
    int64_t ns;
    uint64_t spread;
};

/* One reading per clock in `mask` (bit N: clock id N); CLOCK_MONOTONIC is always among them. */
struct timekeeper_sample {
    uint32_t mask;
    struct timekeeper_reading at[VVAR_NCLOCKS];
};

struct timekeeper {
    uint32_t mask; /* the clocks served */
    /* The last CLOCK_MONOTONIC readings, oldest at `oldest`: the rate's baseline. */
    struct timekeeper_reading history[TIMEKEEPER_HISTORY];
    unsigned nhistory, oldest;
    uint32_t shift;
    uint64_t rate; /* measured ns per cycle, times 2^shift, over the history */
    uint64_t mult; /* the slope in force: rate, corrected to close the error */
    uint64_t base_tsc;
    int64_t base_mono;            /* the CLOCK_MONOTONIC line at base_tsc */
    int64_t offset[VVAR_NCLOCKS]; /* each clock minus CLOCK_MONOTONIC */
};

/* Starts the lines from two samples taken some time apart (a millisecond gives the rate to
 * within ~1e-4; later updates refine it). `publish_tsc` is where the first line starts. Returns
 * 0, or -EINVAL when the samples show no TSC progress or no time passing. */
int timekeeper_init(struct timekeeper *tk, const struct timekeeper_sample *first,
                    const struct timekeeper_sample *second, uint64_t publish_tsc);

/* Refines the lines with a fresh sample: the rate is remeasured over the history, and the line
 * restarts at `publish_tsc` (a TSC reading taken after the sample, when the new line is
 * published) from the old line's value there, so no reader sees time go back; its slope is set
 * to close the gap to the host clock over the next `slew_ns` nanoseconds. A gap over
 * TIMEKEEPER_STEP_NS is closed at once instead. */
void timekeeper_update(struct timekeeper *tk, const struct timekeeper_sample *s,
                       uint64_t publish_tsc, int64_t slew_ns);

/* The line for `clock` at `tsc`, computed exactly as the vDSO does. */
int64_t timekeeper_read(const struct timekeeper *tk, int clock, uint64_t tsc);

/* base_ns[clock] as the vvar page carries it. */
int64_t timekeeper_base_ns(const struct timekeeper *tk, int clock);

#endif
