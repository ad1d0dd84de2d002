/*
 * The permessage-deflate offer check (deflate.h): the offers browsers send take
 * the shared compressed frames; smaller windows, other extensions and
 * malformed offers do not, nor do the browsers known to break.
 */
#include <string.h>

#include "deflate.h"
#include "testutil.h"

static bool accepts(const char *offer)
{
	return tacws_deflate_offer_accepts(offer, strlen(offer));
}

static void test_browser_offers(void)
{
	CU_ASSERT(accepts("permessage-deflate; client_max_window_bits")); /* Chromium */
	CU_ASSERT(accepts("permessage-deflate"));			 /* Firefox */
	CU_ASSERT(accepts("permessage-deflate;client_max_window_bits=10;server_no_context_takeover"));
	CU_ASSERT(accepts("permessage-deflate; server_max_window_bits=15"));
	CU_ASSERT(accepts("permessage-deflate; client_max_window_bits=\"12\""));
	CU_ASSERT(accepts("foo, permessage-deflate; client_no_context_takeover"));
	CU_ASSERT(accepts("PerMessage-Deflate , "));
}

static void test_not_ours(void)
{
	CU_ASSERT(!accepts(""));
	CU_ASSERT(!accepts("x-webkit-deflate-frame")); /* old Safari */
	CU_ASSERT(!accepts("deflate-frame"));
	CU_ASSERT(!accepts("permessage-deflate; server_max_window_bits=10"));
	/* every offer must take our window: lws may settle on either */
	CU_ASSERT(!accepts("permessage-deflate, permessage-deflate; server_max_window_bits=9"));
}

static void test_malformed(void)
{
	CU_ASSERT(!accepts("permessage-deflate; server_max_window_bits"));     /* value required */
	CU_ASSERT(!accepts("permessage-deflate; server_max_window_bits=16"));  /* out of range */
	CU_ASSERT(!accepts("permessage-deflate; client_max_window_bits=7"));
	CU_ASSERT(!accepts("permessage-deflate; client_max_window_bits=015"));
	CU_ASSERT(!accepts("permessage-deflate; server_no_context_takeover=1"));
	CU_ASSERT(!accepts("permessage-deflate; server_no_context_takeover; server_no_context_takeover"));
	CU_ASSERT(!accepts("permessage-deflate; mystery"));
	CU_ASSERT(!accepts("permessage-deflate;"));
	CU_ASSERT(!accepts("permessage-deflate; client_max_window_bits=\"12"));
	CU_ASSERT(!accepts("permessage-deflate x"));
	CU_ASSERT(!accepts(";permessage-deflate"));
	CU_ASSERT(!tacws_deflate_offer_accepts(NULL, 0));
	/* bounded: an offer longer than TACWS_DEFLATE_OFFER_MAX is not read */
	char big[TACWS_DEFLATE_OFFER_MAX + 64] = "permessage-deflate";
	size_t n = strlen(big);
	while (n + 2 < sizeof big - 1) {
		big[n++] = ',';
		big[n++] = ' ';
	}
	big[n] = '\0';
	CU_ASSERT(!accepts(big));
	/* not NUL-terminated: only len bytes are read */
	CU_ASSERT(tacws_deflate_offer_accepts("permessage-deflate; garbage", 18));
}

static void test_user_agents(void)
{
	CU_ASSERT(tacws_deflate_user_agent_ok(NULL));
	CU_ASSERT(tacws_deflate_user_agent_ok("curl/8.5.0"));
	CU_ASSERT(tacws_deflate_user_agent_ok(
	    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
	    "Chrome/120.0.0.0 Safari/537.36"));
	CU_ASSERT(tacws_deflate_user_agent_ok(
	    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
	    "Version/15.4 Safari/605.1.15"));
	CU_ASSERT(tacws_deflate_user_agent_ok(
	    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
	    "Version/15.10 Safari/605.1.15"));
	CU_ASSERT(tacws_deflate_user_agent_ok(
	    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 "
	    "(KHTML, like Gecko) Version/16.1 Mobile/15E148 Safari/604.1"));
	CU_ASSERT(!tacws_deflate_user_agent_ok(
	    "Mozilla/5.0 (Macintosh; Intel Mac OS X 12_2) AppleWebKit/605.1.15 (KHTML, like Gecko) "
	    "Version/15.2 Safari/605.1.15"));
	CU_ASSERT(!tacws_deflate_user_agent_ok(
	    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 "
	    "(KHTML, like Gecko) Version/15.0 Mobile/15E148 Safari/604.1"));
	CU_ASSERT(!tacws_deflate_user_agent_ok( /* Chrome on iOS is WebKit too */
	    "Mozilla/5.0 (iPad; CPU OS 15_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
	    "CriOS/98.0.4758.97 Mobile/15E148 Safari/604.1"));
}

/* answer's text for offer, "" when declined; bits gets the inflater's window. */
static const char *answer(const char *offer, int *bits)
{
	static char text[TACWS_DEFLATE_ANSWER_MAX];
	*bits = 0;
	if (!tacws_deflate_answer(offer, strlen(offer), text, sizeof text, bits))
		text[0] = '\0';
	return text;
}

#define NCT "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

static void test_answers(void)
{
	int bits;
	CU_ASSERT_STRING_EQUAL(answer("permessage-deflate; client_max_window_bits", &bits),
			       NCT "; client_max_window_bits=9");
	CU_ASSERT_EQUAL(bits, 9);
	CU_ASSERT_STRING_EQUAL(answer("permessage-deflate", &bits), NCT);
	CU_ASSERT_EQUAL(bits, 15); /* the client may use any window */
	CU_ASSERT_STRING_EQUAL(answer("permessage-deflate; client_max_window_bits=\"15\"", &bits),
			       NCT "; client_max_window_bits=9");
	CU_ASSERT_STRING_EQUAL(answer("permessage-deflate; client_max_window_bits=8", &bits),
			       NCT "; client_max_window_bits=8");
	CU_ASSERT_EQUAL(bits, 9); /* zlib's raw deflate takes 8 as 9 */
	CU_ASSERT_STRING_EQUAL(answer("x-foo, permessage-deflate; client_max_window_bits=11, "
				      "permessage-deflate",
				      &bits),
			       NCT "; client_max_window_bits=9");
	CU_ASSERT_STRING_EQUAL(answer("permessage-deflate, permessage-deflate; client_max_window_bits",
				      &bits),
			       NCT);
	CU_ASSERT_STRING_EQUAL(answer("permessage-deflate; server_max_window_bits=12", &bits), "");
	CU_ASSERT_STRING_EQUAL(answer("x-webkit-deflate-frame", &bits), "");
	CU_ASSERT_STRING_EQUAL(answer("", &bits), "");
	char small[16];
	CU_ASSERT_EQUAL(tacws_deflate_answer("permessage-deflate", 18, small, sizeof small, &bits), 0);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"the browsers' offers take the shared frames", test_browser_offers},
	    {"smaller windows and other extensions do not", test_not_ours},
	    {"malformed or overlong offers do not", test_malformed},
	    {"Safari 15.0-15.3 gets plain frames", test_user_agents},
	    {"the answer to each offer", test_answers},
	    {NULL, NULL},
	};
	return tacws_test_run("deflate_offer", NULL, NULL, cases);
}
