#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void demo_log(const char *fmt, ...)
{
	char stamp[32];
	demo_iso8601(demo_now(), stamp, sizeof stamp);
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s tacws-demo: ", stamp);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void demo_rng_seed(demo_rng *r, uint64_t seed)
{
	/* xorshift must not start at zero */
	r->s = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
	if (!r->s)
		r->s = 1;
}

uint32_t demo_rand(demo_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (uint32_t)((r->s * 0x2545F4914F6CDD1DULL) >> 32);
}

int demo_range(demo_rng *r, int lo, int hi)
{
	return lo + (int)(demo_rand(r) % (uint32_t)(hi - lo + 1));
}

double demo_uniform(demo_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * (demo_rand(r) / 4294967296.0);
}

int demo_chance(demo_rng *r, double p)
{
	return demo_rand(r) / 4294967296.0 < p;
}

double demo_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void demo_iso8601(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void demo_pytime(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	char head[32];
	strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06d", head, (int)((t - (double)s) * 1e6));
}

void demo_jadd(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

json_object *demo_jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

json_object *demo_jtime(double t)
{
	char buf[32];
	demo_iso8601(t, buf, sizeof buf);
	return json_object_new_string(buf);
}

json_object *demo_jnum(int decimals, double v)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%.*f", decimals, v);
	return json_object_new_double_s(atof(buf), buf);
}

double demo_round4(double v)
{
	return round(v * 10000.0) / 10000.0;
}

const char *demo_json_text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                             JSON_C_TO_STRING_NOSLASHESCAPE);
}

int demo_write_json(const char *path, json_object *o)
{
	const char *text = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	return demo_write_atomic(path, text, strlen(text));
}

int demo_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) && errno != ENOENT ? -1 : 0;
}

int demo_rmtree(const char *path)
{
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) && errno != ENOENT)
		return -errno;
	return 0;
}

static int write_all(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t n = write(fd, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

int demo_write_atomic(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, text, len);
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int demo_write_partial(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, text, len);
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

int demo_append(const char *path, const char *line)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, line, strlen(line));
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}
