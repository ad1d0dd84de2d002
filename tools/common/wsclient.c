#include "wsclient.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rxmsg {
	struct rxmsg *next;
	size_t len;
	char data[];
};

struct txframe {
	struct txframe *next;
	size_t len;
	int binary;
	unsigned char buf[]; /* LWS_PRE bytes of room, then the payload */
};

struct tacws_wsclient {
	tacws_wsgroup *g;
	int owns_group;
	tacws_wsclient *prev, *next;
	struct lws *wsi;
	tacws_wsclient_state state;
	int http_status;
	int close_code;
	int orphan;          /* freed by the caller: free when lws lets go */
	int close_sent_code; /* nonzero once the caller asked to close */
	char *host, *path, *origin, *bearer;
	char **headers;
	char *rx;
	size_t rx_len, rx_cap;
	struct rxmsg *in_head, *in_tail;
	size_t in_count;
	struct txframe *out_head, *out_tail;
};

struct tacws_wsgroup {
	struct lws_context *ctx;
	tacws_wsclient *clients;
	lws_sorted_usec_list_t wake;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void unlink_client(tacws_wsclient *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (c->g->clients == c)
		c->g->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void destroy_client(tacws_wsclient *c)
{
	unlink_client(c);
	while (c->in_head) {
		struct rxmsg *m = c->in_head;
		c->in_head = m->next;
		free(m);
	}
	while (c->out_head) {
		struct txframe *f = c->out_head;
		c->out_head = f->next;
		free(f);
	}
	if (c->headers) {
		for (char **h = c->headers; *h; h++)
			free(*h);
		free(c->headers);
	}
	free(c->rx);
	free(c->host);
	free(c->path);
	free(c->origin);
	free(c->bearer);
	free(c);
}

static void mark_closed(tacws_wsclient *c)
{
	if (c->state != TACWS_WSCLIENT_CLOSED && !c->close_code)
		c->close_code = c->close_sent_code ? c->close_sent_code : 1006;
	c->state = TACWS_WSCLIENT_CLOSED;
}

static int append_headers(tacws_wsclient *c, struct lws *wsi, unsigned char **p, unsigned char *end)
{
	if (c->bearer) {
		char v[1024];
		int n = snprintf(v, sizeof(v), "Bearer %s", c->bearer);
		if (n < 0 || (size_t)n >= sizeof(v) ||
		    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
		                                 (unsigned char *)v, n, p, end))
			return -1;
	}
	for (char **h = c->headers; h && *h; h++) {
		const char *colon = strchr(*h, ':');
		char name[128];
		size_t nl = colon ? (size_t)(colon - *h) + 1 : 0;
		if (!nl || nl >= sizeof(name))
			return -1;
		memcpy(name, *h, nl);
		name[nl] = '\0';
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		if (lws_add_http_header_by_name(wsi, (unsigned char *)name,
		                                (const unsigned char *)v, (int)strlen(v), p, end))
			return -1;
	}
	return 0;
}

static int on_receive(tacws_wsclient *c, struct lws *wsi, const void *in, size_t len)
{
	if (c->rx_len + len + 1 > c->rx_cap) {
		size_t cap = c->rx_cap ? c->rx_cap : 4096;
		while (cap < c->rx_len + len + 1)
			cap *= 2;
		char *rx = realloc(c->rx, cap);
		if (!rx)
			return -1;
		c->rx = rx;
		c->rx_cap = cap;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;

	struct rxmsg *m = malloc(sizeof(*m) + c->rx_len + 1);
	if (!m)
		return -1;
	m->next = NULL;
	m->len = c->rx_len;
	memcpy(m->data, c->rx, c->rx_len);
	m->data[c->rx_len] = '\0';
	if (c->in_tail)
		c->in_tail->next = m;
	else
		c->in_head = m;
	c->in_tail = m;
	c->in_count++;
	c->rx_len = 0;
	return 0;
}

static int on_writeable(tacws_wsclient *c, struct lws *wsi)
{
	struct txframe *f = c->out_head;
	if (f) {
		c->out_head = f->next;
		if (!c->out_head)
			c->out_tail = NULL;
		int n = lws_write(wsi, f->buf + LWS_PRE, f->len,
		                  f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		free(f);
		if (n < 0)
			return -1;
		if (c->out_head || c->close_sent_code)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->close_sent_code) {
		lws_close_reason(wsi, (enum lws_close_status)c->close_sent_code, NULL, 0);
		return -1;
	}
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
	tacws_wsclient *c = user;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (c && append_headers(c, wsi, in, (unsigned char *)*(unsigned char **)in + len))
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!c)
			break;
		c->state = TACWS_WSCLIENT_OPEN;
		c->http_status = 101;
		if (c->out_head || c->close_sent_code)
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (!c)
			break;
		/* The status of a refused upgrade is only readable here. */
		c->http_status = (int)lws_http_client_http_response(wsi);
		mark_closed(c);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (c && on_receive(c, wsi, in, len))
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c)
			return on_writeable(c, wsi);
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c) {
			const unsigned char *b = in;
			c->close_code = len >= 2 ? (b[0] << 8) | b[1] : 1005;
		}
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c)
			mark_closed(c);
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (!c || c->wsi != wsi)
			break;
		mark_closed(c);
		c->wsi = NULL;
		if (c->orphan)
			destroy_client(c);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
    {"tacws-client", callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void wake_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
}

