#include "agents.h"
#include "proc.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *root;

static int setup(void)
{
	root = tacws_test_mkdtemp();
	return root ? 0 : 1;
}

static int teardown(void)
{
	tacws_test_rmtree(root);
	free(root);
	return 0;
}

static void test_adw_id_valid(void)
{
	char id65[66];
	memset(id65, 'a', 65);
	id65[65] = '\0';
	CU_ASSERT_FALSE(tacws_adw_id_valid(id65));
	id65[64] = '\0';
	CU_ASSERT_TRUE(tacws_adw_id_valid(id65));
	CU_ASSERT_TRUE(tacws_adw_id_valid("77c90e61"));
	CU_ASSERT_TRUE(tacws_adw_id_valid("A-z_9"));
	const char *bad[] = {"", ".", "..", "a/b", "a.b", "a b", "é", "a\n", NULL};
	for (int i = 0; bad[i]; i++)
		CU_ASSERT_FALSE(tacws_adw_id_valid(bad[i]));
	CU_ASSERT_FALSE(tacws_adw_id_valid(NULL));

	char buf[64];
	CU_ASSERT_EQUAL(tacws_agents_path(buf, sizeof buf, "/r", "agents", "..", NULL), -EINVAL);
	CU_ASSERT_EQUAL(tacws_agents_path(buf, sizeof buf, "/r", "agents", "abc", "x.json"), 0);
	CU_ASSERT_STRING_EQUAL(buf, "/r/agents/abc/x.json");
	CU_ASSERT_EQUAL(tacws_agents_path(buf, 10, "/r", "agents", "abc", NULL), -ENAMETOOLONG);
}

static void test_issue_number(void)
{
	struct {
		const char *json;
		int rc;
		int64_t want;
	} cases[] = {
	    {"{\"issue_number\":\"42\"}", 0, 42},
	    {"{\"issue_number\":42}", 0, 42},
	    {"{\"issue_number\":\"abc\"}", -EINVAL, 0},
	    {"{\"issue_number\":\"\"}", -EINVAL, 0},
	    {"{\"issue_number\":\"-1\"}", -EINVAL, 0},
	    {"{\"issue_number\":\"4.2\"}", -EINVAL, 0},
	    {"{\"issue_number\":4.2}", -EINVAL, 0},
	    {"{\"issue_number\":null}", -EINVAL, 0},
	    {"{\"issue_number\":\"1234567890123456789\"}", -EINVAL, 0},
	    {"{}", -EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_object *o = json_tokener_parse(cases[i].json);
		int64_t v = 0;
		CU_ASSERT_EQUAL(tacws_agents_issue_number(o, &v), cases[i].rc);
		if (!cases[i].rc)
			CU_ASSERT_EQUAL(v, cases[i].want);
		json_object_put(o);
	}
}

static void test_load(void)
{
	tacws_agents_runs runs;
	CU_ASSERT_EQUAL(tacws_agents_load(root, &runs), 0);
	CU_ASSERT_EQUAL(runs.n, 0);
	tacws_agents_runs_free(&runs);

	tacws_test_write_file(root, "agents/b2/adw_state.json", "{\"a\":1}");
	tacws_test_write_file(root, "agents/a1/adw_state.json", "{\"a\":");
	tacws_test_write_file(root, "agents/c3/other.json", "{}");
	tacws_test_write_file(root, "agents/d.4/adw_state.json", "{}");
	tacws_test_write_file(root, "agents/e5/adw_state.json", "\"text\"");
	tacws_test_write_file(root, "agents/f6", "a file, not a folder");
	CU_ASSERT_EQUAL(tacws_agents_load(root, &runs), 0);
	CU_ASSERT_EQUAL_FATAL(runs.n, 3);
	CU_ASSERT_STRING_EQUAL(runs.v[0].adw_id, "a1");
	CU_ASSERT_EQUAL(runs.v[0].err, -EBADMSG);
	CU_ASSERT_PTR_NULL(runs.v[0].state);
	CU_ASSERT_STRING_EQUAL(runs.v[1].adw_id, "b2");
	CU_ASSERT_EQUAL(runs.v[1].err, 0);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(runs.v[1].state, 0), "{\"a\":1}");
	CU_ASSERT_STRING_EQUAL(runs.v[2].adw_id, "e5");
	CU_ASSERT_EQUAL(runs.v[2].err, -EBADMSG);
	tacws_agents_runs_free(&runs);
	CU_ASSERT_EQUAL(tacws_agents_is_dir(root, "agents", "b2", NULL), 1);
	CU_ASSERT_EQUAL(tacws_agents_is_dir(root, "agents", "f6", NULL), 0);
	CU_ASSERT_EQUAL(tacws_agents_is_dir(root, "agents", "..", NULL), 0);

	char path[4096];
	snprintf(path, sizeof path, "%s/agents", root);
	tacws_test_rmtree(path);
}

