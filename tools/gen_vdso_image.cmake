# Turns the built vDSO (a shared object) into a C file holding its bytes, linked into runsc.
# Usage: cmake -DINPUT=vdso.so -DOUTPUT=vdso_image.c -P tools/gen_vdso_image.cmake
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n    " bytes "${bytes}")
file(WRITE "${OUTPUT}"
"/* Generated from the vDSO shared object by tools/gen_vdso_image.cmake: do not edit. */
#include <stddef.h>

/* Page-aligned so the sentry can copy whole pages of it. */
const unsigned char vdso_image[] __attribute__((aligned(4096))) = {
    ${bytes}
};
const size_t vdso_image_size = ${size};
")
