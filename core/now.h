/* The time, as tacws writes it. Any thread. */
#ifndef TACWS_NOW_H
#define TACWS_NOW_H

#include <stddef.h>

/* Current UTC time as "2026-11-26T10:31:00.512Z" (len >= 25). */
void tacws_now_iso(char *buf, size_t len);

#endif
