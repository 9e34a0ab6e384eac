/* lib/bpf: the classic BPF checker's rules, the interpreter's semantics, and a randomized run
 * that feeds the checker and the interpreter arbitrary programs (ASan/UBSan watch the reads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "lib/bpf/bpf.h"

#define LEN(a) ((unsigned)(sizeof(a) / sizeof((a)[0])))

static const uint32_t data[4] = {7, 0x80000000u, 3, 0xffffffffu};

static void test_check_accepts_simple_programs(void **state)
{
    (void)state;
    struct sock_filter ret[] = {BPF_STMT(BPF_RET | BPF_K, 5)};
    struct sock_filter branch[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 7, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 1),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    assert_int_equal(bpf_check_classic(ret, LEN(ret)), 0);
    assert_int_equal(bpf_check_classic(branch, LEN(branch)), 0);
}

static void test_check_refuses_bad_programs(void **state)
{
    (void)state;
    struct sock_filter no_ret[] = {BPF_STMT(BPF_LD | BPF_IMM, 1)};
    struct sock_filter jump_out[] = {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
                                     BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_filter ja_out[] = {BPF_STMT(BPF_JMP | BPF_JA, 0xffffffffu),
                                   BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_filter div0[] = {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0),
                                 BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_filter shift32[] = {BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32),
                                    BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_filter mem16[] = {BPF_STMT(BPF_ST, 16), BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_filter opcode[] = {{0x07 | 0xf0, 0, 0, 0}, BPF_STMT(BPF_RET | BPF_K, 0)};
    /* M[2] is written on one path only. */
    struct sock_filter mem_one_path[] = {
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
        BPF_STMT(BPF_ST, 2),
        BPF_STMT(BPF_LD | BPF_MEM, 2),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    assert_int_equal(bpf_check_classic(no_ret, LEN(no_ret)), -EINVAL);
    assert_int_equal(bpf_check_classic(jump_out, LEN(jump_out)), -EINVAL);
    assert_int_equal(bpf_check_classic(ja_out, LEN(ja_out)), -EINVAL);
    assert_int_equal(bpf_check_classic(div0, LEN(div0)), -EINVAL);
    assert_int_equal(bpf_check_classic(shift32, LEN(shift32)), -EINVAL);
    assert_int_equal(bpf_check_classic(mem16, LEN(mem16)), -EINVAL);
    assert_int_equal(bpf_check_classic(opcode, LEN(opcode)), -EINVAL);
    assert_int_equal(bpf_check_classic(mem_one_path, LEN(mem_one_path)), -EINVAL);
    assert_int_equal(bpf_check_classic(no_ret, 0), -EINVAL);
    static struct sock_filter big[BPF_PROG_MAX_INSNS + 1];
    for (unsigned i = 0; i < LEN(big); i++)
        big[i] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
    assert_int_equal(bpf_check_classic(big, BPF_PROG_MAX_INSNS), 0);
    assert_int_equal(bpf_check_classic(big, BPF_PROG_MAX_INSNS + 1), -EINVAL);
}

static void test_scratch_written_on_every_path(void **state)
{
    (void)state;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 7, 0, 2),
        BPF_STMT(BPF_ST, 1),
        BPF_STMT(BPF_JMP | BPF_JA, 1),
        BPF_STMT(BPF_ST, 1),
        BPF_STMT(BPF_LD | BPF_MEM, 1),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    assert_int_equal(bpf_check_classic(f, LEN(f)), 0);
    assert_int_equal(bpf_run(f, LEN(f), data, sizeof(data)), 7);
}

static void test_run_alu_and_jumps(void **state)
{
    (void)state;
    /* ((data[2] * 5 + 1) << 2) ^ 1 = 65; then JGT/JGE/JSET against X. */
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8),
        BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 5),
        BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
        BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 2),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_K, 1),
        BPF_STMT(BPF_LDX | BPF_IMM, 64),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 3),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 66, 1, 0),
        BPF_STMT(BPF_RET | BPF_A, 0),
        BPF_STMT(BPF_RET | BPF_K, 0xdead),
    };
    assert_int_equal(bpf_check_classic(f, LEN(f)), 0);
    assert_int_equal(bpf_run(f, LEN(f), data, sizeof(data)), 65);
}

