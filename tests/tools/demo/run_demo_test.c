/* tools/demo/run-demo.sh end to end: the script starts tacws-demo and the
 * real tacwsd with all ten feeds, and Ctrl-C stops both. */
#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


/* Reads the script's output until "open http://127.0.0.1:PORT/"; returns
 * PORT, or -1 after timeout_ms. */
static int read_open_line(int fd, int timeout_ms)
{
	static char buf[16384];
	size_t len = 0;
	long long end = tacws_test_now_ms() + timeout_ms;
	while (len < sizeof buf - 1 && tacws_test_now_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		char *at = strstr(buf, "open http://127.0.0.1:");
		if (at && strchr(at, '\n'))
			return atoi(at + strlen("open http://127.0.0.1:"));
	}
	fprintf(stderr, "run-demo.sh said:\n%s\n", buf);
	return -1;
}

/* What the script and tacwsd said since the open line, for a failure's report. */
static void print_output(int fd)
{
	char buf[8192];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	fprintf(stderr, "run-demo.sh and tacwsd said after the open line:\n");
	while (poll(&p, 1, 500) > 0) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stderr);
	}
}

/* Runs run-demo.sh with arg (NULL for none) in its own process group, like a terminal
 * job, its output to *out_fd; ports away from the defaults, so a demo someone runs is not in
 * the way, and below the ephemeral range (32768 up), where a client socket could take one
 * between the script's check and tacwsd's bind. Returns its PID; *first_port is TACWS_PORT. */
