/* The frame-header reader (wsframe.h) on any byte stream: it never reads out
 * of its piece, and what it reports does not depend on where the socket cut
 * the stream (the first input byte chooses two cuts). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tacws_frame_counts read_in_pieces(const uint8_t *p, size_t n, size_t a, size_t b)
{
	tacws_frame_reader r;
	tacws_frame_reader_init(&r);
	tacws_frame_counts c = {0};
	tacws_frame_read(&r, p, a, &c);
	tacws_frame_read(&r, p + a, b - a, &c);
	tacws_frame_read(&r, p + b, n - b, &c);
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	size_t n = size - 1;
	uint8_t *stream = malloc(n ? n : 1); /* exactly n bytes: a read past them is caught */
	if (!stream)
		return 0;
	memcpy(stream, data + 1, n);
	size_t a = n ? (data[0] & 0x0f) * n / 15 : 0, b = n ? (data[0] >> 4) * n / 15 : 0;
	if (a > b) {
		size_t t = a;
		a = b;
		b = t;
	}
	tacws_frame_counts whole = read_in_pieces(stream, n, 0, 0);
	tacws_frame_counts cut = read_in_pieces(stream, n, a, b);
	if (whole.frames != cut.frames || whole.control != cut.control ||
	    whole.unmasked != cut.unmasked || whole.malformed != cut.malformed ||
	    whole.control > whole.frames || whole.frames > n / 2)
		abort();
	free(stream);
	return 0;
}
