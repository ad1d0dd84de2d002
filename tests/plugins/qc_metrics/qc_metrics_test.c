#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_host.h"
#include "testutil.h"

/* The shape TAC's QC tooling writes (scripts/update_qc_panel_from_audit.py). */
static const char *document =
    "{\"coverage\":{\"overall_coverage\":71.5,\"backend_coverage\":78.2,"
    "\"frontend_coverage\":60.1,\"adws_coverage\":55.0,\"total_tests\":1027},"
    "\"naming\":{\"total_files_checked\":245,\"compliant_files\":238,\"violations\":"
    "[{\"file\":\"app/x.py\",\"issue\":\"Python file should use snake_case\","
    "\"severity\":\"warning\"}],\"compliance_rate\":97.14},"
    "\"file_structure\":{\"total_files\":245,\"oversized_files\":[{\"file\":\"a.ts\","
    "\"size_kb\":61.2}],\"long_files\":[{\"file\":\"b.tsx\",\"lines\":914}],"
    "\"avg_file_size_kb\":12.5},"
    "\"linting\":{\"backend_issues\":12,\"frontend_issues\":8,\"backend_errors\":0,"
    "\"backend_warnings\":12,\"frontend_errors\":2,\"frontend_warnings\":6,"
    "\"total_issues\":20},\"overall_score\":89.3,\"last_updated\":\"2026-11-26T10:30:00\"}";

static const char *root;

static void load(const char *path)
{
	fake_host_config_set("sources", "repo_root", root);
	fake_host_config_set("feed.qc-metrics", "enabled", "true");
	if (path)
		fake_host_config_set("feed.qc-metrics", "path", path);
	CU_ASSERT_EQUAL_FATAL(fake_host_load(PLUGIN_PATH), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fake_host_feed("qc-metrics"));
}

/* The snapshot fails with want_rc, no payload, and a reason containing want. */
static void expect_error(int want_rc, const char *want)
{
	json_object *data = NULL;
	char err[512] = "";
	CU_ASSERT_EQUAL(fake_host_snapshot("qc-metrics", NULL, &data, err, sizeof err), want_rc);
	CU_ASSERT_PTR_NULL(data);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	if (!strstr(err, want))
		fprintf(stderr, "reason: %s\n", err);
	json_object_put(data);
}

/* Writes text to rel by a rename, the way a careful writer replaces a file. */
static void write_atomic(const char *rel, const char *text)
{
	char tmp[512], dst[512];
	snprintf(tmp, sizeof tmp, "%s.tmp", rel);
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(root, tmp, text), 0);
	snprintf(tmp, sizeof tmp, "%s/%s.tmp", root, rel);
	snprintf(dst, sizeof dst, "%s/%s", root, rel);
	CU_ASSERT_EQUAL_FATAL(rename(tmp, dst), 0);
}

static void remove_file(const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	unlink(path);
}

static void test_registration(void)
{
	load(NULL);
	const tacws_feed_desc *f = fake_host_feed("qc-metrics");
	CU_ASSERT_STRING_EQUAL(f->endpoint, "qc-metrics");
	CU_ASSERT_STRING_EQUAL(f->message_type, "qc_metrics_update");
	CU_ASSERT_EQUAL(f->default_interval_ms, 60000);
	fake_host_unload();

	/* Not enabled: loads, serves nothing. */
	fake_host_config_set("sources", "repo_root", root);
	CU_ASSERT_EQUAL(fake_host_load(PLUGIN_PATH), 0);
	CU_ASSERT_EQUAL(fake_host_feed_count(), 0);
	fake_host_unload();
}

static void test_document_served_as_is(void)
{
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(root, "QC_METRICS_ENHANCED.json", document), 0);
	load(NULL);
	char *s = fake_host_snapshot_string("qc-metrics", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	json_object *want = json_tokener_parse(document);
	CU_ASSERT_STRING_EQUAL(s, json_object_to_json_string_ext(want, JSON_C_TO_STRING_PLAIN));
	json_object_put(want);
	free(s);
	fake_host_unload();
	remove_file("QC_METRICS_ENHANCED.json");
}

