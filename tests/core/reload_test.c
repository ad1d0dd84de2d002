/*
 * SIGHUP reload of a real tacwsd: feeds added and removed, an interval
 * changed, a plugin .so replaced on disk, a bad file refused. Throughout, a
 * client of feed alpha (never touched by any reload) stays connected, hears
 * nothing, and its next change is seq + 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edge_util.h"
#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

static tacws_server_fixture *fx;
static int port;
static char dir[1024], plugins[1100];
static tacws_wsclient *watcher; /* on alpha, the feed no reload concerns */
static long long watcher_seq;
static tacws_wsclient *r1; /* on r1, whose plugin is replaced */
static long long r1_seq;
static int reloads; /* "reloaded" lines expected in the log so far */

/* Written aside and renamed: a poll never sees half a file. */
static int put_json(const char *name, const char *text)
{
	char rel[256], from[1400], to[1400];
	snprintf(rel, sizeof rel, "%s.tmp", name);
	snprintf(from, sizeof from, "%s/%s", dir, rel);
	snprintf(to, sizeof to, "%s/%s", dir, name);
	return tacws_test_write_file(dir, rel, text) || rename(from, to) ? -1 : 0;
}

static void write_json(const char *name, const char *text)
{
	CU_ASSERT_EQUAL(put_json(name, text), 0);
}

static int install_plugin(const char *from, const char *name)
{
	return edge_install_file(from, plugins, name);
}

/* The whole configuration; feeds are what the test varies ("@/" is the test folder). */
static void write_ini(const char *feeds)
{
	char text[8192], expanded[3000] = "";
	for (const char *p = feeds; *p; p++) {
		size_t n = strlen(expanded);
		if (p[0] == '@' && p[1] == '/')
			snprintf(expanded + n, sizeof expanded - n, "%s", dir);
		else
			snprintf(expanded + n, sizeof expanded - n, "%c", *p);
	}
	snprintf(text, sizeof text,
	         "[server]\nlisten = 127.0.0.1\nport = 0\nplugin_dir = %s\n"
	         "[feed.alpha]\nplugin = testfeed\nfile = %s/alpha.json\ninterval_ms = 100\n%s",
	         plugins, dir, expanded);
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(dir, "tacws.ini.new", text), 0);
	char from[1400], to[1400];
	snprintf(from, sizeof from, "%s/tacws.ini.new", dir);
	snprintf(to, sizeof to, "%s/tacws.ini", dir);
	CU_ASSERT_EQUAL_FATAL(rename(from, to), 0);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* SIGHUP, then wait for the reload's closing line: "reloaded" or "refused". */
static void reload(bool expect_ok)
{
	char *log = tacws_server_fixture_log(fx);
	int refused = count(log, "reload refused");
	free(log);
	CU_ASSERT_EQUAL_FATAL(kill(tacws_server_fixture_pid(fx), SIGHUP), 0);
	if (expect_ok)
		reloads++;
	for (long long end = tacws_test_now_ms() + 10000; tacws_test_now_ms() < end;) {
		log = tacws_server_fixture_log(fx);
		int ok = count(log, "[reload] reloaded "), bad = count(log, "reload refused");
		free(log);
		if (ok == reloads && bad == refused + !expect_ok)
			return;
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
	}
	CU_FAIL("no reload line in the log");
}

static tacws_wsclient *open_feed(const char *feed)
{
	tacws_wsclient *c = NULL;
	CU_ASSERT_EQUAL(
	    tacws_ws_connect(port, NULL, feed, NULL, NULL, TACWS_WS_TIMEOUT_MS, &c, NULL), 0);
	return c;
}

