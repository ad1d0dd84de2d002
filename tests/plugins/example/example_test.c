/* The template plugin under the fake host: it serves its file, and says why when it cannot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "testutil.h"

static char *dir;
static char path[1024];

static void test_serves_the_file(void)
{
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(dir, "status.json", "{ \"v\": 1 }"), 0);
	fake_host_config_set("feed.example", "plugin", "example");
	fake_host_config_set("feed.example", "file", path);
	CU_ASSERT_EQUAL_FATAL(fake_host_load(PLUGIN_PATH), 0);
	CU_ASSERT_EQUAL(fake_host_feed_count(), 1);
	const tacws_feed_desc *d = fake_host_feed("example");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->message_type, "example_update");
	CU_ASSERT_STRING_EQUAL(d->config_keys[0], "file");
	char *json = fake_host_snapshot_string("example", NULL);
	CU_ASSERT_STRING_EQUAL(json, "{\"v\":1}");
	free(json);
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(dir, "status.json", "[1,2]"), 0);
	json = fake_host_snapshot_string("example", NULL);
	CU_ASSERT_STRING_EQUAL(json, "[1,2]");
	free(json);

	/* a file that is not JSON (or gone) is a failing poll with a reason */
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(dir, "status.json", "{half"), 0);
	json_object *data = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL(fake_host_snapshot("example", NULL, &data, err, sizeof err), -EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	json_object_put(data);
	fake_host_unload();
}

static void test_without_file_key(void)
{
	fake_host_config_set("feed.example", "plugin", "example");
	CU_ASSERT_EQUAL_FATAL(fake_host_load(PLUGIN_PATH), 0);
	json_object *data = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL(fake_host_snapshot("example", NULL, &data, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no 'file' key"));
	json_object_put(data);
	fake_host_unload();
}

static void test_not_enabled(void)
{
	fake_host_config_set("feed.other", "plugin", "example");
	CU_ASSERT_EQUAL(fake_host_load(PLUGIN_PATH), 0); /* loads, serves nothing */
	CU_ASSERT_EQUAL(fake_host_feed_count(), 0);
	fake_host_unload();
}

static int setup(void)
{
	dir = tacws_test_mkdtemp();
	if (!dir)
		return 1;
	snprintf(path, sizeof path, "%s/status.json", dir);
	return 0;
}

static int teardown(void)
{
	tacws_test_rmtree(dir);
	free(dir);
	return 0;
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"serves the JSON file, fails with a reason", test_serves_the_file},
	    {"no file key: a failing poll that says so", test_without_file_key},
	    {"not enabled: registers nothing", test_not_enabled},
	    {NULL, NULL},
	};
	return tacws_test_run("example", setup, teardown, cases);
}
