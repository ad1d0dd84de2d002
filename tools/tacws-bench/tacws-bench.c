/*
 * tacws-bench: a load generator for tacwsd (and for any server speaking the
 * same protocol, such as the Node peer in tools/bench/).
 *
 * One process, one epoll loop, non-blocking sockets and a minimal WebSocket
 * client: the tool must cost less than the server it measures. N subscribers
 * connect to ws://HOST:PORT<prefix>/ws/<feed> from 127.0.0.1..127.0.0.x, then
 * M messages of S bytes are published at R per second through
 * POST <prefix>/publish, each carrying its send time and index in "data", so
 * latency, loss and duplicates are measured per delivery. The result is one
 * JSON line on stdout. Loopback only; every phase is bounded in time.
 *
 * --storm then drops every subscriber and reconnects all at once; with --resume
 * each comes back with ?since=&epoch= of the snapshot it holds, and counts the
 * bytes it receives, to set a resume storm against a full-snapshot one.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define RX_CHUNK (256 * 1024)
#define MAX_PUBLISHERS 8
#define TAG_TIMER UINT64_MAX
#define TAG_PUB (UINT64_MAX - 1 - MAX_PUBLISHERS)

enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSED };

struct client {
	int fd;
	uint8_t state;
	bool slow;           /* never reads after the handshake */
	bool got_first;      /* first message (the snapshot) seen */
	bool counted_open;   /* counted in the current phase's connected set */
	bool has_point;      /* seq and epoch of its first snapshot are known (--resume) */
	int64_t t_start;     /* connect() time, ns */
	int64_t seq;         /* of that snapshot */
	char epoch[33];
	unsigned char *pend; /* unparsed bytes: handshake reply or a partial frame */
	uint32_t plen, pcap;
};

struct publisher {
	int fd;
	bool busy, connected;
	char *out;
	size_t out_len, out_off;
	char in[4096];
	size_t in_len;
};

struct samples {
	uint32_t *v;
	size_t n, cap;
};

#define MAX_NODES 16

struct opts {
	const char *host, *feed, *prefix, *token, *label, *type;
	int port, sources, slow, publishers, conc, slow_rcvbuf;
	long subscribers, messages, size;
	double rate, timeout_s, drain_s, idle_s;
	bool storm, deflate, resume, delta;
	pid_t pids[MAX_NODES]; /* the server's processes: their CPU is summed */
	int n_pids;
	int sub_ports[MAX_NODES]; /* subscriber i connects to sub_ports[i % n_sub_ports] */
	int n_sub_ports;
	pid_t redis_pid; /* a cluster's Redis, reported apart */
};

static struct opts o = {
    .host = "127.0.0.1",
    .feed = "workflows",
    .prefix = "/api/v1",
    .token = "",
    .label = "server",
    .type = "bench_event",
    .port = 8003,
    .sources = 8,
    .publishers = 4,
    .conc = 512,
    .slow_rcvbuf = 4096,
    .subscribers = 100,
    .messages = 100,
    .size = 1024,
    .rate = 10,
    .timeout_s = 300,
    .drain_s = 10,
};

static int ep;
static struct client *clients;
static long n_clients;
static struct publisher pubs[MAX_PUBLISHERS];
static char *handshake;
static size_t handshake_len;
static unsigned char *rxbuf;
static uint8_t *seen; /* bit (client, index) */
static struct samples lat_us, conn_us, snap_us;
static int64_t t_deadline;
static volatile sig_atomic_t interrupted;

static struct {
	long connected, connect_errors, snapshots, delivered, duplicates, bad_frames, server_closes,
	    eof_closes, pings, sent, publish_ok, publish_errors, open_healthy, deflate_accepted;
	uint64_t wire_bytes; /* text payload bytes as received (compressed or not) */
	uint64_t rx_bytes;   /* every byte read from the sockets: 101 answers, frame headers */
	long resumed;	     /* first messages that were "resumed", not a snapshot */
	long snapshot_bytes; /* the first snapshot's size */
	bool resuming;	     /* connects send ?since=&epoch= when they hold a snapshot */
	long updates, update_deltas; /* text messages after each client's first; those with "delta" */
	long inflight;
	int64_t first_send, last_delivery;
	bool measuring_conn, measuring_snap;
	long frame_bytes;
} st;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void samples_add(struct samples *s, uint32_t v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint32_t *g = realloc(s->v, cap * sizeof *g);
		if (!g)
			return;
		s->v = g;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Milliseconds at quantile q of s (sorted in place); -1 when empty. */
static double quantile_ms(struct samples *s, double q)
{
	if (!s->n)
		return -1;
	size_t i = (size_t)(q * (double)(s->n - 1) + 0.5);
	return s->v[i] / 1000.0;
}

static void samples_sort(struct samples *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, cmp_u32);
}

/* --- the server's process, from /proc --- */

struct proc_stat {
	double cpu_s;
	double sys_s; /* the part of cpu_s in the kernel (stime) */
	long rss_kb;
	bool ok;
};

static struct proc_stat proc_read_pid(pid_t pid)
{
	struct proc_stat p = {0, 0, 0, false};
	if (pid <= 0)
		return p;
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return p;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces: fields count from the last ')' */
	char *s = strrchr(buf, ')');
	unsigned long ut = 0, stime = 0;
	if (!s ||
	    sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stime) != 2)
		return p;
	p.cpu_s = (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
	p.sys_s = (double)stime / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return p;
	while (fgets(buf, sizeof buf, f))
		if (!strncmp(buf, "VmRSS:", 6))
			p.rss_kb = atol(buf + 6);
	fclose(f);
	p.ok = true;
	return p;
}

