/* tacws-cat's whole states (tools/tacws-cat/states.h): deltas applied to the right base only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "states.h"
#include "testutil.h"

static int feed(cat_states *st, const char *text, char **whole)
{
	const char *why;
	int rc = cat_states_feed(st, text, whole, &why);
	CU_ASSERT_TRUE(rc != -EINVAL || why != NULL);
	return rc;
}

static void test_delta_gives_whole_state(void)
{
	cat_states *st = cat_states_new(8);
	char *whole;
	CU_ASSERT_EQUAL(feed(st, "{\"type\":\"queue_update\",\"data\":{\"phases\":[]},\"seq\":41}", &whole), 0);
	CU_ASSERT_PTR_NULL(whole);
	CU_ASSERT_EQUAL(feed(st,
	                     "{\"type\":\"queue_update\",\"delta\":[{\"op\":\"add\",\"path\":\"/phases/-\","
	                     "\"value\":{\"queue_id\":\"q/1\"}}],\"base_seq\":41,\"seq\":42,\"timestamp\":\"T\"}",
	                     &whole),
	                1);
	CU_ASSERT_STRING_EQUAL(whole, "{\"type\":\"queue_update\",\"data\":{\"phases\":[{\"queue_id\":\"q/1\"}]},"
	                              "\"seq\":42,\"timestamp\":\"T\"}");
	free(whole);
	/* The next one applies to the state just built. */
	CU_ASSERT_EQUAL(feed(st,
	                     "{\"type\":\"queue_update\",\"delta\":[{\"op\":\"remove\",\"path\":\"/phases/0\"}],"
	                     "\"base_seq\":42,\"seq\":43}",
	                     &whole),
	                1);
	CU_ASSERT_STRING_EQUAL(whole, "{\"type\":\"queue_update\",\"data\":{\"phases\":[]},\"seq\":43}");
	free(whole);
	cat_states_free(st);
}

static void test_wrong_base_is_not_applied(void)
{
	cat_states *st = cat_states_new(8);
	char *whole;
	static const char delta_42[] = "{\"type\":\"queue_update\",\"delta\":[{\"op\":\"add\",\"path\":\"/x\","
	                               "\"value\":1}],\"base_seq\":42,\"seq\":43}";
	CU_ASSERT_EQUAL(feed(st, delta_42, &whole), -EINVAL); /* no snapshot yet */
	CU_ASSERT_EQUAL(feed(st, "{\"type\":\"queue_update\",\"data\":{},\"seq\":41}", &whole), 0);
	CU_ASSERT_EQUAL(feed(st, delta_42, &whole), -EINVAL); /* base 42, last seq 41 */
	CU_ASSERT_PTR_NULL(whole);
	CU_ASSERT_EQUAL(feed(st,
	                     "{\"type\":\"queue_update\",\"delta\":[],\"base_seq\":41,\"seq\":42}", &whole),
	                -EINVAL); /* the state was dropped: wait for a snapshot */
	CU_ASSERT_EQUAL(feed(st, "{\"type\":\"queue_update\",\"data\":{},\"seq\":42}", &whole), 0);
	CU_ASSERT_EQUAL(feed(st, delta_42, &whole), 1);
	free(whole);
	CU_ASSERT_EQUAL(feed(st,
	                     "{\"type\":\"queue_update\",\"delta\":[{\"op\":\"remove\",\"path\":\"/nope\"}],"
	                     "\"base_seq\":43,\"seq\":44}",
	                     &whole),
	                -EINVAL); /* a patch that does not apply */
	cat_states_free(st);
}

static void test_topics_are_apart_and_bounded(void)
{
	cat_states *st = cat_states_new(2);
	char *whole;
	CU_ASSERT_EQUAL(feed(st, "not json", &whole), 0);
	feed(st, "{\"type\":\"adw_state_update\",\"adw_id\":\"a\",\"data\":{\"n\":1},\"seq\":1}", &whole);
	feed(st, "{\"type\":\"adw_state_update\",\"adw_id\":\"b\",\"data\":{\"n\":2},\"seq\":1}", &whole);
	CU_ASSERT_EQUAL(feed(st,
	                     "{\"type\":\"adw_state_update\",\"adw_id\":\"a\",\"delta\":[{\"op\":\"test\","
	                     "\"path\":\"/n\",\"value\":1}],\"base_seq\":1,\"seq\":2}",
	                     &whole),
	                1);
	free(whole);
	feed(st, "{\"type\":\"queue_update\",\"data\":{},\"seq\":1}", &whole); /* forgets b */
	CU_ASSERT_EQUAL(feed(st,
	                     "{\"type\":\"adw_state_update\",\"adw_id\":\"b\",\"delta\":[],\"base_seq\":1,"
	                     "\"seq\":2}",
	                     &whole),
	                -EINVAL);
	cat_states_free(st);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"a delta applied gives the whole state", test_delta_gives_whole_state},
	    {"a delta on another base is not applied", test_wrong_base_is_not_applied},
	    {"topics are kept apart, and at most max of them", test_topics_are_apart_and_bounded},
	    {NULL, NULL},
	};
	return tacws_test_run("tacws-cat states", NULL, NULL, cases);
}
