/* The INI configuration: defaults, values, overrides, and files it must refuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "testutil.h"


static int load_text(const char *text, tacws_config **cfg, char *err, size_t errlen)
{
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(tacws_test_dir, "t.ini", text), 0);
	char path[4096];
	snprintf(path, sizeof path, "%s/t.ini", tacws_test_dir);
	return tacws_config_load(path, cfg, err, errlen);
}

static void test_defaults(void)
{
	tacws_config *cfg;
	char err[512];
	CU_ASSERT_EQUAL_FATAL(load_text("[server]\n", &cfg, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(cfg->listen, "127.0.0.1");
	CU_ASSERT_EQUAL(cfg->port, 8003);
	CU_ASSERT_STRING_EQUAL(cfg->api_prefix, "/api/v1");
	CU_ASSERT_EQUAL(cfg->workers, 4);
	CU_ASSERT_EQUAL(cfg->max_connections, 10000);
	CU_ASSERT_EQUAL(cfg->max_inbound_bytes, 4096);
	CU_ASSERT_EQUAL(cfg->ping_interval_s, 30);
	CU_ASSERT_EQUAL(cfg->send_queue_bytes, 1048576);
	CU_ASSERT_STRING_EQUAL(cfg->ws_token, "");
	/* [sources] is the plugins' (plugins/common/sources.c): no defaults here */
	CU_ASSERT_PTR_NULL(tacws_config_get(cfg, "sources", "repo_root"));
	tacws_config_free(cfg);
}

