/*
 * The frame tap (core/recvtap.c) on real sockets: reads through this
 * executable's recv() feed a watched socket's frame reader and call back;
 * other threads, unwatched sockets and unwatched-again descriptors pass
 * through; the upgrade check finds bytes sent behind a request's headers,
 * wherever the reads cut them.
 */
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "recvtap.h"
#include "testutil.h"

static int calls;
static tacws_frame_counts seen;
static void *seen_ctx;

static void on_frames(void *ctx, const tacws_frame_counts *c)
{
	calls++;
	seen_ctx = ctx;
	seen.frames += c->frames;
	seen.control += c->control;
	seen.unmasked |= c->unmasked;
	seen.malformed |= c->malformed;
}

static int pair[2]; /* [0] the server's end, read through the tap; [1] the client's */

static int setup(void)
{
	tacws_recvtap_start(on_frames);
	return socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
}

static int teardown(void)
{
	tacws_recvtap_stop();
	close(pair[0]);
	close(pair[1]);
	return 0;
}

/* The client sends bytes; the server reads them all with one recv(). */
static void deliver(const void *bytes, size_t n)
{
	CU_ASSERT_EQUAL_FATAL(write(pair[1], bytes, n), (ssize_t)n);
	char buf[4096];
	CU_ASSERT_EQUAL(recv(pair[0], buf, sizeof buf, 0), (ssize_t)n);
}

#define DELIVER(lit) deliver(lit, sizeof lit - 1)
#define REQUEST "GET /api/v1/ws/alpha HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"
#define PING "\x89\x81\x01\x02\x03\x04p" /* masked, one byte */

static void test_request_read_last(void)
{
	DELIVER(REQUEST);
	CU_ASSERT_TRUE(tacws_recvtap_request_read_last(pair[0]));
	/* frames behind the request, in the same read */
	DELIVER(REQUEST PING);
	CU_ASSERT_FALSE(tacws_recvtap_request_read_last(pair[0]));
	/* headers cut inside their blank line, then completed: fine */
	DELIVER("GET / HTTP/1.1\r\nHost: x\r\n\r");
	DELIVER("\n");
	CU_ASSERT_TRUE(tacws_recvtap_request_read_last(pair[0]));
	/* cut so, with a frame behind: the end is at the read's first byte */
	DELIVER("GET / HTTP/1.1\r\nHost: x\r\n\r");
	DELIVER("\n" PING "\r\n\r\n");
	CU_ASSERT_FALSE(tacws_recvtap_request_read_last(pair[0]));
	DELIVER("GET / HTTP/1.1\r\nHost: x\r\n");
	DELIVER("\r\n");
	CU_ASSERT_TRUE(tacws_recvtap_request_read_last(pair[0]));
	/* bare line feeds end headers as early */
	DELIVER("GET / HTTP/1.1\nHost: x\n\n" PING);
	CU_ASSERT_FALSE(tacws_recvtap_request_read_last(pair[0]));
	/* a header line cut after its CR is not an end */
	DELIVER("GET / HTTP/1.1\r\nHost: x\r");
	DELIVER("\nUpgrade: websocket\r\n\r\n");
	CU_ASSERT_TRUE(tacws_recvtap_request_read_last(pair[0]));
	/* another socket read since: the request came out of lws's buffer */
	int other[2];
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, other) == 0);
	DELIVER(REQUEST);
	CU_ASSERT_EQUAL(write(other[1], "x", 1), 1);
	char c;
	CU_ASSERT_EQUAL(recv(other[0], &c, 1, 0), 1);
	CU_ASSERT_FALSE(tacws_recvtap_request_read_last(pair[0]));
	close(other[0]);
	close(other[1]);
	/* a peek (listen.c's) reads nothing for the check */
	CU_ASSERT_EQUAL(write(pair[1], REQUEST, sizeof REQUEST - 1), (ssize_t)sizeof REQUEST - 1);
	char buf[256];
	CU_ASSERT(recv(pair[0], buf, sizeof buf, MSG_PEEK) > 0);
	CU_ASSERT_FALSE(tacws_recvtap_request_read_last(pair[0]));
	CU_ASSERT_EQUAL(recv(pair[0], buf, sizeof buf, 0), (ssize_t)sizeof REQUEST - 1);
	CU_ASSERT_TRUE(tacws_recvtap_request_read_last(pair[0]));
}

static void test_watched_socket(void)
{
	tacws_frame_reader r;
	int ctx;
	calls = 0;
	memset(&seen, 0, sizeof seen);
	CU_ASSERT_EQUAL_FATAL(tacws_recvtap_watch(pair[0], &r, &ctx), 0);
	DELIVER("\x81\x83\x01\x02\x03\x04" "abc" PING); /* a masked text frame, a ping */
	CU_ASSERT_EQUAL(calls, 1);
	CU_ASSERT_PTR_EQUAL(seen_ctx, &ctx);
	CU_ASSERT_EQUAL(seen.frames, 2);
	CU_ASSERT_EQUAL(seen.control, 1);
	CU_ASSERT_FALSE(seen.unmasked);
	/* a header cut between reads is counted once, when whole */
	DELIVER("\x8a\x80\x01");
	CU_ASSERT_EQUAL(calls, 1);
	DELIVER("\x02\x03\x04");
	CU_ASSERT_EQUAL(calls, 2);
	CU_ASSERT_EQUAL(seen.control, 2);
	DELIVER("\x81\x02hi"); /* unmasked */
	CU_ASSERT_TRUE(seen.unmasked);
	/* unwatched (the connection closed): a reused descriptor's bytes are not frames */
	tacws_recvtap_unwatch(pair[0]);
	DELIVER(PING PING);
	CU_ASSERT_EQUAL(calls, 3);
}

static void *read_on_a_worker(void *arg)
{
	(void)arg;
	char buf[64];
	return (void *)(intptr_t)recv(pair[0], buf, sizeof buf, 0);
}

static void test_other_threads_pass_through(void)
{
	tacws_frame_reader r;
	calls = 0;
	CU_ASSERT_EQUAL_FATAL(tacws_recvtap_watch(pair[0], &r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(write(pair[1], PING, sizeof PING - 1), (ssize_t)sizeof PING - 1);
	pthread_t t;
	void *got;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, read_on_a_worker, NULL) == 0);
	pthread_join(t, &got);
	CU_ASSERT_EQUAL((intptr_t)got, (intptr_t)sizeof PING - 1);
	CU_ASSERT_EQUAL(calls, 0);
	tacws_recvtap_unwatch(pair[0]);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"the upgrade check finds bytes behind the request", test_request_read_last},
	    {"a watched socket's frames are counted as read", test_watched_socket},
	    {"reads on other threads pass through", test_other_threads_pass_through},
	    {NULL, NULL},
	};
	return tacws_test_run("recvtap", setup, teardown, cases);
}