/* The first message of a new client: its seq, and data as plain JSON in buf. */
static long long first(tacws_wsclient *c, char *buf, size_t len)
{
	json_object *m = NULL;
	long long seq = -1;
	if (c && !tacws_ws_next(c, 5000, &m)) {
		seq = tacws_ws_seq(m);
		snprintf(buf, len, "%s",
		         json_object_to_json_string_ext(tacws_ws_data(m), JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(m);
	return seq;
}

/* The watcher heard nothing and is still connected. */
static void watcher_untouched(void)
{
	CU_ASSERT_EQUAL(tacws_wsclient_get_state(watcher), TACWS_WSCLIENT_OPEN);
	CU_ASSERT_EQUAL(tacws_wsclient_pending(watcher), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(watcher, 50, NULL), 0);
}

/* A bare WebSocket client on a TCP socket, to read the close frame's reason
 * (the client library keeps only the code). Returns the fd or -1. */
/* A socket upgraded on path (frames unread), or -1. */
static int raw_ws_open(const char *path)
{
	int fd = edge_connect(NULL, port);
	const char *protocol = "Sec-WebSocket-Protocol: tacws\r\n";
	if (fd >= 0 && edge_ws_upgrade(fd, path, protocol, 5000, NULL, 0) == 101)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

static void test_add_feed(void)
{
	write_json("r2.json", "{\"r\":2}");
	write_ini("[feed.r1]\nplugin = reloadfeed\nfile = @/r1.json\n"
	          "[feed.beta]\nplugin = testfeed\nfile = @/beta.json\ninterval_ms = 1000\n"
	          "[feed.r2]\nplugin = reloadfeed\nfile = @/r2.json\n");
	reload(true);
	char data[256] = "";
	tacws_wsclient *c = open_feed("r2");
	CU_ASSERT_EQUAL(first(c, data, sizeof data), 1);
	CU_ASSERT_STRING_EQUAL(data, "{\"r\":2}");
	tacws_wsclient_free(c);
	/* r1's plugin was restarted to add r2: its client stays, with nothing new */
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(r1, 300, NULL), 0);
	watcher_untouched();
}

/* beta polls every 1000 ms, then every 50 ms: timed by waiting on /metrics' poll count. */
static void test_change_interval(void)
{
	const char *polls = "tacws_polls_total{feed=\"beta\"}";
	tacws_wsclient *c = open_feed("beta");
	char data[256];
	CU_ASSERT_EQUAL(first(c, data, sizeof data), 1);
	long long before = tacws_server_metric(fx, polls);
	long long start = tacws_test_now_ms();
	CU_ASSERT_EQUAL(tacws_server_wait_metric_at_least(fx, polls, before + 2, 5000), before + 2);
	long long slow_ms = tacws_test_now_ms() - start; /* one interval, plus up to one */
	write_ini("[feed.r1]\nplugin = reloadfeed\nfile = @/r1.json\n"
	          "[feed.beta]\nplugin = testfeed\nfile = @/beta.json\ninterval_ms = 50\n"
	          "[feed.r2]\nplugin = reloadfeed\nfile = @/r2.json\n");
	reload(true);
	/* the poll already due at the old interval comes within 1 s, then one every 50 ms */
	before = tacws_server_metric(fx, polls);
	CU_ASSERT(tacws_server_wait_metric_at_least(fx, polls, before + 1, 2500) > before);
	before = tacws_server_metric(fx, polls);
	start = tacws_test_now_ms();
	CU_ASSERT(tacws_server_wait_metric_at_least(fx, polls, before + 10, 3000) >= before + 10);
	long long fast_ms = tacws_test_now_ms() - start;
	fprintf(stderr, "beta: 2 polls in %lld ms at 1000 ms, 10 in %lld ms at 50 ms\n", slow_ms,
	        fast_ms);
	CU_ASSERT(slow_ms >= 900 && slow_ms <= 2600);
	CU_ASSERT(fast_ms <= 1500);
	CU_ASSERT_EQUAL(tacws_wsclient_get_state(c), TACWS_WSCLIENT_OPEN);
	tacws_wsclient_free(c);
	watcher_untouched();
}

/* A second build of the plugin renamed over the first: same client, new data, seq + 1. */
static void test_replace_plugin(void)
{
	CU_ASSERT_EQUAL_FATAL(install_plugin(TEST_PLUGIN_DIR "/reloadfeed_v2.so", "reloadfeed.so"),
	                      0);
	reload(true);
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(r1, "reload_update", 5000, &m), 0);
	CU_ASSERT_EQUAL(tacws_ws_seq(m), r1_seq + 1);
	CU_ASSERT_STRING_EQUAL(
	    json_object_to_json_string_ext(tacws_ws_data(m), JSON_C_TO_STRING_PLAIN),
	    "{\"v2\":{\"r\":1}}");
	json_object_put(m);
	r1_seq++;
	CU_ASSERT_EQUAL(tacws_wsclient_get_state(r1), TACWS_WSCLIENT_OPEN);
	char *log = tacws_server_fixture_log(fx);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "plugin reloadfeed 2 reloaded: 2 feeds"));
	free(log);
	/* the new code keeps serving changes */
	write_json("r1.json", "{\"r\":11}");
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(r1, "reload_update", 5000, &m), 0);
	CU_ASSERT_EQUAL(tacws_ws_seq(m), r1_seq + 1);
	CU_ASSERT_STRING_EQUAL(
	    json_object_to_json_string_ext(tacws_ws_data(m), JSON_C_TO_STRING_PLAIN),
	    "{\"v2\":{\"r\":11}}");
	json_object_put(m);
	r1_seq++;
	watcher_untouched();
}

