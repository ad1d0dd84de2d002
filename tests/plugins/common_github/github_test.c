/* GitHub deliveries as the workflows feed publishes them (plugins/common/github.c). */
#include "github.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

static char *event_data(const char *event, const char *payload_text)
{
	json_object *payload = json_tokener_parse(payload_text), *data = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(payload);
	CU_ASSERT_EQUAL(tacws_github_event_data(NULL, event, payload, &data), 0);
	char *text = strdup(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(payload);
	json_object_put(data);
	return text;
}

static void test_event_data(void)
{
	char *d = event_data("issue_comment",
	                     "{\"action\":\"created\",\"issue\":{\"number\":42,\"body\":\"Plan.\"},"
	                     "\"comment\":{\"body\":\"run adw_plan_build_iso\"},"
	                     "\"repository\":{\"full_name\":\"acme/web\"},"
	                     "\"sender\":{\"login\":\"octocat\"}}");
	CU_ASSERT_STRING_EQUAL(d, "{\"event\":\"issue_comment\",\"action\":\"created\","
	                          "\"issue_number\":42,\"repository\":\"acme/web\","
	                          "\"sender\":\"octocat\",\"adw_workflow\":\"adw_plan_build_iso\"}");
	free(d);
	/* the body when the comment names none; nulls for what is missing */
	d = event_data("issues", "{\"action\":\"opened\",\"issue\":{\"number\":9,\"body\":"
	                         "\"go adw_plan_iso\"},\"comment\":{\"body\":\"nothing\"}}");
	CU_ASSERT_STRING_EQUAL(d, "{\"event\":\"issues\",\"action\":\"opened\",\"issue_number\":9,"
	                          "\"repository\":null,\"sender\":null,"
	                          "\"adw_workflow\":\"adw_plan_iso\"}");
	free(d);
	d = event_data("push", "{\"action\":7,\"issue\":{\"number\":\"9\"},\"repository\":[]}");
	CU_ASSERT_STRING_EQUAL(d, "{\"event\":\"push\",\"action\":null,\"issue_number\":null,"
	                          "\"repository\":null,\"sender\":null,\"adw_workflow\":null}");
	free(d);
}

static void test_adw_workflow(void)
{
	char wf[80];
	CU_ASSERT_EQUAL(tacws_adw_workflow_find("run adw_plan_build_iso now", wf, sizeof wf), 0);
	CU_ASSERT_STRING_EQUAL(wf, "adw_plan_build_iso");
	CU_ASSERT_EQUAL(tacws_adw_workflow_find("(adw_sdlc_iso).", wf, sizeof wf), 0);
	CU_ASSERT_STRING_EQUAL(wf, "adw_sdlc_iso");
	CU_ASSERT_EQUAL(
	    tacws_adw_workflow_find("xadw_plan_iso adw_iso adw_plan_isolated", wf, sizeof wf),
	    -ENOENT);
	CU_ASSERT_EQUAL(tacws_adw_workflow_find("adw_plan_iso", wf, 8), -ENOENT);
	CU_ASSERT_EQUAL(tacws_adw_workflow_find(NULL, wf, sizeof wf), -ENOENT);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"event data from GitHub payloads", test_event_data},
	    {"adw workflow names", test_adw_workflow},
	    {NULL, NULL},
	};
	return tacws_test_run("common_github", NULL, NULL, cases);
}
