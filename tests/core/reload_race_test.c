/*
 * Issue 13, F9: a plugin .so replaced while a reload already runs and one of
 * its snapshots is still running. The reload decides which feeds to wait for,
 * waits, and then (before the fix) looks at the files again: a .so replaced
 * in between is unloaded under its running snapshot.
 *
 * Two copies of reloadfeed_v1 (reload_plugin.c, whose `gate` key holds a
 * snapshot): gatea serves r1, gateb serves r2. A reload removes r1, so it
 * waits for r1's snapshot, held at its gate; meanwhile gateb.so is replaced
 * by reloadfeed_v2 while r2's snapshot is held at its own gate. The server
 * must not crash; r2's snapshot ends harmlessly; the next SIGHUP loads the
 * new gateb.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "edge_util.h"
#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

static tacws_server_fixture *fx;
static int port;
static char dir[1024], plugins[1100];

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static char *in_dir(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

static int gate_open(const char *name)
{
	return tacws_test_write_file(dir, name, "");
}

static void gate_close(const char *name)
{
	char path[1400], waiting[1500];
	unlink(in_dir(name, path, sizeof path));
	snprintf(waiting, sizeof waiting, "%s.waiting", path);
	unlink(waiting);
}

/* Until the snapshot behind gate name waits at it (5 s at most). */
static int wait_held(const char *name)
{
	char path[1400];
	snprintf(path, sizeof path, "%s/%s.waiting", dir, name);
	struct stat st;
	for (int i = 0; i < 500; i++, sleep_ms(10))
		if (!stat(path, &st))
			return 0;
	return -ETIMEDOUT;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static int log_count(const char *needle)
{
	char *log = tacws_server_fixture_log(fx);
	int n = count(log, needle);
	free(log);
	return n;
}

/* Until the log holds n of needle, or the server is gone (5 s at most). */
static int wait_log_count(const char *needle, int n)
{
	for (int i = 0; i < 500; i++, sleep_ms(10)) {
		if (log_count(needle) >= n)
			return 0;
		if (tacws_server_fixture_wait_exit(fx, 0) != -ETIMEDOUT)
			return -ECHILD;
	}
	return -ETIMEDOUT;
}

/* The whole file, renamed into place: with r2 always, with r1 or without. */
static int write_ini(bool with_r1)
{
	char r1[2400] = "", text[8192], from[1400], to[1400];
	if (with_r1)
		snprintf(r1, sizeof r1,
		         "[feed.r1]\nplugin = gatea\nfile = %s/a.json\ngate = %s/gate-a\n", dir,
		         dir);
	snprintf(text, sizeof text,
	         "[server]\nlisten = 127.0.0.1\nport = 0\nplugin_dir = %s\n"
	         "%s[feed.r2]\nplugin = gateb\nfile = %s/b.json\ngate = %s/gate-b\n",
	         plugins, r1, dir, dir);
	if (tacws_test_write_file(dir, "tacws.ini.new", text))
		return -1;
	return rename(in_dir("tacws.ini.new", from, sizeof from),
	              in_dir("tacws.ini", to, sizeof to));
}

static void test_replace_during_reload(void)
{
	tacws_wsclient *b = NULL;
	CU_ASSERT_EQUAL_FATAL(
	    tacws_ws_connect(port, NULL, "r2", NULL, NULL, TACWS_WS_TIMEOUT_MS, &b, NULL), 0);
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(b, "reload_update", 5000, &m), 0);
	long long seq = tacws_ws_seq(m);
	json_object_put(m);
	tacws_wsclient *a = NULL;
	CU_ASSERT_EQUAL_FATAL(
	    tacws_ws_connect(port, NULL, "r1", NULL, NULL, TACWS_WS_TIMEOUT_MS, &a, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(a, "reload_update", 5000, NULL), 0);

	/* both feeds' next polls are held */
	gate_close("gate-a");
	gate_close("gate-b");
	CU_ASSERT_EQUAL_FATAL(wait_held("gate-a"), 0);
	CU_ASSERT_EQUAL_FATAL(wait_held("gate-b"), 0);

	/* r1 goes: the reload waits for r1's snapshot (gateb.so has not changed yet) */
	CU_ASSERT_EQUAL_FATAL(write_ini(false), 0);
	int reloads = log_count("[reload] reloaded ");
	int started = log_count("[reload] reloading ");
	CU_ASSERT_EQUAL_FATAL(kill(tacws_server_fixture_pid(fx), SIGHUP), 0);
	CU_ASSERT_EQUAL_FATAL(wait_log_count("[reload] reloading ", started + 1), 0);
	/* The reload decides what to wait for right after that line (it reads one small
	 * file first); then it waits on r1, held at its gate. The margin puts the
	 * replacement after the decision. */
	sleep_ms(300);
	CU_ASSERT_EQUAL(log_count("[reload] reloaded "), reloads); /* still waiting */
	CU_ASSERT_EQUAL_FATAL(
	    edge_install_file(TEST_PLUGIN_DIR "/reloadfeed_v2.so", plugins, "gateb.so"), 0);
	CU_ASSERT_EQUAL(gate_open("gate-a"), 0);
	int rc = wait_log_count("[reload] reloaded ", reloads + 1);
	sleep_ms(200); /* r2's snapshot, if its code was unloaded, crashes within 10 ms */
	CU_ASSERT_EQUAL(gate_open("gate-b"), 0);
	sleep_ms(200);
	int exited = tacws_server_fixture_wait_exit(fx, 300);
	fprintf(stderr, "\n    observed: reload %s; tacwsd %s\n",
	        rc ? "did not finish" : "finished",
	        exited == -ETIMEDOUT ? "still running" : "exited (status below)");
	if (exited != -ETIMEDOUT) {
		fprintf(stderr, "    exit status %d\n", exited);
		CU_FAIL("tacwsd died during the reload");
		tacws_wsclient_free(a);
		tacws_wsclient_free(b);
		return;
	}
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(tacws_wsclient_get_state(b), TACWS_WSCLIENT_OPEN);
	CU_ASSERT_EQUAL(tacws_wsclient_wait_closed(a, 3000), 0); /* r1 was removed */

	/* Whether this reload took the new gateb (after r2's snapshot ended) or left it
	 * for the next one, one more SIGHUP serves the new code: v2 data, seq + 1. */
	reloads = log_count("[reload] reloaded ");
	CU_ASSERT_EQUAL_FATAL(kill(tacws_server_fixture_pid(fx), SIGHUP), 0);
	CU_ASSERT_EQUAL(wait_log_count("[reload] reloaded ", reloads + 1), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_wait_type(b, "reload_update", 5000, &m), 0);
	CU_ASSERT_EQUAL(tacws_ws_seq(m), seq + 1);
	CU_ASSERT_STRING_EQUAL(
	    json_object_to_json_string_ext(tacws_ws_data(m), JSON_C_TO_STRING_PLAIN),
	    "{\"v2\":{\"b\":1}}");
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(b, 300, NULL), 0); /* one change, one message */
	tacws_wsclient_free(a);
	tacws_wsclient_free(b);
}