/* The server: CPU and RSS summed over its processes (the nodes of a cluster). */
static struct proc_stat proc_read(void)
{
	struct proc_stat sum = {0, 0, 0, o.n_pids > 0};
	for (int i = 0; i < o.n_pids; i++) {
		struct proc_stat p = proc_read_pid(o.pids[i]);
		sum.cpu_s += p.cpu_s;
		sum.sys_s += p.sys_s;
		sum.rss_kb += p.rss_kb;
		sum.ok = sum.ok && p.ok;
	}
	return sum;
}

/* Descriptors the server's processes hold (/proc/<pid>/fd), or -1 without --pid. */
static long proc_fds(void)
{
	long n = o.n_pids ? 0 : -1;
	for (int i = 0; i < o.n_pids; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/fd", (int)o.pids[i]);
		DIR *d = opendir(path);
		if (!d)
			return -1;
		for (struct dirent *e; (e = readdir(d));)
			n += e->d_name[0] != '.';
		closedir(d);
	}
	return n;
}

/* "a,b,c" of positive numbers into out (at most MAX_NODES). Returns the count, or -1. */
static int parse_list(const char *text, int *out)
{
	int n = 0;
	for (const char *p = text; *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p || v <= 0 || v > 4194304 || n == MAX_NODES || (*end && *end != ','))
			return -1;
		out[n++] = (int)v;
		p = *end ? end + 1 : end;
	}
	return n;
}

static double tool_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* --- subscribers --- */

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->state == C_CONNECTING || c->state == C_HANDSHAKE)
		st.inflight--;
	if (c->state == C_OPEN && !c->slow)
		st.open_healthy--;
	c->state = C_CLOSED;
	free(c->pend);
	c->pend = NULL;
	c->plen = c->pcap = 0;
}

static int client_connect(long i)
{
	struct client *c = &clients[i];
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	int one = 1;
	/* The port is chosen at connect(), per 4-tuple, so many sources multiply the ports. */
	setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/* a small window, like a client on a slow link: the server's queue fills, not the kernel's
	 */
	if (c->slow && o.slow_rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &o.slow_rcvbuf, sizeof o.slow_rcvbuf);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(i % o.sources));
	if (bind(c->fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = -errno;
		close(c->fd);
		c->fd = -1;
		return e;
	}
	inet_pton(AF_INET, o.host, &a.sin_addr);
	a.sin_port = htons((uint16_t)(o.n_sub_ports ? o.sub_ports[i % o.n_sub_ports] : o.port));
	c->t_start = now_ns();
	c->got_first = false;
	c->counted_open = false;
	if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
		int e = -errno;
		close(c->fd);
		c->fd = -1;
		return e;
	}
	c->state = C_CONNECTING;
	st.inflight++;
	struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)i};
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return 0;
}

static void send_pong(struct client *c, const unsigned char *payload, size_t len)
{
	unsigned char f[2 + 4 + 125];
	if (len > 125)
		return;
	f[0] = 0x8a;
	f[1] = (unsigned char)(0x80 | len);
	memset(f + 2, 0, 4); /* a zero mask: valid, and the payload stays as is */
	memcpy(f + 6, payload, len);
	if (send(c->fd, f, 6 + len, MSG_NOSIGNAL) < 0 && errno != EAGAIN)
		st.bad_frames++;
}

static long parse_field(const unsigned char *p, size_t len, const char *key, bool *found)
{
	const unsigned char *k = memmem(p, len, key, strlen(key));
	*found = k != NULL;
	return k ? strtol((const char *)k + strlen(key), NULL, 10) : 0;
}

/* --resume: the seq and epoch a snapshot ends with (,"seq":N,"epoch":"…"}), read from
 * its last bytes: the data before them may hold members of the same names. */
static void resume_point(struct client *c, const unsigned char *p, size_t len)
{
	size_t tail = len < 80 ? len : 80;
	const unsigned char *t = p + len - tail, *sq = NULL;
	for (const unsigned char *k = t; (k = memmem(k, (size_t)(p + len - k), "\"seq\":", 6)); k++)
		sq = k; /* the last one: the envelope's */
	const unsigned char *ek = sq ? memmem(sq, (size_t)(p + len - sq), "\"epoch\":\"", 9) : NULL;
	if (!sq || !ek)
		return;
	const unsigned char *e = ek + 9, *end = memchr(e, '"', (size_t)(p + len - e));
	if (!end || end == e || (size_t)(end - e) >= sizeof c->epoch)
		return;
	c->seq = strtoll((const char *)sq + 6, NULL, 10);
	memcpy(c->epoch, e, (size_t)(end - e));
	c->epoch[end - e] = '\0';
	c->has_point = true;
}

/* One server message. The index and time are found by scanning, not by a JSON
 * parser: at 10^5 deliveries per second the tool must stay cheap. */
static void on_text(long ci, struct client *c, const unsigned char *p, size_t len)
{
	int64_t now = now_ns();
	if (!c->got_first) {
		c->got_first = true;
		st.snapshots++;
		if (len > 16 && memmem(p, len < 32 ? len : 32, "\"type\":\"resumed\"", 16))
			st.resumed++;
		else if (o.resume)
			resume_point(c, p, len);
		if (!st.snapshot_bytes)
			st.snapshot_bytes = (long)len;
		if (st.measuring_snap)
			samples_add(&snap_us, (uint32_t)((now - c->t_start) / 1000));
	} else {
		/* a change of a polled feed (--idle with the feed's source changing) */
		st.updates++;
		st.update_deltas += memmem(p, len < 128 ? len : 128, "\"delta\":", 8) != NULL;
	}
	/* the envelope's "data" holds {"t":ns,"i":index,...}; search only its start */
	size_t window = len < 256 ? len : 256;
	bool has_i, has_t;
	long idx = parse_field(p, window, "\"i\":", &has_i);
	long t = parse_field(p, window, "\"t\":", &has_t);
	if (!has_i || !has_t || idx < 0 || idx >= o.messages)
		return;
	size_t bit = (size_t)ci * (size_t)o.messages + (size_t)idx;
	if (seen[bit / 8] & (1u << (bit % 8))) {
		st.duplicates++;
		return;
	}
	seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
	st.delivered++;
	st.last_delivery = now;
	if (!st.frame_bytes)
		st.frame_bytes = (long)len;
	samples_add(&lat_us, (uint32_t)((now - t) / 1000));
}

