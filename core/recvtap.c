/*
 * Why recv() is interposed (libwebsockets 4.1.6, Debian 12):
 * - lws parses client frames itself (roles/ws/ops-ws.c, lws_ws_rx_sm). It
 *   reads the mask bit and never refuses an unmasked client frame (RFC 6455
 *   §5.1; lws added that check after 4.3). It answers a ping with a pong
 *   without any callback, and passes no empty pong up.
 * - No supported hook sees either: lws-callbacks.h has no ping callback;
 *   extension callbacks (LWS_EXT_CB_PAYLOAD_RX) run only for an extension
 *   the client negotiated and only for data frames; the frame state
 *   (wsi->ws) is private. Running lws on an external poll loop to peek
 *   (MSG_PEEK) before lws_service_fd would cost a syscall per read and the
 *   libuv loop.
 * - lws reads a plain socket with recv(fd, buf, len, 0)
 *   (core-net/output.c, lws_ssl_capable_read_no_ssl). tacws serves no TLS
 *   itself (a reverse proxy terminates it); under TLS this tap would see
 *   ciphertext, and the frames would need a check of their own.
 * So tacwsd defines recv(): the executable's definition comes first in the
 * dynamic lookup, so libwebsockets.so's calls land here (dlsym(RTLD_NEXT)
 * finds the next one: libc's, or a sanitizer's). It only observes: the bytes
 * and the result lws gets are those of the real recv.
 * - Threads: on any thread but the loop thread (plugins' libpq and libcurl on
 *   workers) the cost is one thread-local load. On the loop thread, a read of
 *   a socket that is not watched (HTTP, hiredis) costs an index into the fd
 *   table and a 3-byte tail; a watched one, the frame reader over the bytes
 *   (O(1) per payload, a few operations per header byte).
 * - Descriptor reuse: a socket is watched from its LWS_CALLBACK_ESTABLISHED to
 *   its LWS_CALLBACK_CLOSED, which lws calls before it closes the descriptor,
 *   so a number reused by a later accept is never read through an old entry.
 * - The stream must be read from a frame boundary. Bytes a client sends
 *   behind its upgrade request are read by lws with the request, before the
 *   socket is watched, and parsed as frames later; such a client (§4.1: it
 *   must wait for the 101) is refused at the upgrade: see
 *   tacws_recvtap_request_read_last.
 */
/* RTLD_NEXT: _GNU_SOURCE comes from the build */
#include "recvtap.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

typedef ssize_t recv_fn(int fd, void *buf, size_t len, int flags);

struct slot {
	tacws_frame_reader *reader; /* NULL: not watched */
	void *ctx;
	unsigned char tail[3]; /* the last bytes read from an unwatched socket */
};

/* Loop thread only. */
static struct {
	struct slot *slots; /* indexed by descriptor */
	size_t cap;
	tacws_recvtap_fn *fn;
	struct { /* the last read of an unwatched socket: lws's read buffer */
		int fd;
		const unsigned char *buf;
		size_t len;
		unsigned char tail[3]; /* the socket's bytes before it */
	} last;
} tap = {.last.fd = -1};

static _Thread_local bool on_loop_thread;

static recv_fn *next_recv(void)
{
	static recv_fn *next; /* the same value whichever thread resolves it first */
	recv_fn *f = __atomic_load_n(&next, __ATOMIC_RELAXED);
	if (!f) {
		void *sym = dlsym(RTLD_NEXT, "recv");
		memcpy(&f, &sym, sizeof f);
		__atomic_store_n(&next, f, __ATOMIC_RELAXED);
	}
	return f;
}

static struct slot *slot_of(int fd, bool grow)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= tap.cap) {
		if (!grow)
			return NULL;
		size_t cap = tap.cap ? tap.cap : 1024;
		while (cap <= (size_t)fd)
			cap *= 2;
		struct slot *s = realloc(tap.slots, cap * sizeof *s);
		if (!s)
			return NULL;
		memset(s + tap.cap, 0, (cap - tap.cap) * sizeof *s);
		tap.slots = s;
		tap.cap = cap;
	}
	return &tap.slots[fd];
}

