/* The contract checker itself: it must catch each kind of mismatch, or the contract tests
 * built on it could pass on anything. */
#include <json-c/json.h>
#include <string.h>

#include "schema_check.h"
#include "testutil.h"

static const char *schema =
	"{\"type\":\"object\",\"required\":[\"id\",\"tags\"],\"additionalProperties\":false,"
	"\"properties\":{\"id\":{\"type\":\"integer\",\"minimum\":1},"
	"\"name\":{\"type\":[\"string\",\"null\"]},"
	"\"status\":{\"enum\":[\"ok\",\"error\"]},"
	"\"tags\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"type\":\"string\"}},"
	"\"extra\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"number\"}}}}";

static int check(const char *value, char *err, size_t errlen)
{
	json_object *s = json_tokener_parse(schema);
	json_object *v = json_tokener_parse(value);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	int rc = schema_check(s, v, err, errlen);
	json_object_put(s);
	json_object_put(v);
	return rc;
}

static void expect_fail(const char *value, const char *want_in_err)
{
	char err[512] = "";
	CU_ASSERT_EQUAL(check(value, err, sizeof err), -1);
	if (!strstr(err, want_in_err))
		CU_FAIL(err);
}

static void test_conforming(void)
{
	char err[512] = "";
	CU_ASSERT_EQUAL(check("{\"id\":3,\"name\":null,\"status\":\"ok\",\"tags\":[\"a\"],"
			      "\"extra\":{\"x\":1.5,\"y\":2}}",
			      err, sizeof err),
			0);
	CU_ASSERT_EQUAL(check("{\"id\":3.0,\"tags\":[\"a\",\"b\"]}", err, sizeof err), 0);
}

static void test_mismatches(void)
{
	expect_fail("{\"tags\":[\"a\"]}", "missing required \"id\"");
	expect_fail("{\"id\":\"3\",\"tags\":[\"a\"]}", "$.id: want integer, got string");
	expect_fail("{\"id\":2.5,\"tags\":[\"a\"]}", "$.id: want integer");
	expect_fail("{\"id\":0,\"tags\":[\"a\"]}", "below the minimum");
	expect_fail("{\"id\":1,\"name\":5,\"tags\":[\"a\"]}", "$.name: want");
	expect_fail("{\"id\":1,\"status\":\"odd\",\"tags\":[\"a\"]}", "is not one of");
	expect_fail("{\"id\":1,\"tags\":[]}", "at least 1 items");
	expect_fail("{\"id\":1,\"tags\":[\"a\",7]}", "$.tags[1]: want string");
	expect_fail("{\"id\":1,\"tags\":[\"a\"],\"other\":1}", "unexpected \"other\"");
	expect_fail("{\"id\":1,\"tags\":[\"a\"],\"extra\":{\"x\":\"no\"}}", "$.extra.x: want number");
}

static void test_unknown_keyword_is_an_error(void)
{
	json_object *s = json_tokener_parse("{\"type\":\"object\",\"requird\":[\"id\"]}");
	json_object *v = json_tokener_parse("{}");
	char err[256] = "";
	CU_ASSERT_EQUAL(schema_check(s, v, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "requird"));
	json_object_put(s);
	json_object_put(v);
}

static void test_schema_files_parse(void)
{
	/* Every schema in the folder is valid JSON the checker accepts as a schema. */
	char err[512] = "";
	const char *probe = CONTRACT_SCHEMA_DIR "/../CMakeLists.txt";
	CU_ASSERT_EQUAL(schema_check_file(probe, "{}", err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot read the schema"));
}

int main(void)
{
	static const tacws_test_case cases[] = {
		{"conforming values pass", test_conforming},
		{"each mismatch is caught with its path", test_mismatches},
		{"an unknown schema keyword is an error", test_unknown_keyword_is_an_error},
		{"an unreadable schema file is an error", test_schema_files_parse},
		{NULL, NULL},
	};
	return tacws_test_run("schema_check", NULL, NULL, cases);
}
