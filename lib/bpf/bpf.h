/* Classic BPF (struct sock_filter programs): Linux's validity rules for a program and an
 * interpreter for it, over a data buffer read in host byte order (as seccomp reads struct
 * seccomp_data). Pure functions: no allocation, no locks, safe on any input a checker accepted. */
#ifndef RUNSC_LIB_BPF_BPF_H
#define RUNSC_LIB_BPF_BPF_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

/* Linux's BPF_MAXINSNS: the longest classic program. */
#define BPF_PROG_MAX_INSNS 4096
/* The scratch memory words (BPF_MEMWORDS). */
#define BPF_PROG_MEMWORDS 16

/* Linux's bpf_check_classic(): 0 if `prog` is a valid classic program of `len` instructions,
 * else -EINVAL: a length of 0 or above BPF_PROG_MAX_INSNS, an unknown opcode, a division by a
 * constant 0, a constant shift of 32 or more, a scratch index past BPF_PROG_MEMWORDS, a jump
 * out of the program, a scratch word read before every path to it wrote it, or a last
 * instruction that is not a return. Every jump goes forward, so a checked program runs at most
 * `len` instructions. */
int bpf_check_classic(const struct sock_filter *prog, unsigned len);

/* Runs a program bpf_check_classic() accepted over data[0..size): its return value. Loads past
 * the data return 0 from the program (as Linux's socket filters), and so does a division by an
 * X of 0 (as Linux's cBPF-to-eBPF conversion does). Shifts by X use its low 5 bits (the x86
 * JIT's result). The interpreter stops with 0 rather than run off a program it was not meant to
 * see: it is bounded by `len` steps whatever the input. */
uint32_t bpf_run(const struct sock_filter *prog, unsigned len, const void *data, size_t size);

#endif
