/* Private to lib/p9's client: the round trip p9_client_calls.c builds the typed calls on. */
#ifndef RUNSC_LIB_P9_P9_CLIENT_INTERNAL_H
#define RUNSC_LIB_P9_P9_CLIENT_INTERNAL_H

#include "lib/p9/p9_client.h"

/* Where a call wants the variable part of its reply (Rread/Rreaddir data, Rreadlink target)
 * copied while the client's rpc lock still keeps its receive buffer stable. */
struct p9_sink {
    void *buf;
    size_t cap;
};

/* One round trip: sends req (its tag is set here), waits for the reply and checks it answers
 * req. Returns 0 with *reply filled, -errno for an Rlerror, -EINVAL / -ENAMETOOLONG if req
 * cannot be encoded (the connection stays up), or -EIO with the client marked dead. The reply's
 * data or string, if any, has been copied into the sink (NULL for replies with none; a reply
 * carrying data then counts as too long). If fd_out is not NULL, it receives the first fd sent
 * with a successful reply, or -1; every other fd received is closed. */
int p9_client_rpc(struct p9_client *c, struct p9_msg *req, struct p9_msg *reply,
                  const struct p9_sink *sink, int *fd_out);

/* A round trip whose reply has no variable part and carries no fd. */
int p9_client_call(struct p9_client *c, struct p9_msg *req, struct p9_msg *reply);

/* Declares the connection broken (a reply the transport could not judge, e.g. an empty Rwalk). */
void p9_client_mark_dead(struct p9_client *c);

#endif
