/* /proc's formatters on their own: maps lines, bitmaps, status and stat from a snapshot built by
 * hand, compared with Linux's text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <cmocka.h>

#include "sentry/fs/proc/proc_internal.h"

static void test_maps_line_matches_linux(void **state)
{
    struct kernfs_buf b = {0};
    /* Lines as Linux 6.x prints them (names from column 73, unnamed lines end in a space). */
    proc_format_maps_line(&b, 0x5590cc28b000, 0x5590cc290000, PROT_READ | PROT_EXEC, false,
                          0x2000, makedev(0xfe, 0), 247134, "/usr/bin/cat");
    proc_format_maps_line(&b, 0x7f832028c000, 0x7f83202ae000, PROT_READ | PROT_WRITE, false, 0,
                          0, 0, NULL);
    proc_format_maps_line(&b, 0x7f83204f4000, 0x7f83204fb000, PROT_READ, true, 0,
                          makedev(0xfe, 0), 332280, "/x");
    proc_format_maps_line(&b, 0x400000, 0x401000, 0, false, 0, 0, 0, "[vdso]");
    assert_string_equal(b.data,
                        "5590cc28b000-5590cc290000 r-xp 00002000 fe:00 247134                     "
                        "/usr/bin/cat\n"
                        "7f832028c000-7f83202ae000 rw-p 00000000 00:00 0 \n"
                        "7f83204f4000-7f83204fb000 r--s 00000000 fe:00 332280                     "
                        "/x\n"
                        "00400000-00401000 ---p 00000000 00:00 0                                  "
                        "[vdso]\n");
    kernfs_buf_free(&b);
}

