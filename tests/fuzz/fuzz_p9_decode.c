/* libFuzzer target for lib/p9: arbitrary bytes never crash the decoder, and whatever it accepts
 * is in canonical form (re-encoding gives back exactly the input, which decodes again). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/p9/p9.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* Rreaddir payloads: every record decodes within bounds and re-encodes to the same bytes. */
static void check_dirents(const uint8_t *data, size_t len)
{
    size_t pos = 0;

    while (pos < len) {
        struct p9_dirent d;
        size_t start = pos;
        if (p9_dirent_decode(data, len, &pos, &d) != 0) {
            CHECK(pos == start);
            return;
        }
        CHECK(pos > start && pos <= len);
        uint8_t *again = malloc(pos - start);
        CHECK(again);
        CHECK(p9_dirent_encode(&d, again, pos - start) == (ssize_t)(pos - start));
        CHECK(memcmp(again, data + start, pos - start) == 0);
        free(again);
    }
}

static void check_names(const struct p9_msg *m)
{
    if (m->type != P9_TWALK)
        return;
    for (unsigned int i = 0; i < m->twalk.nwname; i++) {
        const struct p9_str *s = &m->twalk.wnames[i];
        bool valid = p9_name_is_valid(s->ptr, s->len);
        CHECK(!valid || (s->len > 0 && s->len <= P9_NAME_MAX && !memchr(s->ptr, '/', s->len)));
    }
}

/* Decodes `in` (exactly len bytes, heap-allocated so ASan sees over-reads) and, if accepted,
 * checks the canonical-form property. */
static void check_one(const uint8_t *in, size_t len)
{
    struct p9_msg msg;
    int ret = p9_decode(in, len, &msg);
    if (ret != 0) {
        CHECK(ret == -EBADMSG || ret == -EPROTONOSUPPORT);
        return;
    }
    CHECK(len >= P9_HEADER_SIZE && p9_msg_type_name(msg.type) != NULL);
    CHECK(p9_encoded_length(&msg) == (ssize_t)len);

    uint8_t *out = malloc(len);
    CHECK(out);
    CHECK(p9_encode(&msg, out, len) == (ssize_t)len);
    CHECK(memcmp(out, in, len) == 0);
    CHECK(p9_encode(&msg, out, len - 1) == -EMSGSIZE);

    struct p9_msg again;
    CHECK(p9_decode(out, len, &again) == 0);
    CHECK(again.type == msg.type && again.tag == msg.tag);
    uint8_t *out2 = malloc(len);
    CHECK(out2);
    CHECK(p9_encode(&again, out2, len) == (ssize_t)len);
    CHECK(memcmp(out2, in, len) == 0);
    free(out2);
    free(out);

    size_t need = 0;
    CHECK(p9_frame_length(in, len, P9_MAX_MSIZE, &need) == 0 || len > P9_MAX_MSIZE);
    if (len <= P9_MAX_MSIZE)
        CHECK(need == len);

    if (msg.type == P9_RREADDIR)
        check_dirents(msg.rreaddir.data.ptr, msg.rreaddir.data.len);
    check_names(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    CHECK(copy);
    if (size)
        memcpy(copy, data, size);

    /* As received, then with the size field made to agree so the fuzzer reaches the bodies. */
    check_one(copy, size);
    if (size >= 4) {
        copy[0] = (uint8_t)size;
        copy[1] = (uint8_t)(size >> 8);
        copy[2] = (uint8_t)(size >> 16);
        copy[3] = (uint8_t)(size >> 24);
        check_one(copy, size);
    }

    size_t need = 0;
    int ret = p9_frame_length(data, size, 8192, &need);
    CHECK(ret == 0 || ret == -EBADMSG);
    CHECK(ret != 0 || size >= 4 || need == 4);

    /* Treat the whole input as an Rreaddir payload too. */
    check_dirents(copy, size);
    free(copy);
    return 0;
}
