/*
 * tacws-topic-churn: what a new topic costs tacwsd as live topics grow
 * (issue 13, F1). For each level N of --levels it first fills the feed with
 * N live topics (subscriptions to <feed>/<new id> on multiplexed sockets,
 * kept open), then runs --rounds rounds of --ops new topics on another
 * socket: subscribe a batch of new ids, read their snapshots, unsubscribe
 * them. It prints one JSON line per level, per subscribe+unsubscribe of one
 * new topic: wall time (median, min and max of the rounds), the server's CPU
 * time (utime + stime from /proc/<pid>/stat, all threads, over all rounds) and
 * its loop thread's (/proc/<pid>/schedstat, where topic lookup and timers
 * run); and the median time of GET /healthz after the rounds.
 *
 * The server needs room for this (tools/tacws-bench/run-topic-churn.sh writes
 * such a config): max_subscriptions = 10000 (the sockets that hold topics),
 * ping_interval_s = 3600 (holders read nothing while others fill, so they
 * answer no ping),
 * client_messages_per_s high, topic_idle_s = 1 (churned topics go soon), and
 * once they exist max_topics and topic_creations_per_s above the levels.
 * Loopback only; every wait is bounded by --timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LEVELS 16
#define MAX_HOLDERS 256
#define UPDATE "_update\"" /* in the type of every snapshot message */

static struct {
	int port, pid, batch, rounds;
	long ops, per_socket, levels[MAX_LEVELS];
	int n_levels;
	const char *feed, *prefix;
	double timeout_s;
} o = {.batch = 64,
       .rounds = 5,
       .ops = 256,
       .per_socket = 10000,
       .feed = "adw-state",
       .prefix = "/api/v1",
       .timeout_s = 600};

static double deadline;  /* monotonic seconds: every wait ends by it */
static unsigned run_tag; /* makes this run's ids new to the server */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "tacws-topic-churn: %s\n", what);
	exit(1);
}

static int tcp_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) ||
	    connect(fd, (struct sockaddr *)&a, sizeof a))
		die("cannot connect to 127.0.0.1 (is tacwsd running on --port?)");
	return fd;
}

static void send_all(int fd, const void *p, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, (const char *)p + off, len - off);
		if (n <= 0)
			die("the server closed the connection");
		off += (size_t)n;
	}
}

/* Reads at least one byte into buf by the deadline. */
static size_t recv_some(int fd, char *buf, size_t cap)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int left = (int)((deadline - now_s()) * 1000);
	if (left <= 0 || poll(&p, 1, left) != 1)
		die("timed out (--timeout)");
	ssize_t n = read(fd, buf, cap);
	if (n <= 0)
		die("the server closed the connection");
	return (size_t)n;
}

/* A client socket with its unparsed input. */
struct ws {
	int fd;
	long subs;
	char in[1 << 16];
	size_t len;
};

static void ws_open(struct ws *w)
{
	w->fd = tcp_connect();
	w->subs = 0;
	w->len = 0;
	char req[512];
	int n = snprintf(req, sizeof req,
	                 "GET %s/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                 "Sec-WebSocket-Version: 13\r\n\r\n",
	                 o.prefix);
	send_all(w->fd, req, (size_t)n);
	char *end;
	while (w->len < sizeof w->in - 1) {
		w->len += recv_some(w->fd, w->in + w->len, sizeof w->in - 1 - w->len);
		w->in[w->len] = '\0';
		if ((end = strstr(w->in, "\r\n\r\n")))
			break;
	}
	if (strncmp(w->in, "HTTP/1.1 101", 12))
		die("the upgrade to the multiplexed socket was refused");
	size_t head = (size_t)(end + 4 - w->in);
	memmove(w->in, w->in + head, w->len - head);
	w->len -= head;
}

/* One masked text frame (the mask is zero: the server unmasks all the same). */
static void ws_send(struct ws *w, const char *text)
{
	size_t len = strlen(text), h = 0;
	unsigned char head[14];
	head[h++] = 0x81;
	if (len < 126) {
		head[h++] = 0x80 | (unsigned char)len;
	} else {
		head[h++] = 0x80 | 126;
		head[h++] = (unsigned char)(len >> 8);
		head[h++] = (unsigned char)len;
	}
	memset(head + h, 0, 4);
	send_all(w->fd, head, h + 4);
	send_all(w->fd, text, len);
}

