/* tacws-cat against a real tacwsd serving the core's test plugin. */
#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static tacws_server_fixture *srv;
static char alpha_file[512];

struct cat {
	pid_t pid;
	int out; /* read end of its stdout */
	char buf[65536];
	size_t len;
	char err_path[600];
};

static int write_alpha(const char *json)
{
	return tacws_test_write_file(tacws_server_fixture_dir(srv), "alpha.json", json);
}

static int start_server(const char *auth)
{
	char ini[2048];
	snprintf(ini, sizeof(ini),
	         "%s\n[feed.alpha]\nplugin = testfeed\ninterval_ms = 100\nfile = %s\n",
	         auth ? auth : "", alpha_file);
	tacws_server_config cfg = {.ini = ini, .plugin_dir = TEST_PLUGIN_DIR};
	return tacws_server_fixture_start(srv, &cfg);
}

static int suite_init(void)
{
	if (tacws_server_fixture_new(&srv))
		return -1;
	snprintf(alpha_file, sizeof(alpha_file), "%s/alpha.json", tacws_server_fixture_dir(srv));
	return 0;
}

static int suite_cleanup(void)
{
	tacws_server_fixture_free(srv);
	return 0;
}

static void url(char *buf, size_t len, const char *feed)
{
	snprintf(buf, len, "ws://127.0.0.1:%d/api/v1/ws/%s", tacws_server_fixture_port(srv), feed);
}