static void keep_tail(unsigned char tail[3], const unsigned char *p, size_t n)
{
	unsigned char t[6];
	memcpy(t, tail, 3);
	size_t m = n < 3 ? n : 3;
	memcpy(t + 3, p + n - m, m);
	memcpy(tail, t + m, 3);
}

static void saw(int fd, const unsigned char *p, size_t n, int flags)
{
	struct slot *s = slot_of(fd, !(flags & MSG_PEEK));
	if (!s)
		return;
	if (flags & MSG_PEEK) { /* listen.c's look at a new connection's request line */
		memset(s->tail, 0, sizeof s->tail);
		return;
	}
	if (!s->reader) {
		tap.last.fd = fd;
		tap.last.buf = p;
		tap.last.len = n;
		memcpy(tap.last.tail, s->tail, 3);
		keep_tail(s->tail, p, n);
		return;
	}
	tacws_frame_counts c = {0};
	tacws_frame_read(s->reader, p, n, &c);
	if (c.frames || c.malformed)
		tap.fn(s->ctx, &c);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	recv_fn *real = next_recv();
	ssize_t n = real ? real(fd, buf, len, flags) : recvfrom(fd, buf, len, flags, NULL, NULL);
	if (on_loop_thread && n > 0 && tap.fn) {
		int e = errno;
		saw(fd, buf, (size_t)n, flags);
		errno = e;
	}
	return n;
}

void tacws_recvtap_start(tacws_recvtap_fn *fn)
{
	next_recv(); /* resolved now, not inside lws's first read */
	/* lws's reads come here only if this recv is the one the dynamic linker
	 * gives everyone (tacws_core linked into the executable, recv exported) */
	void *found = dlsym(RTLD_DEFAULT, "recv");
	recv_fn *self = recv;
	if (memcmp(&found, &self, sizeof self)) {
		tacws_log_warn("recvtap", "recv() is not interposed: unmasked client frames and "
			       "client pings go unchecked");
		return;
	}
	tap.fn = fn;
	tap.last.fd = -1;
	on_loop_thread = true;
}

void tacws_recvtap_stop(void)
{
	on_loop_thread = false;
	tap.fn = NULL;
	free(tap.slots);
	tap.slots = NULL;
	tap.cap = 0;
	tap.last.fd = -1;
}

int tacws_recvtap_watch(int fd, tacws_frame_reader *r, void *ctx)
{
	struct slot *s = on_loop_thread ? slot_of(fd, true) : NULL;
	if (!s)
		return -1;
	tacws_frame_reader_init(r);
	s->reader = r;
	s->ctx = ctx;
	if (tap.last.fd == fd)
		tap.last.fd = -1;
	return 0;
}

void tacws_recvtap_unwatch(int fd)
{
	struct slot *s = slot_of(fd, false);
	if (s)
		memset(s, 0, sizeof *s);
}

/* The byte at i of the socket's stream as the last read saw it: its three
 * bytes before, then the read. */
static unsigned char last_at(size_t i)
{
	return i < 3 ? tap.last.tail[i] : tap.last.buf[i - 3];
}

bool tacws_recvtap_request_read_last(int fd)
{
	if (!on_loop_thread)
		return true; /* no tap: nothing to keep in step */
	if (fd < 0 || tap.last.fd != fd)
		return false;
	/* The first end of headers in the read ("\n\r\n" or "\n\n": lws takes bare
	 * LFs too) must be its last byte. An earlier one is checked as the end: lws
	 * stops no later than it, so a client cannot hide bytes behind it. */
	size_t n = 3 + tap.last.len;
	for (size_t i = 3; i < n; i++) {
		if (last_at(i) != '\n')
			continue;
		bool end = last_at(i - 1) == '\n' || (last_at(i - 1) == '\r' && last_at(i - 2) == '\n');
		if (end)
			return i == n - 1;
	}
	return false;
}
