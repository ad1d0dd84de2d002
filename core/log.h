/* Log lines on stderr: time, level, component, message. Thread-safe. */
#ifndef TACWS_LOG_H
#define TACWS_LOG_H

#include <stdarg.h>
#include <tacws/plugin.h>

extern tacws_log_level tacws_log_threshold;

/* Parses "error", "warn", "info" or "debug". Returns 0 or -EINVAL. */
int tacws_log_level_parse(const char *name, tacws_log_level *out);

void tacws_log(tacws_log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tacws_vlog(tacws_log_level level, const char *component, const char *fmt, va_list ap);

#define tacws_log_error(comp, ...) tacws_log(TACWS_LOG_ERROR, comp, __VA_ARGS__)
#define tacws_log_warn(comp, ...) tacws_log(TACWS_LOG_WARN, comp, __VA_ARGS__)
#define tacws_log_info(comp, ...) tacws_log(TACWS_LOG_INFO, comp, __VA_ARGS__)
#define tacws_log_debug(comp, ...) tacws_log(TACWS_LOG_DEBUG, comp, __VA_ARGS__)

#endif
