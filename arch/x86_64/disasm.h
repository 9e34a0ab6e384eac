/* Decoding guest instructions for diagnostics (crash reports). */
#ifndef RUNSC_ARCH_X86_64_DISASM_H
#define RUNSC_ARCH_X86_64_DISASM_H

#include <stddef.h>
#include <stdint.h>

/* The longest instruction the arch has: how many bytes to fetch at the instruction pointer. */
#define ARCH_MAX_INSN_LEN 15

/* Writes the first instruction of `code` (at guest address `addr`) as text ("mov rax, qword ptr
 * [rdi]"), or its bytes in hex when it can't be decoded or capstone is not built in. */
void arch_disassemble_one(const uint8_t *code, size_t len, uint64_t addr, char *out, size_t size);

#endif
