/* tacws-bench against a real tacwsd: counts, not timings. */
#include "server_fixture.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOKEN "bench-secret"

static tacws_server_fixture *srv;

static int suite_init(void)
{
	if (tacws_server_fixture_new(&srv))
		return -1;
	const char *dir = tacws_server_fixture_dir(srv);
	if (tacws_test_write_file(dir, "alpha.json", "{\"state\":1}"))
		return -1;
	/* beta: a 9 KB snapshot, for the resume storm's bytes */
	char big[12000];
	int at = snprintf(big, sizeof big, "{\"rows\":[");
	for (int i = 0; i < 100; i++)
		at += snprintf(big + at, sizeof big - (size_t)at, "%s{\"id\":\"row-%04d\",\"pad\":\"%s\"}",
		               i ? "," : "", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	snprintf(big + at, sizeof big - (size_t)at, "]}");
	if (tacws_test_write_file(dir, "big.json", big))
		return -1;
	char ini[1024];
	snprintf(ini, sizeof ini,
	         "[auth]\npublish_token = " TOKEN "\n"
	         "[feed.alpha]\nplugin = testfeed\ninterval_ms = 60000\nfile = %s/alpha.json\n"
	         "[feed.beta]\nplugin = testfeed\ninterval_ms = 60000\nfile = %s/big.json\n",
	         dir, dir);
	tacws_server_config cfg = {
	    .server_keys = "send_queue_bytes = 1048576\nmax_connections = 1000\n",
	    .ini = ini,
	    .plugin_dir = TEST_PLUGIN_DIR,
	    .log_level = "info",
	};
	return tacws_server_fixture_start(srv, &cfg) ? -1 : 0;
}

static int suite_cleanup(void)
{
	int rc = tacws_server_fixture_stop(srv, 10000);
	tacws_server_fixture_free(srv);
	return rc == 0 ? 0 : -1;
}

/* Runs tacws-bench with args (after the port, pid and feed) and parses its JSON line. */
static json_object *bench(const char *const *args)
{
	char port[16], pid[16];
	snprintf(port, sizeof port, "%d", tacws_server_fixture_port(srv));
	snprintf(pid, sizeof pid, "%d", (int)tacws_server_fixture_pid(srv));
	const char *argv[40] = {TACWS_BENCH_PATH, "--port", port,        "--pid", pid,
	                        "--feed",         "alpha",  "--timeout", "60"};
	int n = 9;
	for (int i = 0; args[i] && n < 38; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int fds[2];
	if (pipe(fds))
		return NULL;
	pid_t child = fork();
	if (child == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	char out[16384];
	size_t len = 0;
	ssize_t r;
	while (len < sizeof out - 1 && (r = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
		len += (size_t)r;
	close(fds[0]);
	out[len] = '\0';
	int status = 0;
	waitpid(child, &status, 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	json_object *o = json_tokener_parse(out);
	if (!o)
		fprintf(stderr, "tacws-bench printed: %s\n", out);
	return o;
}

static long field(json_object *o, const char *path)
{
	char key[64];
	snprintf(key, sizeof key, "%s", path);
	char *dot = strchr(key, '.');
	json_object *v = NULL;
	if (dot) {
		*dot = '\0';
		json_object *inner = NULL;
		if (json_object_object_get_ex(o, key, &inner))
			json_object_object_get_ex(inner, dot + 1, &v);
	} else {
		json_object_object_get_ex(o, key, &v);
	}
	return v ? (long)json_object_get_int64(v) : -1;
}

static long metric(const char *name)
{
	tacws_http_reply r;
	if (tacws_server_http_get(srv, "/metrics", &r))
		return -1;
	long v = -1;
	char *line = r.body ? strstr(r.body, name) : NULL;
	while (line && line > r.body && line[-1] != '\n')
		line = strstr(line + 1, name);
	if (line)
		v = atol(line + strlen(name));
	tacws_http_reply_clear(&r);
	return v;
}

static void test_every_message_once(void)
{
	const char *args[] = {"--token", TOKEN, "-n",  "50",        "-m", "20", "-r",
	                      "200",     "-s",  "512", "--sources", "4",  NULL};
	json_object *o = bench(args);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(field(o, "connected"), 50);
	CU_ASSERT_EQUAL(field(o, "snapshots"), 50);
	CU_ASSERT_EQUAL(field(o, "sent"), 20);
	CU_ASSERT_EQUAL(field(o, "publish_errors"), 0);
	CU_ASSERT_EQUAL(field(o, "delivered"), 50 * 20);
	CU_ASSERT_EQUAL(field(o, "lost"), 0);
	CU_ASSERT_EQUAL(field(o, "duplicates"), 0);
	CU_ASSERT(field(o, "frame_bytes") > 512);
	CU_ASSERT(field(o, "server_rss_kb_peak") > 0);
	json_object_put(o);
}

static void test_wrong_token_delivers_nothing(void)
{
	const char *args[] = {"--token", "wrong", "-n",      "5", "-m", "3",
	                      "-r",      "100",   "--drain", "1", NULL};
	json_object *o = bench(args);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(field(o, "publish_errors"), 3);
	CU_ASSERT_EQUAL(field(o, "delivered"), 0);
	CU_ASSERT_EQUAL(field(o, "lost"), 15);
	json_object_put(o);
}

static void test_slow_readers_are_dropped_not_waited_for(void)
{
	long before = metric("tacws_dropped_clients_total ");
	/* 3 clients never read: 6.4 MB each overflows their small windows, the
	 * server's socket buffers (4 MB at most here) and the 1 MiB cap */
	const char *args[] = {"--token", TOKEN, "-n",  "20", "-k",    "3", "-m",
	                      "100",     "-r",  "100", "-s", "65536", NULL};
	json_object *o = bench(args);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(field(o, "connected"), 23);
	CU_ASSERT_EQUAL(field(o, "delivered"), 20 * 100);
	CU_ASSERT_EQUAL(field(o, "lost"), 0);
	long after = metric("tacws_dropped_clients_total ");
	CU_ASSERT(before >= 0);
	if (after - before != 3)
		fprintf(stderr, "dropped before %ld after %ld\n", before, after);
	CU_ASSERT_EQUAL(after - before, 3);
	json_object_put(o);
}

static void test_reconnect_storm_gets_snapshots(void)
{
	const char *args[] = {"-n", "100", "-m", "0", "--storm", NULL};
	json_object *o = bench(args);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(field(o, "connected"), 100);
	CU_ASSERT_EQUAL(field(o, "storm.reconnected"), 100);
	CU_ASSERT_EQUAL(field(o, "storm.snapshots"), 100);
	CU_ASSERT_EQUAL(field(o, "storm.errors"), 0);
	json_object_put(o);
}

/* --resume: the storm comes back with ?since=&epoch= of the snapshot each holds, and the
 * unchanged topic answers "resumed" (a few dozen bytes) instead of its 9 KB snapshot. */
static void test_resume_storm_gets_resumed(void)
{
	const char *full_args[] = {"--feed", "beta", "-n", "100", "-m", "0", "--storm", NULL};
	json_object *full = bench(full_args);
	CU_ASSERT_PTR_NOT_NULL_FATAL(full);
	long snapshot = field(full, "snapshot_bytes");
	CU_ASSERT(snapshot > 8000);
	CU_ASSERT_EQUAL(field(full, "storm.snapshots"), 100);
	CU_ASSERT_EQUAL(field(full, "storm.resumed"), 0);
	CU_ASSERT_EQUAL(field(full, "storm.payload_bytes"), 100 * snapshot);
	CU_ASSERT(field(full, "storm.rx_bytes") > 100 * snapshot); /* 101 answers, frame headers */

	const char *args[] = {"--feed", "beta", "-n", "100", "-m", "0", "--storm", "--resume", NULL};
	json_object *o = bench(args);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(field(o, "storm.resume_points"), 100);
	CU_ASSERT_EQUAL(field(o, "storm.reconnected"), 100);
	CU_ASSERT_EQUAL(field(o, "storm.errors"), 0);
	CU_ASSERT_EQUAL(field(o, "storm.resumed"), 100);
	CU_ASSERT_EQUAL(field(o, "storm.snapshots"), 0);
	long payload = field(o, "storm.payload_bytes");
	CU_ASSERT(payload > 0 && payload <= 100 * 200); /* "resumed" only */
	CU_ASSERT(field(o, "storm.rx_bytes") < field(full, "storm.rx_bytes") / 10);
	json_object_put(o);
	json_object_put(full);
}

/* --sub-ports spreads the subscribers over servers while publishing stays on --port: with a
 * second tacwsd, not linked to the first, half the subscribers get nothing. --pid sums the
 * servers' CPU and RSS; --redis-pid (here the second server) is reported apart. */
static void test_subscribers_over_several_ports(void)
{
	tacws_server_fixture *other = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_server_fixture_new(&other), 0);
	const char *dir = tacws_server_fixture_dir(srv);
	char ini[1024];
	snprintf(ini, sizeof ini,
	         "[feed.alpha]\nplugin = testfeed\ninterval_ms = 60000\nfile = %s/alpha.json\n", dir);
	CU_ASSERT_FATAL(tacws_server_fixture_start_ini(other, TEST_PLUGIN_DIR, NULL, ini) > 0);
	char ports[32], pids[32], other_pid[16];
	snprintf(ports, sizeof ports, "%d,%d", tacws_server_fixture_port(srv),
	         tacws_server_fixture_port(other));
	snprintf(pids, sizeof pids, "%d,%d", (int)tacws_server_fixture_pid(srv),
	         (int)tacws_server_fixture_pid(other));
	snprintf(other_pid, sizeof other_pid, "%d", (int)tacws_server_fixture_pid(other));
	const char *args[] = {"--token", TOKEN, "-n", "20", "-m", "5", "-r", "100", "--drain", "1",
	                      "--sub-ports", ports, "--pid", pids, "--redis-pid", other_pid, NULL};
	json_object *o = bench(args);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(field(o, "connected"), 20);
	CU_ASSERT_EQUAL(field(o, "snapshots"), 20);
	CU_ASSERT_EQUAL(field(o, "delivered"), 10 * 5);
	CU_ASSERT_EQUAL(field(o, "lost"), 10 * 5);
	json_object *redis = NULL;
	CU_ASSERT(json_object_object_get_ex(o, "redis_cpu_s", &redis));
	long both = field(o, "server_rss_kb_peak");
	json_object_put(o);
	const char *one[] = {"--token", TOKEN, "-n", "2", "-m", "1", "-r", "100", NULL};
	o = bench(one);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(both > field(o, "server_rss_kb_peak")); /* two processes summed */
	CU_ASSERT_FALSE(json_object_object_get_ex(o, "redis_cpu_s", &redis));
	json_object_put(o);
	CU_ASSERT_EQUAL(tacws_server_fixture_finish(other), 0);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"every message reaches every subscriber once", test_every_message_once},
	    {"a wrong token delivers nothing", test_wrong_token_delivers_nothing},
	    {"slow readers are dropped, healthy ones get everything",
	     test_slow_readers_are_dropped_not_waited_for},
	    {"a reconnect storm gets its snapshots", test_reconnect_storm_gets_snapshots},
	    {"a resume storm gets resumed, not the snapshots", test_resume_storm_gets_resumed},
	    {"subscribers over several ports, CPU over several PIDs",
	     test_subscribers_over_several_ports},
	    {NULL, NULL},
	};
	return tacws_test_run("tacws-bench", suite_init, suite_cleanup, cases);
}