/* --deflate: one inflater for every client, reset per message, since the tool
 * asks for server_no_context_takeover (RFC 7692). */
static z_stream inflater;
static unsigned char *inflated;
static size_t inflated_cap;

static bool inflate_text(const unsigned char *p, size_t len, size_t *out_len)
{
	static const unsigned char tail[4] = {0, 0, 0xff, 0xff};
	if (inflateReset(&inflater) != Z_OK)
		return false;
	const unsigned char *parts[2] = {p, tail};
	size_t lens[2] = {len, 4}, got = 0;
	for (int i = 0; i < 2; i++) {
		inflater.next_in = (unsigned char *)parts[i];
		inflater.avail_in = (uInt)lens[i];
		while (inflater.avail_in) {
			if (got == inflated_cap) {
				size_t cap = inflated_cap ? inflated_cap * 2 : 65536;
				unsigned char *g = realloc(inflated, cap);
				if (!g)
					return false;
				inflated = g;
				inflated_cap = cap;
			}
			inflater.next_out = inflated + got;
			inflater.avail_out = (uInt)(inflated_cap - got);
			int rc = inflate(&inflater, Z_SYNC_FLUSH);
			got = inflated_cap - inflater.avail_out;
			if (rc != Z_OK && !(rc == Z_BUF_ERROR && inflater.avail_out))
				return false;
		}
	}
	*out_len = got;
	return true;
}

/* Parses complete frames in p[0..len); returns bytes consumed, or -1 to close. */
static long parse_frames(long ci, struct client *c, unsigned char *p, size_t len)
{
	size_t off = 0;
	while (len - off >= 2) {
		unsigned char *f = p + off;
		int opcode = f[0] & 0x0f;
		uint64_t plen = f[1] & 0x7f;
		size_t hdr = 2;
		if (f[1] & 0x80)
			return -1; /* servers do not mask */
		if (plen == 126) {
			if (len - off < 4)
				break;
			plen = ((uint64_t)f[2] << 8) | f[3];
			hdr = 4;
		} else if (plen == 127) {
			if (len - off < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = (plen << 8) | f[2 + i];
			hdr = 10;
		}
		if (plen > (64u << 20))
			return -1;
		if (len - off - hdr < plen)
			break;
		unsigned char *payload = f + hdr;
		switch (opcode) {
		case 0x1:
			st.wire_bytes += plen;
			if (f[0] & 0x40) { /* RSV1: permessage-deflate */
				size_t n;
				if (!o.deflate || !inflate_text(payload, (size_t)plen, &n)) {
					st.bad_frames++;
					return -1;
				}
				on_text(ci, c, inflated, n);
			} else {
				on_text(ci, c, payload, (size_t)plen);
			}
			break;
		case 0x9:
			st.pings++;
			send_pong(c, payload, (size_t)plen);
			break;
		case 0x8:
			st.server_closes++;
			return -1;
		default:
			break; /* continuation, pong, binary: not used by the servers measured */
		}
		off += hdr + (size_t)plen;
	}
	return (long)off;
}

static bool pend_append(struct client *c, const unsigned char *p, size_t len)
{
	if (!len)
		return true;
	if (c->plen + len > c->pcap) {
		size_t cap = c->pcap ? c->pcap : 1024;
		while (cap < c->plen + len)
			cap *= 2;
		unsigned char *g = realloc(c->pend, cap);
		if (!g)
			return false;
		c->pend = g;
		c->pcap = (uint32_t)cap;
	}
	memcpy(c->pend + c->plen, p, len);
	c->plen += (uint32_t)len;
	return true;
}

/* Frames from p (the shared buffer, or the client's own pending bytes). */
static bool consume(long ci, struct client *c, unsigned char *p, size_t len, bool own)
{
	long used = parse_frames(ci, c, p, len);
	if (used < 0)
		return false;
	size_t rest = len - (size_t)used;
	if (own) {
		memmove(c->pend, c->pend + used, rest);
		c->plen = (uint32_t)rest;
		if (!rest) {
			free(c->pend);
			c->pend = NULL;
			c->pcap = 0;
		}
		return true;
	}
	return pend_append(c, p + used, rest);
}

static void on_open(long ci, struct client *c)
{
	int64_t now = now_ns();
	st.inflight--;
	c->state = C_OPEN;
	st.connected++;
	if (st.measuring_conn)
		samples_add(&conn_us, (uint32_t)((now - c->t_start) / 1000));
	if (c->slow) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		return;
	}
	st.open_healthy++;
	(void)ci;
}

