/*
 * The frame-header reader (core/wsframe.c): streams of client frames, fed
 * whole and cut at every position, give the same counts; unmasked frames,
 * pings and pongs, and forbidden headers are reported; payloads of 16- and
 * 64-bit lengths are skipped to the next header.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wsframe.h"

/* Appends a frame (first byte, payload length, masked or not) to buf at *n. */
static void frame(unsigned char *buf, size_t *n, unsigned char first, uint64_t len, bool masked)
{
	unsigned char *p = buf + *n;
	*p++ = first;
	unsigned char mask = masked ? 0x80 : 0;
	if (len < 126) {
		*p++ = (unsigned char)(mask | len);
	} else if (len <= 0xffff) {
		*p++ = mask | 126;
		*p++ = (unsigned char)(len >> 8);
		*p++ = (unsigned char)len;
	} else {
		*p++ = mask | 127;
		for (int s = 56; s >= 0; s -= 8)
			*p++ = (unsigned char)(len >> s);
	}
	if (masked) {
		memcpy(p, "\x12\x34\x56\x78", 4);
		p += 4;
	}
	memset(p, 'x', (size_t)len);
	*n = (size_t)(p - buf) + (size_t)len;
}

static tacws_frame_counts read_whole(const unsigned char *buf, size_t n)
{
	tacws_frame_reader r;
	tacws_frame_reader_init(&r);
	tacws_frame_counts c = {0};
	tacws_frame_read(&r, buf, n, &c);
	return c;
}

/* The stream cut in two at every position, and fed byte by byte: the counts
 * must not depend on how the socket delivered it. */
static void check_any_cut(const unsigned char *buf, size_t n, tacws_frame_counts want)
{
	for (size_t cut = 0; cut <= n; cut++) {
		tacws_frame_reader r;
		tacws_frame_reader_init(&r);
		tacws_frame_counts c = {0};
		tacws_frame_read(&r, buf, cut, &c);
		tacws_frame_read(&r, buf + cut, n - cut, &c);
		CU_ASSERT_EQUAL(c.frames, want.frames);
		CU_ASSERT_EQUAL(c.control, want.control);
		CU_ASSERT_EQUAL(c.unmasked, want.unmasked);
		CU_ASSERT_EQUAL(c.malformed, want.malformed);
	}
	tacws_frame_reader r;
	tacws_frame_reader_init(&r);
	tacws_frame_counts c = {0};
	for (size_t i = 0; i < n; i++)
		tacws_frame_read(&r, buf + i, 1, &c);
	CU_ASSERT_EQUAL(c.frames, want.frames);
	CU_ASSERT_EQUAL(c.control, want.control);
}

static void test_masked_messages(void)
{
	unsigned char buf[1024];
	size_t n = 0;
	frame(buf, &n, 0x81, 30, true); /* a text message */
	frame(buf, &n, 0x82, 0, true);	/* an empty binary one */
	frame(buf, &n, 0x01, 5, true);	/* a text message in three fragments */
	frame(buf, &n, 0x00, 125, true);
	frame(buf, &n, 0x80, 7, true);
	tacws_frame_counts c = read_whole(buf, n);
	CU_ASSERT_EQUAL(c.frames, 5);
	CU_ASSERT_EQUAL(c.control, 0);
	CU_ASSERT_FALSE(c.unmasked);
	CU_ASSERT_FALSE(c.malformed);
	check_any_cut(buf, n, c);
}

static void test_control_frames(void)
{
	unsigned char buf[1024];
	size_t n = 0;
	frame(buf, &n, 0x89, 1, true);	 /* ping */
	frame(buf, &n, 0x8a, 0, true);	 /* empty pong */
	frame(buf, &n, 0x01, 10, true);	 /* a fragment, then a ping inside the message */
	frame(buf, &n, 0x89, 125, true); /* the longest ping */
	frame(buf, &n, 0x80, 10, true);
	frame(buf, &n, 0x88, 2, true); /* close */
	tacws_frame_counts c = read_whole(buf, n);
	CU_ASSERT_EQUAL(c.frames, 6);
	CU_ASSERT_EQUAL(c.control, 3); /* the close is not a ping or pong */
	CU_ASSERT_FALSE(c.malformed);
	check_any_cut(buf, n, c);
}

