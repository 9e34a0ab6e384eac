/* Classic BPF: the checker follows Linux's net/core/filter.c (bpf_check_classic and
 * check_load_and_stores), the interpreter the semantics of its cBPF-to-eBPF conversion. */
#include "lib/bpf/bpf.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* The opcodes a classic program may use (Linux's chk_code_allowed, without the ancillary
 * loads, which are offsets in the load instructions and not opcodes of their own). */
static bool opcode_allowed(uint16_t code)
{
    switch (code) {
    case BPF_ALU | BPF_ADD | BPF_K:
    case BPF_ALU | BPF_ADD | BPF_X:
    case BPF_ALU | BPF_SUB | BPF_K:
    case BPF_ALU | BPF_SUB | BPF_X:
    case BPF_ALU | BPF_MUL | BPF_K:
    case BPF_ALU | BPF_MUL | BPF_X:
    case BPF_ALU | BPF_DIV | BPF_K:
    case BPF_ALU | BPF_DIV | BPF_X:
    case BPF_ALU | BPF_MOD | BPF_K:
    case BPF_ALU | BPF_MOD | BPF_X:
    case BPF_ALU | BPF_AND | BPF_K:
    case BPF_ALU | BPF_AND | BPF_X:
    case BPF_ALU | BPF_OR | BPF_K:
    case BPF_ALU | BPF_OR | BPF_X:
    case BPF_ALU | BPF_XOR | BPF_K:
    case BPF_ALU | BPF_XOR | BPF_X:
    case BPF_ALU | BPF_LSH | BPF_K:
    case BPF_ALU | BPF_LSH | BPF_X:
    case BPF_ALU | BPF_RSH | BPF_K:
    case BPF_ALU | BPF_RSH | BPF_X:
    case BPF_ALU | BPF_NEG:
    case BPF_LD | BPF_W | BPF_ABS:
    case BPF_LD | BPF_H | BPF_ABS:
    case BPF_LD | BPF_B | BPF_ABS:
    case BPF_LD | BPF_W | BPF_LEN:
    case BPF_LD | BPF_W | BPF_IND:
    case BPF_LD | BPF_H | BPF_IND:
    case BPF_LD | BPF_B | BPF_IND:
    case BPF_LD | BPF_IMM:
    case BPF_LD | BPF_MEM:
    case BPF_LDX | BPF_W | BPF_LEN:
    case BPF_LDX | BPF_B | BPF_MSH:
    case BPF_LDX | BPF_IMM:
    case BPF_LDX | BPF_MEM:
    case BPF_ST:
    case BPF_STX:
    case BPF_MISC | BPF_TAX:
    case BPF_MISC | BPF_TXA:
    case BPF_RET | BPF_K:
    case BPF_RET | BPF_A:
    case BPF_JMP | BPF_JA:
    case BPF_JMP | BPF_JEQ | BPF_K:
    case BPF_JMP | BPF_JEQ | BPF_X:
    case BPF_JMP | BPF_JGE | BPF_K:
    case BPF_JMP | BPF_JGE | BPF_X:
    case BPF_JMP | BPF_JGT | BPF_K:
    case BPF_JMP | BPF_JGT | BPF_X:
    case BPF_JMP | BPF_JSET | BPF_K:
    case BPF_JMP | BPF_JSET | BPF_X:
        return true;
    default:
        return false;
    }
}

static bool is_conditional_jump(uint16_t code)
{
    return BPF_CLASS(code) == BPF_JMP && BPF_OP(code) != BPF_JA;
}

/* Linux's check_load_and_stores(): a scratch word may be read only where every path to the
 * read stored it. Jumps go forward only, so one pass in order sees every predecessor first. */
static int check_scratch_use(const struct sock_filter *prog, unsigned len)
{
    uint16_t masks[BPF_PROG_MAX_INSNS];
    uint16_t valid = 0; /* one bit per scratch word written on the path to here */

    memset(masks, 0xff, len * sizeof(masks[0]));
    for (unsigned pc = 0; pc < len; pc++) {
        const struct sock_filter *in = &prog[pc];
        valid &= masks[pc];
        switch (in->code) {
        case BPF_ST:
        case BPF_STX:
            valid |= (uint16_t)(1u << in->k);
            break;
        case BPF_LD | BPF_MEM:
        case BPF_LDX | BPF_MEM:
            if (!(valid & (1u << in->k)))
                return -EINVAL;
            break;
        case BPF_JMP | BPF_JA:
            masks[pc + 1 + in->k] &= valid;
            valid = 0xffff; /* nothing falls through to the next instruction */
            break;
        default:
            if (is_conditional_jump(in->code)) {
                masks[pc + 1 + in->jt] &= valid;
                masks[pc + 1 + in->jf] &= valid;
                valid = 0xffff;
            }
            break;
        }
    }
    return 0;
}

