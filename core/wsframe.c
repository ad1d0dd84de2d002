#include "wsframe.h"

#include <string.h>

enum {
	FIN = 0x80,
	MASKED = 0x80,
	OPCODE = 0x0f,
	CONTROL = 0x08,
	PING = 0x9,
	PONG = 0xa,
	LEN16 = 126,
	LEN64 = 127,
	CONTROL_MAX = 125,
};

void tacws_frame_reader_init(tacws_frame_reader *r)
{
	memset(r, 0, sizeof *r);
}

/* Continuation, text, binary, close, ping, pong: the rest are reserved. */
static bool opcode_known(unsigned op)
{
	return op <= 2 || (op >= 8 && op <= 10);
}

/* The second byte is in: the header's length and what it already tells. */
static void header_begin(tacws_frame_reader *r, uint8_t second, tacws_frame_counts *c)
{
	unsigned op = r->first & OPCODE, len7 = second & 0x7f;
	bool control = op & CONTROL;
	if (!opcode_known(op) || (control && (!(r->first & FIN) || len7 > CONTROL_MAX))) {
		c->malformed = true;
		r->broken = true;
		return;
	}
	if (!(second & MASKED))
		c->unmasked = true;
	size_t ext = len7 == LEN16 ? 2 : len7 == LEN64 ? 8 : 0;
	r->ext = (uint8_t)ext;
	r->need = (uint8_t)(2 + ext + (second & MASKED ? 4 : 0));
	r->length = ext ? 0 : len7;
}

/* One more byte of the extended length (big-endian) or of the mask key. */
static void header_byte(tacws_frame_reader *r, uint8_t b, tacws_frame_counts *c)
{
	if (r->have >= 2 + r->ext)
		return; /* the mask key: tacws does not unmask */
	if (r->ext == 8 && r->have == 2 && (b & 0x80)) {
		c->malformed = true; /* §5.2: the most significant bit must be 0 */
		r->broken = true;
		return;
	}
	r->length = r->length << 8 | b;
}

static void header_done(tacws_frame_reader *r, tacws_frame_counts *c)
{
	c->frames++;
	unsigned op = r->first & OPCODE;
	if (op == PING || op == PONG)
		c->control++;
	r->skip = r->length;
	r->have = 0;
	r->need = 0;
}

void tacws_frame_read(tacws_frame_reader *r, const unsigned char *p, size_t len,
		      tacws_frame_counts *c)
{
	size_t i = 0;
	while (i < len && !r->broken) {
		if (r->skip) {
			size_t left = len - i;
			size_t n = r->skip < left ? (size_t)r->skip : left;
			r->skip -= n;
			i += n;
			continue;
		}
		uint8_t b = p[i++];
		if (r->have == 0) {
			r->first = b;
			r->have = 1;
			continue;
		}
		if (r->have == 1) {
			r->have = 2;
			header_begin(r, b, c);
		} else {
			header_byte(r, b, c);
			r->have++;
		}
		if (!r->broken && r->have == r->need)
			header_done(r, c);
	}
}