static pid_t start_demo(const char *arg, int *out_fd, int *first_port)
{
	char port[16], demo_port[16], redis_port[16];
	*first_port = 10000 + (int)(getpid() % 20000);
	snprintf(port, sizeof port, "%d", *first_port);
	snprintf(demo_port, sizeof demo_port, "%d", *first_port + 300);
	snprintf(redis_port, sizeof redis_port, "%d", *first_port + 600);
	int fds[2];
	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		/* Its own process group, like a terminal job: Ctrl-C goes to all of it. */
		setpgid(0, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		setenv("TACWS_BUILD_DIR", TACWS_BUILD_DIR, 1);
		setenv("TACWS_DEMO_DIR", tacws_test_dir, 1);
		setenv("TACWS_PORT", port, 1);
		setenv("TACWS_DEMO_PORT", demo_port, 1);
		setenv("TACWS_DEMO_REDIS_PORT", redis_port, 1);
		setenv("TACWS_DEMO_NO_BUILD", "1", 1);
		execl("/bin/bash", "bash", RUN_DEMO_PATH, arg, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		setpgid(pid, pid);
	close(fds[1]);
	*out_fd = fds[0];
	return pid;
}

/* Waits until GET /healthz on port answers 200 (30 s at most); returns the body or NULL. */
static char *wait_healthz(int port)
{
	char *body = NULL;
	long status = 0;
	for (long long end = tacws_test_now_ms() + 30000;
	     port > 0 && status != 200 && tacws_test_now_ms() < end;) {
		free(body);
		body = NULL;
		status = tacws_http_get_text(port, "/healthz", &body);
		if (status != 200)
			usleep(100000);
	}
	if (status == 200)
		return body;
	free(body);
	return NULL;
}

/* Ctrl-C: the whole job stops by itself. */
static void stop_demo(pid_t pid, int fd)
{
	kill(-pid, SIGINT);
	int st = 0, done = 0;
	for (long long end = tacws_test_now_ms() + 15000; !done && tacws_test_now_ms() < end;) {
		done = waitpid(pid, &st, WNOHANG) == pid;
		if (!done)
			usleep(50000);
	}
	CU_ASSERT(done);
	long long end = tacws_test_now_ms() + 5000;
	while (kill(-pid, 0) == 0 && tacws_test_now_ms() < end)
		usleep(50000);
	CU_ASSERT(kill(-pid, 0) != 0 && errno == ESRCH);
	if (!done || kill(-pid, 0) == 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	close(fd);
}

static void test_script_runs_and_stops(void)
{
	int fd, first_port;
	pid_t pid = start_demo(NULL, &fd, &first_port);
	CU_ASSERT_FATAL(pid > 0);
	int http_port = read_open_line(fd, 60000);
	CU_ASSERT(http_port >= first_port);

	char *body = wait_healthz(http_port);
	CU_ASSERT_PTR_NOT_NULL(body);
	if (!body)
		print_output(fd);
	free(body);

	CU_ASSERT_EQUAL(tacws_http_get_text(http_port, "/api/v1/feeds", &body), 200);
	json_object *doc = body ? json_tokener_parse(body) : NULL, *feeds = NULL;
	CU_ASSERT(doc && json_object_object_get_ex(doc, "feeds", &feeds));
	/* TAC's ten feeds: conf/demo.ini enables them all */
	static const char *const want[] = {"workflows",        "adw-state/{adw_id}", "adw-monitor",
	                                   "queue",            "workflow-history",   "routes",
	                                   "system-status",    "webhook-status",     "planned-features",
	                                   "qc-metrics"};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		int found = 0;
		for (size_t k = 0; feeds && k < json_object_array_length(feeds); k++) {
			json_object *ep = NULL;
			if (json_object_object_get_ex(json_object_array_get_idx(feeds, k),
			                              "endpoint", &ep) &&
			    !strcmp(json_object_get_string(ep), want[i]))
				found = 1;
		}
		if (!found)
			fprintf(stderr, "feed %s missing\n", want[i]);
		CU_ASSERT(found);
	}
	json_object_put(doc);
	free(body);

	/* the generated config points at this run's folder and ports */
	char ini[PATH_MAX], line[512];
	snprintf(ini, sizeof ini, "%s/tacwsd.ini", tacws_test_dir);
	FILE *f = fopen(ini, "r");
	CU_ASSERT_PTR_NOT_NULL(f);
	int saw_root = 0, saw_port = 0, saw_qc = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (!strncmp(line, "repo_root = ", 12) && strstr(line, tacws_test_dir))
			saw_root = 1;
		if (!strncmp(line, "path = ", 7) && strstr(line, tacws_test_dir) &&
		    strstr(line, "/repo/QC_METRICS_ENHANCED.json"))
			saw_qc = 1;
		char want_port[32];
		snprintf(want_port, sizeof want_port, "port = %d\n", http_port);
		if (!strcmp(line, want_port))
			saw_port = 1;
	}
	if (f)
		fclose(f);
	CU_ASSERT(saw_root);
	CU_ASSERT(saw_port);
	CU_ASSERT(saw_qc);

	stop_demo(pid, fd);
}

/* The port in a node's config ("port = N" of [server], its first port line). */
static int node_port(int i)
{
	char ini[PATH_MAX], line[512];
	snprintf(ini, sizeof ini, "%s/tacwsd-node%d.ini", tacws_test_dir, i);
	FILE *f = fopen(ini, "r");
	int port = 0;
	while (f && !port && fgets(line, sizeof line, f))
		if (!strncmp(line, "port = ", 7))
			port = atoi(line + 7);
	if (f)
		fclose(f);
	return port;
}

/* --cluster: three nodes on one redis-server, one cluster (the same seq and epoch of a
 * topic on every node), and Ctrl-C stops the nodes and Redis. */
static void test_cluster(void)
{
	int fd, first_port;
	pid_t pid = start_demo("--cluster", &fd, &first_port);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(read_open_line(fd, 60000) >= first_port);
	char seen_epoch[64] = "";
	long long seen_seq = -1;
	for (int i = 0; i < 3; i++) {
		int port = node_port(i);
		CU_ASSERT(port >= first_port);
		char *body = wait_healthz(port);
		json_object *h = body ? json_tokener_parse(body) : NULL, *cl = NULL, *id = NULL;
		CU_ASSERT(h && json_object_object_get_ex(h, "cluster", &cl) &&
		          json_object_object_get_ex(cl, "node_id", &id));
		char want[32];
		snprintf(want, sizeof want, "demo-node%d", i);
		CU_ASSERT_STRING_EQUAL(id ? json_object_get_string(id) : "", want);
		json_object_put(h);
		free(body);

		tacws_wsclient *c = NULL;
		json_object *m = NULL, *epoch = NULL;
		CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, NULL, "workflows", NULL, NULL, 5000, &c,
		                                       NULL), 0);
		CU_ASSERT_EQUAL(tacws_ws_expect(c, "workflows_update", 10000, &m), 0);
		if (m && json_object_object_get_ex(m, "epoch", &epoch)) {
			if (!i) {
				snprintf(seen_epoch, sizeof seen_epoch, "%s", json_object_get_string(epoch));
				seen_seq = tacws_ws_seq(m);
			}
			/* The demo changes workflows now and then: a later node may be one seq on. */
			CU_ASSERT_STRING_EQUAL(json_object_get_string(epoch), seen_epoch);
			CU_ASSERT(tacws_ws_seq(m) >= seen_seq);
		} else {
			CU_FAIL("a snapshot without an epoch");
		}
		json_object_put(m);
		tacws_wsclient_free(c);
	}
	char pidfile[PATH_MAX];
	snprintf(pidfile, sizeof pidfile, "%s/redis/redis.pid", tacws_test_dir);
	FILE *f = fopen(pidfile, "r");
	int redis_pid = 0;
	CU_ASSERT(f && fscanf(f, "%d", &redis_pid) == 1 && redis_pid > 0);
	if (f)
		fclose(f);
	stop_demo(pid, fd);
	/* redis-server left the job's group (it daemonizes): gone all the same */
	long long end = tacws_test_now_ms() + 5000;
	while (redis_pid > 0 && kill(redis_pid, 0) == 0 && tacws_test_now_ms() < end)
		usleep(50000);
	CU_ASSERT(redis_pid > 0 && kill(redis_pid, 0) != 0);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"run-demo.sh serves all ten feeds and stops on Ctrl-C", test_script_runs_and_stops},
	    {"run-demo.sh --cluster: three nodes, one redis-server, one cluster", test_cluster},
	    {NULL, NULL},
	};
	return tacws_test_run("run-demo.sh", tacws_test_tmpdir_init, tacws_test_tmpdir_cleanup, cases);
}