static void test_run_edge_cases(void **state)
{
    (void)state;
    /* Division by an X of 0 ends the program with 0. */
    struct sock_filter div_x[] = {BPF_STMT(BPF_LD | BPF_IMM, 9), BPF_STMT(BPF_LDX | BPF_IMM, 0),
                                  BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0),
                                  BPF_STMT(BPF_RET | BPF_K, 0x1234)};
    assert_int_equal(bpf_check_classic(div_x, LEN(div_x)), 0);
    assert_int_equal(bpf_run(div_x, LEN(div_x), data, sizeof(data)), 0);
    /* A load past the data returns 0; BPF_LEN is the data's size. */
    struct sock_filter past[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 14),
                                 BPF_STMT(BPF_RET | BPF_K, 1)};
    assert_int_equal(bpf_run(past, LEN(past), data, sizeof(data)), 0);
    struct sock_filter len[] = {BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
                                BPF_STMT(BPF_RET | BPF_A, 0)};
    assert_int_equal(bpf_run(len, LEN(len), data, sizeof(data)), sizeof(data));
    /* Shifts by X use its low 5 bits; NEG is two's complement. */
    struct sock_filter shx[] = {BPF_STMT(BPF_LD | BPF_IMM, 1), BPF_STMT(BPF_LDX | BPF_IMM, 33),
                                BPF_STMT(BPF_ALU | BPF_LSH | BPF_X, 0),
                                BPF_STMT(BPF_ALU | BPF_NEG, 0), BPF_STMT(BPF_RET | BPF_A, 0)};
    assert_int_equal(bpf_run(shx, LEN(shx), data, sizeof(data)), (uint32_t)-2);
    /* TAX/TXA and scratch memory. */
    struct sock_filter misc[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_STX, 15),
        BPF_STMT(BPF_LD | BPF_IMM, 0),
        BPF_STMT(BPF_LD | BPF_MEM, 15),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    assert_int_equal(bpf_check_classic(misc, LEN(misc)), 0);
    assert_int_equal(bpf_run(misc, LEN(misc), data, sizeof(data)), 0x80000000u);
}

/* xorshift64: a fixed sequence, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random programs: the checker never crashes, and what it accepts runs to an answer within
 * bounds; the interpreter stays in bounds even on programs the checker refused. */
static void test_random_programs(void **state)
{
    (void)state;
    static const uint16_t codes[] = {
        BPF_LD | BPF_W | BPF_ABS,
        BPF_LD | BPF_H | BPF_IND,
        BPF_LD | BPF_B | BPF_ABS,
        BPF_LD | BPF_IMM,
        BPF_LD | BPF_MEM,
        BPF_LDX | BPF_MEM,
        BPF_LDX | BPF_B | BPF_MSH,
        BPF_ST,
        BPF_STX,
        BPF_ALU | BPF_DIV | BPF_X,
        BPF_ALU | BPF_MOD | BPF_K,
        BPF_ALU | BPF_RSH | BPF_X,
        BPF_ALU | BPF_ADD | BPF_K,
        BPF_JMP | BPF_JA,
        BPF_JMP | BPF_JEQ | BPF_K,
        BPF_JMP | BPF_JGT | BPF_X,
        BPF_JMP | BPF_JSET | BPF_K,
        BPF_RET | BPF_K,
        BPF_RET | BPF_A,
        BPF_MISC | BPF_TAX,
        BPF_LD | BPF_W | BPF_LEN,
    };
    struct sock_filter prog[64];
    unsigned accepted = 0;

    for (int iter = 0; iter < 200000; iter++) {
        unsigned len = 1 + (unsigned)(rng() % LEN(prog));
        for (unsigned i = 0; i < len; i++) {
            uint64_t r = rng();
            prog[i].code = (r & 7) == 0 ? (uint16_t)(r >> 8) : codes[(r >> 8) % LEN(codes)];
            prog[i].jt = (uint8_t)(rng() % 4);
            prog[i].jf = (uint8_t)(rng() % 4);
            prog[i].k = (r >> 40) & 1 ? (uint32_t)(rng() % 20) : (uint32_t)rng();
        }
        prog[len - 1].code = (rng() & 15) ? (uint16_t)(BPF_RET | BPF_A) : prog[len - 1].code;
        if (bpf_check_classic(prog, len) == 0)
            accepted++;
        (void)bpf_run(prog, len, data, sizeof(data));
    }
    /* The generator must reach past the checker often enough to test the interpreter. */
    assert_true(accepted > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_accepts_simple_programs),
        cmocka_unit_test(test_check_refuses_bad_programs),
        cmocka_unit_test(test_scratch_written_on_every_path),
        cmocka_unit_test(test_run_alu_and_jumps),
        cmocka_unit_test(test_run_edge_cases),
        cmocka_unit_test(test_random_programs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