static int setup(void)
{
	if (tacws_server_fixture_new(&fx))
		return 1;
	snprintf(dir, sizeof dir, "%s", tacws_server_fixture_dir(fx));
	snprintf(plugins, sizeof plugins, "%s/plugins", dir);
	if (tacws_test_mkdirs(dir, "plugins") ||
	    edge_install_file(TEST_PLUGIN_DIR "/reloadfeed_v1.so", plugins, "gatea.so") ||
	    edge_install_file(TEST_PLUGIN_DIR "/reloadfeed_v1.so", plugins, "gateb.so") ||
	    tacws_test_write_file(dir, "a.json", "{\"a\":1}") ||
	    tacws_test_write_file(dir, "b.json", "{\"b\":1}") || gate_open("gate-a") ||
	    gate_open("gate-b"))
		return 1;
	char ini[4400];
	snprintf(ini, sizeof ini,
	         "[feed.r1]\nplugin = gatea\nfile = %s/a.json\ngate = %s/gate-a\n"
	         "[feed.r2]\nplugin = gateb\nfile = %s/b.json\ngate = %s/gate-b\n",
	         dir, dir, dir, dir);
	tacws_server_config cfg = {.ini = ini, .plugin_dir = plugins, .log_level = "info"};
	if (tacws_server_fixture_start(fx, &cfg))
		return 1;
	port = tacws_server_fixture_port(fx);
	return 0;
}

static int teardown(void)
{
	/* open the gates so no snapshot holds the shutdown */
	gate_open("gate-a");
	gate_open("gate-b");
	return tacws_server_fixture_finish(fx);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"F9 a .so replaced during a reload, under a running snapshot",
	     test_replace_during_reload},
	    {NULL, NULL},
	};
	return tacws_test_run("reload_race", setup, teardown, cases);
}
