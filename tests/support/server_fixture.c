#include "server_fixture.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 32

struct tacws_server_fixture {
	char *dir;
	char *ini_path;
	char *log_path;
	int port;
	pid_t pid;
	int start_timeout_ms;
	char *argv[MAX_ARGS + 1];
};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void curl_init_once(void)
{
	static int done;
	if (!done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		atexit(curl_global_cleanup);
		done = 1;
	}
}

int tacws_server_fixture_new(tacws_server_fixture **out)
{
	curl_init_once();
	tacws_server_fixture *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dir = tacws_test_mkdtemp();
	/* Port 0: tacwsd binds any free port and logs it, so two fixtures started
	 * at once can never race for one port. Restarts reuse the port it got. */
	s->port = 0;
	if (!s->dir || asprintf(&s->ini_path, "%s/tacws.ini", s->dir) < 0 ||
	    asprintf(&s->log_path, "%s/tacwsd.log", s->dir) < 0) {
		tacws_server_fixture_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

static void free_argv(tacws_server_fixture *s)
{
	for (int i = 0; s->argv[i]; i++) {
		free(s->argv[i]);
		s->argv[i] = NULL;
	}
}

void tacws_server_fixture_free(tacws_server_fixture *s)
{
	if (!s)
		return;
	if (s->pid > 0)
		tacws_server_fixture_stop(s, 0);
	if (s->dir && !getenv("TACWS_KEEP_TMP"))
		tacws_test_rmtree(s->dir);
	else if (s->dir)
		fprintf(stderr, "server fixture: keeping %s\n", s->dir);
	free_argv(s);
	free(s->dir);
	free(s->ini_path);
	free(s->log_path);
	free(s);
}

const char *tacws_server_fixture_dir(const tacws_server_fixture *s)
{
	return s->dir;
}

int tacws_server_fixture_port(const tacws_server_fixture *s)
{
	return s->port;
}

pid_t tacws_server_fixture_pid(const tacws_server_fixture *s)
{
	return s->pid > 0 ? s->pid : 0;
}

static int write_ini(tacws_server_fixture *s, const tacws_server_config *cfg)
{
	FILE *f = fopen(s->ini_path, "w");
	if (!f)
		return -errno;
	fprintf(f,
	        "; written by the test's server fixture\n[server]\nlisten = 127.0.0.1\n"
	        "port = %d\nplugin_dir = %s\n%s\n%s\n",
	        s->port, cfg->plugin_dir ? cfg->plugin_dir : TACWS_PLUGIN_BUILD_DIR,
	        cfg->server_keys ? cfg->server_keys : "", cfg->ini ? cfg->ini : "");
	return fclose(f) ? -errno : 0;
}

static int build_argv(tacws_server_fixture *s, const tacws_server_config *cfg)
{
	const char *fixed[] = {TACWSD_PATH, "--config", s->ini_path, "--log-level",
	                       cfg->log_level ? cfg->log_level : "debug"};
	int n = 0;
	free_argv(s);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		s->argv[n++] = strdup(fixed[i]);
	for (const char *const *a = cfg->extra_args; a && *a; a++) {
		if (n == MAX_ARGS)
			return -E2BIG;
		s->argv[n++] = strdup(*a);
	}
	for (int i = 0; i < n; i++)
		if (!s->argv[i])
			return -ENOMEM;
	return 0;
}

static int spawn(tacws_server_fixture *s)
{
	if (s->pid > 0)
		return -EALREADY;
	if (access(TACWSD_PATH, X_OK))
		return -ENOENT;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Only async-signal-safe calls between fork and exec. The death
		 * signal keeps a crashed test from leaving a server behind. */
		int log = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 ||
		    dup2(log, 2) < 0)
			_exit(126);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* even a server that is stuck */
		execv(s->argv[0], s->argv);
		_exit(127);
	}
	s->pid = pid;
	return 0;
}

int tacws_server_fixture_spawn(tacws_server_fixture *s, const tacws_server_config *cfg)
{
	static const tacws_server_config none;
	if (!cfg)
		cfg = &none;
	if (s->pid > 0)
		return -EALREADY;
	int rc = write_ini(s, cfg);
	if (!rc)
		rc = build_argv(s, cfg);
	if (rc)
		return rc;
	s->start_timeout_ms = cfg->start_timeout_ms > 0 ? cfg->start_timeout_ms : 10000;
	return spawn(s);
}

static int exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	return 128 + (WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
}

