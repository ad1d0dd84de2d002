/*
 * tacwsd --check-config FILE: validates the file and loads its plugins, then
 * exits without listening: 0 and "configuration OK" when all is well, 1 and
 * the reason otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"


/* Runs tacwsd --check-config on text; returns the exit status, *out its output. */
static int check(const char *text, char **out)
{
	char ini[1024], cmd[4096], path[1100];
	snprintf(ini, sizeof ini, "%s/check.ini", tacws_test_dir);
	snprintf(path, sizeof path, "%s/check.out", tacws_test_dir);
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(tacws_test_dir, "check.ini", text), 0);
	snprintf(cmd, sizeof cmd, "timeout 60 '%s' --check-config '%s' >'%s' 2>&1", TACWSD_BIN, ini,
	         path);
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

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"good file: OK, nothing started", test_good},
	    {"bad key or value: exit 1 with file and line", test_bad_key},
	    {"refused plugin: exit 1", test_plugin_refused},
	    {NULL, NULL},
	};
	return tacws_test_run("check_config", tacws_test_tmpdir_init, tacws_test_tmpdir_cleanup, cases);
}