/* Runs tacws-cat with args (NULL-terminated) and its stdout on a pipe. */
static int cat_start(struct cat *c, const char *const *args)
{
	const char *argv[16] = {TACWS_CAT_PATH};
	int n = 1;
	for (; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	int fds[2];
	memset(c, 0, sizeof(*c));
	snprintf(c->err_path, sizeof(c->err_path), "%s/cat-stderr.log",
	         tacws_server_fixture_dir(srv));
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		int err = open(c->err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (err < 0 || dup2(fds[1], 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	c->out = fds[0];
	return 0;
}

/* Reads stdout until it holds `lines` newlines, EOF, or timeout. Returns the
 * number of complete lines buffered. */
static int cat_read_lines(struct cat *c, int lines, int timeout_ms)
{
	long long deadline = tacws_test_now_ms() + timeout_ms;
	for (;;) {
		int have = 0;
		for (size_t i = 0; i < c->len; i++)
			have += c->buf[i] == '\n';
		long long left = deadline - tacws_test_now_ms();
		if (have >= lines || c->out < 0)
			return have;
		struct pollfd p = {c->out, POLLIN, 0};
		if (poll(&p, 1, left > 0 ? (int)left : 0) <= 0)
			return have;
		ssize_t r = read(c->out, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (r <= 0) {
			close(c->out);
			c->out = -1;
			continue;
		}
		c->len += (size_t)r;
		c->buf[c->len] = '\0';
	}
}

/* Line i (0-based) of what was read, copied into out. */
static const char *cat_line(struct cat *c, int i, char *out, size_t len)
{
	const char *p = c->buf;
	for (; i > 0 && p; i--) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (!p || !*p)
		return NULL;
	size_t n = strcspn(p, "\n");
	snprintf(out, len, "%.*s", (int)n, p);
	return out;
}

/* Waits until one of the lines read equals want. Returns its index or -1. */
static int cat_wait_line(struct cat *c, const char *want, int timeout_ms)
{
	long long deadline = tacws_test_now_ms() + timeout_ms;
	char line[4096];
	for (int i = 0;; i++) {
		long long left = deadline - tacws_test_now_ms();
		if (cat_read_lines(c, i + 1, left > 0 ? (int)left : 0) <= i)
			return -1;
		if (!strcmp(cat_line(c, i, line, sizeof(line)), want))
			return i;
	}
}

/* Waits for the child to exit and returns its status; -1 on timeout (it is
 * then killed, by its PID). */
static int cat_wait(struct cat *c, int timeout_ms)
{
	long long deadline = tacws_test_now_ms() + timeout_ms;
	int status = -1, ws;
	for (;;) {
		pid_t r = waitpid(c->pid, &ws, WNOHANG);
		if (r == c->pid) {
			status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
			break;
		}
		if (tacws_test_now_ms() >= deadline) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &ws, 0);
			break;
		}
		usleep(10000);
	}
	cat_read_lines(c, 1 << 20, 0);
	if (c->out >= 0)
		close(c->out);
	c->out = -1;
	return status;
}

/* What tacws-cat wrote to stderr so far (the caller's). */
static char *cat_stderr_so_far(const struct cat *c)
{
	FILE *f = fopen(c->err_path, "r");
	char *s = calloc(1, 65536);
	if (f && s)
		s[fread(s, 1, 65535, f)] = '\0';
	if (f)
		fclose(f);
	return s;
}

/* The same once it is done; its file is removed. */
static char *cat_stderr(struct cat *c)
{
	char *s = cat_stderr_so_far(c);
	unlink(c->err_path);
	return s;
}

/* Waits until tacws-cat's stderr holds needle. Returns 0 or -1. */
static int cat_wait_stderr(const struct cat *c, const char *needle, int timeout_ms)
{
	for (long long end = tacws_test_now_ms() + timeout_ms;; usleep(20 * 1000)) {
		char *s = cat_stderr_so_far(c);
		int found = s && strstr(s, needle);
		free(s);
		if (found)
			return 0;
		if (tacws_test_now_ms() >= end)
			return -1;
	}
}

static int is_test_update(json_object *o)
{
	const char *t = tacws_ws_type(o);
	return t && !strcmp(t, "test_update");
}

/* Checks a raw line: a test_update envelope whose data has "n" == n. */
static void check_envelope(const char *line, int n)
{
	json_object *o = line ? json_tokener_parse(line) : NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(is_test_update(o));
	CU_ASSERT(tacws_ws_seq(o) >= 1);
	CU_ASSERT_PTR_NOT_NULL(tacws_ws_timestamp(o));
	json_object *v;
	CU_ASSERT(json_object_object_get_ex(tacws_ws_data(o), "n", &v) &&
	          json_object_get_int(v) == n);
	json_object_put(o);
}

static void test_count_prints_raw_envelopes(void)
{
	struct cat c;
	char u[256], line[4096];
	CU_ASSERT_EQUAL_FATAL(write_alpha("{\"n\": 1}"), 0);
	CU_ASSERT_EQUAL_FATAL(start_server(NULL), 0);
	url(u, sizeof(u), "alpha");
	const char *args[] = {"--count", "2", u, NULL};
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, args), 0);
	CU_ASSERT_EQUAL(cat_read_lines(&c, 1, 5000), 1);
	check_envelope(cat_line(&c, 0, line, sizeof(line)), 1);
	/* A change of the source is the second message; then it exits by itself. */
	CU_ASSERT_EQUAL(write_alpha("{\"n\": 2}"), 0);
	CU_ASSERT_EQUAL(cat_wait(&c, 5000), 0);
	CU_ASSERT_EQUAL(cat_read_lines(&c, 2, 0), 2);
	check_envelope(cat_line(&c, 1, line, sizeof(line)), 2);
	CU_ASSERT_PTR_NULL(cat_line(&c, 2, line, sizeof(line)));
	free(cat_stderr(&c));
}

static void test_data_prints_only_the_payload(void)
{
	struct cat c;
	char u[256];
	CU_ASSERT_EQUAL_FATAL(write_alpha("{\"n\": 7, \"s\": \"a/b\"}"), 0);
	url(u, sizeof(u), "alpha");
	const char *args[] = {"--data", u, NULL};
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, args), 0);
	/* The cached snapshot may be older than the file: wait for n = 7. */
	CU_ASSERT(cat_wait_line(&c, "{\"n\":7,\"s\":\"a/b\"}", 5000) >= 0);
	kill(c.pid, SIGTERM);
	CU_ASSERT_EQUAL(cat_wait(&c, 5000), 0);
	free(cat_stderr(&c));
}

static void test_pretty_prints_indented_json(void)
{
	struct cat c;
	char u[256];
	url(u, sizeof(u), "alpha");
	const char *args[] = {"--pretty", "--count", "1", u, NULL};
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, args), 0);
	CU_ASSERT_EQUAL(cat_wait(&c, 5000), 0);
	CU_ASSERT(cat_read_lines(&c, 0, 0) > 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.buf, "\n  \"type\": \"test_update\""));
	json_object *o = json_tokener_parse(c.buf);
	CU_ASSERT_PTR_NOT_NULL(o);
	CU_ASSERT(is_test_update(o));
	json_object_put(o);
	free(cat_stderr(&c));
}

static void test_subscribe_on_multiplexed_socket(void)
{
	struct cat c;
	char u[256], line[4096];
	snprintf(u, sizeof(u), "ws://127.0.0.1:%d/api/v1/ws", tacws_server_fixture_port(srv));
	const char *args[] = {"--subscribe", "alpha", "--count", "1", "--timeout", "5", u, NULL};
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, args), 0);
	CU_ASSERT_EQUAL(cat_wait(&c, 10000), 0);
	json_object *o = json_tokener_parse(cat_line(&c, 0, line, sizeof(line)) ? line : "");
	CU_ASSERT(is_test_update(o));
	json_object_put(o);
	free(cat_stderr(&c));
}