int tacws_server_fixture_finish(tacws_server_fixture *s)
{
	int rc = tacws_server_fixture_stop(s, 5000);
	tacws_server_fixture_free(s);
	return rc;
}

int tacws_server_fixture_wait_exit(tacws_server_fixture *s, int timeout_ms)
{
	if (s->pid <= 0)
		return -ECHILD;
	long long deadline = tacws_test_now_ms() + timeout_ms;
	for (;;) {
		int wstatus;
		pid_t r = waitpid(s->pid, &wstatus, WNOHANG);
		if (r == s->pid) {
			s->pid = 0;
			return exit_status(wstatus);
		}
		if (r < 0) {
			s->pid = 0;
			return -ECHILD;
		}
		if (tacws_test_now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(10);
	}
}

/* The port tacwsd logged ("tacws listening on http://127.0.0.1:PORT/"), or 0. */
static int logged_port(const tacws_server_fixture *s)
{
	char *log = tacws_server_fixture_log(s);
	const char *needle = "tacws listening on http://";
	const char *line = log ? strstr(log, needle) : NULL;
	const char *colon = line ? strchr(line + strlen(needle), ':') : NULL;
	int port = colon ? atoi(colon + 1) : 0;
	free(log);
	return port;
}

int tacws_server_fixture_wait_healthy(tacws_server_fixture *s, int timeout_ms)
{
	long long deadline = tacws_test_now_ms() + timeout_ms;
	for (;;) {
		if (s->pid <= 0 || tacws_server_fixture_wait_exit(s, 0) != -ETIMEDOUT)
			return -ECHILD;
		if (!s->port)
			s->port = logged_port(s);
		if (!s->port) {
			if (tacws_test_now_ms() >= deadline)
				return -ETIMEDOUT;
			sleep_ms(20);
			continue;
		}
		tacws_http_reply r;
		if (!tacws_server_http_get(s, "/healthz", &r)) {
			long status = r.status;
			tacws_http_reply_clear(&r);
			if (status == 200)
				return 0;
		}
		if (tacws_test_now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(50);
	}
}

static void dump_log(const tacws_server_fixture *s)
{
	char *log = tacws_server_fixture_log(s);
	fprintf(stderr, "---- %s ----\n%s---- end of log ----\n", s->log_path, log ? log : "");
	free(log);
}

static int wait_started(tacws_server_fixture *s)
{
	int rc = tacws_server_fixture_wait_healthy(s, s->start_timeout_ms);
	if (rc) {
		fprintf(stderr, "server fixture: tacwsd did not become healthy: %s\n",
		        strerror(-rc));
		if (s->pid > 0)
			tacws_server_fixture_stop(s, 2000);
		dump_log(s);
	}
	return rc;
}

int tacws_server_fixture_start(tacws_server_fixture *s, const tacws_server_config *cfg)
{
	int rc = tacws_server_fixture_spawn(s, cfg);
	if (rc)
		return rc;
	return wait_started(s);
}

int tacws_server_fixture_start_ini(tacws_server_fixture *s, const char *plugin_dir,
                                   const char *server_keys, const char *ini)
{
	tacws_server_config cfg = {
	    .server_keys = server_keys,
	    .ini = ini,
	    .plugin_dir = plugin_dir,
	    .log_level = "info",
	};
	return tacws_server_fixture_start(s, &cfg) ? -1 : s->port;
}

int tacws_server_fixture_restart(tacws_server_fixture *s)
{
	if (!s->argv[0])
		return -EINVAL;
	/* The file says port 0; the restarted server must take the port clients know. */
	int n = 0;
	bool has_port = false;
	for (; s->argv[n]; n++)
		has_port |= !strcmp(s->argv[n], "--port");
	if (!has_port && s->port) {
		if (n + 2 > MAX_ARGS)
			return -E2BIG;
		if (asprintf(&s->argv[n], "--port") < 0 || asprintf(&s->argv[n + 1], "%d", s->port) < 0)
			return -ENOMEM;
	}
	int rc = spawn(s);
	if (rc)
		return rc;
	return wait_started(s);
}

int tacws_server_fixture_stop(tacws_server_fixture *s, int timeout_ms)
{
	if (s->pid <= 0)
		return -ECHILD;
	kill(s->pid, SIGTERM);
	int rc = tacws_server_fixture_wait_exit(s, timeout_ms > 0 ? timeout_ms : 10000);
	if (rc != -ETIMEDOUT)
		return rc;
	fprintf(stderr, "server fixture: tacwsd (pid %d) ignored SIGTERM, killing it\n",
	        (int)s->pid);
	kill(s->pid, SIGKILL);
	tacws_server_fixture_wait_exit(s, 5000);
	CU_FAIL("tacwsd did not exit after SIGTERM");
	return -ETIMEDOUT;
}

char *tacws_server_fixture_log(const tacws_server_fixture *s)
{
	FILE *f = fopen(s->log_path, "r");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1024 > cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		if (!n)
			break;
		len += n;
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

int tacws_server_fixture_wait_log(const tacws_server_fixture *s, const char *needle, int timeout_ms)
{
	long long deadline = tacws_test_now_ms() + timeout_ms;
	for (;;) {
		char *log = tacws_server_fixture_log(s);
		int found = log && strstr(log, needle);
		free(log);
		if (found)
			return 0;
		if (tacws_test_now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(20);
	}
}

void tacws_http_reply_clear(tacws_http_reply *r)
{
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

struct growbuf {
	char *p;
	size_t len;
};

static size_t grow(char *data, size_t size, size_t n, void *arg)
{
	struct growbuf *b = arg;
	size_t add = size * n;
	char *p = realloc(b->p, b->len + add + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, data, add);
	b->len += add;
	p[b->len] = '\0';
	b->p = p;
	return add;
}

static size_t grow_headers(char *data, size_t size, size_t n, void *arg)
{
	struct growbuf *b = arg;
	/* A new status line starts a new response (after a 100 Continue). */
	if (n * size >= 5 && !strncmp(data, "HTTP/", 5))
		b->len = 0;
	return grow(data, size, n, arg);
}

int tacws_http_request(int port, const char *method, const char *path, const char *const *headers,
                       const char *body, tacws_http_reply *out)
{
	curl_init_once();
	memset(out, 0, sizeof(*out));
	CURL *h = curl_easy_init();
	if (!h)
		return -ENOMEM;
	char url[1024];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	struct curl_slist *list = NULL;
	for (const char *const *p = headers; p && *p; p++)
		list = curl_slist_append(list, *p);
	struct growbuf b = {NULL, 0}, hb = {NULL, 0};
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, grow);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, grow_headers);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &hb);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	CURLcode cc = curl_easy_perform(h);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
		out->body = b.p ? b.p : strdup("");
		out->body_len = b.len;
		out->headers = hb.p ? hb.p : strdup("");
	} else {
		free(b.p);
		free(hb.p);
	}
	curl_slist_free_all(list);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK)
		return -EIO;
	if (!out->body || !out->headers) {
		tacws_http_reply_clear(out);
		return -ENOMEM;
	}
	return 0;
}