/* Whether a whole frame is buffered: its header and payload lengths. */
static bool frame_ready(const struct ws *w, size_t *hdr, size_t *plen)
{
	if (w->len < 2)
		return false;
	size_t h = 2, n = (unsigned char)w->in[1] & 0x7f;
	if (n == 127)
		die("a server message over 64 KiB");
	if (n == 126) {
		if (w->len < 4)
			return false;
		h = 4;
		n = (size_t)((unsigned char)w->in[2] << 8 | (unsigned char)w->in[3]);
	}
	if (h + n > sizeof w->in)
		die("a server message over the buffer");
	*hdr = h;
	*plen = n;
	return w->len >= h + n;
}

/* Reads until n text messages containing needle have come; an error message ends the run. */
static void ws_expect(struct ws *w, const char *needle, long n)
{
	while (n > 0) {
		size_t hdr, plen;
		if (!frame_ready(w, &hdr, &plen)) {
			w->len += recv_some(w->fd, w->in + w->len, sizeof w->in - w->len);
			continue;
		}
		const char *msg = w->in + hdr;
		bool text = (w->in[0] & 0x0f) == 1;
		if (text && memmem(msg, plen, "\"type\":\"error\"", 15)) {
			fprintf(stderr, "tacws-topic-churn: server error: %.*s\n", (int)plen, msg);
			exit(1);
		}
		if (text && memmem(msg, plen, needle, strlen(needle)))
			n--;
		memmove(w->in, w->in + hdr + plen, w->len - hdr - plen);
		w->len -= hdr + plen;
	}
}

/* {"type":"subscribe"|"unsubscribe","feeds":["<feed>/t<tag>x<first>", ...]} */
static void change(struct ws *w, bool subscribe, unsigned long first, int count)
{
	static char msg[1 << 15];
	size_t n = (size_t)snprintf(msg, sizeof msg, "{\"type\":\"%s\",\"feeds\":[",
	                            subscribe ? "subscribe" : "unsubscribe");
	for (int i = 0; i < count; i++)
		n += (size_t)snprintf(msg + n, sizeof msg - n, "%s\"%s/t%xx%lu\"", i ? "," : "",
		                      o.feed, run_tag, first + (unsigned long)i);
	snprintf(msg + n, sizeof msg - n, "]}");
	ws_send(w, msg);
}

static void sync_ping(struct ws *w)
{
	ws_send(w, "{\"type\":\"ping\",\"timestamp\":1}");
	ws_expect(w, "\"type\":\"pong\"", 1);
}

static double server_cpu_s(void)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", o.pid);
	FILE *f = o.pid ? fopen(path, "r") : NULL;
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* fields after the command's name; utime, stime: 14, 15 */
	unsigned long long ut = 0, st = 0;
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU time of the loop thread (the main thread, which owns every topic and
 * timer), in ns resolution: /proc/<pid>/schedstat of the thread group leader. */
static double loop_cpu_s(void)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/schedstat", o.pid);
	FILE *f = o.pid ? fopen(path, "r") : NULL;
	unsigned long long ns = 0;
	int ok = f && fscanf(f, "%llu", &ns) == 1;
	if (f)
		fclose(f);
	return ok ? (double)ns / 1e9 : -1;
}

