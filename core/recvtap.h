/*
 * The bytes libwebsockets reads from a client's WebSocket, seen on their way
 * in: tacwsd defines recv(), so lws's reads pass through here. Each socket
 * tacws watches feeds a frame-header reader (wsframe.h); what it finds (an
 * unmasked frame, pings and pongs lws answers or keeps without telling tacws) goes to
 * the watcher's callback. Why this and not an lws hook: recvtap.c.
 * Loop thread (the one that called tacws_recvtap_start), except recv()
 * itself, which any thread calls and which only passes through on others.
 */
#ifndef TACWS_RECVTAP_H
#define TACWS_RECVTAP_H

#include <stdbool.h>

#include "wsframe.h"

/* Called after a read of a watched socket that completed a frame header or
 * found a forbidden one; counts holds only that read's findings. ctx is the
 * watcher's. It may close the connection, not free what ctx points to. */
typedef void tacws_recvtap_fn(void *ctx, const tacws_frame_counts *counts);

/* Binds the tap to the calling thread, the loop thread, with fn for every
 * watched socket; tacws_recvtap_stop unbinds it and frees the table (later
 * unwatch calls do nothing). When lws's reads cannot come here (recv not
 * interposed: logged), the tap stays off and watch fails. */
void tacws_recvtap_start(tacws_recvtap_fn *fn);
void tacws_recvtap_stop(void);

/* Watches fd: every later read of it goes through r (at the start of a
 * frame), then fn(ctx, ...). Until tacws_recvtap_unwatch(fd), which must come
 * before fd is closed; r and ctx stay valid until then. Returns 0, or -1 when
 * the tap is not started on this thread or out of memory (fd is not watched). */
int tacws_recvtap_watch(int fd, tacws_frame_reader *r, void *ctx);
void tacws_recvtap_unwatch(int fd);

/* At the upgrade (before the 101 is sent): whether the last read of fd ended
 * exactly where its request's headers end (true when the tap is not
 * started). False when the client sent more
 * behind them (RFC 6455 §4.1: it must wait for the 101), or the request came
 * out of lws's buffer behind another one: lws would parse those bytes as
 * frames the tap never saw, and the reader would be out of step. */
bool tacws_recvtap_request_read_last(int fd);

#endif