int tacws_wsclient_parse_url(const char *url, char **host, int *port, char **path)
{
	if (!url || strncmp(url, "ws://", 5))
		return -EINVAL;
	const char *h = url + 5;
	size_t hl = strcspn(h, ":/?");
	if (!hl)
		return -EINVAL;
	const char *rest = h + hl;
	int p = 80;
	if (*rest == ':') {
		char *e;
		long v = strtol(rest + 1, &e, 10);
		if (e == rest + 1 || v < 1 || v > 65535 || (*e && *e != '/' && *e != '?'))
			return -EINVAL;
		p = (int)v;
		rest = e;
	}
	char *hs = strndup(h, hl);
	char *ps = NULL;
	if (*rest == '/')
		ps = strdup(rest);
	else if (asprintf(&ps, "/%s", rest) < 0)
		ps = NULL;
	if (!hs || !ps) {
		free(hs);
		free(ps);
		return -ENOMEM;
	}
	*host = hs;
	*port = p;
	*path = ps;
	return 0;
}

int tacws_wsgroup_new(tacws_wsgroup **out)
{
	static int log_set;
	if (!log_set) {
		/* lws is chatty by default; TACWS_LWS_LOG=<mask> brings it back. */
		const char *env = getenv("TACWS_LWS_LOG");
		lws_set_log_level(env ? atoi(env) : LLL_ERR, NULL);
		log_set = 1;
	}
	tacws_wsgroup *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	/* Otherwise lws prefixes the Origin header with "http://". */
	info.options = LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
	g->ctx = lws_create_context(&info);
	if (!g->ctx) {
		free(g);
		return -EIO;
	}
	*out = g;
	return 0;
}

void tacws_wsgroup_free(tacws_wsgroup *g)
{
	if (!g)
		return;
	lws_sul_cancel(&g->wake);
	/* Orphans are freed by the callbacks that destroying the context runs. */
	lws_context_destroy(g->ctx);
	while (g->clients)
		destroy_client(g->clients);
	free(g);
}

int tacws_wsgroup_service(tacws_wsgroup *g, int timeout_ms)
{
	if (timeout_ms <= 0) {
		lws_service(g->ctx, -1);
		return 0;
	}
	/* lws_service sleeps until its next event; a timer bounds the wait. */
	lws_sul_schedule(g->ctx, 0, &g->wake, wake_cb, (lws_usec_t)timeout_ms * 1000);
	lws_service(g->ctx, 0);
	lws_sul_cancel(&g->wake);
	return 0;
}

typedef int (*cond_fn)(tacws_wsclient *c);

static int wait_for(tacws_wsclient *c, int timeout_ms, cond_fn cond)
{
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		if (cond(c))
			return 0;
		long long left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		tacws_wsgroup_service(c->g, (int)left);
	}
}

static char *dup_or_null(const char *s, int *failed)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*failed = 1;
	return d;
}

int tacws_wsclient_start(tacws_wsgroup *g, const tacws_wsclient_opts *o, tacws_wsclient **out)
{
	if (!o || !o->host || o->port < 1 || o->port > 65535 || !out)
		return -EINVAL;
	tacws_wsclient *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int failed = 0;
	c->host = dup_or_null(o->host, &failed);
	c->path = dup_or_null(o->path ? o->path : "/", &failed);
	c->origin = dup_or_null(o->origin, &failed);
	c->bearer = dup_or_null(o->bearer_token, &failed);
	if (o->headers) {
		size_t n = 0;
		while (o->headers[n])
			n++;
		c->headers = calloc(n + 1, sizeof(char *));
		if (!c->headers)
			failed = 1;
		for (size_t i = 0; c->headers && i < n; i++)
			c->headers[i] = dup_or_null(o->headers[i], &failed);
	}
	if (!g) {
		int rc = tacws_wsgroup_new(&g);
		if (rc) {
			c->g = NULL;
			free(c);
			return rc;
		}
		c->owns_group = 1;
	}
	c->g = g;
	c->next = g->clients;
	if (g->clients)
		g->clients->prev = c;
	g->clients = c;
	if (failed) {
		tacws_wsclient_free(c);
		return -ENOMEM;
	}

	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.context = g->ctx;
	ci.address = c->host;
	ci.port = o->port;
	ci.path = c->path;
	ci.host = c->host;
	ci.origin = c->origin;
	ci.local_protocol_name = protocols[0].name;
	ci.userdata = c;
	ci.pwsi = &c->wsi;
	if (!lws_client_connect_via_info(&ci)) {
		c->wsi = NULL;
		tacws_wsclient_free(c);
		return -ECONNREFUSED;
	}
	*out = c;
	return 0;
}

