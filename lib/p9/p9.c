/* 9P2000.L helpers around the codec: stream framing, name checks for the gofer, type names. */
#include "lib/p9/p9.h"

#include <errno.h>
#include <string.h>

int p9_frame_length(const uint8_t *buf, size_t len, uint32_t max_msize, size_t *need)
{
    if (len < 4) {
        *need = 4;
        return 0;
    }
    uint32_t size =
        (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
    if (size < P9_HEADER_SIZE || size > max_msize)
        return -EBADMSG;
    *need = size;
    return 0;
}

bool p9_name_is_valid(const char *name, size_t len)
{
    if (!name || len == 0 || len > P9_NAME_MAX)
        return false;
    if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
        return false;
    return !memchr(name, '/', len) && !memchr(name, '\0', len);
}

static const char *const p9_type_names[128] = {
    [P9_RLERROR] = "Rlerror",
    [P9_TSTATFS] = "Tstatfs",
    [P9_RSTATFS] = "Rstatfs",
    [P9_TLOPEN] = "Tlopen",
    [P9_RLOPEN] = "Rlopen",
    [P9_TLCREATE] = "Tlcreate",
    [P9_RLCREATE] = "Rlcreate",
    [P9_TSYMLINK] = "Tsymlink",
    [P9_RSYMLINK] = "Rsymlink",
    [P9_TMKNOD] = "Tmknod",
    [P9_RMKNOD] = "Rmknod",
    [P9_TRENAME] = "Trename",
    [P9_RRENAME] = "Rrename",
    [P9_TREADLINK] = "Treadlink",
    [P9_RREADLINK] = "Rreadlink",
    [P9_TGETATTR] = "Tgetattr",
    [P9_RGETATTR] = "Rgetattr",
    [P9_TSETATTR] = "Tsetattr",
    [P9_RSETATTR] = "Rsetattr",
    [P9_TXATTRWALK] = "Txattrwalk",
    [P9_RXATTRWALK] = "Rxattrwalk",
    [P9_TXATTRCREATE] = "Txattrcreate",
    [P9_RXATTRCREATE] = "Rxattrcreate",
    [P9_TREADDIR] = "Treaddir",
    [P9_RREADDIR] = "Rreaddir",
    [P9_TFSYNC] = "Tfsync",
    [P9_RFSYNC] = "Rfsync",
    [P9_TLOCK] = "Tlock",
    [P9_RLOCK] = "Rlock",
    [P9_TGETLOCK] = "Tgetlock",
    [P9_RGETLOCK] = "Rgetlock",
    [P9_TLINK] = "Tlink",
    [P9_RLINK] = "Rlink",
    [P9_TMKDIR] = "Tmkdir",
    [P9_RMKDIR] = "Rmkdir",
    [P9_TRENAMEAT] = "Trenameat",
    [P9_RRENAMEAT] = "Rrenameat",
    [P9_TUNLINKAT] = "Tunlinkat",
    [P9_RUNLINKAT] = "Runlinkat",
    [P9_TVERSION] = "Tversion",
    [P9_RVERSION] = "Rversion",
    [P9_TAUTH] = "Tauth",
    [P9_RAUTH] = "Rauth",
    [P9_TATTACH] = "Tattach",
    [P9_RATTACH] = "Rattach",
    [P9_TFLUSH] = "Tflush",
    [P9_RFLUSH] = "Rflush",
    [P9_TWALK] = "Twalk",
    [P9_RWALK] = "Rwalk",
    [P9_TREAD] = "Tread",
    [P9_RREAD] = "Rread",
    [P9_TWRITE] = "Twrite",
    [P9_RWRITE] = "Rwrite",
    [P9_TCLUNK] = "Tclunk",
    [P9_RCLUNK] = "Rclunk",
    [P9_TREMOVE] = "Tremove",
    [P9_RREMOVE] = "Rremove",
};

const char *p9_msg_type_name(uint8_t type)
{
    return type < 128 ? p9_type_names[type] : NULL;
}

struct p9_str p9_str_from_cstr(const char *s)
{
    return (struct p9_str){.ptr = s, .len = s ? strlen(s) : 0};
}
