#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "now.h"

tacws_log_level tacws_log_threshold = TACWS_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int tacws_log_level_parse(const char *name, tacws_log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, level_names[i])) {
			*out = (tacws_log_level)i;
			return 0;
		}
	return -EINVAL;
}

void tacws_vlog(tacws_log_level level, const char *component, const char *fmt, va_list ap)
{
	if (level > tacws_log_threshold)
		return;
	char ts[32], line[2048];
	tacws_now_iso(ts, sizeof ts);
	int n = snprintf(line, sizeof line, "%s %-5s [%s] ", ts, level_names[level & 3], component);
	if (n < (int)sizeof line)
		n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	if (n >= (int)sizeof line - 1)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	/* One write per line so lines from threads do not interleave. */
	fwrite(line, 1, (size_t)n, stderr);
}

void tacws_log(tacws_log_level level, const char *component, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tacws_vlog(level, component, fmt, ap);
	va_end(ap);
}