static void test_cpu_bitmaps(void **state)
{
    static const struct {
        unsigned nbits, nset;
        const char *mask, *list;
    } cases[] = {
        {1, 1, "1", "0"},
        {2, 2, "3", "0-1"},
        {4, 4, "f", "0-3"},
        {6, 6, "3f", "0-5"},
        {32, 32, "ffffffff", "0-31"},
        {40, 40, "ff,ffffffff", "0-39"},
        {64, 64, "ffffffff,ffffffff", "0-63"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct kernfs_buf b = {0};
        proc_put_cpu_mask(&b, cases[i].nbits, cases[i].nset);
        kernfs_put(&b, " ", 1);
        proc_put_cpu_list(&b, cases[i].nset);
        char want[64];
        snprintf(want, sizeof(want), "%s %s", cases[i].mask, cases[i].list);
        assert_string_equal(b.data, want);
        kernfs_buf_free(&b);
    }
    struct kernfs_buf b = {0};
    proc_put_cpu_mask(&b, 1024, 1);
    assert_int_equal(b.len, 32 * 9 - 1);
    assert_string_equal(b.data + b.len - 17, "00000000,00000001");
    kernfs_buf_free(&b);
}

static struct proc_task sample_task(void)
{
    struct proc_task pt;
    memset(&pt, 0, sizeof(pt));
    pt.tgid = pt.tid = 42;
    pt.ppid = 1;
    pt.pgid = 42;
    pt.sid = 7;
    strcpy(pt.comm, "sh");
    pt.state = 'S';
    pt.leader = true;
    pt.umask = 027;
    pt.threads = 1;
    pt.caught = SIGBIT(SIGCHLD) | SIGBIT(SIGINT);
    pt.exit_signal = SIGCHLD;
    /* Each set printed from its own mask. */
    pt.creds.cap_inheritable = 0x1;
    pt.creds.cap_permitted = CREDS_CAP_ALL;
    pt.creds.cap_effective = CREDS_CAP_ALL & ~0x1ULL;
    pt.creds.cap_bounding = 0xa80425fbULL;
    pt.creds.cap_ambient = 0x400;
    pt.start_ticks = 1234;
    for (int r = 0; r < RLIM_NLIMITS; r++)
        pt.rlimits[r] = (struct rlimit){RLIM_INFINITY, RLIM_INFINITY};
    pt.rlimits[RLIMIT_SIGPENDING] = (struct rlimit){96365, 96365};
    return pt;
}

static void test_status_text(void **state)
{
    struct proc_task pt = sample_task();
    struct mm_stats ms = {.vm_size = 3060 << 10, .vm_peak = 3060 << 10, .rss = 1752 << 10,
                          .rss_peak = 1752 << 10, .rss_anon = 112 << 10, .rss_file = 1640 << 10,
                          .vm_data = 360 << 10, .vm_stack = 132 << 10, .vm_exe = 20 << 10};
    struct mm_proc_ranges mr = {.start_code = 0x401000, .end_code = 0x405000};
    struct kernfs_buf b = {0};
    proc_format_status(&b, &pt, &ms, &mr, 256, 2);
    static const char head[] = "Name:\tsh\nUmask:\t0027\nState:\tS (sleeping)\nTgid:\t42\n"
                               "Ngid:\t0\nPid:\t42\nPPid:\t1\nTracerPid:\t0\nUid:\t0\t0\t0\t0\n"
                               "Gid:\t0\t0\t0\t0\nFDSize:\t256\nGroups:\t \nNStgid:\t42\n"
                               "NSpid:\t42\nNSpgid:\t42\nNSsid:\t7\nVmPeak:\t    3060 kB\n"
                               "VmSize:\t    3060 kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\n"
                               "VmHWM:\t    1752 kB\nVmRSS:\t    1752 kB\n"
                               "RssAnon:\t     112 kB\nRssFile:\t    1640 kB\n"
                               "RssShmem:\t       0 kB\nVmData:\t     360 kB\n"
                               "VmStk:\t     132 kB\nVmExe:\t      16 kB\nVmLib:\t       4 kB\n";
    assert_true(strncmp(b.data, head, sizeof(head) - 1) == 0);
    assert_non_null(strstr(b.data, "\nThreads:\t1\nSigQ:\t0/96365\nSigPnd:\t0000000000000000\n"
                                   "ShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\n"
                                   "SigIgn:\t0000000000000000\nSigCgt:\t0000000000010002\n"));
    assert_non_null(strstr(b.data, "\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n"));
    assert_non_null(strstr(b.data, "\nCapInh:\t0000000000000001\nCapPrm:\t000001ffffffffff\n"
                                   "CapEff:\t000001fffffffffe\nCapBnd:\t00000000a80425fb\n"
                                   "CapAmb:\t0000000000000400\n"));
    kernfs_buf_free(&b);
}

static void test_stat_text(void **state)
{
    struct proc_task pt = sample_task();
    struct mm_stats ms = {.vm_size = 3133440, .rss = 394 * 4096};
    struct mm_proc_ranges mr = {.start_code = 1, .end_code = 2, .start_stack = 3,
                                .start_data = 4, .end_data = 5, .start_brk = 6, .arg_start = 7,
                                .arg_end = 8, .env_start = 9, .env_end = 10};
    struct kernfs_buf b = {0};
    proc_format_stat(&b, &pt, &ms, &mr);
    assert_string_equal(b.data, "42 (sh) S 1 42 7 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 1234 "
                                "3133440 394 18446744073709551615 1 2 3 0 0 0 0 0 65538 0 0 0 "
                                "17 0 0 0 0 0 0 4 5 6 7 8 9 10 0\n");
    kernfs_buf_free(&b);
    struct kernfs_buf m = {0};
    struct mm_stats ms2 = {.vm_size = 10 * 4096, .rss = 4 * 4096, .rss_file = 3 * 4096,
                           .vm_data = 2 * 4096, .vm_stack = 4096};
    struct mm_proc_ranges mr2 = {.start_code = 0x400100, .end_code = 0x402001};
    proc_format_statm(&m, &ms2, &mr2);
    assert_string_equal(m.data, "10 4 3 3 0 3 0\n");
    kernfs_buf_free(&m);
}

static void test_escape_and_ids(void **state)
{
    struct kernfs_buf b = {0};
    proc_put_escaped(&b, "a b\tc\\d\ne", " \t\n\\");
    assert_string_equal(b.data, "a\\040b\\011c\\134d\\012e");
    kernfs_buf_free(&b);
    int id;
    assert_int_equal(proc_parse_id("123", &id), 0);
    assert_int_equal(id, 123);
    assert_int_equal(proc_parse_id("0", &id), 0);
    assert_int_equal(proc_parse_id("012", &id), -ENOENT);
    assert_int_equal(proc_parse_id("+1", &id), -ENOENT);
    assert_int_equal(proc_parse_id("1a", &id), -ENOENT);
    assert_int_equal(proc_parse_id("99999999999", &id), -ENOENT);
    assert_int_equal(proc_parse_id("", &id), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maps_line_matches_linux),
        cmocka_unit_test(test_cpu_bitmaps),
        cmocka_unit_test(test_status_text),
        cmocka_unit_test(test_stat_text),
        cmocka_unit_test(test_escape_and_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
