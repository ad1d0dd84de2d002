#include "cluster_util.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* One seq means one change cluster-wide within an epoch: what every client saw. */
#define SEEN_MAX 4096
static struct seen {
	char epoch[CLUSTER_EPOCH_MAX];
	long long seq, v;
} seen[SEEN_MAX];
static int n_seen;

/* A CUnit assertion with a message saying what was seen, also on stderr. */
static bool check(bool ok, int line, const char *fmt, ...)
{
	if (ok) {
		CU_PASS("cluster check");
		return true;
	}
	static char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	fprintf(stderr, "cluster check failed: %s\n", why);
	CU_assertImplementation(CU_FALSE, (unsigned)line, why, __FILE__, "", CU_FALSE);
	return false;
}
#define CHECK(ok, ...) check((ok), __LINE__, __VA_ARGS__)

const char *cluster_redis_url(void)
{
	return getenv("TACWS_TEST_REDIS_URL");
}

int cluster_redis(const char *what)
{
	const char *script = getenv("TACWS_TEST_REDIS_SCRIPT");
	const char *dir = getenv("TACWS_TEST_REDIS_DIR");
	const char *port = getenv("TACWS_TEST_REDIS_PORT");
	if (!script || !dir || !port)
		return -ENOENT;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 1); /* the URL it prints */
		execlp("sh", "sh", script, what, dir, port, (char *)NULL);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int write_change(cluster *c, long long v)
{
	char rel[64], text[256];
	snprintf(rel, sizeof rel, "agents/%s/adw_state.json", c->adw_id);
	snprintf(text, sizeof text, "{\n  \"adw_id\": \"%s\",\n  \"issue_number\": \"14\",\n  \"v\": %lld\n}\n",
	         c->adw_id, v);
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", c->repo, rel);
	if (v == 0)
		return tacws_test_write_file(c->repo, rel, text);
	return tacws_test_replace_file(path, text);
}

int cluster_start(cluster *c, int lease_ttl_ms, int interval_ms)
{
	memset(c, 0, sizeof *c);
	memset(seen, 0, sizeof seen);
	n_seen = 0;
	c->check_one_sequence = true;
	c->lease_ttl_ms = lease_ttl_ms;
	const char *redis = cluster_redis_url();
	if (!redis) {
		fprintf(stderr, "TACWS_TEST_REDIS_URL is not set: run this test through ctest\n");
		return -ENOENT;
	}
	/* A topic of its own each run, so nothing left in Redis by another test counts. */
	srand((unsigned)(time(NULL) ^ getpid()));
	snprintf(c->adw_id, sizeof c->adw_id, "%08x", (unsigned)rand());
	snprintf(c->topic, sizeof c->topic, "adw-state/%s", c->adw_id);
	c->repo = tacws_test_mkdtemp();
	if (!c->repo || write_change(c, 0) || tacws_wsgroup_new(&c->group))
		return -ENOMEM;
	char ini[CLUSTER_NODES][2048];
	tacws_server_config cfg[CLUSTER_NODES];
	for (int i = 0; i < CLUSTER_NODES; i++) {
		snprintf(ini[i], sizeof ini[i],
		         "[sources]\nrepo_root = %s\n"
		         "[feed.adw-state]\nplugin = adw_state\ninterval_ms = %d\n"
		         "[cluster]\nredis = %s\nnode_id = node%d\nlease_ttl_ms = %d\n",
		         c->repo, interval_ms, redis, i, lease_ttl_ms);
		cfg[i] = (tacws_server_config){.server_keys = "workers = 2\n", .ini = ini[i],
		                               .log_level = "info", .start_timeout_ms = 20000};
		int rc = tacws_server_fixture_new(&c->node[i]);
		if (!rc)
			rc = tacws_server_fixture_spawn(c->node[i], &cfg[i]);
		if (rc)
			return rc;
	}
	for (int i = 0; i < CLUSTER_NODES; i++) {
		int rc = tacws_server_fixture_wait_healthy(c->node[i], 20000);
		if (rc) {
			char *log = tacws_server_fixture_log(c->node[i]);
			fprintf(stderr, "node%d did not start (%s):\n%s\n", i, strerror(-rc),
			        log ? log : "");
			free(log);
			return rc;
		}
		c->alive[i] = true;
	}
	return 0;
}

