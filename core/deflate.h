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

/* The window tacws asks clients to compress what they send with, where their
 * offer lets it choose (client_max_window_bits): 512 bytes, so the inflater
 * for what a client sends needs a 512-byte window, not 32 KB. */
#define TACWS_DEFLATE_CLIENT_WINDOW_BITS 9

/* Room for tacws_deflate_answer's text and its NUL. */
#define TACWS_DEFLATE_ANSWER_MAX 128

/* The Sec-WebSocket-Extensions value tacws answers to an offer it accepts
 * (tacws_deflate_offer_accepts), such that the one compressed payload per
 * message suits every client and what clients send inflates in bounded memory:
 * "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
 * plus "; client_max_window_bits=N" when the first permessage-deflate offer (the
 * one lws answers) has client_max_window_bits: N is 9, or the offered value if
 * lower. Writes it NUL-terminated to out (cap at least TACWS_DEFLATE_ANSWER_MAX),
 * sets *inflate_bits to the window an inflater of the client's messages needs
 * (15 without client_max_window_bits, else N but at least 9) and returns its
 * length; 0 (the offer is declined) when the offer is not accepted. */
size_t tacws_deflate_answer(const char *offer, size_t len, char *out, size_t cap,
			    int *inflate_bits);

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