int bpf_check_classic(const struct sock_filter *prog, unsigned len)
{
    if (len == 0 || len > BPF_PROG_MAX_INSNS)
        return -EINVAL;
    for (unsigned pc = 0; pc < len; pc++) {
        const struct sock_filter *in = &prog[pc];
        if (!opcode_allowed(in->code))
            return -EINVAL;
        switch (in->code) {
        case BPF_ALU | BPF_DIV | BPF_K:
        case BPF_ALU | BPF_MOD | BPF_K:
            if (in->k == 0)
                return -EINVAL;
            break;
        case BPF_ALU | BPF_LSH | BPF_K:
        case BPF_ALU | BPF_RSH | BPF_K:
            if (in->k >= 32)
                return -EINVAL;
            break;
        case BPF_LD | BPF_MEM:
        case BPF_LDX | BPF_MEM:
        case BPF_ST:
        case BPF_STX:
            if (in->k >= BPF_PROG_MEMWORDS)
                return -EINVAL;
            break;
        case BPF_JMP | BPF_JA:
            /* Compared in 64 bits: k is any u32 the guest chose. */
            if ((uint64_t)in->k >= (uint64_t)(len - pc - 1))
                return -EINVAL;
            break;
        default:
            if (is_conditional_jump(in->code) && (pc + in->jt + 1 >= len || pc + in->jf + 1 >= len))
                return -EINVAL;
            break;
        }
    }
    uint16_t last = prog[len - 1].code;
    if (last != (BPF_RET | BPF_K) && last != (BPF_RET | BPF_A))
        return -EINVAL;
    return check_scratch_use(prog, len);
}

/* A load of `width` bytes at `off` (host byte order); false past the data. */
static bool load(const void *data, size_t size, uint64_t off, unsigned width, uint32_t *out)
{
    if (off > size || size - off < width)
        return false;
    const uint8_t *p = (const uint8_t *)data + off;
    if (width == 4) {
        memcpy(out, p, 4);
    } else if (width == 2) {
        uint16_t v;
        memcpy(&v, p, 2);
        *out = v;
    } else {
        *out = p[0];
    }
    return true;
}

static unsigned load_width(uint16_t code)
{
    switch (BPF_SIZE(code)) {
    case BPF_W:
        return 4;
    case BPF_H:
        return 2;
    default:
        return 1;
    }
}

/* One ALU instruction on a; false for a division or modulo by zero. */
static bool alu(uint16_t code, uint32_t *a, uint32_t src)
{
    switch (BPF_OP(code)) {
    case BPF_ADD:
        *a += src;
        break;
    case BPF_SUB:
        *a -= src;
        break;
    case BPF_MUL:
        *a *= src;
        break;
    case BPF_DIV:
        if (src == 0)
            return false;
        *a /= src;
        break;
    case BPF_MOD:
        if (src == 0)
            return false;
        *a %= src;
        break;
    case BPF_AND:
        *a &= src;
        break;
    case BPF_OR:
        *a |= src;
        break;
    case BPF_XOR:
        *a ^= src;
        break;
    case BPF_LSH:
        *a <<= src & 31;
        break;
    case BPF_RSH:
        *a >>= src & 31;
        break;
    case BPF_NEG:
        *a = -*a;
        break;
    default:
        return false;
    }
    return true;
}

static bool jump_taken(uint16_t code, uint32_t a, uint32_t src)
{
    switch (BPF_OP(code)) {
    case BPF_JEQ:
        return a == src;
    case BPF_JGT:
        return a > src;
    case BPF_JGE:
        return a >= src;
    default: /* BPF_JSET */
        return (a & src) != 0;
    }
}

uint32_t bpf_run(const struct sock_filter *prog, unsigned len, const void *data, size_t size)
{
    uint32_t a = 0, x = 0, v;
    uint32_t mem[BPF_PROG_MEMWORDS] = {0};

    /* Jumps only go forward, so pc grows on every step: at most len steps. */
    for (uint64_t pc = 0; pc < len; pc++) {
        const struct sock_filter *in = &prog[pc];
        uint32_t src = BPF_SRC(in->code) == BPF_X ? x : in->k;

        switch (BPF_CLASS(in->code)) {
        case BPF_LD:
        case BPF_LDX: {
            uint32_t *dst = BPF_CLASS(in->code) == BPF_LD ? &a : &x;
            switch (BPF_MODE(in->code)) {
            case BPF_IMM:
                *dst = in->k;
                break;
            case BPF_LEN:
                *dst = (uint32_t)size;
                break;
            case BPF_MEM:
                if (in->k >= BPF_PROG_MEMWORDS)
                    return 0;
                *dst = mem[in->k];
                break;
            case BPF_ABS:
            case BPF_IND: {
                uint64_t off = in->k + (BPF_MODE(in->code) == BPF_IND ? (uint64_t)x : 0);
                if (!load(data, size, off, load_width(in->code), &v))
                    return 0;
                *dst = v;
                break;
            }
            case BPF_MSH: /* X = 4 * (P[k] & 0xf): the IPv4 header length */
                if (!load(data, size, in->k, 1, &v))
                    return 0;
                x = (v & 0xf) << 2;
                break;
            default:
                return 0;
            }
            break;
        }
        case BPF_ST:
        case BPF_STX:
            if (in->k >= BPF_PROG_MEMWORDS)
                return 0;
            mem[in->k] = BPF_CLASS(in->code) == BPF_ST ? a : x;
            break;
        case BPF_ALU:
            if (!alu(in->code, &a, src))
                return 0;
            break;
        case BPF_JMP:
            if (BPF_OP(in->code) == BPF_JA)
                pc += in->k;
            else
                pc += jump_taken(in->code, a, src) ? in->jt : in->jf;
            break;
        case BPF_RET:
            return BPF_RVAL(in->code) == BPF_A ? a : in->k;
        case BPF_MISC:
            if (BPF_MISCOP(in->code) == BPF_TAX)
                x = a;
            else
                a = x;
            break;
        default:
            return 0;
        }
    }
    return 0; /* ran off the end: only an unchecked program can */
}