int cluster_finish(cluster *c)
{
	int problems = 0;
	for (int i = 0; i < c->n_clients; i++)
		tacws_wsclient_free(c->clients[i].ws);
	tacws_wsgroup_free(c->group);
	for (int i = 0; i < CLUSTER_NODES; i++) {
		if (!c->node[i])
			continue;
		if (c->alive[i]) {
			int rc = tacws_server_fixture_stop(c->node[i], 10000);
			char *log = tacws_server_fixture_log(c->node[i]);
			bool sanitizer = log && strstr(log, "Sanitizer");
			if (rc || sanitizer) {
				fprintf(stderr, "node%d exited with %d%s:\n%s\n", i, rc,
				        sanitizer ? " and a sanitizer report" : "", log ? log : "");
				problems++;
			}
			free(log);
		}
		tacws_server_fixture_free(c->node[i]);
	}
	if (c->repo && !getenv("TACWS_KEEP_TMP"))
		tacws_test_rmtree(c->repo);
	free(c->repo);
	memset(c, 0, sizeof *c);
	return problems;
}

long long cluster_change(cluster *c)
{
	int rc = write_change(c, c->v + 1);
	CHECK(rc == 0, "writing change %lld: %s", c->v + 1, strerror(-rc));
	return ++c->v;
}

static const char *str_of(json_object *m, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(m, key, &v) ? json_object_get_string(v) : "";
}

/* Records (epoch, seq) -> v, or checks it against what another client saw. */
static void check_one_sequence(const cluster_client *cl, const char *epoch, long long seq,
                               long long v)
{
	for (int i = 0; i < n_seen; i++)
		if (seen[i].seq == seq && !strcmp(seen[i].epoch, epoch)) {
			CHECK(seen[i].v == v,
			      "%s: seq %lld of epoch %s carries change %lld, another client got %lld",
			      cl->name, seq, epoch, v, seen[i].v);
			return;
		}
	if (n_seen < SEEN_MAX) {
		snprintf(seen[n_seen].epoch, sizeof seen[n_seen].epoch, "%s", epoch);
		seen[n_seen].seq = seq;
		seen[n_seen++].v = v;
	}
}

static void on_snapshot(cluster *c, cluster_client *cl, json_object *m)
{
	long long seq = tacws_ws_seq(m);
	const char *epoch = str_of(m, "epoch");
	json_object *data = tacws_ws_data(m), *jv;
	long long v = data && json_object_object_get_ex(data, "v", &jv) ? json_object_get_int64(jv)
	                                                                  : -1;
	CHECK(seq >= 0 && v >= 0, "%s: a snapshot without seq or v: %s", cl->name,
	      json_object_to_json_string(m));
	if (cl->seq >= 0) {
		CHECK(seq > cl->seq, "%s: seq %lld after %lld (a duplicate or an older seq)", cl->name,
		      seq, cl->seq);
		CHECK(v > cl->v, "%s: change %lld again after %lld (seq %lld after %lld)", cl->name, v,
		      cl->v, seq, cl->seq);
		if (cl->every_change && cl->snapshots > 0 && v > cl->v)
			CHECK(v == cl->v + 1, "%s: change %lld after %lld: a change skipped", cl->name, v,
			      cl->v);
		if (cl->every_change && cl->snapshots > 0 && c->check_one_sequence &&
		    !strcmp(epoch, cl->epoch))
			CHECK(seq == cl->seq + 1, "%s: seq %lld after %lld for one change", cl->name, seq,
			      cl->seq);
	}
	if (c->check_one_sequence)
		check_one_sequence(cl, epoch, seq, v);
	cl->seq = seq;
	cl->v = v;
	snprintf(cl->epoch, sizeof cl->epoch, "%s", epoch);
	cl->snapshots++;
}

static void on_message(cluster *c, cluster_client *cl, json_object *m)
{
	const char *type = tacws_ws_type(m);
	if (type && !strcmp(type, "adw_state_update")) {
		on_snapshot(c, cl, m);
	} else if (type && !strcmp(type, "resumed")) {
		CHECK(!strcmp(str_of(m, "recovered"), "true"),
		      "%s: resumed at seq %lld of %s but not recovered: %s", cl->name, cl->seq,
		      cl->epoch, json_object_to_json_string(m));
		CHECK(tacws_ws_seq(m) == cl->seq && !strcmp(str_of(m, "epoch"), cl->epoch),
		      "%s: resumed with seq %lld of %s, it held %lld of %s", cl->name, tacws_ws_seq(m),
		      str_of(m, "epoch"), cl->seq, cl->epoch);
		cl->resumed++;
	} else {
		CHECK(false, "%s: unexpected message %s", cl->name, json_object_to_json_string(m));
	}
}

