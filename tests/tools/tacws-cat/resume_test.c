/* tacws-cat's resume points (tools/tacws-cat/resume.h): seq, epoch and event offset per topic. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resume.h"
#include "testutil.h"

static const char *query(const cat_resume *r, char *buf, size_t len)
{
	return cat_resume_query(r, buf, len) ? "(none)" : buf;
}

static void test_per_feed_query(void)
{
	cat_resume *r = cat_resume_new(NULL);
	char q[128];
	CU_ASSERT_STRING_EQUAL(query(r, q, sizeof q), "(none)");
	/* a snapshot without an epoch (an older server): no resume */
	cat_resume_feed(r, "{\"type\":\"queue_update\",\"data\":{},\"seq\":4}");
	CU_ASSERT_STRING_EQUAL(query(r, q, sizeof q), "(none)");
	cat_resume_feed(r, "not json");
	cat_resume_feed(r, "{\"type\":\"queue_update\",\"data\":{},\"seq\":5,\"epoch\":\"E1\"}");
	CU_ASSERT_STRING_EQUAL(query(r, q, sizeof q), "since=5&epoch=E1");
	/* an event: its offset, and the seq it carries */
	cat_resume_feed(r, "{\"type\":\"alert\",\"data\":1,\"seq\":5,\"epoch\":\"E1\",\"offset\":7}");
	CU_ASSERT_STRING_EQUAL(query(r, q, sizeof q), "since=5&epoch=E1&offset=7");
	/* a delta moves the seq on, the epoch and offset stay */
	cat_resume_feed(r, "{\"type\":\"queue_update\",\"delta\":[],\"base_seq\":5,\"seq\":6}");
	CU_ASSERT_STRING_EQUAL(query(r, q, sizeof q), "since=6&epoch=E1&offset=7");
	/* an event cut off from the history (offset 0) keeps the last offset */
	cat_resume_feed(r, "{\"type\":\"alert\",\"data\":2,\"seq\":6,\"epoch\":\"E1\"}");
	CU_ASSERT_STRING_EQUAL(query(r, q, sizeof q), "since=6&epoch=E1&offset=7");
	/* resumed, recovered: unchanged */
	cat_resume_feed(r, "{\"type\":\"resumed\",\"topic\":\"queue\",\"seq\":6,\"epoch\":\"E1\","
	                   "\"recovered\":true}");
	CU_ASSERT_STRING_EQUAL(query(r, q, sizeof q), "since=6&epoch=E1&offset=7");
	/* not recovered: another epoch, offsets start again, nothing held until the snapshot */
	cat_resume_feed(r, "{\"type\":\"resumed\",\"topic\":\"queue\",\"seq\":1,\"epoch\":\"E2\","
	                   "\"recovered\":false}");
	CU_ASSERT_STRING_EQUAL(query(r, q, sizeof q), "(none)");
	cat_resume_feed(r, "{\"type\":\"queue_update\",\"data\":{},\"seq\":1,\"epoch\":\"E2\"}");
	CU_ASSERT_STRING_EQUAL(query(r, q, sizeof q), "since=1&epoch=E2");
	/* a delta that did not apply: nothing held */
	cat_resume_forget(r, "{\"type\":\"queue_update\",\"delta\":[],\"base_seq\":3,\"seq\":4}");
	CU_ASSERT_STRING_EQUAL(query(r, q, sizeof q), "(none)");
	/* an epoch the server would refuse in a query is not sent back */
	cat_resume_feed(r, "{\"type\":\"queue_update\",\"data\":{},\"seq\":2,\"epoch\":\"a&b=c\"}");
	CU_ASSERT_STRING_EQUAL(query(r, q, sizeof q), "(none)");
	CU_ASSERT_EQUAL(cat_resume_query(r, q, 4), -ENOENT);
	cat_resume_free(r);
}