/* The upgrade request; with c, resuming from the snapshot c holds. Returns its length. */
static size_t handshake_build(char *buf, size_t cap, const struct client *c)
{
	char query[128] = "";
	if (c)
		snprintf(query, sizeof query, "?since=%lld&epoch=%s%s", (long long)c->seq, c->epoch,
			 o.delta ? "&delta=json-patch" : "");
	else if (o.delta)
		snprintf(query, sizeof query, "?delta=json-patch");
	int n = snprintf(
	    buf, cap,
	    "GET %s/ws/%s%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: dGFjd3MtYmVuY2gta2V5MQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n%s%s%s%s\r\n",
	    o.prefix, o.feed, query, o.host, o.port, *o.token ? "Authorization: Bearer " : "", o.token,
	    *o.token ? "\r\n" : "",
	    o.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
			"client_no_context_takeover\r\n"
		      : "");
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static void client_event(long ci, uint32_t events)
{
	struct client *c = &clients[ci];
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t sl = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
		if (err || (events & (EPOLLERR | EPOLLHUP))) {
			st.connect_errors++;
			client_close(c);
			return;
		}
		char own[1024];
		const char *hs = handshake;
		size_t hs_len = handshake_len;
		if (st.resuming && c->has_point) {
			hs_len = handshake_build(own, sizeof own, c);
			hs = own;
		}
		if (send(c->fd, hs, hs_len, MSG_NOSIGNAL) != (ssize_t)hs_len) {
			st.connect_errors++;
			client_close(c);
			return;
		}
		c->state = C_HANDSHAKE;
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)ci};
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	for (int rounds = 0; rounds < 4; rounds++) {
		ssize_t n = recv(c->fd, rxbuf, RX_CHUNK, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n > 0)
			st.rx_bytes += (uint64_t)n;
		if (n <= 0) {
			if (c->state == C_HANDSHAKE)
				st.connect_errors++;
			else
				st.eof_closes++;
			client_close(c);
			return;
		}
		if (c->state == C_HANDSHAKE) {
			if (!pend_append(c, rxbuf, (size_t)n)) {
				client_close(c);
				return;
			}
			unsigned char *end = memmem(c->pend, c->plen, "\r\n\r\n", 4);
			if (!end) {
				if (c->plen > 8192) {
					st.connect_errors++;
					client_close(c);
				}
				return;
			}
			if (c->plen < 12 || memcmp(c->pend + 9, "101", 3)) {
				st.connect_errors++;
				client_close(c);
				return;
			}
			if (o.deflate && memmem(c->pend, (size_t)(end - c->pend), "permessage-deflate", 18))
				st.deflate_accepted++;
			on_open(ci, c);
			if (c->slow)
				return;
			size_t hs = (size_t)(end - c->pend) + 4;
			memmove(c->pend, c->pend + hs, c->plen - hs);
			c->plen -= (uint32_t)hs;
			if (c->plen && !consume(ci, c, c->pend, c->plen, true)) {
				client_close(c);
				return;
			}
			continue;
		}
		bool ok;
		if (c->plen) {
			ok = pend_append(c, rxbuf, (size_t)n) &&
			     consume(ci, c, c->pend, c->plen, true);
		} else {
			ok = consume(ci, c, rxbuf, (size_t)n, false);
		}
		if (!ok) {
			client_close(c);
			return;
		}
		if (n < RX_CHUNK)
			return;
	}
}

/* --- publishers: keep-alive HTTP/1.1, one request in flight each --- */

static int pub_connect(struct publisher *p, int j)
{
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return -errno;
	int one = 1;
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
	inet_pton(AF_INET, o.host, &a.sin_addr);
	if (connect(p->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
		int e = -errno;
		close(p->fd);
		p->fd = -1;
		return e;
	}
	p->connected = true;
	p->in_len = 0;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_PUB + (uint64_t)j};
	epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
	return 0;
}

static void pub_reset(struct publisher *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->connected = false;
	if (p->busy)
		st.publish_errors++;
	p->busy = false;
	free(p->out);
	p->out = NULL;
	p->in_len = 0;
}

static void pub_flush(struct publisher *p, int j)
{
	while (p->out_off < p->out_len) {
		ssize_t n = send(p->fd, p->out + p->out_off, p->out_len - p->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			pub_reset(p);
			return;
		}
		p->out_off += (size_t)n;
	}
	uint32_t want = EPOLLIN | (p->out_off < p->out_len ? EPOLLOUT : 0);
	struct epoll_event ev = {.events = want, .data.u64 = TAG_PUB + (uint64_t)j};
	epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
	if (p->out_off == p->out_len) {
		free(p->out);
		p->out = NULL;
	}
}

static char *pad;

static bool publish_one(long idx)
{
	int j;
	for (j = 0; j < o.publishers; j++)
		if (!pubs[j].busy)
			break;
	if (j == o.publishers)
		return false;
	struct publisher *p = &pubs[j];
	if (!p->connected && pub_connect(p, j))
		return false;
	json_object *body = json_object_new_object();
	json_object *data = json_object_new_object();
	json_object_object_add(body, "feed", json_object_new_string(o.feed));
	json_object_object_add(body, "type", json_object_new_string(o.type));
	json_object_object_add(data, "t", json_object_new_int64(now_ns()));
	json_object_object_add(data, "i", json_object_new_int64(idx));
	json_object_object_add(data, "pad", json_object_new_string(pad));
	json_object_object_add(body, "data", data);
	size_t blen;
	const char *b = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &blen);
	size_t cap = blen + 512 + strlen(o.token);
	p->out = malloc(cap);
	if (!p->out) {
		json_object_put(body);
		return false;
	}
	int h = snprintf(p->out, cap,
	                 "POST %s/publish HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
	                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	                 o.prefix, o.host, o.port, o.token, blen);
	memcpy(p->out + h, b, blen);
	p->out_len = (size_t)h + blen;
	p->out_off = 0;
	json_object_put(body);
	p->busy = true;
	st.sent++;
	if (!st.first_send)
		st.first_send = now_ns();
	pub_flush(p, j);
	return true;
}

