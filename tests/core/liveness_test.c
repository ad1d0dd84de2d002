/*
 * Peers that stop talking: a WebSocket peer that never answers pings is
 * dropped, a peer that never finishes its handshake is dropped, and a healthy
 * client beside them is served throughout. Raw sockets play the bad peers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge_util.h"
#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

static tacws_server_fixture *fx;
static int port;

/* Reads and discards until the peer closes, servicing the healthy clients
 * meanwhile (they answer pings only while serviced); returns ms waited, or
 * -1 on timeout. */
static long long wait_eof(int fd, int timeout_ms, tacws_wsgroup *g)
{
	long long start = tacws_test_now_ms();
	char buf[4096];
	while (tacws_test_now_ms() - start < timeout_ms) {
		tacws_wsgroup_service(g, 50);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			return tacws_test_now_ms() - start;
	}
	return -1;
}

static void test_silent_peer_dropped(void)
{
	tacws_wsgroup *g;
	CU_ASSERT_EQUAL_FATAL(tacws_wsgroup_new(&g), 0);
	tacws_wsclient *good = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, g, "alpha", NULL, NULL, 3000, &good, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect(good, "test_update", 3000, NULL), 0);

	int fd = edge_connect(NULL, port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(edge_ws_upgrade(fd, "/api/v1/ws/alpha", NULL, 3000, NULL, 0), 101);
	/* ping every 1 s; a peer that never answers is gone within 2 x 1 + 5 s */
	long long ms = wait_eof(fd, 12000, g);
	CU_ASSERT(ms >= 0);
	close(fd);
	/* the answering client is still here and served */
	CU_ASSERT_EQUAL(tacws_wsclient_get_state(good), TACWS_WSCLIENT_OPEN);
	CU_ASSERT_EQUAL(tacws_ws_ping(good, 1, 3000), 0);
	tacws_wsclient_free(good);
	tacws_wsgroup_free(g);
}

static void test_half_open_handshake_dropped(void)
{
	tacws_wsgroup *g;
	CU_ASSERT_EQUAL_FATAL(tacws_wsgroup_new(&g), 0);
	tacws_wsclient *good = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, g, "alpha", NULL, NULL, 3000, &good, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect(good, "test_update", 3000, NULL), 0);
	int fd = edge_connect(NULL, port);
	CU_ASSERT_FATAL(fd >= 0);
	const char *partial = "GET /api/v1/ws/alpha HTTP/1.1\r\nHost: 127.0.0.1\r\n";
	CU_ASSERT_EQUAL(write(fd, partial, strlen(partial)), (ssize_t)strlen(partial));
	/* others are served while it hangs */
	tacws_wsclient *late = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, g, "alpha", NULL, NULL, 3000, &late, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect(late, "test_update", 3000, NULL), 0);
	long long ms = wait_eof(fd, 8000, g); /* handshake_timeout_s = 2 */
	CU_ASSERT(ms >= 0);
	close(fd);
	int prc = tacws_ws_ping(good, 2, 3000);
	if (prc)
		fprintf(stderr, "good ping: %d close %d\n", prc, tacws_wsclient_close_code(good));
	CU_ASSERT_EQUAL(prc, 0);
	prc = tacws_ws_ping(late, 3, 3000);
	if (prc)
		fprintf(stderr, "late ping: %d close %d\n", prc, tacws_wsclient_close_code(late));
	CU_ASSERT_EQUAL(prc, 0);
	tacws_wsclient_free(good);
	tacws_wsclient_free(late);
	tacws_wsgroup_free(g);
}

/* One worker, and a snapshot that takes 4 s: another feed is still served at once. */
static void test_hung_snapshot_delays_only_its_feed(void)
{
	tacws_wsgroup *g;
	CU_ASSERT_EQUAL_FATAL(tacws_wsgroup_new(&g), 0);
	tacws_wsclient *slow = NULL, *fast = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, g, "slow", NULL, NULL, 3000, &slow, NULL), 0);
	long long start = tacws_test_now_ms();
	/* a topic never polled before, so nothing comes from a cache */
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, g, "item/fresh", NULL, NULL, 3000, &fast, NULL),
			      0);
	CU_ASSERT_EQUAL(tacws_ws_expect(fast, "item_update", 1500, NULL), 0);
	CU_ASSERT(tacws_test_now_ms() - start < 1500);
	CU_ASSERT_EQUAL(tacws_ws_expect(slow, "test_update", 6000, NULL), 0);
	tacws_wsclient_free(slow);
	tacws_wsclient_free(fast);
	tacws_wsgroup_free(g);
}

static int setup(void)
{
	if (tacws_server_fixture_new(&fx))
		return 1;
	const char *dir = tacws_server_fixture_dir(fx);
	if (tacws_test_write_file(dir, "alpha.json", "{\"v\":1}"))
		return 1;
	char ini[2048];
	snprintf(ini, sizeof ini,
		 "[feed.alpha]\nplugin = testfeed\nfile = %s/alpha.json\n"
		 "[feed.slow]\nplugin = testfeed\nfile = %s/alpha.json\ndelay_ms = 4000\ninterval_ms = 60000\n"
		 "[feed.item]\nplugin = testfeed\nfile = %s/alpha.json\n",
		 dir, dir, dir);
	tacws_server_config cfg = {
		.server_keys = "ping_interval_s = 1\nhandshake_timeout_s = 2\nworkers = 1\n",
		.ini = ini,
		.plugin_dir = TEST_PLUGIN_DIR,
		.log_level = "info",
	};
	if (tacws_server_fixture_start(fx, &cfg))
		return 1;
	port = tacws_server_fixture_port(fx);
	return 0;
}

static int teardown(void)
{
	return tacws_server_fixture_finish(fx);
}

int main(void)
{
	static const tacws_test_case cases[] = {
		{"a peer that never answers pings is dropped", test_silent_peer_dropped},
		{"a half-open handshake is dropped", test_half_open_handshake_dropped},
		{"a hung snapshot delays only its own feed", test_hung_snapshot_delays_only_its_feed},
		{NULL, NULL},
	};
	return tacws_test_run("liveness", setup, teardown, cases);
}