static void test_timeout_exits_3(void)
{
	struct cat c;
	char u[256];
	url(u, sizeof(u), "alpha");
	const char *args[] = {"--timeout", "1", u, NULL};
	long long t0 = tacws_test_now_ms();
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, args), 0);
	/* The snapshot on open, then silence: the source does not change. */
	CU_ASSERT_EQUAL(cat_wait(&c, 10000), 3);
	long long took = tacws_test_now_ms() - t0;
	CU_ASSERT(took >= 1000 && took < 5000);
	CU_ASSERT(cat_read_lines(&c, 0, 0) >= 1);
	free(cat_stderr(&c));
}

static void test_refused_exits_4(void)
{
	struct cat c;
	char u[256];
	url(u, sizeof(u), "no-such-feed");
	const char *args[] = {u, NULL};
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, args), 0);
	CU_ASSERT_EQUAL(cat_wait(&c, 5000), 4);
	char *err = cat_stderr(&c);
	CU_ASSERT(err && strstr(err, "404"));
	free(err);
}

static void test_token(void)
{
	struct cat c;
	char u[256];
	CU_ASSERT_EQUAL(tacws_server_fixture_stop(srv, 0), 0);
	CU_ASSERT_EQUAL_FATAL(start_server("[auth]\nws_token = s3cret\n"), 0);
	url(u, sizeof(u), "alpha");
	const char *none[] = {"--count", "1", u, NULL};
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, none), 0);
	CU_ASSERT_EQUAL(cat_wait(&c, 5000), 4);
	char *err = cat_stderr(&c);
	CU_ASSERT(err && strstr(err, "401"));
	free(err);

	const char *wrong[] = {"--token", "nope", "--count", "1", u, NULL};
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, wrong), 0);
	CU_ASSERT_EQUAL(cat_wait(&c, 5000), 4);
	free(cat_stderr(&c));

	const char *right[] = {"--token", "s3cret", "--count", "1", u, NULL};
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, right), 0);
	CU_ASSERT_EQUAL(cat_wait(&c, 5000), 0);
	CU_ASSERT_EQUAL(cat_read_lines(&c, 0, 0), 1);
	free(cat_stderr(&c));

	CU_ASSERT_EQUAL(tacws_server_fixture_stop(srv, 0), 0);
	CU_ASSERT_EQUAL_FATAL(start_server(NULL), 0);
}

static void test_reconnects_after_restart(void)
{
	struct cat c;
	char u[256];
	CU_ASSERT_EQUAL_FATAL(write_alpha("{\"n\": 10}"), 0);
	url(u, sizeof(u), "alpha");
	const char *args[] = {"--data", "--timeout", "30", u, NULL};
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, args), 0);
	if (cat_wait_line(&c, "{\"n\":10}", 5000) < 0) {
		CU_FAIL("no {\"n\":10} from tacws-cat");
		cat_wait(&c, 0);
		free(cat_stderr(&c));
		return;
	}
	size_t seen = c.len;

	/* The server goes away (closing with 1001) and comes back on the same
	 * port with a changed source: tacws-cat reconnects and prints it. */
	CU_ASSERT_EQUAL(tacws_server_fixture_stop(srv, 0), 0);
	CU_ASSERT_EQUAL(write_alpha("{\"n\": 11}"), 0);
	/* it tries while the server is away */
	CU_ASSERT_EQUAL(cat_wait_stderr(&c, "cannot connect", 10000), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_server_fixture_restart(srv), 0);
	int lines = cat_read_lines(&c, 0, 0);
	CU_ASSERT_EQUAL(c.len, seen);
	CU_ASSERT(cat_wait_line(&c, "{\"n\":11}", 20000) >= lines);

	kill(c.pid, SIGTERM);
	CU_ASSERT_EQUAL(cat_wait(&c, 5000), 0);
	char *err = cat_stderr(&c);
	CU_ASSERT(err && strstr(err, "code 1001"));
	CU_ASSERT(err && strstr(err, "reconnecting in"));
	free(err);
}

/* The first line at or after index from that holds needle; -1 when none came in time. */
static int cat_wait_contains(struct cat *c, int from, const char *needle, int timeout_ms)
{
	long long deadline = tacws_test_now_ms() + timeout_ms;
	char line[4096];
	for (int i = from;; i++) {
		long long left = deadline - tacws_test_now_ms();
		if (cat_read_lines(c, i + 1, left > 0 ? (int)left : 0) <= i)
			return -1;
		if (strstr(cat_line(c, i, line, sizeof(line)), needle))
			return i;
	}
}