/* r2 leaves the file: its socket client is closed with 1001, a multiplexed
 * client is told and keeps its other feeds. */
static void test_remove_feed(void)
{
	tacws_wsclient *c = open_feed("r2");
	char data[256];
	CU_ASSERT(first(c, data, sizeof data) >= 1);
	int raw = raw_ws_open("/api/v1/ws/r2");
	CU_ASSERT(raw >= 0);
	tacws_wsclient *mux = open_feed(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mux);
	CU_ASSERT_EQUAL(
	    tacws_ws_send_text(mux, "{\"type\":\"subscribe\",\"feeds\":[\"r2\",\"r1\"]}"), 0);
	CU_ASSERT_EQUAL(tacws_ws_wait_type(mux, "reload_update", 5000, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_wait_type(mux, "reload_update", 5000, NULL), 0);

	write_ini("[feed.r1]\nplugin = reloadfeed\nfile = @/r1.json\n"
	          "[feed.beta]\nplugin = testfeed\nfile = @/beta.json\ninterval_ms = 50\n");
	reload(true);
	CU_ASSERT_EQUAL(tacws_wsclient_wait_closed(c, 5000), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_close_code(c), 1001);
	tacws_wsclient_free(c);
	char reason[128] = "";
	CU_ASSERT_EQUAL(edge_ws_close_frame(raw, 5000, reason, sizeof reason, NULL), 1001);
	CU_ASSERT_STRING_EQUAL(reason, "feed removed");
	if (raw >= 0)
		close(raw);
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_wait_type(mux, "error", 5000, &m), 0);
	json_object *v;
	CU_ASSERT(json_object_object_get_ex(m, "message", &v) &&
	          !strcmp(json_object_get_string(v), "feed removed"));
	CU_ASSERT(json_object_object_get_ex(m, "feed", &v) &&
	          !strcmp(json_object_get_string(v), "r2"));
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_wsclient_get_state(mux), TACWS_WSCLIENT_OPEN);
	CU_ASSERT_EQUAL(tacws_ws_ping(mux, 7, 3000), 0);
	tacws_wsclient_free(mux);
	/* gone for newcomers too */
	int status = 0;
	tacws_wsclient *late = NULL;
	CU_ASSERT_NOT_EQUAL(tacws_ws_connect(port, NULL, "r2", NULL, NULL, 3000, &late, &status),
	                    0);
	CU_ASSERT_EQUAL(status, 404);
	CU_ASSERT_EQUAL(tacws_wsclient_get_state(r1), TACWS_WSCLIENT_OPEN);
	watcher_untouched();
}