/* Services the group up to wait_ms, then reads everything that arrived. */
static void pump(cluster *c, int wait_ms)
{
	tacws_wsgroup_service(c->group, wait_ms);
	for (int i = 0; i < c->n_clients; i++) {
		cluster_client *cl = &c->clients[i];
		if (cl->closed)
			continue;
		json_object *m = NULL;
		int rc;
		while ((rc = tacws_ws_next(cl->ws, 0, &m)) == 0) {
			on_message(c, cl, m);
			json_object_put(m);
			m = NULL;
		}
		if (rc == -ENOTCONN) {
			cl->closed = true;
			CHECK(!c->alive[cl->node], "%s: closed (%d) while node%d is alive", cl->name,
			      tacws_wsclient_close_code(cl->ws), cl->node);
		} else if (rc == -EBADMSG) {
			CHECK(false, "%s: a message that is not a JSON object", cl->name);
		}
	}
}

static int connect_client(cluster *c, cluster_client *cl, int node, const char *query)
{
	int status = 0;
	int rc = tacws_ws_connect(tacws_server_fixture_port(c->node[node]), c->group, c->topic, query,
	                          NULL, 5000, &cl->ws, &status);
	CHECK(rc == 0, "%s: cannot connect to node%d (%s, HTTP %d)", cl->name, node, strerror(-rc),
	      status);
	cl->node = node;
	cl->closed = rc != 0;
	cl->snapshots = 0;
	return rc ? -1 : 0;
}

int cluster_subscribe(cluster *c, int node, const char *query, bool every_change)
{
	if (!CHECK(c->n_clients < CLUSTER_MAX_CLIENTS, "too many clients"))
		return -1;
	int i = c->n_clients++;
	cluster_client *cl = &c->clients[i];
	memset(cl, 0, sizeof *cl);
	cl->seq = cl->v = -1;
	cl->every_change = every_change;
	snprintf(cl->name, sizeof cl->name, "client%d@node%d", i, node);
	return connect_client(c, cl, node, query) ? -1 : i;
}

int cluster_subscribe_all(cluster *c, int per_node, int timeout_ms)
{
	for (int node = 0; node < CLUSTER_NODES; node++)
		for (int k = 0; k < per_node; k++)
			if (cluster_subscribe(c, node, NULL, true) < 0)
				return -1;
	return cluster_wait_all(c, 0, timeout_ms) < 0 ? -1 : 0;
}

int cluster_resume(cluster *c, int i, int node)
{
	cluster_client *cl = &c->clients[i];
	tacws_wsclient_free(cl->ws);
	cl->ws = NULL;
	char query[160];
	snprintf(query, sizeof query, "since=%lld&epoch=%s", cl->seq, cl->epoch);
	snprintf(cl->name, sizeof cl->name, "client%d@node%d", i, node);
	return connect_client(c, cl, node, query);
}

static bool all_hold(const cluster *c, long long v)
{
	for (int i = 0; i < c->n_clients; i++)
		if (!c->clients[i].closed && c->clients[i].v < v)
			return false;
	return true;
}

/* What each live node says of the cluster and of its polls, for a failure's report. */
static void print_status(cluster *c)
{
	for (int i = 0; i < CLUSTER_NODES; i++) {
		if (!c->alive[i])
			continue;
		char *body = NULL;
		tacws_http_get_text(tacws_server_fixture_port(c->node[i]), "/metrics", &body);
		fprintf(stderr, "---- node%d /metrics (cluster and poll lines) ----\n", i);
		for (char *line = body ? strtok(body, "\n") : NULL; line; line = strtok(NULL, "\n"))
			if (line[0] != '#' && (strstr(line, "cluster") || strstr(line, "polls") ||
			                       strstr(line, "changes") || strstr(line, "errors")))
				fprintf(stderr, "%s\n", line);
		free(body);
	}
}

long long cluster_wait_all(cluster *c, long long v, int timeout_ms)
{
	long long start = tacws_test_now_ms();
	for (;;) {
		pump(c, 10);
		if (all_hold(c, v))
			return tacws_test_now_ms() - start;
		if (tacws_test_now_ms() - start >= timeout_ms)
			break;
	}
	for (int i = 0; i < c->n_clients; i++)
		if (!c->clients[i].closed && c->clients[i].v < v)
			CHECK(false, "%s holds change %lld (seq %lld), not %lld after %d ms",
			      c->clients[i].name, c->clients[i].v, c->clients[i].seq, v, timeout_ms);
	print_status(c);
	return -ETIMEDOUT;
}

int cluster_changes(cluster *c, int n, int timeout_ms)
{
	for (int i = 0; i < n; i++)
		if (cluster_wait_all(c, cluster_change(c), timeout_ms) < 0)
			return -ETIMEDOUT;
	return 0;
}