static void publish_alert(int n)
{
	static const char *const headers[] = {"Authorization: Bearer pub", NULL};
	char body[128];
	snprintf(body, sizeof body, "{\"feed\":\"alpha\",\"type\":\"alert\",\"data\":{\"n\":%d}}", n);
	tacws_http_reply r;
	CU_ASSERT_EQUAL_FATAL(tacws_server_http_post(srv, "/api/v1/publish", headers, body, &r), 0);
	CU_ASSERT_EQUAL(r.status, 202);
	tacws_http_reply_clear(&r);
}

/* What c printed: snapshots, resumed messages, and the alerts' n in order (at most max). */
struct printed {
	int snapshots, resumed, recovered, alerts, n[32];
};

static struct printed cat_printed(struct cat *c)
{
	struct printed p = {0};
	char line[4096];
	for (int i = 0; cat_line(c, i, line, sizeof(line)); i++) {
		json_object *o = json_tokener_parse(line), *v, *d;
		const char *type = json_object_object_get_ex(o, "type", &v) ? json_object_get_string(v) : "";
		if (!strcmp(type, "test_update")) {
			p.snapshots++;
		} else if (!strcmp(type, "resumed")) {
			p.resumed++;
			p.recovered += json_object_object_get_ex(o, "recovered", &v) &&
			               json_object_get_boolean(v);
		} else if (!strcmp(type, "alert") && p.alerts < 32 &&
		           json_object_object_get_ex(o, "data", &d) &&
		           json_object_object_get_ex(d, "n", &v)) {
			p.n[p.alerts++] = json_object_get_int(v);
		}
		json_object_put(o);
	}
	return p;
}

/* One of two tacws-cat processes is cut off: SIGSTOP, and the server drops it when
 * it stops answering pings (ping_interval_s = 1); events are published meanwhile and
 * the other one (the topic's subscriber all along) gets them live. After SIGCONT it
 * reconnects with since, epoch and the last offset, and prints the missed events. */
static void cut_off_and_back(struct cat *away, struct cat *stays, int first, int missed)
{
	long long conns = tacws_server_metric(srv, "tacws_connections");
	CU_ASSERT_EQUAL_FATAL(kill(away->pid, SIGSTOP), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_server_wait_metric_equal(srv, "tacws_connections", conns - 1, 20000),
	                      conns - 1);
	int at = cat_read_lines(away, 1 << 20, 0);
	for (int n = first; n < first + missed; n++)
		publish_alert(n);
	char want[32];
	snprintf(want, sizeof want, "{\"n\":%d}", first + missed - 1);
	CU_ASSERT(cat_wait_contains(stays, 0, want, 5000) >= 0);
	CU_ASSERT_EQUAL_FATAL(kill(away->pid, SIGCONT), 0);
	int resumed_at = cat_wait_contains(away, at, "\"resumed\"", 20000);
	CU_ASSERT_FATAL(resumed_at >= 0);
	CU_ASSERT(cat_wait_contains(away, resumed_at, want, 5000) > resumed_at);
	publish_alert(first + missed); /* live again: once */
	snprintf(want, sizeof want, "{\"n\":%d}", first + missed);
	CU_ASSERT(cat_wait_contains(away, resumed_at, want, 5000) > resumed_at);
	CU_ASSERT(cat_wait_contains(stays, 0, want, 5000) >= 0);
}

static void check_all_once(struct cat *c, int last, int resumed)
{
	cat_read_lines(c, 1 << 20, 300); /* anything more, such as a duplicate, is read too */
	struct printed p = cat_printed(c);
	CU_ASSERT_EQUAL(p.snapshots, 1); /* resumed instead of the unchanged snapshot */
	CU_ASSERT_EQUAL(p.resumed, resumed);
	CU_ASSERT_EQUAL(p.recovered, resumed);
	CU_ASSERT_EQUAL(p.alerts, last);
	for (int i = 0; i < p.alerts; i++)
		CU_ASSERT_EQUAL(p.n[i], i + 1);
}

