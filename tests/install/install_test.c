/*
 * The plugin SDK as a user meets it, with nothing of the source tree but the
 * template: cmake --install into a temporary prefix; the example plugin built
 * out of tree with the tutorial's cc line (installed header, pkg-config);
 * its .so dropped into the installed plugin folder; the installed tacwsd run
 * with a configuration that names neither plugin_dir nor web_dir; a
 * WebSocket client receives the example feed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

static char *dir;
static char prefix[1024], tacwsd[1200], plugin_dir[1200], log_path[1200];
static int installed; /* 1 once cmake --install succeeded */

/* Runs a shell command (bounded by timeout(1)), output appended to the test log. */
static int sh(const char *cmd)
{
	char full[8192];
	snprintf(full, sizeof full, "cd '%s' && timeout 240 sh -c '%s' >>'%s/commands.log' 2>&1",
	         dir, cmd, dir);
	fprintf(stderr, "$ %s\n", cmd);
	int rc = system(full);
	if (rc) {
		char show[1200];
		snprintf(show, sizeof show, "cat '%s/commands.log' >&2", dir);
		if (system(show)) {
		}
	}
	return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 20);
	if (buf)
		fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void write_status(int v)
{
	char text[128], tmp[1200], path[1200];
	snprintf(text, sizeof text, "{\"build\":\"out-of-tree\",\"v\":%d}", v);
	snprintf(tmp, sizeof tmp, "%s/status.json.tmp", dir);
	snprintf(path, sizeof path, "%s/status.json", dir);
	FILE *f = fopen(tmp, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	CU_ASSERT_EQUAL(rename(tmp, path), 0);
}

static void test_install_layout(void)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "\"%s\" --install \"%s\" --prefix \"%s\"", TACWS_CMAKE,
	         TACWS_BUILD_DIR, prefix);
	CU_ASSERT_EQUAL_FATAL(sh(cmd), 0);
	installed = 1;
	static const char *const files[] = {
	    TACWS_BINDIR "/tacwsd",
	    TACWS_BINDIR "/tacws-cat",
	    "include/tacws/plugin.h",
	    TACWS_LIBDIR "/pkgconfig/tacws-plugin.pc",
	    TACWS_PLUGIN_RELDIR "/workflows.so",
	    TACWS_PLUGIN_RELDIR "/queue.so",
	    TACWS_PLUGIN_RELDIR "/planned_features.so",
	    "share/tacws/web/index.html",
	    "etc/tacws/tacws.ini",
	    "lib/systemd/system/tacwsd.service",
	    "share/doc/tacws/PLUGINS.md",
	    "share/doc/tacws/example/example.c",
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", prefix, files[i]);
		if (access(path, F_OK))
			fprintf(stderr, "missing after install: %s\n", path);
		CU_ASSERT_EQUAL(access(path, F_OK), 0);
	}
	/* the installed configuration and unit name the installed paths */
	char path[4096];
	snprintf(path, sizeof path, "%s/etc/tacws/tacws.ini", prefix);
	char *ini = slurp(path);
	char want[8192];
	snprintf(want, sizeof want, "\nplugin_dir = %s ", plugin_dir);
	CU_ASSERT(ini && strstr(ini, want));
	free(ini);
	snprintf(path, sizeof path, "%s/lib/systemd/system/tacwsd.service", prefix);
	char *unit = slurp(path);
	snprintf(want, sizeof want, "ExecStart=%s --config %s/etc/tacws/tacws.ini", tacwsd, prefix);
	CU_ASSERT(unit && strstr(unit, want));
	free(unit);
}

/* The installed tacwsd with its installed default configuration: all bundled
 * plugins found, nothing started. */
static void test_check_installed_default_config(void)
{
	CU_ASSERT_FATAL(installed);
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "\"%s\" --check-config > check.out", tacwsd);
	CU_ASSERT_EQUAL(sh(cmd), 0);
	char path[1200];
	snprintf(path, sizeof path, "%s/check.out", dir);
	char *out = slurp(path);
	char want[8192];
	snprintf(want, sizeof want, "%s/etc/tacws/tacws.ini: configuration OK, ", prefix);
	CU_ASSERT(out && strstr(out, want));
	free(out);
}