/* A file that does not validate changes nothing. */
static void test_bad_config_refused(void)
{
	write_ini("[feed.r1]\nplugin = reloadfeed\nfile = @/r1.json\ncolour = red\n");
	reload(false);
	char *log = tacws_server_fixture_log(fx);
	char want[1400];
	snprintf(want, sizeof want,
	         "reload refused: %s/tacws.ini:12: [feed.r1]: unknown key 'colour' for plugin "
	         "reloadfeed",
	         dir);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
	free(log);
	write_ini("[feed.r1]\nplugin = reloadfeed\nfile = @/r1.json\ninterval_ms = nine\n");
	reload(false);
	/* beta (not in the refused files) is still served */
	tacws_wsclient *c = open_feed("beta");
	char data[256];
	CU_ASSERT(first(c, data, sizeof data) >= 1);
	tacws_wsclient_free(c);
	CU_ASSERT_EQUAL(tacws_wsclient_get_state(r1), TACWS_WSCLIENT_OPEN);
	watcher_untouched();
}

/* After all that, the watcher's next change is its seq + 1. */
static void test_unchanged_feed_continuous(void)
{
	write_json("alpha.json", "{\"a\":2}");
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(watcher, "test_update", 5000, &m), 0);
	CU_ASSERT_EQUAL(tacws_ws_seq(m), watcher_seq + 1);
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_server_fixture_stop(fx, 10000), 0);
}

static int setup(void)
{
	if (tacws_server_fixture_new(&fx))
		return 1;
	snprintf(dir, sizeof dir, "%s", tacws_server_fixture_dir(fx));
	snprintf(plugins, sizeof plugins, "%s/plugins", dir);
	if (tacws_test_mkdirs(dir, "plugins") ||
	    install_plugin(TEST_PLUGIN_DIR "/testfeed.so", "testfeed.so") ||
	    install_plugin(TEST_PLUGIN_DIR "/reloadfeed_v1.so", "reloadfeed.so"))
		return 1;
	if (put_json("alpha.json", "{\"a\":1}") || put_json("beta.json", "{\"b\":1}") ||
	    put_json("r1.json", "{\"r\":1}"))
		return 1;
	char ini[4096];
	/* relative file keys: tacwsd runs in the test's folder */
	snprintf(ini, sizeof ini,
	         "[feed.alpha]\nplugin = testfeed\nfile = %s/alpha.json\ninterval_ms = 100\n"
	         "[feed.r1]\nplugin = reloadfeed\nfile = %s/r1.json\n"
	         "[feed.beta]\nplugin = testfeed\nfile = %s/beta.json\ninterval_ms = 1000\n",
	         dir, dir, dir);
	tacws_server_config cfg = {.ini = ini, .plugin_dir = plugins};
	if (tacws_server_fixture_start(fx, &cfg))
		return 1;
	port = tacws_server_fixture_port(fx);
	char data[256];
	tacws_ws_connect(port, NULL, "alpha", NULL, NULL, TACWS_WS_TIMEOUT_MS, &watcher, NULL);
	watcher_seq = first(watcher, data, sizeof data);
	tacws_ws_connect(port, NULL, "r1", NULL, NULL, TACWS_WS_TIMEOUT_MS, &r1, NULL);
	r1_seq = first(r1, data, sizeof data);
	return watcher_seq == 1 && r1_seq == 1 ? 0 : 1;
}

static int teardown(void)
{
	tacws_wsclient_free(watcher);
	tacws_wsclient_free(r1);
	tacws_server_fixture_free(fx);
	return 0;
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"add a feed", test_add_feed},
	    {"change an interval", test_change_interval},
	    {"replace a plugin .so", test_replace_plugin},
	    {"remove a feed: 1001 for its clients", test_remove_feed},
	    {"bad configuration refused, old one kept", test_bad_config_refused},
	    {"unchanged feed: connected, seq continuous", test_unchanged_feed_continuous},
	    {NULL, NULL},
	};
	return tacws_test_run("reload", setup, teardown, cases);
}
