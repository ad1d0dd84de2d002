#include "http.h"
#include "jsonutil.h"

#include "jsonutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_REDIRECTS 5
#define DEFAULT_TIMEOUT_MS 5000L

struct sink {
	char *buf;
	size_t len, cap, max;
	int too_big;
};

static size_t sink_write(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t add = size * n;
	if (add > s->max - s->len) {
		s->too_big = 1;
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	}
	if (s->len + add + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + add + 1)
			cap *= 2;
		char *buf = realloc(s->buf, cap);
		if (!buf)
			return 0;
		s->buf = buf;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, add);
	s->len += add;
	s->buf[s->len] = '\0';
	return add;
}

static int is_http_url(const char *url)
{
	return !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8);
}

/* Scheme, host and port of url as one string, or NULL. Caller frees. */
static char *origin_of(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
	    !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) {
		size_t n = strlen(scheme) + strlen(host) + strlen(port) + 3;
		out = malloc(n);
		if (out)
			snprintf(out, n, "%s|%s|%s", scheme, host, port);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

static int describe_error(CURL *curl, CURLcode code, const struct sink *s, const char *url,
                          long timeout_ms, char *err, size_t errlen)
{
	long os_errno = 0;
	switch (code) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		snprintf(err, errlen, "GET %s: %s", url, curl_easy_strerror(code));
		return -EINVAL;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(err, errlen, "GET %s: could not resolve host", url);
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
		if (os_errno == ECONNREFUSED || os_errno == 0) {
			snprintf(err, errlen, "GET %s: connection refused", url);
			return -ECONNREFUSED;
		}
		snprintf(err, errlen, "GET %s: cannot connect: %s", url, strerror((int)os_errno));
		return -(int)os_errno;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, errlen, "GET %s: no answer within %ld ms", url, timeout_ms);
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		snprintf(err, errlen, "GET %s: out of memory", url);
		return -ENOMEM;
	case CURLE_WRITE_ERROR:
		if (s->too_big) {
			snprintf(err, errlen, "GET %s: body larger than %zu bytes", url, s->max);
			return -EFBIG;
		}
		snprintf(err, errlen, "GET %s: out of memory", url);
		return -ENOMEM;
	default:
		snprintf(err, errlen, "GET %s: %s", url, curl_easy_strerror(code));
		return -EIO;
	}
}

/* The reason names the URL as clients may see it: its errors reach status
 * pages and payloads (issue 13, F7). */
static int map_error(CURL *curl, CURLcode code, const struct sink *s, const char *url,
                     long timeout_ms, char *err, size_t errlen)
{
	char *shown = tacws_http_url_shown(url);
	int rc = describe_error(curl, code, s, shown ? shown : "(URL hidden)", timeout_ms, err,
	                        errlen);
	free(shown);
	return rc;
}

/* One request, no redirects followed. */
static int get_once(CURL *curl, const char *url, long remaining_ms, long timeout_ms, struct sink *s,
                    long *status, char *err, size_t errlen)
{
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, remaining_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, remaining_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, s);
	CURLcode code = curl_easy_perform(curl);
	if (code != CURLE_OK)
		return map_error(curl, code, s, url, timeout_ms, err, errlen);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

static CURL *new_handle(void)
{
	CURL *curl = curl_easy_init();
	if (!curl)
		return NULL;
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "tacws");
	curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	/* A probe of a local service must not go through a proxy from the environment. */
	if (!getenv("no_proxy") && !getenv("NO_PROXY"))
		curl_easy_setopt(curl, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
	return curl;
}

int tacws_http_get(const char *url, long timeout_ms, long max_bytes, tacws_http_response *out,
                   char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!url || !is_http_url(url)) {
		snprintf(err, errlen, "GET %s: only http:// and https:// URLs are allowed",
		         url ? url : "(null)");
		return -EINVAL;
	}
	if (timeout_ms <= 0)
		timeout_ms = DEFAULT_TIMEOUT_MS;
	struct sink s = {.max = max_bytes > 0 ? (size_t)max_bytes : TACWS_HTTP_DEFAULT_MAX_BYTES};
	CURL *curl = new_handle();
	char *current = strdup(url);
	char *origin = origin_of(url);
	if (!curl || !current || !origin) {
		int rc = -ENOMEM;
		if (curl && current && !origin) {
			snprintf(err, errlen, "GET %s: malformed URL", url);
			rc = -EINVAL;
		} else {
			snprintf(err, errlen, "GET %s: out of memory", url);
		}
		curl_easy_cleanup(curl);
		free(current);
		free(origin);
		return rc;
	}

	long long deadline = tacws_now_ms() + timeout_ms;
	long status = 0;
	int rc;
	for (int hop = 0;; hop++) {
		long remaining = (long)(deadline - tacws_now_ms());
		if (remaining <= 0) {
			snprintf(err, errlen, "GET %s: no answer within %ld ms", url, timeout_ms);
			rc = -ETIMEDOUT;
			break;
		}
		s.len = 0;
		s.too_big = 0;
		rc = get_once(curl, current, remaining, timeout_ms, &s, &status, err, errlen);
		if (rc)
			break;
		char *next = NULL;
		if (status < 300 || status > 399 ||
		    curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &next) != CURLE_OK || !next)
			break;
		char *next_origin = origin_of(next);
		int same = next_origin && !strcmp(next_origin, origin);
		free(next_origin);
		if (!same || hop + 1 >= MAX_REDIRECTS) {
			snprintf(err, errlen, "GET %s: %s", url,
			         same ? "too many redirects" : "redirect to another host refused");
			rc = -ELOOP;
			break;
		}
		char *copy = strdup(next);
		if (!copy) {
			snprintf(err, errlen, "GET %s: out of memory", url);
			rc = -ENOMEM;
			break;
		}
		free(current);
		current = copy;
	}

	if (!rc) {
		if (!s.buf)
			s.buf = calloc(1, 1);
		if (!s.buf) {
			snprintf(err, errlen, "GET %s: out of memory", url);
			rc = -ENOMEM;
		}
	}
	if (!rc) {
		char *ctype = NULL;
		curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ctype);
		if (ctype)
			snprintf(out->content_type, sizeof out->content_type, "%s", ctype);
		out->status = status;
		out->body = s.buf;
		out->body_len = s.len;
	} else {
		free(s.buf);
	}
	curl_easy_cleanup(curl);
	free(current);
	free(origin);
	return rc;
}