static void test_out_of_tree_plugin(void)
{
	CU_ASSERT_FATAL(installed);
	/* the template, built as the tutorial says, against the install only */
	char cmd[8192];
	snprintf(cmd, sizeof cmd,
	         "mkdir -p src && cp \"%s/plugins/example/example.c\" src/ && cd src && "
	         "export PKG_CONFIG_PATH=\"%s/%s/pkgconfig\" && "
	         "cc -shared -fPIC -o example.so example.c $(pkg-config --cflags --libs "
	         "tacws-plugin) && "
	         "test \"$(pkg-config --variable=plugindir tacws-plugin)\" -ef \"%s\" && "
	         "rm -f \"%s/example.so\" && cp example.so \"%s/\"",
	         TACWS_SOURCE_DIR, prefix, TACWS_LIBDIR, plugin_dir, plugin_dir, plugin_dir);
	CU_ASSERT_EQUAL_FATAL(sh(cmd), 0);

	write_status(1);
	char ini[2048];
	snprintf(ini, sizeof ini,
	         "[server]\nlisten = 127.0.0.1\nport = 0\n"
	         "[feed.example]\nplugin = example\nfile = %s/status.json\ninterval_ms = 100\n",
	         dir);
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(dir, "example.ini", ini), 0);

	snprintf(cmd, sizeof cmd, "\"%s\" --check-config example.ini > check2.out", tacwsd);
	CU_ASSERT_EQUAL(sh(cmd), 0);

	char ini_path[1200];
	snprintf(ini_path, sizeof ini_path, "%s/example.ini", dir);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
			_exit(126);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(tacwsd, tacwsd, "--config", ini_path, (char *)NULL);
		_exit(127);
	}
	/* tacwsd picks a free port and logs it */
	int port = 0;
	for (long long end = tacws_test_now_ms() + 15000; !port && tacws_test_now_ms() < end;) {
		char *log = slurp(log_path);
		const char *needle = "tacws listening on http://127.0.0.1:";
		const char *p = log ? strstr(log, needle) : NULL;
		port = p ? atoi(p + strlen(needle)) : 0;
		free(log);
		if (!port)
			sleep_ms(50);
	}
	CU_ASSERT_NOT_EQUAL(port, 0);
	if (port) {
		/* the dashboard, from the installed web folder */
		tacws_http_reply r;
		CU_ASSERT_EQUAL(tacws_http_request(port, "GET", "/", NULL, NULL, &r), 0);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT(r.body && strstr(r.body, "<html"));
		tacws_http_reply_clear(&r);

		tacws_wsclient *c = NULL;
		CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, "example", NULL, NULL,
		                                 TACWS_WS_TIMEOUT_MS, &c, NULL),
		                0);
		json_object *m = NULL;
		if (c && !tacws_ws_expect(c, "example_update", 5000, &m)) {
			CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(
			                           tacws_ws_data(m), JSON_C_TO_STRING_PLAIN),
			                       "{\"build\":\"out-of-tree\",\"v\":1}");
			long long seq = tacws_ws_seq(m);
			json_object_put(m);
			m = NULL;
			write_status(2);
			CU_ASSERT_EQUAL(tacws_ws_expect(c, "example_update", 5000, &m), 0);
			CU_ASSERT_EQUAL(tacws_ws_seq(m), seq + 1);
			CU_ASSERT_PTR_NOT_NULL(
			    strstr(json_object_to_json_string(tacws_ws_data(m)), "2"));
		} else {
			CU_FAIL("no example_update");
		}
		json_object_put(m);
		tacws_wsclient_free(c);
	}
	kill(pid, SIGTERM);
	int status = -1;
	for (long long end = tacws_test_now_ms() + 10000; tacws_test_now_ms() < end;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		status = -1;
		sleep_ms(20);
	}
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		CU_FAIL("installed tacwsd did not stop on SIGTERM");
	}
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char *log = slurp(log_path);
	CU_ASSERT(log && strstr(log, "plugin example 1.0 loaded: 1 feed"));
	if (CU_get_number_of_failures())
		fprintf(stderr, "---- installed tacwsd log ----\n%s\n", log ? log : "");
	free(log);
}

static int setup(void)
{
	dir = tacws_test_mkdtemp();
	if (!dir)
		return 1;
	snprintf(prefix, sizeof prefix, "%s/prefix", dir);
	snprintf(tacwsd, sizeof tacwsd, "%s/%s/tacwsd", prefix, TACWS_BINDIR);
	snprintf(plugin_dir, sizeof plugin_dir, "%s/%s", prefix, TACWS_PLUGIN_RELDIR);
	snprintf(log_path, sizeof log_path, "%s/tacwsd.log", dir);
	return 0;
}

static int teardown(void)
{
	if (!getenv("TACWS_KEEP_TMP"))
		tacws_test_rmtree(dir);
	free(dir);
	return 0;
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"cmake --install lays out the prefix", test_install_layout},
	    {"installed tacwsd checks its default configuration",
	     test_check_installed_default_config},
	    {"out-of-tree example plugin served by the installed tacwsd", test_out_of_tree_plugin},
	    {NULL, NULL},
	};
	return tacws_test_run("install", setup, teardown, cases);
}
