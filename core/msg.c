#include "msg.h"

#include <stdlib.h>
#include <string.h>

tacws_msg *tacws_msg_new(size_t len)
{
	tacws_msg *m = malloc(sizeof *m + LWS_PRE + len + 1);
	if (!m)
		return NULL;
	atomic_init(&m->refs, 1);
	m->len = len;
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
	if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
		free(m);
}
