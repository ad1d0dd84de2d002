/*
 * permessage-deflate (RFC 7692), compressed once per message: each message's
 * payload is deflated on its own (the compressor is reset per message, so no
 * client needs the context of an earlier one) into a second prebuilt frame with
 * RSV1 set, shared by every compressed subscriber as the plain frame is. No
 * per-connection deflate state. libwebsockets' extension still negotiates and
 * inflates what clients send: lws 4.1 closes on an RSV1 frame unless one of its
 * extensions is active on the connection.
 */
#ifndef TACWS_DEFLATE_H
#define TACWS_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "msg.h"

/* Longest Sec-WebSocket-Extensions value read; a longer one gets plain frames. */
#define TACWS_DEFLATE_OFFER_MAX 1024

/* Whether the first permessage-deflate offer in a Sec-WebSocket-Extensions
 * value (len bytes, not NUL-terminated) is well formed and takes our shared
 * payload: deflate with a 32 KB window (server_max_window_bits absent or 15).
 * Strict: unknown or repeated parameters, bad values or a bad list make it
 * false, as does any other extension (x-webkit-deflate-frame). */
bool tacws_deflate_offer_accepts(const char *offer, size_t len);

/* Whether a client with this User-Agent (NULL: none sent) may get compressed
 * frames: not Safari 15.0-15.3 on macOS or iOS (its NSURLSession WebSocket
 * fails on compressed messages; fixed in 15.4). */
bool tacws_deflate_user_agent_ok(const char *user_agent);

/* msg's frame for compressed subscribers: built at the first call (loop thread
 * only) and kept with msg. When compressing does not shrink the payload, or
 * fails, it is msg's plain frame (RSV1 clear is valid on a compressed
 * connection). */
unsigned char *tacws_deflate_frame(tacws_msg *msg, size_t *len);

#endif
