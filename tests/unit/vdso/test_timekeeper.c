/* Unit tests for the vDSO's TSC-to-clock arithmetic (sentry/vdso/timekeeper.c), driven by a
 * simulated TSC and host clocks over hours: the lines' error against the host clock stays
 * bounded, time never goes back at a refresh, offsets ignore noise and follow steps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "sentry/vdso/timekeeper.h"

#define NS_PER_SEC 1000000000LL
#define HOUR_NS (3600 * NS_PER_SEC)
#define REAL_EPOCH (1700000000LL * NS_PER_SEC) /* CLOCK_REALTIME - CLOCK_MONOTONIC */
#define BOOT_OFFSET (42 * NS_PER_SEC)          /* CLOCK_BOOTTIME - CLOCK_MONOTONIC */

/* A simulated machine: true time in ns; the TSC runs at `hz` (which the timekeeper does not
 * know); the host's CLOCK_MONOTONIC runs at true time times (1 + drift(t)), NTP-style. */
struct machine {
    double hz;
    double drift_ppm; /* amplitude of the host clock's slow rate wobble */
    double period_ns; /* its period */
    double noise_ns;  /* sampling error of each reading, uniform in +-noise */
    int64_t real_offset;
    unsigned rng;
};

static double rnd_unit(struct machine *m)
{
    m->rng = m->rng * 1103515245U + 12345U;
    return ((m->rng >> 8) & 0xffff) / 65536.0;
}

static uint64_t tsc_at(const struct machine *m, double t)
{
    return (uint64_t)(1000000.0 + t * m->hz / 1e9);
}

/* The host clock at true time t: the integral of 1 + a * sin(2 pi t / P). */
static double mono_at(const struct machine *m, double t)
{
    double a = m->drift_ppm * 1e-6, w = 2 * M_PI / m->period_ns;
    return 5e9 + t + (m->drift_ppm ? a * (1 - cos(w * t)) / w : 0);
}

static void take_sample(struct machine *m, double t, struct timekeeper_sample *s)
{
    static const int clocks[] = {VVAR_CLOCK_REALTIME, VVAR_CLOCK_MONOTONIC, VVAR_CLOCK_BOOTTIME};

    s->mask = 0;
    for (size_t i = 0; i < 3; i++) {
        int c = clocks[i];
        double at = t + 50.0 * (double)i; /* each clock read 50 ns after the previous */
        double err = (rnd_unit(m) * 2 - 1) * m->noise_ns;
        s->at[c].tsc = tsc_at(m, at);
        s->at[c].ns = (int64_t)(mono_at(m, at) + err);
        if (c == VVAR_CLOCK_REALTIME)
            s->at[c].ns += m->real_offset;
        if (c == VVAR_CLOCK_BOOTTIME)
            s->at[c].ns += BOOT_OFFSET;
        s->mask |= 1U << c;
    }
}

static void start(struct machine *m, struct timekeeper *tk, double *t)
{
    struct timekeeper_sample a, b;

    take_sample(m, *t, &a);
    *t += 2e6; /* vdso.c calibrates over 2 ms */
    take_sample(m, *t, &b);
    *t += 1000;
    assert_int_equal(timekeeper_init(tk, &a, &b, tsc_at(m, *t)), 0);
}

/* Runs `hours` of 1 s refreshes (each 0-20 ms late) and returns the largest error of
 * CLOCK_MONOTONIC against the host seen at random moments after `settle_ns`; checks at each
 * refresh that the new line starts where the old one was. */
static double run(struct machine *m, double hours, double settle_ns)
{
    struct timekeeper tk;
    double t = 0, worst = 0;

    start(m, &tk, &t);
    while (t < hours * HOUR_NS) {
        double next = t + 1e9 + rnd_unit(m) * 2e7;
        /* Readers between refreshes, after the line's start (3 us after the sample). */
        for (int i = 0; i < 4; i++) {
            double at = t + 3000 + rnd_unit(m) * (next - t - 3000);
            double err =
                (double)timekeeper_read(&tk, VVAR_CLOCK_MONOTONIC, tsc_at(m, at)) - mono_at(m, at);
            if (at > settle_ns && fabs(err) > worst)
                worst = fabs(err);
        }
        t = next;
        struct timekeeper_sample s;
        take_sample(m, t, &s);
        uint64_t publish = tsc_at(m, t + 3000);
        int64_t before = timekeeper_read(&tk, VVAR_CLOCK_MONOTONIC, publish - 1);
        int64_t old_at = timekeeper_read(&tk, VVAR_CLOCK_MONOTONIC, publish);
        timekeeper_update(&tk, &s, publish, NS_PER_SEC);
        int64_t after = timekeeper_read(&tk, VVAR_CLOCK_MONOTONIC, publish);
        assert_true(after >= before);
        assert_int_equal(after, old_at); /* slewing: continuous at the switch */
    }
    return worst;
}

