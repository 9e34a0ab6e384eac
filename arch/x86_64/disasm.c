/* x86-64 instruction decoding with capstone, when the build has it. */
#include "disasm.h"

#include <stdio.h>

#ifdef RUNSC_HAVE_CAPSTONE
#include <capstone/capstone.h>
#endif

static void hex_bytes(const uint8_t *code, size_t len, char *out, size_t size)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < len && used + 4 < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%02x", i ? " " : "", code[i]);
}

void arch_disassemble_one(const uint8_t *code, size_t len, uint64_t addr, char *out, size_t size)
{
#ifdef RUNSC_HAVE_CAPSTONE
    csh handle;
    cs_insn *insn;

    if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) == CS_ERR_OK) {
        size_t n = cs_disasm(handle, code, len, addr, 1, &insn);
        if (n == 1) {
            snprintf(out, size, "%s %s", insn->mnemonic, insn->op_str);
            cs_free(insn, n);
            cs_close(&handle);
            return;
        }
        cs_close(&handle);
    }
#endif
    hex_bytes(code, len, out, size);
}