static void test_proc(void)
{
	char marker[64];
	snprintf(marker, sizeof marker, "tacws-proc-marker-%d", (int)getpid());
	int found = -1;
	pid_t pid = -1;
	/* Our own command line never counts, even if it held the marker. */
	CU_ASSERT_EQUAL(tacws_proc_find(marker, &found, &pid), 0);
	CU_ASSERT_EQUAL(found, 0);
	CU_ASSERT_EQUAL(pid, 0);
	CU_ASSERT_EQUAL(tacws_proc_find("", &found, NULL), -EINVAL);

	pid_t child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* argv[0] is free text for sleep: it carries the marker. */
		execlp("sleep", marker, "30", (char *)NULL);
		_exit(127);
	}
	CU_ASSERT_TRUE_FATAL(child > 0);
	char want[128];
	snprintf(want, sizeof want, "%s 30", marker);
	for (int i = 0; i < 200 && !found; i++) {
		CU_ASSERT_EQUAL(tacws_proc_find(want, &found, &pid), 0);
		if (!found)
			usleep(10 * 1000);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	CU_ASSERT_EQUAL(found, 1);
	CU_ASSERT_EQUAL(pid, child);

	tacws_proc_list *list;
	CU_ASSERT_EQUAL_FATAL(tacws_proc_list_read(&list), 0);
	CU_ASSERT_TRUE(tacws_proc_list_count(list) > 0);
	CU_ASSERT_EQUAL(tacws_proc_list_find(list, want, NULL), 0);
	CU_ASSERT_EQUAL(tacws_proc_list_find(list, NULL, NULL), -EINVAL);
	tacws_proc_list_free(list);
}

/* What the watchers reported, guarded for their threads: ",id,id,..." in order, "*" for
 * NULL (everything), each prefixed "<arg>:" when the watcher's arg is a name. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int n_calls;
static char seen[2048];

static void on_change(void *arg, const char *adw_id)
{
	pthread_mutex_lock(&lock);
	if (!arg)
		n_calls++;
	size_t n = strlen(seen);
	snprintf(seen + n, sizeof seen - n, "%s%s%s,", arg ? (const char *)arg : "", arg ? ":" : "",
	         adw_id ? adw_id : "*");
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void reset_calls(void)
{
	pthread_mutex_lock(&lock);
	n_calls = 0;
	strcpy(seen, ",");
	pthread_mutex_unlock(&lock);
}

/* How many times entry ("run1", "*", "witness:run2") was reported; the lock is held. */
static int count_locked(const char *entry)
{
	char needle[96];
	snprintf(needle, sizeof needle, ",%s,", entry);
	int n = 0;
	for (const char *p = seen; (p = strstr(p, needle)); p += strlen(needle) - 1)
		n++;
	return n;
}

/* Waits until entry was reported; returns the ms it took or -1. */
static long long wait_for(const char *entry, int timeout_ms)
{
	long long t0 = tacws_test_now_ms();
	pthread_mutex_lock(&lock);
	while (!count_locked(entry)) {
		long long left = timeout_ms - (tacws_test_now_ms() - t0);
		if (left <= 0)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (left % 1000) * 1000000;
		ts.tv_sec += left / 1000 + ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&cond, &lock, &ts);
	}
	int ok = count_locked(entry) > 0;
	pthread_mutex_unlock(&lock);
	return ok ? tacws_test_now_ms() - t0 : -1;
}

static int count(const char *entry)
{
	pthread_mutex_lock(&lock);
	int n = count_locked(entry);
	pthread_mutex_unlock(&lock);
	return n;
}

static int calls(void)
{
	pthread_mutex_lock(&lock);
	int n = n_calls;
	pthread_mutex_unlock(&lock);
	return n;
}