long long cluster_wait_client(cluster *c, int i, long long v, int timeout_ms)
{
	long long start = tacws_test_now_ms();
	for (;;) {
		pump(c, 2);
		if (c->clients[i].v >= v)
			return tacws_test_now_ms() - start;
		if (tacws_test_now_ms() - start >= timeout_ms)
			return -ETIMEDOUT;
	}
}

int cluster_wait_resumed(cluster *c, int i, int timeout_ms)
{
	long long deadline = tacws_test_now_ms() + timeout_ms;
	while (!c->clients[i].resumed && !c->clients[i].closed) {
		if (tacws_test_now_ms() >= deadline)
			return -ETIMEDOUT;
		pump(c, 10);
	}
	return c->clients[i].resumed ? 0 : -ENOTCONN;
}

int cluster_wait_closed(cluster *c, int i, int timeout_ms)
{
	long long deadline = tacws_test_now_ms() + timeout_ms;
	while (!c->clients[i].closed) {
		if (tacws_test_now_ms() >= deadline)
			return -ETIMEDOUT;
		pump(c, 10);
	}
	return 0;
}

int cluster_poller(cluster *c, int interval_ms, int timeout_ms)
{
	long long deadline = tacws_test_now_ms() + timeout_ms;
	long long before[CLUSTER_NODES], after[CLUSTER_NODES];
	while (tacws_test_now_ms() < deadline) {
		for (int i = 0; i < CLUSTER_NODES; i++)
			before[i] = c->alive[i] ? tacws_server_metric(c->node[i], CLUSTER_POLLS) : 0;
		/* A window of three polls of the holder, clients read meanwhile. */
		long long end = tacws_test_now_ms() + 3 * interval_ms;
		while (tacws_test_now_ms() < end)
			pump(c, 10);
		int poller = -1, pollers = 0;
		for (int i = 0; i < CLUSTER_NODES; i++) {
			after[i] = c->alive[i] ? tacws_server_metric(c->node[i], CLUSTER_POLLS) : 0;
			if (after[i] > before[i]) {
				poller = i;
				pollers++;
			}
		}
		if (pollers == 1)
			return poller;
		fprintf(stderr, "cluster: %d nodes polled in one window (%lld %lld %lld more polls)\n",
		        pollers, after[0] - before[0], after[1] - before[1], after[2] - before[2]);
	}
	return -1;
}

long long cluster_metric_sum(cluster *c, const char *sample)
{
	long long sum = 0;
	for (int i = 0; i < CLUSTER_NODES; i++)
		if (c->alive[i]) {
			long long v = tacws_server_metric(c->node[i], sample);
			sum += v > 0 ? v : 0;
		}
	return sum;
}

int cluster_kill(cluster *c, int i)
{
	pid_t pid = tacws_server_fixture_pid(c->node[i]);
	if (pid <= 0 || kill(pid, SIGKILL))
		return -ESRCH;
	c->alive[i] = false;
	int rc = tacws_server_fixture_wait_exit(c->node[i], 5000);
	return rc == 128 + SIGKILL ? 0 : -EIO;
}

/* 1 when the node's /healthz and /metrics both say the link to Redis is up, 0 when
 * both say down, -1 otherwise (not yet agreed, or not readable). */
static int link_state(cluster *c, int i)
{
	char *body = NULL;
	long status = tacws_http_get_text(tacws_server_fixture_port(c->node[i]), "/healthz", &body);
	json_object *h = status ? json_tokener_parse(body ? body : "") : NULL;
	free(body);
	json_object *cl = NULL, *state = NULL;
	int healthz = -1;
	if (h && json_object_object_get_ex(h, CLUSTER_HEALTHZ_OBJECT, &cl) &&
	    json_object_object_get_ex(cl, CLUSTER_HEALTHZ_LINK, &state)) {
		const char *s = json_object_get_string(state);
		healthz = !strcmp(s, CLUSTER_LINK_UP) ? 1 : !strcmp(s, CLUSTER_LINK_DOWN) ? 0 : -1;
	}
	json_object_put(h);
	char sample[160];
	const char *port = getenv("TACWS_TEST_REDIS_PORT");
	snprintf(sample, sizeof sample, CLUSTER_LINK_METRIC, port ? port : "");
	long long metric = tacws_server_metric(c->node[i], sample);
	int metrics = metric == 1 ? 1 : metric == 0 ? 0 : -1;
	return healthz == metrics ? healthz : -1;
}

int cluster_wait_link(cluster *c, int i, bool up, int timeout_ms)
{
	long long deadline = tacws_test_now_ms() + timeout_ms;
	while (link_state(c, i) != (up ? 1 : 0)) {
		if (tacws_test_now_ms() >= deadline)
			return -ETIMEDOUT;
		pump(c, 20);
	}
	return 0;
}