static void test_resumes_missed_events(void)
{
	CU_ASSERT_EQUAL(tacws_server_fixture_stop(srv, 0), 0);
	CU_ASSERT_EQUAL_FATAL(write_alpha("{\"n\": 20}"), 0);
	CU_ASSERT_EQUAL_FATAL(
	    start_server("[server]\nping_interval_s = 1\n[auth]\npublish_token = pub\n"), 0);
	struct cat feed, mux;
	char u_feed[256], u_mux[256];
	url(u_feed, sizeof(u_feed), "alpha");
	snprintf(u_mux, sizeof(u_mux), "ws://127.0.0.1:%d/api/v1/ws", tacws_server_fixture_port(srv));
	const char *feed_args[] = {"--timeout", "60", u_feed, NULL};
	const char *mux_args[] = {"--subscribe", "alpha", "--timeout", "60", u_mux, NULL};
	CU_ASSERT_EQUAL_FATAL(cat_start(&feed, feed_args), 0);
	CU_ASSERT_EQUAL_FATAL(cat_start(&mux, mux_args), 0);
	CU_ASSERT(cat_wait_contains(&feed, 0, "test_update", 5000) >= 0);
	CU_ASSERT(cat_wait_contains(&mux, 0, "test_update", 5000) >= 0);
	publish_alert(1); /* both get it: an offset to resume from */
	CU_ASSERT(cat_wait_contains(&feed, 0, "{\"n\":1}", 5000) >= 0);
	CU_ASSERT(cat_wait_contains(&mux, 0, "{\"n\":1}", 5000) >= 0);

	cut_off_and_back(&feed, &mux, 2, 2); /* a per-feed socket: ?since=&epoch=&offset= */
	cut_off_and_back(&mux, &feed, 5, 3); /* the multiplexed one: the subscription object */

	kill(feed.pid, SIGTERM);
	kill(mux.pid, SIGTERM);
	CU_ASSERT_EQUAL(cat_wait(&feed, 5000), 0);
	CU_ASSERT_EQUAL(cat_wait(&mux, 5000), 0);
	check_all_once(&feed, 8, 1);
	check_all_once(&mux, 8, 1);
	char *err = cat_stderr(&feed);
	CU_ASSERT(err && strstr(err, "connection closed"));
	free(err);

	CU_ASSERT_EQUAL(tacws_server_fixture_stop(srv, 0), 0);
	CU_ASSERT_EQUAL_FATAL(start_server(NULL), 0);
}

static void test_no_server_exits_2(void)
{
	struct cat c;
	char u[256];
	CU_ASSERT_EQUAL(tacws_server_fixture_stop(srv, 0), 0);
	url(u, sizeof(u), "alpha");
	const char *args[] = {"--no-reconnect", u, NULL};
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, args), 0);
	CU_ASSERT_EQUAL(cat_wait(&c, 5000), 2);
	free(cat_stderr(&c));

	/* With retries, --timeout still bounds the wait. */
	const char *retry[] = {"--timeout", "2", u, NULL};
	long long t0 = tacws_test_now_ms();
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, retry), 0);
	CU_ASSERT_EQUAL(cat_wait(&c, 10000), 3);
	CU_ASSERT(tacws_test_now_ms() - t0 < 4000);
	char *err = cat_stderr(&c);
	CU_ASSERT(err && strstr(err, "reconnecting in"));
	free(err);
}

static void test_usage(void)
{
	struct cat c;
	const char *bad[][4] = {
	    {"--bogus", "ws://127.0.0.1:1/", NULL},
	    {"http://127.0.0.1:1/", NULL},
	    {"--count", "0", "ws://127.0.0.1:1/", NULL},
	    {NULL},
	};
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL_FATAL(cat_start(&c, bad[i]), 0);
		CU_ASSERT_EQUAL(cat_wait(&c, 5000), 1);
		free(cat_stderr(&c));
	}
	const char *help[] = {"--help", NULL};
	CU_ASSERT_EQUAL_FATAL(cat_start(&c, help), 0);
	CU_ASSERT_EQUAL(cat_wait(&c, 5000), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.buf, "Exit status"));
	free(cat_stderr(&c));
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	static const tacws_test_case cases[] = {
	    {"count prints raw envelopes", test_count_prints_raw_envelopes},
	    {"--data prints only the payload", test_data_prints_only_the_payload},
	    {"--pretty prints indented JSON", test_pretty_prints_indented_json},
	    {"--subscribe on the multiplexed socket", test_subscribe_on_multiplexed_socket},
	    {"--timeout exits 3", test_timeout_exits_3},
	    {"unknown feed exits 4", test_refused_exits_4},
	    {"token: 401 exits 4, right token reads", test_token},
	    {"reconnects after a server restart", test_reconnects_after_restart},
	    {"events missed while cut off are printed once each, in order, after the reconnect",
	     test_resumes_missed_events},
	    {"no server exits 2, or 3 with --timeout", test_no_server_exits_2},
	    {"usage errors exit 1, --help exits 0", test_usage},
	    {NULL, NULL},
	};
	return tacws_test_run("tacws-cat", suite_init, suite_cleanup, cases);
}
