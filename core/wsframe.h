/*
 * The frame headers of what a WebSocket client sends (RFC 6455 §5.2), read
 * from the raw byte stream in pieces of any size. A reader keeps only the
 * header it is reading and how much payload is left to skip, so following a
 * connection costs a few bytes and O(1) per piece beyond the header bytes.
 * It reports what libwebsockets 4.1 lets through or keeps from tacws:
 * unmasked frames (§5.1) and pings and pongs, which lws answers or keeps itself.
 * Pure: no I/O, no allocation, no globals; one reader per stream, any thread.
 */
#ifndef TACWS_WSFRAME_H
#define TACWS_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tacws_frame_reader {
	uint64_t skip;	 /* payload bytes of the current frame still to come */
	uint64_t length; /* the payload length being read */
	uint8_t first;	 /* the header's first byte: FIN, RSV, opcode */
	uint8_t have;	 /* header bytes read so far */
	uint8_t need;	 /* the header's whole length, once its second byte is in */
	uint8_t ext;	 /* bytes of extended length it holds: 0, 2 or 8 */
	bool broken;	 /* a header the protocol forbids: nothing after it is read */
} tacws_frame_reader;

/* What one or more calls of tacws_frame_read saw; callers zero it. */
typedef struct tacws_frame_counts {
	size_t frames;	/* headers read whole */
	size_t control; /* of which ping or pong (a close ends the stream: not counted here) */
	bool unmasked;	/* a header without the mask bit (§5.1: the server must close) */
	bool malformed; /* a reserved opcode, a fragmented control frame, a control
			 * payload over 125 bytes or a length with its top bit set */
} tacws_frame_counts;

/* A reader at the start of a frame (all zeros is the same). */
void tacws_frame_reader_init(tacws_frame_reader *r);

/* Reads the next len bytes of the stream into r and adds what they hold to
 * *counts (a header is counted when its last byte is in). Once a malformed
 * header is seen, r is broken and later bytes are not read. */
void tacws_frame_read(tacws_frame_reader *r, const unsigned char *p, size_t len,
		      tacws_frame_counts *counts);

#endif