void tacws_http_response_free(tacws_http_response *out)
{
	if (!out)
		return;
	free(out->body);
	memset(out, 0, sizeof *out);
}

int tacws_http_get_json(const char *url, long timeout_ms, long max_bytes, json_object **json,
                        long *status, char *err, size_t errlen)
{
	tacws_http_response r;
	*json = NULL;
	if (status)
		*status = 0;
	int rc = tacws_http_get(url, timeout_ms, max_bytes, &r, err, errlen);
	if (rc)
		return rc;
	if (status)
		*status = r.status;
	if (r.status < 200 || r.status > 299) {
		snprintf(err, errlen, "GET %s: HTTP %ld", url, r.status);
		tacws_http_response_free(&r);
		return -EPROTO;
	}
	json_tokener *tok = json_tokener_new();
	if (!tok) {
		tacws_http_response_free(&r);
		snprintf(err, errlen, "GET %s: out of memory", url);
		return -ENOMEM;
	}
	json_object *parsed = json_tokener_parse_ex(tok, r.body, (int)r.body_len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	/* Trailing bytes after the value (other than whitespace) mean a broken body. */
	size_t used = json_tokener_get_parse_end(tok);
	while (used < r.body_len && strchr(" \t\r\n", r.body[used]))
		used++;
	if (!parsed || jerr != json_tokener_success || used != r.body_len) {
		snprintf(err, errlen, "GET %s: body is not valid JSON (%s)", url,
		         parsed ? "trailing data" : json_tokener_error_desc(jerr));
		json_object_put(parsed);
		json_tokener_free(tok);
		tacws_http_response_free(&r);
		return -EBADMSG;
	}
	json_tokener_free(tok);
	tacws_http_response_free(&r);
	*json = parsed;
	return 0;
}

int tacws_http_parse_ms(const char *text, long fallback, long *out)
{
	if (!text || !*text) {
		*out = fallback;
		return 0;
	}
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || *end || v < 1 || v > 3600000)
		return -EINVAL;
	*out = v;
	return 0;
}

const char *const tacws_http_feed_keys[] = {"timeout_ms", NULL};

int tacws_http_feed_start(const tacws_host_api *host, tacws_plugin_ctx *ctx,
                          const tacws_feed_desc *desc, long default_ms, long *timeout_ms)
{
	char section[128];
	snprintf(section, sizeof section, "feed.%s", desc->endpoint);
	if (tacws_http_parse_ms(host->config_get(ctx, section, "timeout_ms"), default_ms,
	                        timeout_ms)) {
		host->log(ctx, TACWS_LOG_ERROR, "[%s] timeout_ms: not a duration in ms", section);
		return -EINVAL;
	}
	/* reference counted: each plugin in the process inits and cleans up its own */
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -EIO;
	int rc = host->feed_register(ctx, desc);
	if (rc && rc != -ENOENT) {
		curl_global_cleanup();
		return rc;
	}
	return 0;
}

void tacws_http_feed_stop(void)
{
	curl_global_cleanup();
}

char *tacws_http_url_shown(const char *url)
{
	CURLU *u = curl_url();
	char *shown = NULL, *out = NULL;
	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_set(u, CURLUPART_USER, NULL, 0) &&
	    !curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) &&
	    !curl_url_set(u, CURLUPART_OPTIONS, NULL, 0) &&
	    !curl_url_set(u, CURLUPART_QUERY, NULL, 0) &&
	    !curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) &&
	    !curl_url_get(u, CURLUPART_URL, &shown, 0))
		out = strdup(shown);
	curl_free(shown);
	curl_url_cleanup(u);
	return out;
}
