/*
 * tacwsd's start-up refusals. --check-config FILE validates the file and loads
 * its plugins, then exits without listening: 0 and "configuration OK" when all
 * is well, 1 and the reason otherwise. A port something already listens on is
 * refused, even by a socket that shares ports (SO_REUSEPORT) as tacwsd's do.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"


/* Runs tacwsd with args and --config text (at most timeout_s); returns the exit
 * status, *out its output. */
static int run(const char *args, const char *text, int timeout_s, char **out)
{
	char ini[1024], cmd[4096], path[1100];
	snprintf(ini, sizeof ini, "%s/check.ini", tacws_test_dir);
	snprintf(path, sizeof path, "%s/check.out", tacws_test_dir);
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(tacws_test_dir, "check.ini", text), 0);
	snprintf(cmd, sizeof cmd, "timeout %d '%s' %s --config '%s' >'%s' 2>&1", timeout_s,
	         TACWSD_BIN, args, ini, path);
	int rc = system(cmd);
	*out = calloc(1, 65536);
	FILE *f = fopen(path, "r");
	if (f && *out) {
		if (fread(*out, 1, 65535, f) == 0)
			(*out)[0] = '\0';
	}
	if (f)
		fclose(f);
	fprintf(stderr, "%s", *out ? *out : "");
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int check(const char *text, char **out)
{
	return run("--check-config", text, 60, out);
}

static void test_good(void)
{
	char *out, text[2048];
	snprintf(text, sizeof text,
	         "[server]\nport = 1\nplugin_dir = %s\n"
	         "[feed.alpha]\nplugin = testfeed\nfile = x\n[feed.beta]\nplugin = testfeed\n",
	         TEST_PLUGIN_DIR);
	/* port 1 cannot be bound by a test: a check that listened would fail */
	CU_ASSERT_EQUAL(check(text, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "check.ini: configuration OK, 2 feeds"));
	CU_ASSERT_PTR_NULL(strstr(out, "listening"));
	free(out);
}

static void test_bad_key(void)
{
	char *out, text[2048];
	snprintf(text, sizeof text,
	         "[server]\nplugin_dir = %s\n[feed.alpha]\nplugin = testfeed\ncolour = red\n",
	         TEST_PLUGIN_DIR);
	CU_ASSERT_EQUAL(check(text, &out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "check.ini:5: [feed.alpha]: unknown key 'colour'"));
	free(out);
	CU_ASSERT_EQUAL(check("[server]\nworkers = many\n", &out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "check.ini:2: [server] workers"));
	free(out);
}

static void test_plugin_refused(void)
{
	char *out, text[2048];
	snprintf(text, sizeof text,
	         "[server]\nplugin_dir = %s\n[feed.alpha]\nplugin = testfeed\n"
	         "[feed.beta]\nplugin = bad_abi\n",
	         TEST_PLUGIN_DIR);
	CU_ASSERT_EQUAL(check(text, &out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "plugin bad_abi refused: built for plugin ABI"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "1 enabled feed is not served"));
	free(out);
}

/* A section belongs to the server or to a loaded plugin that claims it; the
 * plugin checks it, and its errors carry the file and line. */
static void test_plugin_sections(void)
{
	static const struct {
		const char *sections, *want;
	} cases[] = {
	    {"[nonsense]\na = b\n", "check.ini:7: unknown section [nonsense]"},
	    /* system_status owns [check.*] and checks it with its own limits */
	    {"[check.web]\ntype = http\nurl = http://127.0.0.1:1/\ntimeout_ms = soon\n",
	     "check.ini:9: [check.web] timeout_ms: 'soon' is not a duration in ms"},
	    {"[check.x]\ntype = ftp\n", "check.ini:7: [check.x] type: 'ftp' is not http, tcp"},
	    {"[check.x]\ntype = tcp\nport = 70000\n", "check.ini:8: [check.x] port: '70000'"},
	    {"[check.x]\ncolour = red\n", "check.ini:7: [check.x] colour: unknown key 'colour'"},
	    /* [sources] is plugins/common's, shared by the plugins that read it */
	    {"[sources]\nrepo_root = .\ncolour = red\n", "check.ini:8: [sources] colour: unknown key"},
	};
	char *out, text[2048];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text,
		         "[server]\nplugin_dir = %s\n[feed.system-status]\nplugin = system_status\n"
		         "interval_ms = 60000\n%s",
		         TACWS_PLUGIN_OUTPUT_DIR, cases[i].sections);
		CU_ASSERT_EQUAL(check(text, &out), 1);
		if (!strstr(out, cases[i].want)) {
			fprintf(stderr, "case %zu: want '%s'\n", i, cases[i].want);
			CU_FAIL("plugin section error lacks file, line or reason");
		}
		free(out);
	}
	/* a timeout the plugin takes (the core once capped it at 600000) */
	snprintf(text, sizeof text,
	         "[server]\nplugin_dir = %s\n[feed.system-status]\nplugin = system_status\n"
	         "[check.web]\ntype = tcp\nhost = 127.0.0.1\nport = 1\ntimeout_ms = 900000\n"
	         "[sources]\nrepo_root = .\n",
	         TACWS_PLUGIN_OUTPUT_DIR);
	CU_ASSERT_EQUAL(check(text, &out), 0);
	free(out);
	/* the plugin that owns [check.*] is named but off: its sections stay valid */
	snprintf(text, sizeof text,
	         "[server]\nplugin_dir = %s\n[feed.routes]\nplugin = routes\n"
	         "[feed.system-status]\nplugin = system_status\nenabled = false\n"
	         "[check.x]\ntype = tcp\n",
	         TACWS_PLUGIN_OUTPUT_DIR);
	CU_ASSERT_EQUAL(check(text, &out), 0);
	CU_ASSERT_PTR_NULL(strstr(out, "unknown section"));
	free(out);
	/* [check.*] without the plugin that owns it: nobody claims it */
	snprintf(text, sizeof text,
	         "[server]\nplugin_dir = %s\n[feed.alpha]\nplugin = testfeed\n[check.x]\ntype = tcp\n",
	         TEST_PLUGIN_DIR);
	CU_ASSERT_EQUAL(check(text, &out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "check.ini:6: unknown section [check.x]"));
	free(out);
}

/* Something else listens on the port with SO_REUSEPORT, as another tacwsd would:
 * tacwsd must not join it and take half its connections. */
static void test_port_in_use(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	CU_ASSERT_FATAL(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 8) == 0 &&
	                getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	char args[64], *out, text[1024];
	snprintf(args, sizeof args, "--listen 127.0.0.1 --port %d", ntohs(sa.sin_port));
	snprintf(text, sizeof text, "[server]\nplugin_dir = %s\n[feed.alpha]\nplugin = testfeed\n"
	         "file = x\n", TEST_PLUGIN_DIR);
	CU_ASSERT_EQUAL(run(args, text, 10, &out), 1); /* 124: it was still serving */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cannot listen on 127.0.0.1"));
	free(out);
	close(fd);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"good file: OK, nothing started", test_good},
	    {"bad key or value: exit 1 with file and line", test_bad_key},
	    {"refused plugin: exit 1", test_plugin_refused},
	    {"plugin sections: claimed, checked by their plugin, with file and line",
	     test_plugin_sections},
	    {"a port in use, even shared: exit 1", test_port_in_use},
	    {NULL, NULL},
	};
	return tacws_test_run("check_config", tacws_test_tmpdir_init, tacws_test_tmpdir_cleanup, cases);
}