static void test_values_and_feeds(void)
{
	tacws_config *cfg;
	char err[512];
	const char *text = "; comment\n"
			   "[server]\n"
			   "listen = 0.0.0.0   ; inline comment\n"
			   "port = 9100\n"
			   "workers = 2\n"
			   "plugin_dir = plugins\n"
			   "[auth]\n"
			   "publish_token = s3cret\n"
			   "[sources]\n"
			   "repo_root = /srv/tac\n"
			   "[feed.queue]\n"
			   "plugin = queue\n"
			   "interval_ms = 500\n"
			   "[feed.routes]\n"
			   "plugin = routes\n"
			   "enabled = false\n"
			   "[check.db]\n"
			   "type = database\n"
			   "timeout_ms = 100\n";
	CU_ASSERT_EQUAL_FATAL(load_text(text, &cfg, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(cfg->listen, "0.0.0.0");
	CU_ASSERT_EQUAL(cfg->port, 9100);
	CU_ASSERT_EQUAL(cfg->workers, 2);
	char expect[4096];
	snprintf(expect, sizeof expect, "%s/plugins", tacws_test_dir);
	CU_ASSERT_STRING_EQUAL(cfg->plugin_dir, expect);
	CU_ASSERT_STRING_EQUAL(cfg->publish_token, "s3cret");
	CU_ASSERT_STRING_EQUAL(tacws_config_get(cfg, "sources", "repo_root"), "/srv/tac");
	CU_ASSERT_EQUAL_FATAL(cfg->n_feeds, 2);
	CU_ASSERT_STRING_EQUAL(cfg->feeds[0].endpoint, "queue");
	CU_ASSERT_STRING_EQUAL(cfg->feeds[0].plugin, "queue");
	CU_ASSERT_EQUAL(cfg->feeds[0].interval_ms, 500);
	CU_ASSERT_TRUE(cfg->feeds[0].enabled);
	CU_ASSERT_FALSE(cfg->feeds[1].enabled);
	CU_ASSERT_EQUAL(cfg->feeds[1].interval_ms, 0);
	CU_ASSERT_STRING_EQUAL(tacws_config_get(cfg, "check.db", "type"), "database");
	CU_ASSERT_EQUAL(tacws_config_find(cfg, "feed.queue", "interval_ms")->line, 13);
	/* a plugin's section is kept as is: its plugin checks it (loader.c) */
	CU_ASSERT_TRUE(tacws_config_section_is_core("feed.queue"));
	CU_ASSERT_FALSE(tacws_config_section_is_core("check.db"));
	CU_ASSERT_EQUAL(tacws_config_set(cfg, "check.db", "type", "http"), 0);
	CU_ASSERT_STRING_EQUAL(tacws_config_get(cfg, "check.db", "type"), "http");
	CU_ASSERT_EQUAL(tacws_config_set(cfg, "sources", "database", "sqlite:x.db"), 0);
	CU_ASSERT_EQUAL(tacws_config_find(cfg, "sources", "database")->line, 0);

	tacws_config_free(cfg);

	/* webhooks: defaults, lists, and [auth] github_webhook_secret as github's secret */
	CU_ASSERT_EQUAL_FATAL(load_text("[auth]\ngithub_webhook_secret = s\n[webhook.github]\n"
					"publish = a, b\nmessage_type = t\nrefresh = c\n"
					"[webhook.ci]\nsignature = token\nsignature_header = X-T\n",
					&cfg, err, sizeof err),
			      0);
	CU_ASSERT_EQUAL_FATAL(cfg->n_webhooks, 2);
	const tacws_webhook_config *gh = &cfg->webhooks[0], *ci = &cfg->webhooks[1];
	CU_ASSERT_STRING_EQUAL(gh->path, "/webhooks/github");
	CU_ASSERT_STRING_EQUAL(gh->secret, "s");
	CU_ASSERT_EQUAL(gh->scheme, TACWS_SIGNATURE_HMAC_SHA256);
	CU_ASSERT_STRING_EQUAL(gh->signature_header, "X-Hub-Signature-256");
	CU_ASSERT_STRING_EQUAL(gh->signature_prefix, "sha256=");
	CU_ASSERT_STRING_EQUAL(gh->event_header, "");
	CU_ASSERT_STRING_EQUAL(gh->publish[0], "a");
	CU_ASSERT_STRING_EQUAL(gh->publish[1], "b");
	CU_ASSERT_PTR_NULL(gh->publish[2]);
	CU_ASSERT_STRING_EQUAL(gh->refresh[0], "c");
	CU_ASSERT_STRING_EQUAL(ci->path, "/webhooks/ci");
	CU_ASSERT_STRING_EQUAL(ci->secret, ""); /* github's secret is github's only */
	CU_ASSERT_EQUAL(ci->scheme, TACWS_SIGNATURE_TOKEN);
	CU_ASSERT_STRING_EQUAL(ci->signature_prefix, "");
	tacws_config_free(cfg);
	CU_ASSERT_EQUAL_FATAL(load_text("[server]\n", &cfg, err, sizeof err), 0);

	CU_ASSERT_EQUAL(tacws_config_override(cfg, "port", "0", err, sizeof err), 0);
	CU_ASSERT_EQUAL(cfg->port, 0);
	CU_ASSERT_NOT_EQUAL(tacws_config_override(cfg, "port", "70000", err, sizeof err), 0);
	CU_ASSERT_NOT_EQUAL(tacws_config_override(cfg, "nope", "1", err, sizeof err), 0);
	tacws_config_free(cfg);
}

/* Each bad file is refused with its line and a reason naming the problem. */
static void test_refused(void)
{
	static const struct {
		const char *text;
		int line;
		const char *reason;
	} cases[] = {
		{"[server]\nport = 80x\n", 2, "port"},
		{"[server]\nport = 99999\n", 2, "0 to 65535"},
		{"[server]\nworkers = 0\n", 2, "workers"},
		{"[server]\nbogus = 1\n", 2, "unknown key 'bogus'"},
		{"[server]\nport = 1\nport = 2\n", 3, "set twice"},
		{"[server]\nthis line has no equals sign\n", 2, "syntax"},
		{"[feed.queue]\nenabled = maybe\n", 2, "enabled"},
		{"[feed.Bad Name]\nplugin = x\n", 2, "feed name"},
		{"[feed.queue]\nplugin = ../../etc/evil\n", 2, "not a plugin name"},
		{"[feed.queue]\ninterval_ms = 1\n", 2, "interval_ms"},
		{"[check.x]\ncolour = red\ncolour = blue\n", 3, "set twice"},
		{"[server]\nlog_level = loud\n", 2, "log_level"},
		{"[webhook.gh]\ncolour = red\n", 2, "unknown key 'colour'"},
		{"[webhook.gh]\nsignature = md5\n", 2, "not hmac-sha256 or token"},
		{"[webhook.gh]\npublish = workflows, Bad\n", 2, "'Bad'"},
		{"[webhook.gh]\npath = hooks\n", 2, "path"},
		{"[webhook.gh]\nsignature_header = X Sig\n", 2, "not a header name"},
		{"[webhook.gh]\npublish = a\n", 2, "publish needs message_type"},
		{"[webhook.gh]\nsignature = token\n", 2, "needs signature_header"},
		{"[webhook.a]\npath = /x\n[webhook.b]\npath = /x\n", 4, "path /x is [webhook.a]'s"},
		{"top = level\n", 1, "unknown section"},
		{"\n\n[feed.queue]\ninterval_ms = 100\n", 4, "missing 'plugin'"},
		{"[server]\napi_prefix = api\n", 2, "api_prefix"},
		{"[cluster]\nredis = http://x:1\n", 2, "[cluster] redis"},
		{"\n[cluster]\nnode_id = a b\n", 3, "[cluster] node_id"},
		{"[cluster]\nlease_ttl_ms = 10\n", 2, "lease_ttl_ms"},
		{"[cluster]\nleases = 1\n", 2, "unknown key 'leases'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tacws_config *cfg = NULL;
		char err[512] = "";
		int rc = load_text(cases[i].text, &cfg, err, sizeof err);
		CU_ASSERT_NOT_EQUAL(rc, 0);
		CU_ASSERT_PTR_NULL(cfg);
		char where[64];
		snprintf(where, sizeof where, "t.ini:%d: ", cases[i].line);
		if (!strstr(err, where) || !strstr(err, cases[i].reason)) {
			fprintf(stderr, "case %zu: got '%s', want '%s' and '%s'\n", i, err, where,
				cases[i].reason);
			CU_FAIL("error message lacks line or reason");
		}
		tacws_config_free(cfg);
	}
}

static void test_cluster(void)
{
	tacws_config *cfg;
	char err[512];
	CU_ASSERT_EQUAL_FATAL(load_text("[server]\n", &cfg, err, sizeof err), 0);
	CU_ASSERT_EQUAL(cfg->broker.n_shards, 0); /* no [cluster]: one node alone */
	CU_ASSERT_EQUAL(cfg->lease_ttl_ms, 3000);
	CU_ASSERT_TRUE(strlen(cfg->node_id) > 0);
	tacws_config_free(cfg);
	const char *text = "[cluster]\n"
			   "redis = redis://10.0.0.1:6379,redis://:pw@10.0.0.2:6380/2\n"
			   "node_id = web-1\n"
			   "lease_ttl_ms = 5000\n"
			   "history_max = 50\n";
	CU_ASSERT_EQUAL_FATAL(load_text(text, &cfg, err, sizeof err), 0);
	CU_ASSERT_EQUAL(cfg->broker.n_shards, 2);
	CU_ASSERT_STRING_EQUAL(cfg->broker.shards[1].host, "10.0.0.2");
	CU_ASSERT_EQUAL(cfg->broker.shards[1].db, 2);
	CU_ASSERT_STRING_EQUAL(cfg->node_id, "web-1");
	CU_ASSERT_EQUAL(cfg->lease_ttl_ms, 5000);
	CU_ASSERT_EQUAL(cfg->history_max, 50);
	tacws_config_free(cfg);
}

static void test_missing_file(void)
{
	tacws_config *cfg;
	char err[512];
	CU_ASSERT_NOT_EQUAL(tacws_config_load("/nonexistent/tacws.ini", &cfg, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/tacws.ini"));
}

static void test_shipped_config_loads(void)
{
	tacws_config *cfg;
	char err[512];
	int rc = tacws_config_load(TACWS_SOURCE_DIR "/conf/tacws.ini", &cfg, err, sizeof err);
	if (rc)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(cfg->port, 8003);
	CU_ASSERT_TRUE(cfg->n_feeds >= 8);
	tacws_config_free(cfg);
}

int main(void)
{
	static const tacws_test_case cases[] = {
		{"defaults", test_defaults},
		{"values and feeds", test_values_and_feeds},
		{"bad files refused with line and reason", test_refused},
		{"[cluster]", test_cluster},
		{"missing file", test_missing_file},
		{"conf/tacws.ini loads", test_shipped_config_loads},
		{NULL, NULL},
	};
	return tacws_test_run("config", tacws_test_tmpdir_init, tacws_test_tmpdir_cleanup, cases);
}
