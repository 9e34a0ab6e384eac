/* TSC-to-clock lines for the vDSO: calibration against the host's clocks, slewing toward them,
 * and the conversion the vDSO itself performs (arch/x86_64/vdso/vdso.c). */
#include "sentry/vdso/timekeeper.h"

#include <errno.h>
#include <string.h>

/* The slope is kept below 2^62 so a correction of up to 2x never overflows it. */
#define MULT_LIMIT (1ULL << 62)
#define MAX_SHIFT 62

/* The slope from `from` to `to` as ns per cycle times 2^shift; 0 if it cannot be measured. */
static uint64_t measure_rate(const struct timekeeper_reading *from,
                             const struct timekeeper_reading *to, uint32_t shift)
{
    if (to->tsc <= from->tsc || to->ns <= from->ns)
        return 0;
    unsigned __int128 ns = (unsigned __int128)(uint64_t)(to->ns - from->ns) << shift;
    unsigned __int128 rate = ns / (to->tsc - from->tsc);
    return rate >= MULT_LIMIT ? 0 : (uint64_t)rate;
}

/* The value of a line through `r` with slope `rate` at `tsc` (which may be before r->tsc). */
static int64_t extrapolate(const struct timekeeper_reading *r, uint64_t rate, uint32_t shift,
                           uint64_t tsc)
{
    __int128 cycles = (__int128)tsc - (__int128)r->tsc;
    return r->ns + (int64_t)((cycles * (__int128)rate) >> shift);
}

static void measure_offsets(struct timekeeper *tk, const struct timekeeper_sample *s, bool first)
{
    const struct timekeeper_reading *mono = &s->at[VVAR_CLOCK_MONOTONIC];

    for (int c = 0; c < VVAR_NCLOCKS; c++) {
        if (!(tk->mask & (1U << c)) || !(s->mask & (1U << c)))
            continue;
        /* The host's CLOCK_MONOTONIC at the moment this clock was read, by the measured rate:
         * the readings are microseconds apart, so the rate's error does not matter here. */
        int64_t off = s->at[c].ns - extrapolate(mono, tk->rate, tk->shift, s->at[c].tsc);
        int64_t change = off - tk->offset[c];
        if (first || change > TIMEKEEPER_OFFSET_NOISE_NS || change < -TIMEKEEPER_OFFSET_NOISE_NS)
            tk->offset[c] = off;
    }
    tk->offset[VVAR_CLOCK_MONOTONIC] = 0;
}

static void remember(struct timekeeper *tk, const struct timekeeper_reading *r)
{
    if (tk->nhistory < TIMEKEEPER_HISTORY) {
        tk->history[(tk->oldest + tk->nhistory++) % TIMEKEEPER_HISTORY] = *r;
        return;
    }
    tk->history[tk->oldest] = *r;
    tk->oldest = (tk->oldest + 1) % TIMEKEEPER_HISTORY;
}

int timekeeper_init(struct timekeeper *tk, const struct timekeeper_sample *first,
                    const struct timekeeper_sample *second, uint64_t publish_tsc)
{
    const uint32_t mono_bit = 1U << VVAR_CLOCK_MONOTONIC;

    if (!(first->mask & mono_bit) || !(second->mask & mono_bit))
        return -EINVAL;
    memset(tk, 0, sizeof(*tk));
    tk->mask = first->mask & second->mask;
    const struct timekeeper_reading *then = &first->at[VVAR_CLOCK_MONOTONIC];
    const struct timekeeper_reading *now = &second->at[VVAR_CLOCK_MONOTONIC];
    /* The largest shift that keeps the slope below MULT_LIMIT: the most precise fixed point. */
    for (tk->shift = MAX_SHIFT;; tk->shift--) {
        tk->rate = measure_rate(then, now, tk->shift);
        if (tk->rate != 0 || tk->shift == 0)
            break;
    }
    if (tk->rate == 0)
        return -EINVAL;
    remember(tk, then);
    remember(tk, now);
    tk->mult = tk->rate;
    tk->base_tsc = publish_tsc;
    tk->base_mono = extrapolate(now, tk->rate, tk->shift, publish_tsc);
    measure_offsets(tk, second, true);
    return 0;
}

void timekeeper_update(struct timekeeper *tk, const struct timekeeper_sample *s,
                       uint64_t publish_tsc, int64_t slew_ns)
{
    const struct timekeeper_reading *now = &s->at[VVAR_CLOCK_MONOTONIC];

    if (!(s->mask & (1U << VVAR_CLOCK_MONOTONIC)))
        return;
    uint64_t rate = measure_rate(&tk->history[tk->oldest], now, tk->shift);
    if (rate != 0) {
        tk->rate = rate;
        const struct timekeeper_reading *newest =
            &tk->history[(tk->oldest + tk->nhistory - 1) % TIMEKEEPER_HISTORY];
        if (now->ns - newest->ns >= TIMEKEEPER_HISTORY_SPACING_NS)
            remember(tk, now);
    }
    /* Where the host clock will be at publish_tsc, and where our line will be. */
    int64_t host = extrapolate(now, tk->rate, tk->shift, publish_tsc);
    int64_t ours = timekeeper_read(tk, VVAR_CLOCK_MONOTONIC, publish_tsc);
    int64_t gap = host - ours;
    if (gap > TIMEKEEPER_STEP_NS || gap < -TIMEKEEPER_STEP_NS || slew_ns <= 0) {
        tk->base_mono = host;
        tk->mult = tk->rate;
    } else {
        /* Over the next slew_ns the line gains `gap` on the measured rate: slope *
         * (slew + gap) / slew. |gap| < STEP_NS, so the slope stays within a factor of 2 for
         * any slew_ns above 2 * STEP_NS. */
        __int128 mult = (__int128)tk->rate * (slew_ns + gap) / slew_ns;
        if (mult <= 0 || mult >= (__int128)MULT_LIMIT * 2)
            mult = tk->rate;
        tk->base_mono = ours;
        tk->mult = (uint64_t)mult;
    }
    tk->base_tsc = publish_tsc;
    measure_offsets(tk, s, false);
}

int64_t timekeeper_base_ns(const struct timekeeper *tk, int clock)
{
    return tk->base_mono + tk->offset[clock];
}

int64_t timekeeper_read(const struct timekeeper *tk, int clock, uint64_t tsc)
{
    /* The vDSO's arithmetic: a TSC behind the base counts as no time passed. */
    uint64_t delta = tsc > tk->base_tsc ? tsc - tk->base_tsc : 0;
    uint64_t elapsed = (uint64_t)(((unsigned __int128)delta * tk->mult) >> tk->shift);
    return (int64_t)((uint64_t)timekeeper_base_ns(tk, clock) + elapsed);
}