static int is_not_connecting(tacws_wsclient *c)
{
	return c->state != TACWS_WSCLIENT_CONNECTING;
}

int tacws_wsclient_wait_open(tacws_wsclient *c, int timeout_ms)
{
	int rc = wait_for(c, timeout_ms, is_not_connecting);
	if (rc)
		return rc;
	if (c->state == TACWS_WSCLIENT_OPEN)
		return 0;
	return c->http_status && c->http_status != 101 ? -EPROTO : -ECONNREFUSED;
}

int tacws_wsclient_connect(tacws_wsgroup *g, const tacws_wsclient_opts *o, int timeout_ms,
                           tacws_wsclient **out, int *http_status)
{
	tacws_wsclient *c;
	if (http_status)
		*http_status = 0;
	if (out)
		*out = NULL;
	int rc = tacws_wsclient_start(g, o, &c);
	if (rc)
		return rc;
	rc = tacws_wsclient_wait_open(c, timeout_ms);
	if (http_status)
		*http_status = c->http_status;
	if (rc) {
		tacws_wsclient_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

tacws_wsclient_state tacws_wsclient_get_state(const tacws_wsclient *c)
{
	return c->state;
}

int tacws_wsclient_http_status(const tacws_wsclient *c)
{
	return c->http_status;
}

int tacws_wsclient_close_code(const tacws_wsclient *c)
{
	return c->state == TACWS_WSCLIENT_CLOSED ? c->close_code : 0;
}

static int has_message_or_closed(tacws_wsclient *c)
{
	return c->in_head || c->state == TACWS_WSCLIENT_CLOSED;
}

int tacws_wsclient_recv(tacws_wsclient *c, int timeout_ms, char **msg, size_t *len)
{
	int rc = wait_for(c, timeout_ms, has_message_or_closed);
	if (rc)
		return rc;
	struct rxmsg *m = c->in_head;
	if (!m)
		return -ENOTCONN;
	char *s = malloc(m->len + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, m->data, m->len + 1);
	c->in_head = m->next;
	if (!c->in_head)
		c->in_tail = NULL;
	c->in_count--;
	if (len)
		*len = m->len;
	free(m);
	*msg = s;
	return 0;
}

size_t tacws_wsclient_pending(const tacws_wsclient *c)
{
	return c->in_count;
}

int tacws_wsclient_send(tacws_wsclient *c, const void *data, size_t len, int binary)
{
	if (c->state == TACWS_WSCLIENT_CLOSED || !c->wsi || c->close_sent_code)
		return -ENOTCONN;
	struct txframe *f = malloc(sizeof(*f) + LWS_PRE + len);
	if (!f)
		return -ENOMEM;
	f->next = NULL;
	f->len = len;
	f->binary = binary;
	if (len)
		memcpy(f->buf + LWS_PRE, data, len);
	if (c->out_tail)
		c->out_tail->next = f;
	else
		c->out_head = f;
	c->out_tail = f;
	if (c->state == TACWS_WSCLIENT_OPEN)
		lws_callback_on_writable(c->wsi);
	return 0;
}

static int is_flushed_or_closed(tacws_wsclient *c)
{
	return !c->out_head || c->state == TACWS_WSCLIENT_CLOSED;
}

int tacws_wsclient_flush(tacws_wsclient *c, int timeout_ms)
{
	int rc = wait_for(c, timeout_ms, is_flushed_or_closed);
	if (rc)
		return rc;
	if (c->out_head)
		return -ENOTCONN;
	/* lws may still hold a partial frame; give it a chance to go out. */
	while (c->wsi && lws_partial_buffered(c->wsi) && timeout_ms-- > 0)
		tacws_wsgroup_service(c->g, 1);
	return 0;
}

static int is_closed(tacws_wsclient *c)
{
	return c->state == TACWS_WSCLIENT_CLOSED;
}

int tacws_wsclient_close(tacws_wsclient *c, int code, int timeout_ms)
{
	if (c->state == TACWS_WSCLIENT_CLOSED || !c->wsi)
		return 0;
	c->close_sent_code = code ? code : 1000;
	if (c->state == TACWS_WSCLIENT_OPEN)
		lws_callback_on_writable(c->wsi);
	else
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
	return wait_for(c, timeout_ms, is_closed);
}

int tacws_wsclient_wait_closed(tacws_wsclient *c, int timeout_ms)
{
	return wait_for(c, timeout_ms, is_closed);
}

void tacws_wsclient_free(tacws_wsclient *c)
{
	if (!c)
		return;
	if (c->owns_group) {
		tacws_wsgroup_free(c->g);
		return;
	}
	if (!c->wsi) {
		destroy_client(c);
		return;
	}
	c->orphan = 1;
	if (c->state == TACWS_WSCLIENT_OPEN) {
		if (!c->close_sent_code)
			c->close_sent_code = 1000;
		lws_callback_on_writable(c->wsi);
	} else {
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
	}
}