/* A steady host clock and an exact reading: after a minute of refreshes the line is within
 * 100 ns of the host for three hours. */
static void test_steady_clock_error_bound_over_hours(void **state)
{
    struct machine m = {.hz = 2899873412.0, .noise_ns = 0, .real_offset = REAL_EPOCH, .rng = 1};
    double worst = run(&m, 3, 60e9);
    assert_true(worst < 100);
}

/* Noisy readings (+-30 ns) and a host clock whose rate wobbles by 10 ppm over ten minutes (NTP
 * at work): the error stays under 2 us over six hours. */
static void test_drifting_noisy_clock_error_bound_over_hours(void **state)
{
    struct machine m = {.hz = 3100000000.0 * (1 + 37e-6),
                        .drift_ppm = 10,
                        .period_ns = 600e9,
                        .noise_ns = 30,
                        .real_offset = REAL_EPOCH,
                        .rng = 7};
    double worst = run(&m, 6, 60e9);
    print_message("worst CLOCK_MONOTONIC error over 6 h: %.0f ns\n", worst);
    assert_true(worst < 2000);
}

/* Without refreshes (the timer stalled) the error grows only with the slope's error (the
 * measured rate's and the last correction's, a few parts in 1e8 with noisy readings): ten
 * minutes unrefreshed stay within 50 us. */
static void test_unrefreshed_drift_is_bounded(void **state)
{
    struct machine m = {.hz = 2400000000.0, .noise_ns = 30, .real_offset = REAL_EPOCH, .rng = 3};
    struct timekeeper tk;
    double t = 0;

    start(&m, &tk, &t);
    for (; t < HOUR_NS; t += 1e9) {
        struct timekeeper_sample s;
        take_sample(&m, t, &s);
        timekeeper_update(&tk, &s, tsc_at(&m, t + 1000), NS_PER_SEC);
    }
    double later = t + 600e9;
    double err =
        (double)timekeeper_read(&tk, VVAR_CLOCK_MONOTONIC, tsc_at(&m, later)) - mono_at(&m, later);
    print_message("error after 10 min without a refresh: %.0f ns\n", err);
    assert_true(fabs(err) < 50000);
}

/* Realtime and boottime are monotonic plus their offsets; sampling noise leaves the offsets
 * alone (no jitter at refresh), a host step of the wall clock is followed at the next refresh. */
static void test_offsets_ignore_noise_and_follow_steps(void **state)
{
    struct machine m = {.hz = 3000000000.0, .noise_ns = 200, .real_offset = REAL_EPOCH, .rng = 5};
    struct timekeeper tk;
    double t = 0;

    start(&m, &tk, &t);
    int64_t real_off = tk.offset[VVAR_CLOCK_REALTIME];
    assert_true(llabs(real_off - REAL_EPOCH) < 1000);
    assert_true(llabs(tk.offset[VVAR_CLOCK_BOOTTIME] - BOOT_OFFSET) < 1000);
    for (int i = 0; i < 100; i++) {
        t += 1e9;
        struct timekeeper_sample s;
        take_sample(&m, t, &s);
        timekeeper_update(&tk, &s, tsc_at(&m, t + 1000), NS_PER_SEC);
        assert_int_equal(tk.offset[VVAR_CLOCK_REALTIME], real_off);
    }
    int64_t mono = timekeeper_read(&tk, VVAR_CLOCK_MONOTONIC, tsc_at(&m, t));
    assert_int_equal(timekeeper_read(&tk, VVAR_CLOCK_REALTIME, tsc_at(&m, t)), mono + real_off);

    m.real_offset += 5 * NS_PER_SEC; /* settimeofday on the host */
    t += 1e9;
    struct timekeeper_sample s;
    take_sample(&m, t, &s);
    timekeeper_update(&tk, &s, tsc_at(&m, t + 1000), NS_PER_SEC);
    assert_true(llabs(tk.offset[VVAR_CLOCK_REALTIME] - (REAL_EPOCH + 5 * NS_PER_SEC)) < 1000);
    double at = t + 5e8;
    double real = (double)timekeeper_read(&tk, VVAR_CLOCK_REALTIME, tsc_at(&m, at));
    assert_true(fabs(real - (mono_at(&m, at) + (double)m.real_offset)) < 2000);
}

/* A gap beyond TIMEKEEPER_STEP_NS is closed at once; a small one is slewed, not stepped: the
 * line stays continuous and meets the host clock one slew period later. */