/* Each step below waits for the report of its own change. The events of one change come
 * within microseconds and are reported together TACWS_AGENTS_COALESCE_MS later, so once
 * that report came nothing of the step is left to leak into the next one. */
static void test_watcher(void)
{
	char path[4096];
	tacws_agents_watcher *w;
	reset_calls();
	CU_ASSERT_EQUAL_FATAL(
	    tacws_agents_watch_start(root, TACWS_AGENTS_WATCH_TREES, on_change, NULL, &w), 0);

	/* agents/ appears: "everything", once (starting reported nothing of its own). */
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "agents"), 0);
	long long ms = wait_for("*", 1000);
	CU_ASSERT_TRUE(ms >= 0 && ms < 1000);
	CU_ASSERT_EQUAL(calls(), 1);

	/* A new run, then its state file, then a phase marker. */
	reset_calls();
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "agents/run1/adw_state.json", "{}"), 0);
	ms = wait_for("run1", 1000);
	CU_ASSERT_TRUE(ms >= 0 && ms < 1000);
	reset_calls();
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "agents/run1/adw_state.json", "{\"a\":1}"), 0);
	CU_ASSERT_TRUE(wait_for("run1", 1000) >= 0);
	reset_calls();
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "agents/run1/adw_build_iso"), 0);
	CU_ASSERT_TRUE(wait_for("run1", 1000) >= 0);

	/* A burst of writes is one or two calls, not fifty. A new run made after the burst is
	 * reported with or after the burst's last call: once it is, the count is final. */
	reset_calls();
	long long burst_start = tacws_test_now_ms();
	for (int i = 0; i < 50; i++)
		tacws_test_write_file(root, "agents/run1/adw_state.json", "{\"a\":2}");
	long long burst_ms = tacws_test_now_ms() - burst_start;
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "agents/after-burst"), 0);
	CU_ASSERT_TRUE(wait_for("after-burst", 1000) >= 0);
	/* one call per coalescing window the burst spans (a loaded machine stretches it) */
	int most = (int)(burst_ms / TACWS_AGENTS_COALESCE_MS) + 2;
	if (count("run1") > most)
		fprintf(stderr, "burst of %lld ms: %s\n", burst_ms, seen);
	CU_ASSERT_TRUE(count("run1") >= 1 && count("run1") <= most);

	/* Worktrees. */
	reset_calls();
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "trees/run1"), 0);
	CU_ASSERT_TRUE(wait_for("run1", 1000) >= 0 || wait_for("*", 10) >= 0);
	reset_calls();
	snprintf(path, sizeof path, "%s/trees/run1", root);
	CU_ASSERT_EQUAL(rmdir(path), 0);
	CU_ASSERT_TRUE(wait_for("run1", 1000) >= 0);

	/* agents/ removed and made again: the watcher follows. */
	reset_calls();
	snprintf(path, sizeof path, "%s/agents", root);
	tacws_test_rmtree(path);
	CU_ASSERT_TRUE(wait_for("*", 1000) >= 0);
	reset_calls();
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "agents/run2/adw_state.json", "{}"), 0);
	CU_ASSERT_TRUE(wait_for("*", 1000) >= 0 || wait_for("run2", 10) >= 0);
	reset_calls();
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "agents/run2/adw_state.json", "{\"b\":1}"), 0);
	CU_ASSERT_TRUE(wait_for("run2", 1000) >= 0);

	/* After stop, nothing more is reported. A second watcher is the witness: once it has
	 * reported the change (after the same coalescing delay), the first would have too. */
	tacws_agents_watch_stop(w);
	tacws_agents_watcher *witness;
	CU_ASSERT_EQUAL_FATAL(tacws_agents_watch_start(root, 0, on_change, "witness", &witness), 0);
	reset_calls();
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "agents/run2/adw_state.json", "{}"), 0);
	CU_ASSERT_TRUE(wait_for("witness:run2", 1000) >= 0);
	CU_ASSERT_EQUAL(calls(), 0);
	tacws_agents_watch_stop(witness);
	tacws_agents_watch_stop(NULL);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"adw_id validation and paths", test_adw_id_valid},
	    {"issue_number", test_issue_number},
	    {"load runs", test_load},
	    {"proc find", test_proc},
	    {"watcher", test_watcher},
	    {NULL, NULL},
	};
	return tacws_test_run("common_agents", setup, teardown, cases);
}
