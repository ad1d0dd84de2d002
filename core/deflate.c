#include "deflate.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* ---- the client's offer (RFC 7692 section 5, RFC 7230 list syntax) ---- */

struct offer_cursor {
	const char *p, *end;
};

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void skip_ows(struct offer_cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* A token; returns its length, 0 when there is none. */
static size_t read_token(struct offer_cursor *c, const char **start)
{
	*start = c->p;
	while (c->p < c->end && is_tchar(*c->p))
		c->p++;
	return (size_t)(c->p - *start);
}

/* A parameter value: a token or a quoted string without escapes (RFC 7692's
 * values are digits). Returns its length, or 0 when malformed. */
static size_t read_value(struct offer_cursor *c, const char **start)
{
	if (c->p < c->end && *c->p == '"') {
		c->p++;
		size_t n = read_token(c, start);
		if (c->p >= c->end || *c->p != '"')
			return 0;
		c->p++;
		return n;
	}
	return read_token(c, start);
}

static bool token_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* A window size 8..15 written as one or two digits; -1 when not. */
static int window_bits(const char *s, size_t n)
{
	if (n < 1 || n > 2 || s[0] < '0' || s[0] > '9' || (n == 2 && (s[1] < '0' || s[1] > '9')))
		return -1;
	int v = n == 1 ? s[0] - '0' : (s[0] - '0') * 10 + (s[1] - '0');
	return v >= 8 && v <= 15 ? v : -1;
}

enum pmd_param { SERVER_NCT, CLIENT_NCT, SERVER_MWB, CLIENT_MWB, PMD_PARAMS };

/* What one permessage-deflate offer asks for, as far as tacws's answer goes. */
struct pmd_offer {
	bool takes_ours;  /* it takes our 32 KB window (server_max_window_bits absent or 15) */
	int client_bits;  /* client_max_window_bits: -1 absent, 0 without a value, else 8..15 */
};

/* Checks one permessage-deflate parameter; seen records which came already. */
static bool pmd_param_ok(const char *name, size_t nlen, const char *val, size_t vlen,
			 bool has_value, bool seen[PMD_PARAMS], struct pmd_offer *po)
{
	static const char *const names[PMD_PARAMS] = {
	    "server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
	    "client_max_window_bits"};
	int k = 0;
	while (k < PMD_PARAMS && !token_is(name, nlen, names[k]))
		k++;
	if (k == PMD_PARAMS || seen[k])
		return false; /* unknown or repeated: the offer is to be declined */
	seen[k] = true;
	switch (k) {
	case SERVER_NCT:
	case CLIENT_NCT:
		return !has_value;
	case SERVER_MWB: {
		int bits = has_value ? window_bits(val, vlen) : -1;
		if (bits < 0)
			return false;
		po->takes_ours = po->takes_ours && bits == 15;
		return true;
	}
	default: /* client_max_window_bits: a value is optional */
		po->client_bits = has_value ? window_bits(val, vlen) : 0;
		return po->client_bits >= 0;
	}
}

/* One list element: a name and its parameters, up to ',' or the end. */
static bool read_extension(struct offer_cursor *c, bool *is_pmd, struct pmd_offer *po)
{
	const char *name;
	size_t nlen = read_token(c, &name);
	if (!nlen)
		return false;
	*is_pmd = token_is(name, nlen, "permessage-deflate");
	*po = (struct pmd_offer){.takes_ours = true, .client_bits = -1};
	bool seen[PMD_PARAMS] = {false};
	for (skip_ows(c); c->p < c->end && *c->p == ';'; skip_ows(c)) {
		c->p++;
		skip_ows(c);
		const char *pname, *val = NULL;
		size_t plen = read_token(c, &pname), vlen = 0;
		if (!plen)
			return false;
		skip_ows(c);
		bool has_value = c->p < c->end && *c->p == '=';
		if (has_value) {
			c->p++;
			skip_ows(c);
			if (!(vlen = read_value(c, &val)))
				return false;
		}
		if (*is_pmd && !pmd_param_ok(pname, plen, val, vlen, has_value, seen, po))
			return false;
	}
	return c->p == c->end || *c->p == ',';
}

/* Whether the offer is one tacws takes; *first gets its first permessage-deflate
 * offer, the one lws picks and answers. */
static bool read_offer(const char *offer, size_t len, struct pmd_offer *first)
{
	if (!offer || len > TACWS_DEFLATE_OFFER_MAX)
		return false;
	struct offer_cursor c = {offer, offer + len};
	bool any = false;
	for (;;) {
		skip_ows(&c);
		if (c.p < c.end && *c.p == ',') { /* empty list elements are allowed */
			c.p++;
			continue;
		}
		if (c.p == c.end)
			return any;
		bool is_pmd;
		struct pmd_offer po;
		if (!read_extension(&c, &is_pmd, &po))
			return false;
		if (is_pmd && !po.takes_ours)
			return false; /* lws may pick this one: its window is smaller than ours */
		if (is_pmd && !any)
			*first = po;
		any = any || is_pmd;
	}
}

bool tacws_deflate_offer_accepts(const char *offer, size_t len)
{
	struct pmd_offer first;
	return read_offer(offer, len, &first);
}

size_t tacws_deflate_answer(const char *offer, size_t len, char *out, size_t cap, int *inflate_bits)
{
	struct pmd_offer first;
	if (!read_offer(offer, len, &first) || cap < TACWS_DEFLATE_ANSWER_MAX)
		return 0;
	/* RFC 7692 7.1.1: both no_context_takeover parameters may be answered
	 * whether offered or not. 7.1.2.2: client_max_window_bits only when offered,
	 * and not above the offered value. */
	int n = snprintf(out, cap, "permessage-deflate; server_no_context_takeover; "
				   "client_no_context_takeover");
	*inflate_bits = 15;
	if (first.client_bits >= 0) {
		int bits = first.client_bits && first.client_bits < TACWS_DEFLATE_CLIENT_WINDOW_BITS
			       ? first.client_bits
			       : TACWS_DEFLATE_CLIENT_WINDOW_BITS;
		n += snprintf(out + n, cap - (size_t)n, "; client_max_window_bits=%d", bits);
		/* zlib's raw deflate takes 8 as 9: an inflater with 512 bytes reads both */
		*inflate_bits = bits < 9 ? 9 : bits;
	}
	return (size_t)n;
}

/* ---- clients known to break ---- */

/* Whether s has prefix followed by a minor version 0..3 and no further digit
 * (e.g. "Version/15.2", "OS 15_3"). */
static bool has_safari_15_early(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = strstr(s, prefix); p; p = strstr(p + 1, prefix))
		if (p[n] >= '0' && p[n] <= '3' && !(p[n + 1] >= '0' && p[n + 1] <= '9'))
			return true;
	return false;
}