static void test_large_gap_steps_small_gap_slews(void **state)
{
    struct machine m = {.hz = 3000000000.0, .real_offset = REAL_EPOCH, .rng = 9};
    struct timekeeper tk;
    struct timekeeper_sample s;
    double t = 0;

    start(&m, &tk, &t);
    tk.base_mono -= 50000000; /* our line is 50 ms behind the host (a stalled TSC, say) */
    t += 1e9;
    take_sample(&m, t, &s);
    uint64_t publish = tsc_at(&m, t);
    timekeeper_update(&tk, &s, publish, NS_PER_SEC);
    assert_true(fabs((double)timekeeper_read(&tk, VVAR_CLOCK_MONOTONIC, publish) - mono_at(&m, t)) <
                10);

    tk.base_mono -= 5000; /* 5 us behind: slewed */
    t += 1e9;
    take_sample(&m, t, &s);
    publish = tsc_at(&m, t);
    int64_t ours = timekeeper_read(&tk, VVAR_CLOCK_MONOTONIC, publish);
    assert_true(mono_at(&m, t) - (double)ours > 4990);
    timekeeper_update(&tk, &s, publish, NS_PER_SEC);
    assert_int_equal(timekeeper_read(&tk, VVAR_CLOCK_MONOTONIC, publish), ours);
    double later = t + 1e9;
    assert_true(fabs((double)timekeeper_read(&tk, VVAR_CLOCK_MONOTONIC, tsc_at(&m, later)) -
                     mono_at(&m, later)) < 10);
}

/* The fixed point adapts to the TSC's rate: slow (100 MHz, 10 ns a cycle) and fast (5 GHz)
 * counters both get the most precise shift, and after a minute's calibration convert an hour
 * ahead to within 2 us without overflow. */
static void test_shift_fits_slow_and_fast_tsc(void **state)
{
    const double rates[] = {100e6, 1e9, 5e9};
    for (size_t i = 0; i < 3; i++) {
        struct machine m = {.hz = rates[i], .real_offset = REAL_EPOCH, .rng = 11};
        struct timekeeper tk;
        struct timekeeper_sample s;
        double t = 0;
        start(&m, &tk, &t);
        assert_true(tk.mult < (1ULL << 62));
        /* The most precise shift: the largest there is, or the one that nearly fills 62 bits. */
        assert_true(tk.shift == 62 || tk.mult >= (1ULL << 60));
        /* Two refreshes: the first closes the calibration's gap, the second finds none left
         * and leaves the slope at the measured rate. */
        for (int k = 0; k < 2; k++) {
            t += 30e9;
            take_sample(&m, t, &s);
            timekeeper_update(&tk, &s, tsc_at(&m, t), 30 * NS_PER_SEC);
        }
        double at = t + HOUR_NS;
        double err =
            (double)timekeeper_read(&tk, VVAR_CLOCK_MONOTONIC, tsc_at(&m, at)) - mono_at(&m, at);
        print_message("%.0f Hz: shift %u, error an hour ahead %.0f ns\n", rates[i], tk.shift, err);
        assert_true(fabs(err) < 2000);
    }
}

/* Samples without progress cannot give a rate. */
static void test_init_rejects_samples_without_progress(void **state)
{
    struct machine m = {.hz = 3e9, .rng = 13};
    struct timekeeper tk;
    struct timekeeper_sample a;

    take_sample(&m, 0, &a);
    assert_int_equal(timekeeper_init(&tk, &a, &a, 0), -EINVAL);
    struct timekeeper_sample no_mono = a;
    no_mono.mask &= ~(1U << VVAR_CLOCK_MONOTONIC);
    assert_int_equal(timekeeper_init(&tk, &no_mono, &a, 0), -EINVAL);
}

/* A TSC read on a CPU slightly behind the base counts as no time passed, never as a huge
 * unsigned delta. */
static void test_tsc_behind_base_reads_base(void **state)
{
    struct machine m = {.hz = 3e9, .real_offset = REAL_EPOCH, .rng = 15};
    struct timekeeper tk;
    double t = 0;

    start(&m, &tk, &t);
    assert_int_equal(timekeeper_read(&tk, VVAR_CLOCK_MONOTONIC, tk.base_tsc - 100),
                     timekeeper_base_ns(&tk, VVAR_CLOCK_MONOTONIC));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_clock_error_bound_over_hours),
        cmocka_unit_test(test_drifting_noisy_clock_error_bound_over_hours),
        cmocka_unit_test(test_unrefreshed_drift_is_bounded),
        cmocka_unit_test(test_offsets_ignore_noise_and_follow_steps),
        cmocka_unit_test(test_large_gap_steps_small_gap_slews),
        cmocka_unit_test(test_shift_fits_slow_and_fast_tsc),
        cmocka_unit_test(test_init_rejects_samples_without_progress),
        cmocka_unit_test(test_tsc_behind_base_reads_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
