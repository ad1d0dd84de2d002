/*
 * HTTP GET for plugins that read HTTP services (routes, webhook_status,
 * system_status), on libcurl.
 *
 * Only http:// and https:// URLs are fetched. A redirect is followed only
 * when it stays on the same scheme, host and port (at most 5 hops), all
 * within the one timeout. Signals are never used, so these functions are safe
 * on any thread.
 *
 * The caller must have called curl_global_init(CURL_GLOBAL_DEFAULT) before
 * the first call (plugins do it in init and call curl_global_cleanup in fini;
 * libcurl counts the calls).
 *
 * Every function returns 0 or a negative errno and, on error, writes a
 * one-line reason into err (errlen bytes, NUL-terminated). Reasons never
 * contain times or byte counts, so the same failure gives the same text.
 */
#ifndef TACWS_HTTP_H
#define TACWS_HTTP_H

#include <json-c/json.h>
#include <tacws/plugin.h>
#include <stddef.h>

/* Default cap on a response body, when max_bytes is 0 or less. */
#define TACWS_HTTP_DEFAULT_MAX_BYTES (4L * 1024 * 1024)

typedef struct tacws_http_response {
	long status;            /* HTTP status code of the last response */
	char *body;             /* NUL-terminated body (never NULL on success); caller frees */
	size_t body_len;        /* bytes in body, without the NUL */
	char content_type[128]; /* Content-Type header, "" when absent */
} tacws_http_response;

/*
 * GET url, waiting at most timeout_ms in all (connect included; 0 or less
 * means 5000). The body is cut off at max_bytes (0 or less: the default cap)
 * and the call then fails with -EFBIG.
 *
 * Returns 0 whenever a response arrived, whatever its status code (check
 * out->status), and fills *out; release it with tacws_http_response_free.
 * On error *out holds no memory. Errors: -EINVAL (bad URL or a scheme other
 * than http/https), -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH (name or route
 * not found), -EFBIG, -ELOOP (too many or cross-host redirects), -ENOMEM,
 * -EIO (anything else).
 */
int tacws_http_get(const char *url, long timeout_ms, long max_bytes, tacws_http_response *out,
                   char *err, size_t errlen);

/* Frees out->body and clears *out; safe on a cleared or freed response. */
void tacws_http_response_free(tacws_http_response *out);

/*
 * GET url and parse its body as JSON, for services that answer JSON.
 * On success stores the parsed value in *json (caller puts it) and returns 0.
 * Besides tacws_http_get's errors: -EPROTO when the status is not 2xx,
 * -EBADMSG when the body is not valid JSON. status, when not NULL, receives
 * the status code (0 when no response arrived).
 */
int tacws_http_get_json(const char *url, long timeout_ms, long max_bytes, json_object **json,
                        long *status, char *err, size_t errlen);

/* Parses a configured duration in milliseconds ("2000"): NULL or "" gives
 * fallback; anything but a whole number from 1 to 3600000 is -EINVAL. */
int tacws_http_parse_ms(const char *text, long fallback, long *out);


/* The config keys of a feed that GETs a URL; pass as tacws_feed_desc.config_keys. */
extern const char *const tacws_http_feed_keys[];

/* For a feed that GETs a URL: reads [feed.<endpoint>] timeout_ms (default
 * default_ms) into *timeout_ms, initialises libcurl and registers desc.
 * Returns 0, also when the feed is not enabled, or a negative errno (logged;
 * libcurl is released again). Pair with tacws_http_feed_stop in fini. */
int tacws_http_feed_start(const tacws_host_api *host, tacws_plugin_ctx *ctx,
                          const tacws_feed_desc *desc, long default_ms, long *timeout_ms);
void tacws_http_feed_stop(void);

/* url as it may be shown to clients: no userinfo, query or fragment (a token
 * or password in a configured URL stays in the configuration). A new string
 * the caller frees, or NULL (out of memory, or not a URL curl parses). */
char *tacws_http_url_shown(const char *url);

#endif