static void test_subscribe_message(void)
{
	cat_resume *r = cat_resume_new("alpha,adw-state/77c90e61,,beta");
	char *m = cat_resume_subscribe(r, 0);
	CU_ASSERT_STRING_EQUAL(m, "{\"type\":\"subscribe\",\"feeds\":[\"alpha\",\"adw-state/77c90e61\","
	                          "\"beta\"]}");
	free(m);
	char q[64];
	CU_ASSERT_EQUAL(cat_resume_query(r, q, sizeof q), -ENOENT); /* not a per-feed socket */
	/* told apart by the topic named, the parameter carried, then the one left */
	cat_resume_feed(r, "{\"type\":\"resumed\",\"topic\":\"beta\",\"seq\":3,\"epoch\":\"EB\","
	                   "\"recovered\":false}");
	cat_resume_feed(r, "{\"type\":\"adw_state_update\",\"adw_id\":\"77c90e61\",\"data\":{},"
	                   "\"seq\":9,\"epoch\":\"EW\"}");
	/* alpha is the one left: its snapshot and events */
	cat_resume_feed(r, "{\"type\":\"alpha_update\",\"data\":{},\"seq\":2,\"epoch\":\"EA\"}");
	cat_resume_feed(r, "{\"type\":\"beta_update\",\"data\":{},\"seq\":3,\"epoch\":\"EB\"}");
	cat_resume_feed(r, "{\"type\":\"alpha_update\",\"data\":{},\"seq\":2,\"epoch\":\"EA\"}");
	cat_resume_feed(r, "{\"type\":\"alert\",\"data\":{},\"seq\":2,\"epoch\":\"EA\",\"offset\":4}");
	cat_resume_feed(r, "{\"type\":\"adw_state_update\",\"adw_id\":\"77c90e61\",\"delta\":[],"
	                   "\"base_seq\":9,\"seq\":10}");
	cat_resume_feed(r, "{\"type\":\"error\",\"topic\":\"alpha\",\"message\":\"x\"}");
	m = cat_resume_subscribe(r, 0);
	CU_ASSERT_STRING_EQUAL(m, "{\"type\":\"subscribe\",\"feeds\":["
	                          "{\"topic\":\"alpha\",\"since\":2,\"epoch\":\"EA\",\"offset\":4},"
	                          "{\"topic\":\"adw-state/77c90e61\",\"since\":10,\"epoch\":\"EW\"},"
	                          "{\"topic\":\"beta\",\"since\":3,\"epoch\":\"EB\"}]}");
	free(m);
	m = cat_resume_subscribe(r, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "{\"topic\":\"alpha\",\"delta\":\"json-patch\",\"since\":2,"));
	free(m);
	cat_resume_free(r);

	/* two topics not told apart: neither resumes */
	r = cat_resume_new("a,b");
	cat_resume_feed(r, "{\"type\":\"a_update\",\"data\":{},\"seq\":2,\"epoch\":\"EX\"}");
	m = cat_resume_subscribe(r, 0);
	CU_ASSERT_STRING_EQUAL(m, "{\"type\":\"subscribe\",\"feeds\":[\"a\",\"b\"]}");
	free(m);
	cat_resume_free(r);
}

static void test_one_subscription_takes_all(void)
{
	cat_resume *r = cat_resume_new("alpha");
	cat_resume_feed(r, "{\"type\":\"test_update\",\"data\":{},\"seq\":2,\"epoch\":\"EA\"}");
	cat_resume_feed(r, "{\"type\":\"alert\",\"data\":{},\"seq\":2,\"epoch\":\"EA\",\"offset\":1}");
	char *m = cat_resume_subscribe(r, 0);
	CU_ASSERT_STRING_EQUAL(m, "{\"type\":\"subscribe\",\"feeds\":["
	                          "{\"topic\":\"alpha\",\"since\":2,\"epoch\":\"EA\",\"offset\":1}]}");
	free(m);
	cat_resume_free(r);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"a per-feed socket's query: seq, epoch, last offset", test_per_feed_query},
	    {"the multiplexed subscribe: each topic told apart resumes", test_subscribe_message},
	    {"one subscription takes every message", test_one_subscription_takes_all},
	    {NULL, NULL},
	};
	return tacws_test_run("tacws-cat resume", NULL, NULL, cases);
}