static void test_missing_and_broken_files(void)
{
	load(NULL);
	expect_error(-ENOENT, "QC_METRICS_ENHANCED.json: no such file");
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "QC_METRICS_ENHANCED.json",
	                                      "{\"coverage\":{\"overall_cov"),
	                0);
	expect_error(-EBADMSG, "unexpected end of file");
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "QC_METRICS_ENHANCED.json", ""), 0);
	expect_error(-EBADMSG, "invalid JSON");
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "QC_METRICS_ENHANCED.json", "[1,2]"), 0);
	expect_error(-EBADMSG, "not a JSON object");
	/* Written in full: served again. */
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "QC_METRICS_ENHANCED.json", document), 0);
	char *s = fake_host_snapshot_string("qc-metrics", NULL);
	CU_ASSERT_PTR_NOT_NULL(s);
	free(s);
	fake_host_unload();
	remove_file("QC_METRICS_ENHANCED.json");
}

static void test_path_configurable(void)
{
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(root, "qc/metrics.json", "{\"overall_score\":1}"),
	                      0);
	load("qc/metrics.json");
	char *s = fake_host_snapshot_string("qc-metrics", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "{\"overall_score\":1}");
	free(s);
	fake_host_unload();

	char abs[512];
	snprintf(abs, sizeof abs, "%s/qc/metrics.json", root);
	fake_host_config_set("sources", "repo_root", "/nonexistent");
	load(abs);
	s = fake_host_snapshot_string("qc-metrics", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "{\"overall_score\":1}");
	free(s);
	fake_host_unload();
}

/* Each change is a poll_now, waited for as an event with a deadline. */
static void expect_poll_after(void (*change)(void), const char *what)
{
	int before = fake_host_poll_count("qc-metrics");
	long long t0 = tacws_test_now_ms();
	change();
	int seen = fake_host_wait_polls("qc-metrics", before + 1, 5000);
	CU_ASSERT_TRUE(seen > before);
	if (seen <= before)
		fprintf(stderr, "no poll after %s within 5 s\n", what);
	else if (tacws_test_now_ms() - t0 > 1000)
		fprintf(stderr, "poll after %s took %lld ms\n", what, tacws_test_now_ms() - t0);
}

static void rename_in(void) { write_atomic("watched/qc.json", document); }
static void write_in_place(void)
{
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "watched/qc.json", "{}"), 0);
}
static void delete_it(void) { remove_file("watched/qc.json"); }
static void other_file(void)
{
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "watched/other.json", "{}"), 0);
}
static void make_folder(void)
{
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "late/qc.json", document), 0);
}

static void test_inotify(void)
{
	CU_ASSERT_EQUAL_FATAL(tacws_test_mkdirs(root, "watched"), 0);
	load("watched/qc.json");
	expect_poll_after(rename_in, "an atomic rename");
	expect_poll_after(write_in_place, "a write in place");
	expect_poll_after(delete_it, "a delete");

	/* Another file in the folder is no reason to poll. */
	int before = fake_host_poll_count("qc-metrics");
	other_file();
	CU_ASSERT_EQUAL(fake_host_wait_polls("qc-metrics", before + 1, 300), before);
	fake_host_unload();

	/* A folder that does not exist yet is watched once it appears. */
	load("late/qc.json");
	expect_error(-ENOENT, "no such file");
	expect_poll_after(make_folder, "the folder appearing");
	char *s = fake_host_snapshot_string("qc-metrics", NULL);
	CU_ASSERT_PTR_NOT_NULL(s);
	free(s);
	fake_host_unload();
}

static int setup(void)
{
	if (tacws_test_tmpdir_init())
		return 1;
	root = tacws_test_dir;
	return 0;
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"registration", test_registration},
	    {"the document served as it is", test_document_served_as_is},
	    {"missing and half-written files are errors", test_missing_and_broken_files},
	    {"path relative to repo_root or absolute", test_path_configurable},
	    {"inotify: changes poll at once", test_inotify},
	    {NULL, NULL},
	};
	return tacws_test_run("qc_metrics", setup, tacws_test_tmpdir_cleanup, cases);
}
