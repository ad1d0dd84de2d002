/*
 * [auth] allowed_origins and the same origin: a WebSocket upgrade whose Origin
 * is the http:// origin of the Host it was sent to comes from the page tacwsd
 * itself served (its dashboard), so it is never cross-site and is allowed
 * whatever the list says. Every other Origin is still checked against the
 * list. Raw upgrades, so the test sets Host and Origin exactly as a browser does.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "edge_util.h"
#include "server_fixture.h"
#include "testutil.h"

static tacws_server_fixture *fx;
static int port;

/* The status of an upgrade of /api/v1/ws/alpha with these Host and Origin. */
static int upgrade(const char *host, const char *origin)
{
	int fd = edge_connect(NULL, port);
	CU_ASSERT_FATAL(fd >= 0);
	char req[1024];
	snprintf(req, sizeof req,
	         "GET /api/v1/ws/alpha HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\n"
	         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
	         host, origin);
	int status = edge_raw(fd, req, strlen(req), 3000);
	close(fd);
	return status;
}

static void test_same_origin_allowed(void)
{
	char host[64], origin[80];
	snprintf(host, sizeof host, "127.0.0.1:%d", port);
	snprintf(origin, sizeof origin, "http://127.0.0.1:%d", port);
	CU_ASSERT_EQUAL(upgrade(host, origin), 101);
	/* host names compare without case, as browsers send them lower-cased anyway */
	snprintf(host, sizeof host, "localhost:%d", port);
	snprintf(origin, sizeof origin, "http://LocalHost:%d", port);
	CU_ASSERT_EQUAL(upgrade(host, origin), 101);
}

static void test_other_origins_checked(void)
{
	long long before = tacws_server_metric(fx, "tacws_auth_failures_total{reason=\"origin\"}");
	char host[64], origin[80];
	snprintf(host, sizeof host, "127.0.0.1:%d", port);
	/* the list still holds */
	CU_ASSERT_EQUAL(upgrade(host, "http://frontend.example:5173"), 101);
	CU_ASSERT_EQUAL(upgrade(host, "http://evil.example"), 403);
	/* same host, another port or scheme: another origin */
	snprintf(origin, sizeof origin, "http://127.0.0.1:%d", port + 1);
	CU_ASSERT_EQUAL(upgrade(host, origin), 403);
	snprintf(origin, sizeof origin, "https://127.0.0.1:%d", port);
	CU_ASSERT_EQUAL(upgrade(host, origin), 403);
	/* a prefix or an extension of the host is not the host */
	snprintf(origin, sizeof origin, "http://127.0.0.1:%d0", port);
	CU_ASSERT_EQUAL(upgrade(host, origin), 403);
	CU_ASSERT_EQUAL(upgrade(host, "http://127.0.0.1"), 403);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_auth_failures_total{reason=\"origin\"}"),
	                before + 5);
}

static int setup(void)
{
	return edge_start_alpha(&fx, "[auth]\nallowed_origins = http://frontend.example:5173\n",
	                        &port) != 0;
}

static int teardown(void)
{
	return tacws_server_fixture_finish(fx);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"an Origin equal to the Host's is allowed beside the list", test_same_origin_allowed},
	    {"every other Origin is checked against the list", test_other_origins_checked},
	    {NULL, NULL},
	};
	return tacws_test_run("origin", setup, teardown, cases);
}
