/* The plugin loader: good plugins load, bad ones are refused and the rest go on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "feed.h"
#include "loader.h"
#include "server.h"
#include "testutil.h"


/* Loads plugins for an INI whose [server] plugin_dir is the test plugin folder. */
static int load(const char *feeds, tacws_server **srv, char *err, size_t errlen)
{
	char text[4096];
	snprintf(text, sizeof text, "[server]\nplugin_dir = %s\n%s", TEST_PLUGIN_DIR, feeds);
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(tacws_test_dir, "t.ini", text), 0);
	char path[4096];
	snprintf(path, sizeof path, "%s/t.ini", tacws_test_dir);
	tacws_config *cfg;
	CU_ASSERT_EQUAL_FATAL(tacws_config_load(path, &cfg, err, errlen), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_server_create(cfg, srv), 0);
	return tacws_plugins_load(*srv, err, errlen);
}

static void unload(tacws_server *srv)
{
	tacws_config *cfg = srv->cfg;
	tacws_server_destroy(srv);
	tacws_config_free(cfg);
}

static void test_good_plugin(void)
{
	tacws_server *srv;
	char err[512];
	CU_ASSERT_EQUAL(load("[feed.alpha]\nplugin = testfeed\nfile = x\n"
			     "[feed.item]\nplugin = testfeed\ninterval_ms = 700\n",
			     &srv, err, sizeof err),
			0);
	CU_ASSERT_EQUAL_FATAL(srv->n_feeds, 2);
	tacws_feed *alpha = tacws_feed_find(srv, "alpha", 5);
	tacws_feed *item = tacws_feed_find(srv, "item", 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(alpha);
	CU_ASSERT_PTR_NOT_NULL_FATAL(item);
	CU_ASSERT_PTR_NULL(tacws_feed_find(srv, "beta", 4)); /* not in the file: not served */
	CU_ASSERT_EQUAL(tacws_feed_interval(alpha), 200); /* the plugin's default */
	CU_ASSERT_EQUAL(tacws_feed_interval(item), 700);  /* the file's */
	CU_ASSERT_STRING_EQUAL(tacws_feed_endpoint(item), "item/{id}");
	CU_ASSERT_TRUE(tacws_feed_param_ok(item, "77c90e61"));
	CU_ASSERT_TRUE(tacws_feed_param_ok(item, "a-b_C"));
	CU_ASSERT_FALSE(tacws_feed_param_ok(item, "../etc"));
	CU_ASSERT_FALSE(tacws_feed_param_ok(item, ""));
	CU_ASSERT_FALSE(tacws_feed_param_ok(item, "a/b"));
	CU_ASSERT_FALSE(tacws_feed_param_ok(item, NULL));
	char long_id[80];
	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	CU_ASSERT_FALSE(tacws_feed_param_ok(item, long_id));
	CU_ASSERT_FALSE(tacws_feed_param_ok(alpha, "x")); /* takes no parameter */
	unload(srv);
}

/* Each bad plugin is refused; the good one beside it still loads. */
static void test_bad_plugins(void)
{
	static const char *const bad[] = {"bad_abi", "init_fails", "no_symbol", "missing_file"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		tacws_server *srv;
		char err[512], feeds[512];
		snprintf(feeds, sizeof feeds,
			 "[feed.beta]\nplugin = %s\n[feed.alpha]\nplugin = testfeed\n", bad[i]);
		CU_ASSERT_EQUAL(load(feeds, &srv, err, sizeof err), 0);
		CU_ASSERT_EQUAL(srv->n_feeds, 1);
		CU_ASSERT_PTR_NOT_NULL(tacws_feed_find(srv, "alpha", 5));
		unload(srv);
	}
}

/* A plugin registering one endpoint twice is refused, with what it registered. */
static void test_duplicate_endpoint(void)
{
	tacws_server *srv;
	char err[512];
	CU_ASSERT_EQUAL(load("[feed.alpha]\nplugin = testfeed\n[feed.beta]\nplugin = dup_feed\n",
			     &srv, err, sizeof err),
			0);
	CU_ASSERT_EQUAL(srv->n_feeds, 1);
	CU_ASSERT_PTR_NULL(tacws_feed_find(srv, "beta", 4));
	tacws_feed *alpha = tacws_feed_find(srv, "alpha", 5);
	CU_ASSERT_PTR_NOT_NULL_FATAL(alpha);
	CU_ASSERT_STRING_EQUAL(tacws_plugin_name(tacws_feed_plugin(alpha)), "testfeed");
	unload(srv);
}

static void test_unknown_feed_key(void)
{
	tacws_server *srv;
	char err[512] = "";
	CU_ASSERT_NOT_EQUAL(load("[feed.alpha]\nplugin = testfeed\ncolour = red\n", &srv, err,
				 sizeof err),
			    0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.ini:5"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown key 'colour'"));
	unload(srv);
}

int main(void)
{
	static const tacws_test_case cases[] = {
		{"good plugin registers its enabled feeds", test_good_plugin},
		{"bad plugins refused, others load", test_bad_plugins},
		{"duplicate endpoint refused", test_duplicate_endpoint},
		{"unknown feed key refused with line", test_unknown_feed_key},
		{NULL, NULL},
	};
	return tacws_test_run("loader", tacws_test_tmpdir_init, tacws_test_tmpdir_cleanup, cases);
}