long long tacws_server_metric(const tacws_server_fixture *s, const char *sample)
{
	tacws_http_reply r;
	long long value = -1;
	if (tacws_server_http_get(s, "/metrics", &r))
		return -1;
	char needle[256];
	snprintf(needle, sizeof needle, "\n%s ", sample);
	const char *p = strstr(r.body, needle);
	if (p)
		value = atoll(p + strlen(needle));
	tacws_http_reply_clear(&r);
	return value;
}

static long long wait_metric(const tacws_server_fixture *s, const char *sample, long long want,
                             bool at_least, int timeout_ms)
{
	long long deadline = tacws_test_now_ms() + timeout_ms;
	for (;;) {
		long long v = tacws_server_metric(s, sample);
		if (at_least ? v >= want : v == want)
			return v;
		if (tacws_test_now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(10);
	}
}

long long tacws_server_wait_metric_at_least(const tacws_server_fixture *s, const char *sample,
                                            long long min, int timeout_ms)
{
	return wait_metric(s, sample, min, true, timeout_ms);
}

long long tacws_server_wait_metric_equal(const tacws_server_fixture *s, const char *sample,
                                         long long want, int timeout_ms)
{
	return wait_metric(s, sample, want, false, timeout_ms);
}

long tacws_http_get_text(int port, const char *path, char **body)
{
	tacws_http_reply r;
	*body = NULL;
	if (tacws_http_request(port, "GET", path, NULL, NULL, &r))
		return 0;
	long status = r.status;
	*body = r.body;
	r.body = NULL;
	tacws_http_reply_clear(&r);
	return status;
}

int tacws_server_http_get(const tacws_server_fixture *s, const char *path, tacws_http_reply *out)
{
	return tacws_http_request(s->port, "GET", path, NULL, NULL, out);
}

int tacws_server_http_post(const tacws_server_fixture *s, const char *path,
                           const char *const *headers, const char *body, tacws_http_reply *out)
{
	return tacws_http_request(s->port, "POST", path, headers, body ? body : "", out);
}