static void pub_event(int j, uint32_t events)
{
	struct publisher *p = &pubs[j];
	if (p->fd < 0)
		return;
	if ((events & EPOLLOUT) && p->out) {
		pub_flush(p, j);
		if (p->fd < 0)
			return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	ssize_t n = recv(p->fd, p->in + p->in_len, sizeof p->in - 1 - p->in_len, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		pub_reset(p);
		return;
	}
	p->in_len += (size_t)n;
	p->in[p->in_len] = '\0';
	char *end = strstr(p->in, "\r\n\r\n");
	if (!end)
		return;
	long clen = 0;
	char *cl = strcasestr(p->in, "\r\ncontent-length:");
	if (cl && cl < end)
		clen = atol(cl + 17);
	size_t total = (size_t)(end - p->in) + 4 + (size_t)clen;
	if (p->in_len < total)
		return;
	int status = p->in_len > 12 ? atoi(p->in + 9) : 0;
	if (status >= 200 && status < 300)
		st.publish_ok++;
	else
		st.publish_errors++;
	bool close_after = strcasestr(p->in, "\r\nconnection: close") != NULL;
	memmove(p->in, p->in + total, p->in_len - total);
	p->in_len -= total;
	p->busy = false;
	if (close_after)
		pub_reset(p);
}

/* --- the loop --- */

static void poll_once(int timeout_ms)
{
	struct epoll_event evs[1024];
	int n = epoll_wait(ep, evs, 1024, timeout_ms);
	for (int k = 0; k < n; k++) {
		uint64_t tag = evs[k].data.u64;
		if (tag == TAG_TIMER)
			continue;
		if (tag >= TAG_PUB && tag < TAG_PUB + MAX_PUBLISHERS)
			pub_event((int)(tag - TAG_PUB), evs[k].events);
		else
			client_event((long)tag, evs[k].events);
	}
}

static bool past(int64_t t)
{
	return interrupted || now_ns() >= t;
}

/* Connects clients [from, to) with at most conc handshakes in flight. */
static void connect_range(long from, long to, long conc, double limit_s)
{
	int64_t end = now_ns() + (int64_t)(limit_s * 1e9);
	if (end > t_deadline)
		end = t_deadline;
	long next = from;
	while (!past(end)) {
		while (next < to && st.inflight < conc) {
			if (client_connect(next))
				st.connect_errors++;
			next++;
		}
		if (next >= to && st.inflight == 0)
			break;
		poll_once(10);
	}
}

static void wait_snapshots(long want, double limit_s)
{
	int64_t end = now_ns() + (int64_t)(limit_s * 1e9);
	while (st.snapshots < want && !past(end) && !past(t_deadline))
		poll_once(10);
}

static void run_for(double secs)
{
	int64_t end = now_ns() + (int64_t)(secs * 1e9);
	while (!past(end) && !past(t_deadline))
		poll_once(50);
}

/* A number with three decimals, printed as such (json-c would print 17 digits). */
static json_object *num(double v)
{
	char s[64];
	snprintf(s, sizeof s, "%.3f", v);
	return json_object_new_double_s(v, s);
}

static void add_ms(json_object *obj, const char *key, double ms)
{
	json_object_object_add(obj, key, ms < 0 ? NULL : num(ms));
}

static json_object *quantiles(struct samples *s)
{
	samples_sort(s);
	json_object *q = json_object_new_object();
	add_ms(q, "p50", quantile_ms(s, 0.5));
	add_ms(q, "p90", quantile_ms(s, 0.9));
	add_ms(q, "p99", quantile_ms(s, 0.99));
	add_ms(q, "max", quantile_ms(s, 1.0));
	return q;
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: tacws-bench [options]\n"
	    "  --port N           server port (8003)\n"
	    "  --feed NAME        feed to subscribe and publish to (workflows)\n"
	    "  --prefix P         API prefix (/api/v1)\n"
	    "  --token T          publish token\n"
	    "  --pid PID[,PID..]  the server's PIDs, for CPU time and RSS from /proc (summed)\n"
	    "  --sub-ports P,P..  spread the subscribers over these ports (a cluster's nodes);\n"
	    "                     publishing stays on --port\n"
	    "  --redis-pid PID    a cluster's redis-server: its CPU is reported apart\n"
	    "  --label L          \"server\" field of the JSON line\n"
	    "  -n, --subscribers  healthy subscribers (100)\n"
	    "  -k, --slow K       extra subscribers that never read (0)\n"
	    "  --slow-rcvbuf B    SO_RCVBUF of those, bytes (4096; 0: the kernel's)\n"
	    "  -m, --messages M   messages to publish (100; 0: none)\n"
	    "  -r, --rate R       messages per second (10)\n"
	    "  -s, --size S       bytes of padding in each message's data (1024)\n"
	    "  --sources X        source addresses 127.0.0.1..127.0.0.X (8)\n"
	    "  --publishers P     publisher connections, one request in flight each (4)\n"
	    "  --concurrency C    handshakes in flight while connecting (512)\n"
	    "  --idle SECS        after connecting, idle this long and measure the server\n"
	    "  --storm            at the end, all subscribers disconnect and reconnect at once\n"
	    "  --resume           in the storm, each comes back with ?since=&epoch= of the\n"
	    "                     snapshot it holds (\"resumed\" instead of the snapshot)\n"
	    "  --deflate          offer permessage-deflate (no context takeover) and inflate;\n"
	    "                     the padding is then JSON-like text rather than one letter\n"
	    "  --delta            subscribe with ?delta=json-patch (JSON Patch deltas)\n"
	    "  --drain SECS       wait this long for the last deliveries (10)\n"
	    "  --timeout SECS     hard limit for the whole run (300)\n");
}

