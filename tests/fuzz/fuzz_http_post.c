/*
 * The HTTP POST path as tacws sees it (issue 13): a request line and headers
 * up to the blank line, then the body. The headers tacws reads are copied the
 * way tacws_header_copy does (whole into a fixed buffer, or refused), the
 * target is checked as sent, the framing decided (tacws_post_framing), and the
 * body as framed goes to the publish, refresh and webhook parsers and the
 * signature check.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The value of header name in head (len bytes of "Name: value\r\n" lines),
 * copied whole into buf: its length, 0 when absent, -1 when it does not fit. */
static int header_copy(const char *head, size_t len, const char *name, char *buf, size_t cap)
{
	size_t nlen = strlen(name);
	buf[0] = '\0';
	for (const char *line = head, *end = head + len; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		size_t llen = (size_t)((eol ? eol : end) - line);
		if (llen > nlen && line[nlen] == ':' && !strncasecmp(line, name, nlen)) {
			const char *v = line + nlen + 1;
			size_t vlen = llen - nlen - 1;
			while (vlen && (*v == ' ' || *v == '\t'))
				v++, vlen--;
			while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
				vlen--;
			if (memchr(v, '\0', vlen))
				return -1;
			if (vlen >= cap)
				return -1;
			memcpy(buf, v, vlen);
			buf[vlen] = '\0';
			return (int)vlen;
		}
		line += llen + 1;
	}
	return 0;
}

static void body_parsers(const char *content_type, const char *signature, const char *body,
			 size_t len)
{
	char err[128];
	tacws_publish_req req;
	if (!tacws_publish_parse(body, len, &req, err, sizeof err))
		json_object_put(req.data);
	char param[TACWS_PARAM_MAX + 1];
	bool has_param;
	tacws_refresh_parse(body, len, param, &has_param, err, sizeof err);
	tacws_hmac_sha256_ok("fuzz-secret", "sha256=", signature, body, len);
	json_object *payload = NULL;
	if (!tacws_webhook_payload_parse(content_type, body, len, &payload, err, sizeof err))
		json_object_put(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *blank = NULL;
	for (size_t i = 0; i + 3 < size && !blank; i++)
		if (!memcmp(in + i, "\r\n\r\n", 4))
			blank = in + i;
	if (!blank || blank - in > 8192)
		return 0; /* lws would still be reading headers, or refuse them */
	const char *eol = memchr(in, '\n', (size_t)(blank - in));
	size_t line_len = eol ? (size_t)(eol - in) : (size_t)(blank - in);
	char line[2048], target[2048] = "";
	if (line_len >= sizeof line)
		return 0;
	memcpy(line, in, line_len);
	line[line_len] = '\0';
	const char *sp = memchr(line, ' ', line_len);
	if (sp) {
		size_t tlen = strcspn(sp + 1, " ");
		memcpy(target, sp + 1, tlen);
		target[tlen] = '\0';
	}
	tacws_target_is_path(target, target);
	char redacted[256];
	tacws_redact(target, redacted, sizeof redacted);

	const char *head = eol ? eol + 1 : blank;
	size_t head_len = (size_t)(blank - head);
	char cl[32], te[32], ct[128], sig[256];
	int cl_len = header_copy(head, head_len, "Content-Length", cl, sizeof cl);
	int te_len = header_copy(head, head_len, "Transfer-Encoding", te, sizeof te);
	if (header_copy(head, head_len, "Content-Type", ct, sizeof ct) < 0 ||
	    header_copy(head, head_len, "X-Hub-Signature-256", sig, sizeof sig) < 0)
		return 0; /* 431 */
	size_t expected;
	const char *why;
	if (tacws_post_framing(cl, cl_len, te_len, 4096, &expected, &why))
		return 0;
	const char *body = blank + 4;
	size_t have = size - (size_t)(body - in);
	body_parsers(ct, sig, body, have < expected ? have : expected);
	return 0;
}
