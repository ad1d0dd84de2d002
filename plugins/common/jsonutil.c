#include "jsonutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tacws_json_read_file(const char *path, json_object **out, char *err, size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	json_tokener *tok = json_tokener_new();
	if (!tok) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	char buf[8192];
	size_t n;
	json_object *obj = NULL;
	enum json_tokener_error jerr = json_tokener_continue;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		obj = json_tokener_parse_ex(tok, buf, (int)n);
		jerr = json_tokener_get_error(tok);
		if (jerr != json_tokener_continue)
			break;
	}
	int rc = 0;
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	} else if (jerr != json_tokener_success || !obj) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: invalid JSON: %s", path,
			 jerr == json_tokener_continue ? "unexpected end of file"
						       : json_tokener_error_desc(jerr));
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	fclose(f);
	*out = obj;
	return rc;
}

long long tacws_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void tacws_change_stamp_get(tacws_change_stamp *s, json_object *body, char *out, size_t len)
{
	const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	pthread_mutex_lock(&s->lock);
	if (!s->last || strcmp(s->last, text)) {
		char *copy = strdup(text);
		if (copy) { /* out of memory: keep the old time rather than tick */
			free(s->last);
			s->last = copy;
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			tacws_iso8601(&now, s->iso, sizeof s->iso);
		}
	}
	snprintf(out, len, "%s", s->iso);
	pthread_mutex_unlock(&s->lock);
}

void tacws_change_stamp_reset(tacws_change_stamp *s)
{
	pthread_mutex_lock(&s->lock);
	free(s->last);
	s->last = NULL;
	s->iso[0] = '\0';
	pthread_mutex_unlock(&s->lock);
}

void tacws_iso8601(const struct timespec *t, char *buf, size_t len)
{
	struct tm tm;
	gmtime_r(&t->tv_sec, &tm);
	char day[24];
	strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", day, t->tv_nsec / 1000000);
}

int tacws_parse_time(const char *text, double *out)
{
	if (!text)
		return -EINVAL;
	struct tm tm = {0};
	const char *p = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		p = strptime(text, "%Y-%m-%d %H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	double frac = 0;
	if (*p == '.') {
		char *end;
		frac = strtod(p, &end);
		p = end;
	}
	long offset = 0;
	if (*p == '+' || *p == '-') {
		int hh = 0, mm = 0;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) < 1)
			return -EINVAL;
		offset = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
	} else if (*p && *p != 'Z') {
		return -EINVAL;
	}
	*out = (double)timegm(&tm) - (double)offset + frac;
	return 0;
}

json_object *tacws_json_string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

const char *tacws_json_get_string(json_object *obj, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

json_object *tacws_json_new_double_rounded(double v, int decimals)
{
	if (!isfinite(v))
		return NULL;
	char buf[512]; /* %f of DBL_MAX is 309 digits */
	snprintf(buf, sizeof buf, "%.*f", decimals < 0 ? 0 : decimals > 17 ? 17 : decimals, v);
	char *dot = strchr(buf, '.');
	if (dot) {
		char *end = buf + strlen(buf) - 1;
		while (end > dot + 1 && *end == '0')
			*end-- = '\0';
	} else {
		strcat(buf, ".0");
	}
	if (!strcmp(buf, "-0.0"))
		memmove(buf, buf + 1, strlen(buf));
	return json_object_new_double_s(strtod(buf, NULL), buf);
}
