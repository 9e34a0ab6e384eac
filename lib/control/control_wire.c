/* The control socket's wire: one JSON object per SOCK_SEQPACKET record, fds by SCM_RIGHTS,
 * bounded sizes, and no SIGPIPE when the peer is gone. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/control/control.h"

int control_msg_send(int sock, struct json_object *msg, const int *fds, size_t nfds)
{
    size_t len;
    const char *text = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN, &len);
    union {
        char buf[CMSG_SPACE(sizeof(int) * CONTROL_MAX_FDS)];
        struct cmsghdr align;
    } control;

    if (!text)
        return -ENOMEM;
    if (len > CONTROL_MAX_MSG || nfds > CONTROL_MAX_FDS)
        return -EMSGSIZE;
    struct iovec iov = {.iov_base = (void *)text, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds) {
        memset(&control, 0, sizeof(control));
        mh.msg_control = control.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    for (;;) {
        ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        if (n >= 0)
            return (size_t)n == len ? 0 : -EMSGSIZE;
        if (errno != EINTR)
            return -errno;
    }
}

/* Takes the fds out of a received control buffer into fds[]; returns how many. Any beyond
 * CONTROL_MAX_FDS (not possible with our buffer, but a peer's cmsg list is not trusted) are
 * closed. */
static size_t take_fds(struct msghdr *mh, int *fds)
{
    size_t n = 0;

    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (n < CONTROL_MAX_FDS)
                fds[n++] = fd;
            else
                close(fd);
        }
    }
    return n;
}

static void close_fds(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

int control_msg_recv(int sock, struct json_object **msg, int *fds, size_t *nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * CONTROL_MAX_FDS)];
        struct cmsghdr align;
    } control;
    /* One byte more than the limit, so an oversized record shows as MSG_TRUNC or a full read. */
    char *buf = malloc(CONTROL_MAX_MSG + 1);
    ssize_t n;
    int err;

    *msg = NULL;
    *nfds = 0;
    if (!buf)
        return -ENOMEM;
    struct iovec iov = {.iov_base = buf, .iov_len = CONTROL_MAX_MSG + 1};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf)};
    do {
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        err = -errno;
        goto out_buf;
    }
    size_t got = take_fds(&mh, fds);
    if (n == 0) {
        /* SOCK_SEQPACKET gives 0 only at the end: the peer closed (empty records are not
         * ours to send). */
        err = -ECONNRESET;
        goto out_fds;
    }
    if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n > CONTROL_MAX_MSG) {
        err = -EMSGSIZE;
        goto out_fds;
    }
    struct json_tokener *tok = json_tokener_new();
    if (!tok) {
        err = -ENOMEM;
        goto out_fds;
    }
    struct json_object *obj = json_tokener_parse_ex(tok, buf, (int)n);
    bool complete = json_tokener_get_error(tok) == json_tokener_success &&
                    json_tokener_get_parse_end(tok) == (size_t)n;
    json_tokener_free(tok);
    if (!obj || !complete || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        err = -EPROTO;
        goto out_fds;
    }
    free(buf);
    *msg = obj;
    *nfds = got;
    return 0;

out_fds:
    close_fds(fds, got);
out_buf:
    free(buf);
    return err;
}

#define BPF_HEX_DIGITS 16 /* per instruction: code 4, jt 2, jf 2, k 8 */

int control_msg_add_seccomp(struct json_object *msg, const struct control_seccomp *s)
{
    if (!s || !s->prog || s->len == 0)
        return 0;
    if (s->len > CONTROL_MAX_BPF)
        return -E2BIG;
    char *hex = malloc((size_t)s->len * BPF_HEX_DIGITS + 1);
    struct json_object *obj = json_object_new_object();
    if (!hex || !obj) {
        free(hex);
        json_object_put(obj);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < s->len; i++) {
        const struct sock_filter *f = &s->prog[i];
        snprintf(hex + (size_t)i * BPF_HEX_DIGITS, BPF_HEX_DIGITS + 1, "%04x%02x%02x%08x",
                 (unsigned)f->code, (unsigned)f->jt, (unsigned)f->jf, (unsigned)f->k);
    }
    json_object_object_add(obj, "program", json_object_new_string(hex));
    json_object_object_add(obj, "log", json_object_new_boolean(s->log));
    json_object_object_add(msg, "seccomp", obj);
    free(hex);
    return 0;
}

/* The value of `len` hex digits at text (all checked to be hex). */
static uint32_t hex_value(const char *text, size_t len)
{
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        v = v << 4 | (uint32_t)(ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
    }
    return v;
}

int control_msg_get_seccomp(struct json_object *msg, struct sock_filter **prog, unsigned *len,
                            bool *log)
{
    struct json_object *obj, *v;

    *prog = NULL;
    *len = 0;
    *log = false;
    if (!json_object_object_get_ex(msg, "seccomp", &obj))
        return 0;
    if (!json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, "program", &v) || !json_object_is_type(v, json_type_string))
        return -EPROTO;
    const char *hex = json_object_get_string(v);
    size_t n = strlen(hex);
    if (n == 0 || n % BPF_HEX_DIGITS || n / BPF_HEX_DIGITS > CONTROL_MAX_BPF ||
        strspn(hex, "0123456789abcdefABCDEF") != n)
        return -EPROTO;
    struct sock_filter *p = calloc(n / BPF_HEX_DIGITS, sizeof(*p));
    if (!p)
        return -ENOMEM;
    for (size_t i = 0; i < n / BPF_HEX_DIGITS; i++) {
        const char *at = hex + i * BPF_HEX_DIGITS;
        p[i].code = (uint16_t)hex_value(at, 4);
        p[i].jt = (uint8_t)hex_value(at + 4, 2);
        p[i].jf = (uint8_t)hex_value(at + 6, 2);
        p[i].k = hex_value(at + 8, 8);
    }
    if (json_object_object_get_ex(obj, "log", &v))
        *log = json_object_get_boolean(v);
    *prog = p;
    *len = (unsigned)(n / BPF_HEX_DIGITS);
    return 0;
}

int control_reply_error(int sock, int err, const char *text)
{
    struct json_object *reply = json_object_new_object();

    if (!reply)
        return -ENOMEM;
    json_object_object_add(reply, "errno", json_object_new_int(err));
    json_object_object_add(reply, "error", json_object_new_string(text ? text : strerror(err)));
    int ret = control_msg_send(sock, reply, NULL, 0);
    json_object_put(reply);
    return ret;
}