static double healthz_ms(void)
{
	double best[21];
	for (int i = 0; i < 21; i++) {
		double t0 = now_s();
		int fd = tcp_connect();
		static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		                          "Connection: close\r\n\r\n";
		send_all(fd, req, sizeof req - 1);
		char buf[2048];
		recv_some(fd, buf, sizeof buf);
		close(fd);
		best[i] = (now_s() - t0) * 1000;
	}
	for (int i = 1; i < 21; i++) /* insertion sort, then the median */
		for (int j = i; j > 0 && best[j] < best[j - 1]; j--) {
			double t = best[j];
			best[j] = best[j - 1];
			best[j - 1] = t;
		}
	return best[10];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: tacws-topic-churn --port P [--pid PID] [--levels 100,100000] [--ops 256]\n"
	        "                         [--rounds 5] [--batch 64] [--per-socket 10000]\n"
	        "                         [--feed adw-state] [--prefix /api/v1] [--timeout 600]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"port", 1, 0, 'p'},       {"pid", 1, 0, 'P'},    {"levels", 1, 0, 'l'},
	    {"ops", 1, 0, 'o'},        {"rounds", 1, 0, 'r'}, {"batch", 1, 0, 'b'},
	    {"per-socket", 1, 0, 's'}, {"feed", 1, 0, 'f'},   {"prefix", 1, 0, 'x'},
	    {"timeout", 1, 0, 't'},    {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'P':
			o.pid = atoi(optarg);
			break;
		case 'o':
			o.ops = atol(optarg);
			break;
		case 'r':
			o.rounds = atoi(optarg);
			break;
		case 'b':
			o.batch = atoi(optarg);
			break;
		case 's':
			o.per_socket = atol(optarg);
			break;
		case 'f':
			o.feed = optarg;
			break;
		case 'x':
			o.prefix = optarg;
			break;
		case 't':
			o.timeout_s = atof(optarg);
			break;
		case 'l':
			o.n_levels = 0;
			for (char *p = optarg; *p && o.n_levels < MAX_LEVELS; p += *p == ',')
				o.levels[o.n_levels++] = strtol(p, &p, 10);
			break;
		default:
			usage();
		}
	}
	if (!o.n_levels) {
		o.levels[0] = 100;
		o.levels[1] = 100000;
		o.n_levels = 2;
	}
	if (o.port <= 0 || o.batch < 1 || o.batch > 1000 || o.rounds < 1 || o.rounds > 100 ||
	    o.ops < o.batch || o.per_socket < o.batch || o.timeout_s <= 0)
		usage();
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	signal(SIGPIPE, SIG_IGN); /* a closed connection is reported, not fatal unexplained */
	deadline = now_s() + o.timeout_s;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	run_tag = (unsigned)rand();
	static struct ws holders[MAX_HOLDERS], churn;
	int n_holders = 0;
	unsigned long next_id = 0;
	long live = 0;
	ws_open(&churn);
	for (int l = 0; l < o.n_levels; l++) {
		double t_fill = now_s();
		while (live < o.levels[l]) { /* fill: subscriptions kept on the holders */
			if (!n_holders || holders[n_holders - 1].subs >= o.per_socket) {
				if (n_holders == MAX_HOLDERS)
					die("more holder sockets needed: raise --per-socket");
				ws_open(&holders[n_holders++]);
			}
			struct ws *h = &holders[n_holders - 1];
			long room = o.per_socket - h->subs, want = o.levels[l] - live;
			int k = (int)(room < want ? room : want);
			k = k < o.batch ? k : o.batch;
			change(h, true, next_id, k);
			ws_expect(h, UPDATE, k);
			next_id += (unsigned long)k;
			h->subs += k;
			live += k;
			if (live % 10000 < k) /* progress: filling is what grows with n squared */
				fprintf(stderr, "tacws-topic-churn: %ld live topics after %.1f s\n",
				        live, now_s() - t_fill);
		}
		t_fill = now_s() - t_fill;
		double wall[100] = {0}, cpu = 0, loop = 0;
		long total = 0;
		for (int r = 0; r < o.rounds; r++) {
			struct timespec pause = {
			    1, 200000000}; /* last round's topics idle out (1 s) */
			nanosleep(&pause, NULL);
			double c0 = server_cpu_s(), l0 = loop_cpu_s(), t0 = now_s();
			for (long done = 0; done < o.ops; done += o.batch) {
				change(&churn, true, next_id, o.batch);
				ws_expect(&churn, UPDATE, o.batch);
				change(&churn, false, next_id, o.batch);
				next_id += (unsigned long)o.batch;
			}
			sync_ping(&churn);
			long ops = (o.ops + o.batch - 1) / o.batch * o.batch;
			wall[r] = (now_s() - t0) * 1e6 / (double)ops;
			cpu += server_cpu_s() - c0;
			loop += loop_cpu_s() - l0;
			total += ops;
		}
		qsort(wall, (size_t)o.rounds, sizeof *wall, cmp_double);
		/* CPU over all rounds: utime + stime tick at 10 ms, too coarse for one round */
		printf("{\"live_topics\":%ld,\"fill_s\":%.2f,\"ops_per_round\":%ld,\"rounds\":%d,"
		       "\"batch\":%d,\"wall_us_per_op\":%.1f,\"wall_us_per_op_min\":%.1f,"
		       "\"wall_us_per_op_max\":%.1f,\"server_cpu_us_per_op\":%.1f,"
		       "\"loop_cpu_us_per_op\":%.1f,\"healthz_ms\":%.2f}\n",
		       live, t_fill, o.ops, o.rounds, o.batch, wall[o.rounds / 2], wall[0],
		       wall[o.rounds - 1], o.pid ? cpu * 1e6 / (double)total : -1.0,
		       o.pid ? loop * 1e6 / (double)total : -1.0, healthz_ms());
		fflush(stdout);
	}
	for (int i = 0; i < n_holders; i++)
		close(holders[i].fd);
	close(churn.fd);
	return 0;
}
