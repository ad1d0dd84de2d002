#include "msg.h"

#include <stdlib.h>
#include <string.h>

size_t tacws_frame_header(unsigned char *h, size_t len)
{
	h[0] = 0x81; /* FIN, text */
	if (len < 126) {
		h[1] = (unsigned char)len;
		return 2;
	}
	if (len < 65536) {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		return 4;
	}
	h[1] = 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (unsigned char)(len >> (56 - 8 * i));
	return 10;
}

tacws_msg *tacws_msg_new(size_t len)
{
	tacws_msg *m = malloc(sizeof *m + LWS_PRE + len + 1);
	if (!m)
		return NULL;
	atomic_init(&m->refs, 1);
	m->deflate_tried = false;
	m->deflated = NULL;
	m->len = len;
	unsigned char h[10];
	m->frame_len = (unsigned char)tacws_frame_header(h, len);
	memcpy(m->buf + LWS_PRE - m->frame_len, h, m->frame_len);
	m->buf[LWS_PRE + len] = '\0';
	return m;
}

tacws_msg *tacws_msg_from(const char *text, size_t len)
{
	tacws_msg *m = tacws_msg_new(len);
	if (m)
		memcpy(tacws_msg_data(m), text, len);
	return m;
}

void tacws_msg_unref(tacws_msg *m)
{
	if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
		tacws_msg_unref(m->deflated);
		free(m);
	}
}
