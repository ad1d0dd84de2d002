/*
 * A real tacwsd for end-to-end tests.
 *
 * The fixture owns a temp folder (for the INI file, the server's log and any
 * file the test wants to put there) and a free port on 127.0.0.1. It writes
 * tacws.ini from what the test gives plus listen, port and plugin_dir, runs
 * TACWSD_PATH as its child with stdout and stderr appended to tacwsd.log in
 * the temp folder, and waits for GET /healthz to answer 200. It only ever
 * signals its own child, by PID.
 *
 * Threads: one fixture is used from one thread. Functions return 0 or a
 * negative errno unless said otherwise. Strings passed in are copied;
 * strings returned through char ** are the caller's (free()).
 */
#ifndef TACWS_SERVER_FIXTURE_H
#define TACWS_SERVER_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

typedef struct tacws_server_fixture tacws_server_fixture;

typedef struct tacws_server_config {
	/* Extra lines for the [server] section ("workers = 2\nmax_inbound_bytes = 512\n"),
	 * after the fixture's listen, port and plugin_dir. NULL for none. */
	const char *server_keys;
	/* The rest of the file, appended as is: [auth], [sources], [feed.x] ... */
	const char *ini;
	const char *plugin_dir; /* NULL: the build tree's plugins (TACWS_PLUGIN_BUILD_DIR) */
	const char *log_level;  /* --log-level; NULL: "debug" */
	/* More tacwsd arguments, NULL-terminated, or NULL. */
	const char *const *extra_args;
	int start_timeout_ms; /* how long to wait for /healthz; 0: 10000 */
} tacws_server_config;

/* Makes the temp folder and picks a free port; starts nothing. *out is the
 * caller's (tacws_server_fixture_free). */
int tacws_server_fixture_new(tacws_server_fixture **out);

/* Stops the server if it runs (like tacws_server_fixture_stop) and removes the
 * temp folder, unless TACWS_KEEP_TMP is set in the environment. NULL is fine. */
void tacws_server_fixture_free(tacws_server_fixture *s);

/* The temp folder (absolute, no trailing slash) and the port. */
const char *tacws_server_fixture_dir(const tacws_server_fixture *s);
int tacws_server_fixture_port(const tacws_server_fixture *s);
/* The child's PID while it runs, else 0. */
pid_t tacws_server_fixture_pid(const tacws_server_fixture *s);

/* Writes <dir>/tacws.ini from cfg and spawns tacwsd without waiting.
 * Returns 0, -EALREADY when running, -ENOENT when TACWSD_PATH is missing. */
int tacws_server_fixture_spawn(tacws_server_fixture *s, const tacws_server_config *cfg);

/* Waits until GET /healthz answers 200. Returns 0, -ECHILD when tacwsd exited
 * (see the log), -ETIMEDOUT. */
int tacws_server_fixture_wait_healthy(tacws_server_fixture *s, int timeout_ms);

/* spawn, then wait_healthy with cfg->start_timeout_ms. On failure the child
 * is stopped and the log is copied to stderr. */
int tacws_server_fixture_start(tacws_server_fixture *s, const tacws_server_config *cfg);

/* A suite's usual start: plugins from plugin_dir, server_keys and ini as in
 * tacws_server_config, log level info, the default start timeout. Returns the
 * port, or -1 (as start). */
int tacws_server_fixture_start_ini(tacws_server_fixture *s, const char *plugin_dir,
                                   const char *server_keys, const char *ini);

/* Starts tacwsd again with the same file, arguments and port (after a stop,
 * or to run the same config twice). */
int tacws_server_fixture_restart(tacws_server_fixture *s);

/* Sends SIGTERM to the child and waits up to timeout_ms (0: 10000) for it to
 * exit. Returns its exit status (0..255), 128 + signal when a signal killed
 * it, -ECHILD when nothing runs. When it does not exit in time it is killed
 * with SIGKILL, the current CUnit test is failed and -ETIMEDOUT returned. */
int tacws_server_fixture_stop(tacws_server_fixture *s, int timeout_ms);

/* A suite's end: stops the server (5 s) and frees the fixture. Returns the
 * server's exit status, so a server that did not exit cleanly fails the
 * suite's cleanup. */
int tacws_server_fixture_finish(tacws_server_fixture *s);

/* Waits for the child to exit by itself (a bad config, a crash). Returns the
 * exit status like stop, or -ETIMEDOUT (the child is left running). */
int tacws_server_fixture_wait_exit(tacws_server_fixture *s, int timeout_ms);

/* The whole log so far (NUL-terminated, the caller's), or NULL. */
char *tacws_server_fixture_log(const tacws_server_fixture *s);

/* Waits until the log contains needle. Returns 0 or -ETIMEDOUT. */
int tacws_server_fixture_wait_log(const tacws_server_fixture *s, const char *needle,
                                  int timeout_ms);

/* An HTTP answer. body is NUL-terminated; headers is the raw header block of
 * the last response. Both are owned by the reply: tacws_http_reply_clear. */
typedef struct tacws_http_reply {
	long status;
	char *body;
	size_t body_len;
	char *headers;
} tacws_http_reply;

void tacws_http_reply_clear(tacws_http_reply *r);

/* One request to http://127.0.0.1:<port><path> with libcurl (5 s timeout).
 * method: "GET", "POST", ...; headers: NULL-terminated "Name: value" lines or
 * NULL; body: sent when not NULL. Any status is a success: returns 0 with
 * *out filled, or -EIO when no HTTP answer came (*out is then zeroed). */
int tacws_http_request(int port, const char *method, const char *path, const char *const *headers,
                       const char *body, tacws_http_reply *out);

/* GET http://127.0.0.1:<port><path>: returns the status (0 when no answer
 * came) and the body in *body (the caller's; NULL when no answer came). */
long tacws_http_get_text(int port, const char *path, char **body);

/* The value of one sample of the server's /metrics
 * ("tacws_polls_total{feed=\"alpha\"}"), or -1 when absent. */
long long tacws_server_metric(const tacws_server_fixture *s, const char *sample);

/* Wait for a sample of /metrics (read every 10 ms) to reach at least min, or to equal want.
 * Return the value seen, or -ETIMEDOUT when timeout_ms passed first. */
long long tacws_server_wait_metric_at_least(const tacws_server_fixture *s, const char *sample,
                                            long long min, int timeout_ms);
long long tacws_server_wait_metric_equal(const tacws_server_fixture *s, const char *sample,
                                         long long want, int timeout_ms);

/* Shorthands on the fixture's port. */
int tacws_server_http_get(const tacws_server_fixture *s, const char *path, tacws_http_reply *out);
int tacws_server_http_post(const tacws_server_fixture *s, const char *path,
                           const char *const *headers, const char *body, tacws_http_reply *out);

#endif