static int parse_args(int argc, char **argv)
{
	enum {
		O_PORT = 256,
		O_FEED,
		O_PREFIX,
		O_TOKEN,
		O_PID,
		O_LABEL,
		O_SOURCES,
		O_PUBS,
		O_CONC,
		O_IDLE,
		O_STORM,
		O_DEFLATE,
		O_DELTA,
		O_DRAIN,
		O_TIMEOUT,
		O_TYPE,
		O_RCVBUF,
		O_SUB_PORTS,
		O_REDIS_PID,
		O_RESUME
	};
	static const struct option lo[] = {
	    {"port", required_argument, NULL, O_PORT},
	    {"feed", required_argument, NULL, O_FEED},
	    {"prefix", required_argument, NULL, O_PREFIX},
	    {"token", required_argument, NULL, O_TOKEN},
	    {"pid", required_argument, NULL, O_PID},
	    {"sub-ports", required_argument, NULL, O_SUB_PORTS},
	    {"redis-pid", required_argument, NULL, O_REDIS_PID},
	    {"label", required_argument, NULL, O_LABEL},
	    {"type", required_argument, NULL, O_TYPE},
	    {"subscribers", required_argument, NULL, 'n'},
	    {"slow", required_argument, NULL, 'k'},
	    {"messages", required_argument, NULL, 'm'},
	    {"rate", required_argument, NULL, 'r'},
	    {"size", required_argument, NULL, 's'},
	    {"sources", required_argument, NULL, O_SOURCES},
	    {"slow-rcvbuf", required_argument, NULL, O_RCVBUF},
	    {"publishers", required_argument, NULL, O_PUBS},
	    {"concurrency", required_argument, NULL, O_CONC},
	    {"idle", required_argument, NULL, O_IDLE},
	    {"storm", no_argument, NULL, O_STORM},
	    {"resume", no_argument, NULL, O_RESUME},
	    {"deflate", no_argument, NULL, O_DEFLATE},
	    {"delta", no_argument, NULL, O_DELTA},
	    {"drain", required_argument, NULL, O_DRAIN},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "n:k:m:r:s:h", lo, NULL)) != -1) {
		switch (c) {
		case O_PORT:
			o.port = atoi(optarg);
			break;
		case O_FEED:
			o.feed = optarg;
			break;
		case O_PREFIX:
			o.prefix = optarg;
			break;
		case O_TOKEN:
			o.token = optarg;
			break;
		case O_PID: {
			int pids[MAX_NODES];
			o.n_pids = parse_list(optarg, pids);
			for (int i = 0; i < o.n_pids; i++)
				o.pids[i] = (pid_t)pids[i];
			if (o.n_pids < 0)
				return -EINVAL;
			break;
		}
		case O_SUB_PORTS:
			if ((o.n_sub_ports = parse_list(optarg, o.sub_ports)) <= 0)
				return -EINVAL;
			break;
		case O_REDIS_PID:
			o.redis_pid = (pid_t)atoi(optarg);
			break;
		case O_LABEL:
			o.label = optarg;
			break;
		case O_TYPE:
			o.type = optarg;
			break;
		case 'n':
			o.subscribers = atol(optarg);
			break;
		case 'k':
			o.slow = atoi(optarg);
			break;
		case 'm':
			o.messages = atol(optarg);
			break;
		case 'r':
			o.rate = atof(optarg);
			break;
		case 's':
			o.size = atol(optarg);
			break;
		case O_SOURCES:
			o.sources = atoi(optarg);
			break;
		case O_RCVBUF:
			o.slow_rcvbuf = atoi(optarg);
			break;
		case O_PUBS:
			o.publishers = atoi(optarg);
			break;
		case O_CONC:
			o.conc = atoi(optarg);
			break;
		case O_IDLE:
			o.idle_s = atof(optarg);
			break;
		case O_STORM:
			o.storm = true;
			break;
		case O_RESUME:
			o.resume = true;
			break;
		case O_DELTA:
			o.delta = true;
			break;
		case O_DEFLATE:
			o.deflate = true;
			break;
		case O_DRAIN:
			o.drain_s = atof(optarg);
			break;
		case O_TIMEOUT:
			o.timeout_s = atof(optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (optind < argc || o.port <= 0 || o.port > 65535 || o.subscribers < 0 || o.slow < 0 ||
	    o.messages < 0 || o.rate <= 0 || o.size < 0 || o.size > (16 << 20) || o.sources < 1 ||
	    o.sources > 250 || o.publishers < 1 || o.publishers > MAX_PUBLISHERS || o.conc < 1 ||
	    o.timeout_s <= 0 || o.slow_rcvbuf < 0 || o.drain_s < 0 || o.idle_s < 0 ||
	    (o.resume && !o.storm))
		return -EINVAL;
	struct in_addr a;
	/* loopback only: this tool must never load another machine */
	if (inet_pton(AF_INET, o.host, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
		return -EINVAL;
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	if (parse_args(argc, argv)) {
		usage(stderr);
		return 2;
	}
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	t_deadline = now_ns() + (int64_t)(o.timeout_s * 1e9);

	n_clients = o.subscribers + o.slow;
	clients = calloc((size_t)n_clients + 1, sizeof *clients);
	seen = calloc((size_t)o.subscribers * (size_t)o.messages / 8 + 1, 1);
	rxbuf = malloc(RX_CHUNK);
	pad = malloc((size_t)o.size + 1);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!clients || !seen || !rxbuf || !pad || ep < 0) {
		fprintf(stderr, "tacws-bench: out of memory\n");
		return 1;
	}
	memset(pad, 'x', (size_t)o.size);
	if (o.deflate) {
		/* compressible as real feeds are (records with varying ids), not 3000:1 */
		uint32_t r = 12345;
		for (long i = 0; i + 32 < o.size;) {
			r = r * 1103515245u + 12345u;
			i += snprintf(pad + i, 33, "adw-%06x running phase %u; ", (r >> 8) & 0xffffff,
				      (r >> 4) % 9);
		}
		if (inflateInit2(&inflater, -15) != Z_OK) {
			fprintf(stderr, "tacws-bench: zlib: cannot start an inflater\n");
			return 2;
		}
	}
	pad[o.size] = '\0';
	for (long i = 0; i < n_clients; i++) {
		clients[i].fd = -1;
		clients[i].slow = i >= o.subscribers;
	}
	for (int j = 0; j < MAX_PUBLISHERS; j++)
		pubs[j].fd = -1;
	size_t hcap = 640 + strlen(o.prefix) + strlen(o.feed) + strlen(o.token);
	handshake = malloc(hcap);
	handshake_len = handshake ? handshake_build(handshake, hcap, NULL) : 0;

	json_object *out = json_object_new_object();
	json_object_object_add(out, "server", json_object_new_string(o.label));
	json_object_object_add(out, "subscribers", json_object_new_int64(o.subscribers));
	json_object_object_add(out, "slow", json_object_new_int(o.slow));
	json_object_object_add(out, "messages", json_object_new_int64(o.messages));
	json_object_object_add(out, "rate", num(o.rate));
	json_object_object_add(out, "size", json_object_new_int64(o.size));

	/* connect */
	long fds0 = proc_fds();
	struct proc_stat p0 = proc_read();
	int64_t t0 = now_ns();
	st.measuring_conn = true;
	connect_range(0, n_clients, o.conc, o.timeout_s);
	wait_snapshots(o.subscribers, 10);
	st.measuring_conn = false;
	double connect_s = (double)(now_ns() - t0) / 1e9;
	struct proc_stat p1 = proc_read();
	json_object_object_add(out, "connected", json_object_new_int64(st.connected));
	json_object_object_add(out, "connect_errors", json_object_new_int64(st.connect_errors));
	json_object_object_add(out, "connect_wall_s", num(connect_s));
	json_object *cq = quantiles(&conn_us);
	json_object_object_add(out, "connect_ms", cq);
	json_object_object_add(out, "snapshots", json_object_new_int64(st.snapshots));
	json_object_object_add(out, "snapshot_bytes", json_object_new_int64(st.snapshot_bytes));
	if (p1.ok) {
		json_object_object_add(out, "server_rss_kb_idle0",
		                       json_object_new_int64(p0.rss_kb));
		json_object_object_add(out, "server_rss_kb_connected",
		                       json_object_new_int64(p1.rss_kb));
		if (st.connected)
			json_object_object_add(
			    out, "server_rss_bytes_per_conn",
			    json_object_new_int64((p1.rss_kb - p0.rss_kb) * 1024 / st.connected));
	}

	if (o.idle_s > 0) {
		struct proc_stat a = proc_read();
		int64_t ti = now_ns();
		long up0 = st.updates, ud0 = st.update_deltas;
		uint64_t wb0 = st.wire_bytes;
		run_for(o.idle_s);
		struct proc_stat b = proc_read();
		double secs = (double)(now_ns() - ti) / 1e9;
		long ups = st.updates - up0;
		json_object *idle = json_object_new_object();
		/* the feed's changes the subscribers got in the window (its source changed by
		 * someone else, e.g. tools/tacws-bench/run-feed-changes.sh) */
		json_object_object_add(idle, "updates", json_object_new_int64(ups));
		json_object_object_add(idle, "update_deltas",
				       json_object_new_int64(st.update_deltas - ud0));
		json_object_object_add(idle, "wire_bytes_per_update",
				       num(ups ? (double)(st.wire_bytes - wb0) / (double)ups : 0));
		if (a.ok && b.ok && ups)
			json_object_object_add(idle, "server_us_per_update",
					       num((b.cpu_s - a.cpu_s) * 1e6 / (double)ups));
		json_object_object_add(idle, "seconds", num(secs));
		json_object_object_add(idle, "pings", json_object_new_int64(st.pings));
		json_object_object_add(idle, "open", json_object_new_int64(st.open_healthy));
		if (a.ok && b.ok) {
			json_object_object_add(idle, "server_cpu_s", num(b.cpu_s - a.cpu_s));
			json_object_object_add(idle, "server_cpu_pct",
			                       num(100.0 * (b.cpu_s - a.cpu_s) / secs));
			json_object_object_add(idle, "server_rss_kb",
			                       json_object_new_int64(b.rss_kb));
		}
		json_object_object_add(out, "idle", idle);
	}

	/* publish */
	long healthy_open = st.open_healthy;
	struct proc_stat pa = proc_read(), ra = proc_read_pid(o.redis_pid);
	double tool_a = tool_cpu_s();
	long peak_rss = pa.rss_kb;
	if (o.messages > 0) {
		int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		long period_ns = (long)(1e9 / o.rate);
		struct itimerspec its = {{period_ns / 1000000000L, period_ns % 1000000000L},
		                         {0, 1000000}};
		timerfd_settime(tfd, 0, &its, NULL);
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_TIMER};
		epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
		long due = 0;
		int64_t last_rss = now_ns();
		while (st.sent < o.messages && !past(t_deadline)) {
			uint64_t ticks;
			if (read(tfd, &ticks, sizeof ticks) == (ssize_t)sizeof ticks)
				due += (long)ticks;
			while (due > 0 && st.sent < o.messages && publish_one(st.sent))
				due--;
			poll_once(5);
			if (now_ns() - last_rss > 250000000LL) {
				struct proc_stat ps = proc_read();
				if (ps.rss_kb > peak_rss)
					peak_rss = ps.rss_kb;
				last_rss = now_ns();
			}
		}
		close(tfd);
		int64_t drain_end = now_ns() + (int64_t)(o.drain_s * 1e9);
		while (!past(drain_end) && !past(t_deadline) &&
		       (st.delivered < healthy_open * o.messages ||
		        st.publish_ok + st.publish_errors < st.sent))
			poll_once(10);
	}
	struct proc_stat pb = proc_read(), rb = proc_read_pid(o.redis_pid);
	double tool_b = tool_cpu_s();
	if (pb.rss_kb > peak_rss)
		peak_rss = pb.rss_kb;
	long expected = healthy_open * o.messages;
	json_object_object_add(out, "sent", json_object_new_int64(st.sent));
	json_object_object_add(out, "publish_errors", json_object_new_int64(st.publish_errors));
	json_object_object_add(out, "frame_bytes", json_object_new_int64(st.frame_bytes));
	json_object_object_add(out, "expected", json_object_new_int64(expected));
	json_object_object_add(out, "delivered", json_object_new_int64(st.delivered));
	json_object_object_add(out, "lost", json_object_new_int64(expected - st.delivered));
	json_object_object_add(out, "duplicates", json_object_new_int64(st.duplicates));
	json_object_object_add(out, "latency_ms", quantiles(&lat_us));
	double span =
	    st.last_delivery > st.first_send ? (double)(st.last_delivery - st.first_send) / 1e9 : 0;
	json_object_object_add(out, "deliveries_per_s",
	                       num(span > 0 ? (double)st.delivered / span : 0));
	if (pa.ok && pb.ok) {
		double cpu = pb.cpu_s - pa.cpu_s;
		json_object_object_add(out, "server_cpu_s", num(cpu));
		json_object_object_add(out, "server_us_per_delivery",
		                       st.delivered ? num(cpu * 1e6 / (double)st.delivered) : NULL);
		json_object_object_add(out, "server_rss_kb_peak", json_object_new_int64(peak_rss));
	}
	if (ra.ok && rb.ok) {
		double cpu = rb.cpu_s - ra.cpu_s;
		json_object_object_add(out, "redis_cpu_s", num(cpu));
		json_object_object_add(out, "redis_us_per_delivery",
		                       st.delivered ? num(cpu * 1e6 / (double)st.delivered) : NULL);
	}
	json_object_object_add(out, "tool_cpu_s", num(tool_b - tool_a));
	if (o.deflate) {
		json_object_object_add(out, "deflate_accepted", json_object_new_int64(st.deflate_accepted));
		json_object_object_add(out, "wire_bytes_per_delivery",
				       num(st.delivered ? (double)st.wire_bytes / (double)st.delivered : 0));
	}

	if (o.storm) {
		/* every healthy subscriber drops at once, then all come back at once; the server's
		 * CPU for the closes is measured apart, until it holds about its first descriptors
		 * again (the slow subscribers', the publishers' and a few of its own aside) */
		struct proc_stat sc = proc_read();
		int64_t tc = now_ns();
		for (long i = 0; i < o.subscribers; i++)
			if (clients[i].fd >= 0)
				client_close(&clients[i]);
		int64_t settle_end = tc + 30000000000LL;
		while (fds0 >= 0 && proc_fds() > fds0 + o.slow + o.publishers + 4 && !past(settle_end))
			poll_once(20);
		double close_s = (double)(now_ns() - tc) / 1e9;
		long snaps_before = st.snapshots, resumed_before = st.resumed;
		long conn_before = st.connected, err_before = st.connect_errors;
		uint64_t payload_before = st.wire_bytes, rx_before = st.rx_bytes;
		long points = 0;
		for (long i = 0; i < o.subscribers; i++)
			points += clients[i].has_point;
		st.resuming = o.resume;
		struct proc_stat sa = proc_read();
		conn_us.n = 0;
		snap_us.n = 0;
		st.measuring_conn = st.measuring_snap = true;
		int64_t ts = now_ns();
		connect_range(0, o.subscribers, o.subscribers + 1, 60);
		wait_snapshots(snaps_before + o.subscribers, 30);
		double secs = (double)(now_ns() - ts) / 1e9;
		struct proc_stat sb = proc_read();
		json_object *storm = json_object_new_object();
		json_object_object_add(storm, "reconnected",
		                       json_object_new_int64(st.connected - conn_before));
		json_object_object_add(storm, "errors",
		                       json_object_new_int64(st.connect_errors - err_before));
		long resumed = st.resumed - resumed_before;
		json_object_object_add(storm, "resume", json_object_new_boolean(o.resume));
		json_object_object_add(storm, "close_wall_s", num(close_s));
		if (sc.ok && sa.ok)
			json_object_object_add(storm, "close_server_cpu_s", num(sa.cpu_s - sc.cpu_s));
		json_object_object_add(storm, "resume_points", json_object_new_int64(points));
		json_object_object_add(storm, "snapshots",
		                       json_object_new_int64(st.snapshots - snaps_before - resumed));
		json_object_object_add(storm, "resumed", json_object_new_int64(resumed));
		/* what the server sent: text payloads, and every byte read (HTTP 101, frame headers) */
		json_object_object_add(storm, "payload_bytes",
		                       json_object_new_int64((int64_t)(st.wire_bytes - payload_before)));
		json_object_object_add(storm, "rx_bytes",
		                       json_object_new_int64((int64_t)(st.rx_bytes - rx_before)));
		json_object_object_add(storm, "wall_s", num(secs));
		json_object_object_add(storm, "connect_ms", quantiles(&conn_us));
		json_object_object_add(storm, "snapshot_ms", quantiles(&snap_us));
		if (sa.ok && sb.ok) {
			json_object_object_add(storm, "server_cpu_s", num(sb.cpu_s - sa.cpu_s));
			json_object_object_add(storm, "server_sys_s", num(sb.sys_s - sa.sys_s));
		}
		json_object_object_add(out, "storm", storm);
	}
	json_object_object_add(out, "server_closes", json_object_new_int64(st.server_closes));
	json_object_object_add(out, "eof_closes", json_object_new_int64(st.eof_closes));
	json_object_object_add(out, "interrupted", json_object_new_boolean(interrupted));
	printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);

	json_object_put(out);
	for (long i = 0; i < n_clients; i++)
		if (clients[i].fd >= 0 || clients[i].pend)
			client_close(&clients[i]);
	for (int j = 0; j < MAX_PUBLISHERS; j++) {
		pubs[j].busy = false;
		pub_reset(&pubs[j]);
	}
	close(ep);
	free(clients);
	free(seen);
	free(rxbuf);
	free(pad);
	if (o.deflate)
		inflateEnd(&inflater);
	free(inflated);
	free(handshake);
	free(lat_us.v);
	free(conn_us.v);
	free(snap_us.v);
	return 0;
}