bool tacws_deflate_user_agent_ok(const char *user_agent)
{
	if (!user_agent || !strstr(user_agent, "AppleWebKit/"))
		return true;
	/* iOS 15.0-15.3: every browser there is WebKit ("iPhone OS 15_2", "CPU OS 15_1") */
	if (has_safari_15_early(user_agent, "OS 15_"))
		return false;
	/* Safari 15.0-15.3 on macOS ("Version/15.2"); Chromium's UA has no Version/ */
	return strstr(user_agent, "Chrome/") || !has_safari_15_early(user_agent, "Version/15.");
}

/* ---- the shared compressed frame ---- */

/* One compressor for the loop thread, reset per message: deflateInit2 costs
 * more than compressing a typical message. */
static z_stream compressor;
static bool compressor_ready;

/* Deflates msg's payload into a new message whose frame has RSV1; NULL when
 * it would not be smaller or zlib fails. */
static tacws_msg *deflate_payload(tacws_msg *msg)
{
	if (!compressor_ready) {
		if (deflateInit2(&compressor, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return NULL;
		compressor_ready = true;
	} else if (deflateReset(&compressor) != Z_OK) {
		return NULL;
	}
	/* the sync flush adds 5 bytes at most over deflateBound's stored blocks */
	size_t cap = deflateBound(&compressor, msg->len) + 6;
	if (cap > UINT32_MAX)
		return NULL;
	tacws_msg *z = tacws_msg_new(cap);
	if (!z)
		return NULL;
	compressor.next_in = (unsigned char *)tacws_msg_data(msg);
	compressor.avail_in = (uInt)msg->len;
	compressor.next_out = (unsigned char *)tacws_msg_data(z);
	compressor.avail_out = (uInt)cap;
	int rc = deflate(&compressor, Z_SYNC_FLUSH);
	size_t out = cap - compressor.avail_out;
	/* RFC 7692 7.2.1: the sync flush's empty block 00 00 ff ff is left off */
	static const unsigned char sync_tail[4] = {0, 0, 0xff, 0xff};
	if (rc != Z_OK || compressor.avail_in || out < 4 ||
	    memcmp(tacws_msg_data(z) + out - 4, sync_tail, 4) || out - 4 >= msg->len) {
		tacws_msg_unref(z);
		return NULL;
	}
	tacws_msg *framed = tacws_msg_from(tacws_msg_data(z), out - 4);
	tacws_msg_unref(z);
	if (framed) {
		size_t flen;
		tacws_msg_frame(framed, &flen)[0] = 0xc1; /* FIN, RSV1 (compressed), text */
	}
	return framed;
}

unsigned char *tacws_deflate_frame(tacws_msg *msg, size_t *len)
{
	if (!msg->deflate_tried) {
		msg->deflate_tried = true;
		msg->deflated = deflate_payload(msg);
	}
	return tacws_msg_frame(msg->deflated ? msg->deflated : msg, len);
}