static void test_unmasked(void)
{
	unsigned char buf[256];
	size_t n = 0;
	frame(buf, &n, 0x81, 3, true);
	frame(buf, &n, 0x81, 20, false);
	tacws_frame_counts c = read_whole(buf, n);
	CU_ASSERT_TRUE(c.unmasked);
	CU_ASSERT_EQUAL(c.frames, 2);
	check_any_cut(buf, n, c);
	/* an unmasked ping is reported too: lws answers it without telling tacws */
	n = 0;
	frame(buf, &n, 0x89, 0, false);
	c = read_whole(buf, n);
	CU_ASSERT_TRUE(c.unmasked);
	CU_ASSERT_EQUAL(c.control, 1);
	/* the masked stream reports nothing */
	n = 0;
	frame(buf, &n, 0x89, 0, true);
	CU_ASSERT_FALSE(read_whole(buf, n).unmasked);
}

static void test_long_lengths_skipped(void)
{
	size_t cap = 70000 + 300 + 3 + 4 * 14; /* the payloads and four headers */
	unsigned char *buf = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	size_t n = 0;
	frame(buf, &n, 0x82, 300, true);   /* 16-bit length */
	frame(buf, &n, 0x89, 0, true);	   /* the header after it must be read as one */
	frame(buf, &n, 0x82, 70000, true); /* 64-bit length */
	frame(buf, &n, 0x8a, 3, true);
	tacws_frame_counts c = read_whole(buf, n);
	CU_ASSERT_EQUAL(c.frames, 4);
	CU_ASSERT_EQUAL(c.control, 2);
	CU_ASSERT_FALSE(c.malformed);
	/* cut at a few positions (every one of 70 KB squared is too slow to be worth it) */
	size_t cuts[] = {1, 2, 3, 4, 8, 300, 308, 309, 310, 316, 320, 70000, n - 4, n - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		tacws_frame_reader r;
		tacws_frame_reader_init(&r);
		tacws_frame_counts cc = {0};
		tacws_frame_read(&r, buf, cuts[i], &cc);
		tacws_frame_read(&r, buf + cuts[i], n - cuts[i], &cc);
		CU_ASSERT_EQUAL(cc.frames, 4);
		CU_ASSERT_EQUAL(cc.control, 2);
	}
	free(buf);
	/* a length of 2^62: what follows is payload, however much comes */
	unsigned char huge[] = {0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0x89, 0x00};
	c = read_whole(huge, sizeof huge);
	CU_ASSERT_EQUAL(c.frames, 1);
	CU_ASSERT_EQUAL(c.control, 0);
	CU_ASSERT_FALSE(c.unmasked);
}

static void check_malformed(const unsigned char *buf, size_t n)
{
	unsigned char stream[64];
	memcpy(stream, buf, n);
	/* a masked ping after it: not counted, the reader stops at the bad header */
	memcpy(stream + n, "\x89\x80\x01\x02\x03\x04", 6);
	tacws_frame_counts c = read_whole(stream, n + 6);
	CU_ASSERT_TRUE(c.malformed);
	CU_ASSERT_EQUAL(c.frames, 0);
	CU_ASSERT_EQUAL(c.control, 0);
}

static void test_malformed(void)
{
	for (unsigned op = 3; op <= 7; op++) {
		unsigned char h[] = {(unsigned char)(0x80 | op), 0x80, 1, 2, 3, 4};
		check_malformed(h, sizeof h);
	}
	for (unsigned op = 0xb; op <= 0xf; op++) {
		unsigned char h[] = {(unsigned char)(0x80 | op), 0x80, 1, 2, 3, 4};
		check_malformed(h, sizeof h);
	}
	static const unsigned char fragmented_ping[] = {0x09, 0x80, 1, 2, 3, 4};
	check_malformed(fragmented_ping, sizeof fragmented_ping);
	static const unsigned char long_ping[] = {0x89, 0xfe, 0, 126, 1, 2, 3, 4};
	check_malformed(long_ping, sizeof long_ping);
	static const unsigned char top_bit[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
	check_malformed(top_bit, sizeof top_bit);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"masked data frames and fragments, cut anywhere", test_masked_messages},
	    {"pings and pongs counted as control frames, not a close", test_control_frames},
	    {"an unmasked frame is reported", test_unmasked},
	    {"16- and 64-bit payloads skipped to the next header", test_long_lengths_skipped},
	    {"forbidden headers: reported, nothing read after", test_malformed},
	    {NULL, NULL},
	};
	return tacws_test_run("wsframe", NULL, NULL, cases);
}
