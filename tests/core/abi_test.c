/*
 * ABI stability: plugins built for another ABI version are refused with a
 * line naming both versions; a plugin built against a newer compatible
 * header (grown structs) still loads; structs below the first version's
 * size are refused.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "feed.h"
#include "loader.h"
#include "server.h"
#include "testutil.h"


/* Loads [feed.alpha] plugin = name with stderr captured; *log is the caller's. */
static tacws_server *load_plugin(const char *name, char **log)
{
	char text[1024], path[4096], logpath[4096], err[512];
	snprintf(text, sizeof text, "[server]\nplugin_dir = %s\n[feed.alpha]\nplugin = %s\n",
	         TEST_PLUGIN_DIR, name);
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(tacws_test_dir, "abi.ini", text), 0);
	snprintf(path, sizeof path, "%s/abi.ini", tacws_test_dir);
	snprintf(logpath, sizeof logpath, "%s/stderr.log", tacws_test_dir);
	tacws_config *cfg;
	CU_ASSERT_EQUAL_FATAL(tacws_config_load(path, &cfg, err, sizeof err), 0);
	tacws_server *srv;
	CU_ASSERT_EQUAL_FATAL(tacws_server_create(cfg, &srv), 0);

	fflush(stderr);
	int saved = dup(2);
	int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	int rc = tacws_plugins_load(srv, err, sizeof err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	CU_ASSERT_EQUAL(rc, 0);

	*log = NULL;
	FILE *f = fopen(logpath, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	char buf[8192];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	fputs(buf, stderr); /* keep it visible in the test output */
	*log = strdup(buf);
	return srv;
}

static void unload(tacws_server *srv)
{
	tacws_config *cfg = srv->cfg;
	tacws_server_destroy(srv);
	tacws_config_free(cfg);
}

static void test_older_abi_refused(void)
{
	char *log, want[256];
	tacws_server *srv = load_plugin("abi_older", &log);
	CU_ASSERT_EQUAL(srv->n_feeds, 0);
	CU_ASSERT_PTR_NULL(srv->plugins);
	snprintf(want, sizeof want,
	         "plugin abi_older refused: built for plugin ABI %d, this tacwsd speaks ABI %d",
	         TACWS_PLUGIN_ABI_VERSION - 1, TACWS_PLUGIN_ABI_VERSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
	free(log);
	unload(srv);
}

static void test_newer_abi_refused(void)
{
	char *log, want[256];
	tacws_server *srv = load_plugin("abi_newer", &log);
	CU_ASSERT_EQUAL(srv->n_feeds, 0);
	CU_ASSERT_PTR_NULL(srv->plugins);
	snprintf(want, sizeof want,
	         "plugin abi_newer refused: built for plugin ABI %d, this tacwsd speaks ABI %d",
	         TACWS_PLUGIN_ABI_VERSION + 1, TACWS_PLUGIN_ABI_VERSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
	free(log);
	unload(srv);
}

/* Built against a later header of the same ABI: bigger structs, same start. */
static void test_grown_structs_load(void)
{
	char *log;
	tacws_server *srv = load_plugin("abi_grown", &log);
	CU_ASSERT_PTR_NULL(strstr(log, "refused"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "plugin abi_grown 2.0 loaded: 1 feed"));
	free(log);
	CU_ASSERT_EQUAL_FATAL(srv->n_feeds, 1);
	tacws_feed *f = tacws_feed_find(srv, "alpha", 5);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_STRING_EQUAL(tacws_feed_type(f), "abi_update");
	CU_ASSERT_EQUAL(tacws_feed_interval(f), 300);
	CU_ASSERT_FALSE(tacws_feed_has_param(f));
	json_object *data = NULL;
	char err[64] = "";
	CU_ASSERT_EQUAL(tacws_feed_snapshot(f, NULL, &data, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN),
	                       "{\"abi\":\"grown\"}");
	json_object_put(data);
	unload(srv);
}

/* Built against the first release's header: when the host's structs have
 * grown since, its shorter structs must still be accepted. */
static void test_first_release_plugin_loads(void)
{
	char *log;
	tacws_server *srv = load_plugin("abi_frozen_v1", &log);
	CU_ASSERT_PTR_NULL(strstr(log, "refused"));
	free(log);
	CU_ASSERT_EQUAL_FATAL(srv->n_feeds, 1);
	tacws_feed *f = tacws_feed_find(srv, "alpha", 5);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(tacws_feed_interval(f), 300);
	CU_ASSERT_STRING_EQUAL(tacws_feed_type(f), "abi_update");
	unload(srv);
}

static void test_small_descriptor_refused(void)
{
	char *log;
	tacws_server *srv = load_plugin("abi_small_desc", &log);
	CU_ASSERT_EQUAL(srv->n_feeds, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "plugin abi_small_desc refused: descriptor size"));
	free(log);
	unload(srv);
}

/* A feed descriptor below the first version's size is refused; the plugin's
 * init sees the error and so does the log. */
static void test_small_feed_desc_refused(void)
{
	char *log;
	tacws_server *srv = load_plugin("abi_small_feed", &log);
	CU_ASSERT_EQUAL(srv->n_feeds, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "feed_register: descriptor size"));
	free(log);
	unload(srv);
}

static void test_host_table_size(void)
{
	CU_ASSERT_EQUAL(tacws_host.size, sizeof(tacws_host_api));
	CU_ASSERT_EQUAL(tacws_host.abi_version, TACWS_PLUGIN_ABI_VERSION);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"older ABI refused, both versions logged", test_older_abi_refused},
	    {"newer ABI refused, both versions logged", test_newer_abi_refused},
	    {"grown descriptor and feed descriptor load", test_grown_structs_load},
	    {"plugin of the first release loads", test_first_release_plugin_loads},
	    {"descriptor below the first version refused", test_small_descriptor_refused},
	    {"feed descriptor below the first version refused", test_small_feed_desc_refused},
	    {"host table carries its size and ABI", test_host_table_size},
	    {NULL, NULL},
	};
	return tacws_test_run("abi", tacws_test_tmpdir_init, tacws_test_tmpdir_cleanup, cases);
}
