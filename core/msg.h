/*
 * An outgoing WebSocket message: built once, shared by every connection that
 * sends it (refcounted), with the LWS_PRE headroom libwebsockets writes the
 * frame header into. The refcount is atomic because workers build messages
 * and the event loop releases them.
 */
#ifndef TACWS_MSG_H
#define TACWS_MSG_H

#include <libwebsockets.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct tacws_msg {
	atomic_int refs;
	unsigned char frame_len; /* the text frame's header, at the end of the headroom */
	bool deflate_tried;	 /* deflate.c, loop thread: deflated was built (or not) */
	struct tacws_msg *deflated; /* the compressed frame, or NULL: see deflate.h */
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then len bytes, then NUL */
} tacws_msg;

/* A message of len bytes (uninitialised payload), one reference. */
tacws_msg *tacws_msg_new(size_t len);

/* A message holding a copy of text. */
tacws_msg *tacws_msg_from(const char *text, size_t len);

static inline char *tacws_msg_data(tacws_msg *m)
{
	return (char *)m->buf + LWS_PRE;
}

/* The whole WebSocket frame (header built once, then the payload), for raw writes. */
static inline unsigned char *tacws_msg_frame(tacws_msg *m, size_t *len)
{
	*len = m->frame_len + m->len;
	return m->buf + LWS_PRE - m->frame_len;
}

/* Writes a final text frame's header for a payload of len bytes to h (10 bytes
 * of room); returns its length. */
size_t tacws_frame_header(unsigned char *h, size_t len);

static inline tacws_msg *tacws_msg_ref(tacws_msg *m)
{
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	return m;
}

void tacws_msg_unref(tacws_msg *m);

#endif
